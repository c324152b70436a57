//! Evaluation on arbitrary request headers against a fixed, varied configuration: no panic, and
//! the indexed decision equals the rule-by-rule explanation's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pier_cors::{parse, CorsConfig, CorsRequest, Endpoint, Format};
use std::sync::OnceLock;

fn config() -> &'static CorsConfig {
    static CONFIG: OnceLock<CorsConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let b2 = parse(
            r#"[{"corsRuleName":"downloads","allowedOrigins":["https"],"allowedOperations":["b2_download_file_by_name","s3_get"],"allowedHeaders":["range","x-bz-*"],"maxAgeSeconds":60},
                {"corsRuleName":"uploads","allowedOrigins":["https://*.example.com","http://localhost:*"],"allowedOperations":["b2_upload_file","s3_put"],"allowedHeaders":["*"],"maxAgeSeconds":0}]"#,
            Format::B2Json,
        )
        .unwrap();
        let s3 = parse(
            "<CORSConfiguration><CORSRule><AllowedOrigin>http://*</AllowedOrigin><AllowedOrigin>*.test</AllowedOrigin><AllowedMethod>DELETE</AllowedMethod><AllowedHeader>x-*-id</AllowedHeader></CORSRule>\
             <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>",
            Format::S3Xml,
        )
        .unwrap();
        let mut rules = b2.into_rules();
        rules.extend(s3.into_rules());
        CorsConfig::from_rules(rules)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let origin = parts.next();
    let method = parts.next().unwrap_or("GET");
    let acrm = parts.next();
    let acrh = parts.next();
    let selector = data.first().copied().unwrap_or(0);
    let endpoint = [
        Endpoint::S3,
        Endpoint::B2DownloadFileByName,
        Endpoint::B2DownloadFileById,
        Endpoint::B2UploadFile,
        Endpoint::B2UploadPart,
    ][usize::from(selector % 5)];
    let req = CorsRequest {
        endpoint,
        method,
        origin,
        request_method: acrm,
        request_headers: acrh,
        preflight: selector & 0x80 != 0,
    };
    let config = config();
    let decision = config.evaluate(&req);
    let explained = config.explain(&req);
    assert_eq!(decision, explained.decision);
    let _ = explained.to_string();
});
