//! B2 requests as a client can send them: any method and URL to `B2Request::parse`, and any
//! JSON body to the bucket-settings parser. Neither may panic; errors are B2 errors; lifecycle
//! rules round-trip through B2's view.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let method = if selector % 4 == 0 { http::Method::GET } else { http::Method::POST };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let Ok(uri) = format!("/b2api/{text}").parse::<http::Uri>() else {
            return;
        };
        if let Ok(request) = pier_b2::B2Request::parse(&method, &uri) {
            let _ = request.cors_target();
        }
        if let Ok(uri) = format!("/file/{text}").parse::<http::Uri>() {
            let _ = pier_b2::B2Request::parse(&method, &uri);
        }
    } else if let Ok(args) = serde_json::from_slice::<serde_json::Value>(rest) {
        // Lifecycle rules B2 accepts are all shown back, and read back the same.
        if let Ok(Some(rules)) = pier_b2::bucket_settings(&args).map(|u| u.lifecycle) {
            let shown = pier_b2::lifecycle::view(&rules);
            assert_eq!(pier_b2::lifecycle::parse(&shown).ok(), Some(rules));
        }
    }
});
