//! Every example of the two seed documents (Backblaze's "Crash CORS" guide, Cloudflare's R2 CORS
//! page), driven through the engine the way the server will.

use pier_cors::{
    parse, parse_detect, CorsConfig, CorsRequest, Decision, Dialect, Endpoint, ErrorKind, Format,
    Refusal, RuleOutcome,
};

/// The rule of Backblaze's CORS guide, as the b2 CLI is given it.
const DOWNLOAD_FROM_ANY_ORIGIN: &str = include_str!("fixtures/download_from_any_origin.json");

fn b2(text: &str) -> CorsConfig {
    parse(text, Format::B2Json).unwrap_or_else(|e| panic!("{e}"))
}

fn headers_of(decision: &Decision<'_>) -> Vec<(String, String)> {
    match decision {
        Decision::Allowed { headers, .. } => headers
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        other => panic!("expected allowed, got {other:?}"),
    }
}

#[test]
fn download_from_any_origin_allows_https_range_downloads() {
    let config = b2(DOWNLOAD_FROM_ANY_ORIGIN);
    let req = CorsRequest::preflight(
        Endpoint::B2DownloadFileByName,
        "https://www.catblaze.com",
        "GET",
        Some("range"),
    );
    let headers = headers_of(&config.evaluate(&req));
    let expect = [
        ("Access-Control-Allow-Origin", "https://www.catblaze.com"),
        ("Access-Control-Allow-Methods", "GET, HEAD"),
        ("Access-Control-Allow-Headers", "range"),
        ("Access-Control-Expose-Headers", "x-bz-content-sha1"),
        ("Access-Control-Max-Age", "3600"),
        (
            "Vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    ];
    assert_eq!(
        headers,
        expect.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec(),
        "a bare-scheme origin is echoed without credentials"
    );
    // Any port of an https origin, and download by id too.
    let req = CorsRequest::preflight(
        Endpoint::B2DownloadFileById,
        "https://localhost:8443",
        "GET",
        None,
    );
    assert!(matches!(config.evaluate(&req), Decision::Allowed { .. }));
}

#[test]
fn download_from_any_origin_refuses_http_uploads_and_other_headers() {
    let config = b2(DOWNLOAD_FROM_ANY_ORIGIN);
    let http = CorsRequest::preflight(
        Endpoint::B2DownloadFileByName,
        "http://www.catblaze.com",
        "GET",
        None,
    );
    let ex = config.explain(&http);
    assert!(matches!(
        ex.decision,
        Decision::Refused(Refusal::NoRuleMatched { .. })
    ));
    assert_eq!(ex.trace[0].outcome, RuleOutcome::OriginNotAllowed);
    assert!(
        ex.to_string().contains(
            r#"origin "http://www.catblaze.com" matches none of allowedOrigins ["https"]"#
        ),
        "{ex}"
    );

    let upload = CorsRequest::preflight(
        Endpoint::B2UploadFile,
        "https://www.catblaze.com",
        "POST",
        Some("authorization,content-type,x-bz-file-name,x-bz-content-sha1"),
    );
    let ex = config.explain(&upload);
    assert_eq!(ex.trace[0].outcome, RuleOutcome::OperationNotAllowed);
    assert!(
        ex.summary()
            .contains("b2_upload_file is not in allowedOperations"),
        "{}",
        ex.summary()
    );

    let s3 = CorsRequest::preflight(Endpoint::S3, "https://www.catblaze.com", "GET", None);
    assert_eq!(
        config.explain(&s3).trace[0].outcome,
        RuleOutcome::OperationNotAllowed
    );

    let fake = CorsRequest::preflight(
        Endpoint::B2DownloadFileByName,
        "https://www.catblaze.com",
        "GET",
        Some("X-Fake-Header"),
    );
    let ex = config.explain(&fake);
    assert_eq!(
        ex.trace[0].outcome,
        RuleOutcome::HeaderNotAllowed {
            header: "X-Fake-Header"
        }
    );
    assert!(
        ex.to_string()
            .contains(r#"requested header "x-fake-header" is not in allowedHeaders ["range"]"#),
        "{ex}"
    );
}

#[test]
fn cors_allow_none_blocks_everything() {
    // The "cors-allow-none" bucket: no rules at all.
    let config = b2("[]");
    let get = CorsRequest::actual(Endpoint::B2DownloadFileByName, "https://example.com", "GET");
    assert_eq!(
        config.evaluate(&get),
        Decision::Refused(Refusal::NotEnabled)
    );
    let pre = CorsRequest::preflight(
        Endpoint::B2DownloadFileByName,
        "https://example.com",
        "GET",
        None,
    );
    assert_eq!(
        config.evaluate(&pre),
        Decision::Refused(Refusal::NotEnabled)
    );
}

const CORS_ALLOW_ALL: &str = r#"[{
  "corsRuleName": "allowAllOrigins",
  "allowedOrigins": ["*"],
  "allowedHeaders": ["authorization", "range"],
  "allowedOperations": ["b2_download_file_by_name", "b2_download_file_by_id", "s3_get", "s3_head"],
  "exposeHeaders": [],
  "maxAgeSeconds": 3600
}]"#;

#[test]
fn cors_allow_all_plain_get_works() {
    let config = b2(CORS_ALLOW_ALL);
    let get = CorsRequest::actual(
        Endpoint::B2DownloadFileByName,
        "https://anything.example",
        "GET",
    );
    let headers = headers_of(&config.evaluate(&get));
    assert!(headers.contains(&("Access-Control-Allow-Origin".into(), "*".into())));
    assert!(!headers
        .iter()
        .any(|(k, _)| k == "Access-Control-Allow-Credentials"));
}

#[test]
fn cors_allow_all_fake_header_fails_until_all_headers_allowed() {
    let config = b2(CORS_ALLOW_ALL);
    let fake = CorsRequest::preflight(
        Endpoint::B2DownloadFileByName,
        "https://anything.example",
        "GET",
        Some("x-fake-header"),
    );
    assert!(matches!(
        config.evaluate(&fake),
        Decision::Refused(Refusal::NoRuleMatched { .. })
    ));
    let all_headers = b2(&CORS_ALLOW_ALL.replace(r#"["authorization", "range"]"#, r#"["*"]"#));
    let headers = headers_of(&all_headers.evaluate(&fake));
    assert!(headers.contains(&(
        "Access-Control-Allow-Headers".into(),
        "x-fake-header".into()
    )));
}

/// The R2 page's example, exactly as printed: the trailing comma makes it invalid JSON.
const R2_SEED_AS_PRINTED: &str = r#"[
{
"AllowedOrigins": [
"http://localhost:3000"
],
"AllowedMethods": [
"GET",
]
}
]"#;

#[test]
fn r2_seed_policy_as_printed_is_refused_with_where() {
    let err = parse_detect(R2_SEED_AS_PRINTED, Some(Dialect::R2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    let text = err.to_string();
    assert!(text.contains("trailing comma at line 8"), "{text}");
}

#[test]
fn r2_seed_policy_allows_only_localhost_3000_get() {
    let fixed = R2_SEED_AS_PRINTED.replace("\"GET\",", "\"GET\"");
    let (config, format) = parse_detect(&fixed, None).unwrap();
    assert_eq!(format, Format::R2Json);
    let ok = CorsRequest::actual(Endpoint::S3, "http://localhost:3000", "GET");
    let headers = headers_of(&config.evaluate(&ok));
    assert!(headers.contains(&(
        "Access-Control-Allow-Origin".into(),
        "http://localhost:3000".into()
    )));
    assert!(headers.contains(&("Access-Control-Allow-Credentials".into(), "true".into())));
    assert!(headers.contains(&("Access-Control-Allow-Methods".into(), "GET".into())));
    for other in [
        "http://localhost:3001",
        "https://localhost:3000",
        "http://127.0.0.1:3000",
    ] {
        let req = CorsRequest::actual(Endpoint::S3, other, "GET");
        assert!(
            matches!(config.evaluate(&req), Decision::Refused(_)),
            "{other}"
        );
    }
    let put = CorsRequest::preflight(Endpoint::S3, "http://localhost:3000", "PUT", None);
    assert!(matches!(config.evaluate(&put), Decision::Refused(_)));
    // "A request without an Origin HTTP request header will not return any CORS response headers."
    let no_origin = CorsRequest { origin: None, ..ok };
    assert_eq!(config.evaluate(&no_origin), Decision::NotCors);
}

#[test]
fn r2_common_issues_origins_with_paths_are_invalid() {
    for (origin, says) in [
        ("https://static.example.com/", "ends with a slash"),
        (
            "https://static.example.com/fonts/Calibri.woff2",
            "has a path",
        ),
    ] {
        let doc = format!(r#"[{{"AllowedOrigins": ["{origin}"], "AllowedMethods": ["GET"]}}]"#);
        let err = parse(&doc, Format::R2Json).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("rule 1, AllowedOrigins: "), "{text}");
        assert!(text.contains(says), "{text}");
        assert!(
            text.contains("\"https://static.example.com\""),
            "suggests the fix: {text}"
        );
    }
    let ok = r#"[{"AllowedOrigins": ["https://static.example.com"], "AllowedMethods": ["GET"],
                 "AllowedHeaders": ["x-requested-by", "User-Agent"],
                 "ExposeHeaders": ["Content-Encoding", "cf-cache-status", "Date"], "MaxAgeSeconds": 3600}]"#;
    let config = parse(ok, Format::R2Json).unwrap();
    // "Origin values must match exactly."
    let sub = CorsRequest::actual(Endpoint::S3, "https://www.static.example.com", "GET");
    assert!(matches!(config.evaluate(&sub), Decision::Refused(_)));
    let pre = CorsRequest::preflight(
        Endpoint::S3,
        "https://static.example.com",
        "GET",
        Some("user-agent,x-requested-by"),
    );
    let headers = headers_of(&config.evaluate(&pre));
    assert!(headers.contains(&(
        "Access-Control-Expose-Headers".into(),
        "Content-Encoding, cf-cache-status, Date".into()
    )));
    assert!(headers.contains(&(
        "Access-Control-Allow-Headers".into(),
        "user-agent, x-requested-by".into()
    )));
}

#[test]
fn r2_rest_form_and_misplaced_pascal_case() {
    let rest = r#"{"rules":[{"id":"fonts","allowed":{"origins":["http://localhost:3000"],"methods":["GET","HEAD"],"headers":["range"]},"exposeHeaders":["Content-Length"],"maxAgeSeconds":600}]}"#;
    let (config, format) = parse_detect(rest, None).unwrap();
    assert_eq!(format, Format::R2RestJson);
    assert_eq!(config.rules()[0].name(), Some("fonts"));
    // wrangler's classic mistake: the AWS shape fed to the R2 REST form.
    let aws_shape =
        r#"{"rules":[{"AllowedOrigins":["http://localhost:3000"],"AllowedMethods":["GET"]}]}"#;
    let text = parse(aws_shape, Format::R2RestJson)
        .unwrap_err()
        .to_string();
    assert!(text.contains("AllowedOrigins: unknown field"), "{text}");
    assert!(text.contains("allowed.origins: is required"), "{text}");
}
