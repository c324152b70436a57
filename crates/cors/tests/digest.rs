//! The rules of the reference digest (`shared/reference/cors-semantics.md`): S3 §3.1–3.4, B2
//! §1.1–1.5, conversion §1.7/§6, each as a table of cases, refusals included.

use pier_cors::{
    convert, parse, serialize, CorsConfig, CorsRequest, Decision, Dialect, Endpoint, ErrorKind,
    Format, Refusal, RuleOutcome,
};

fn s3_doc(rules: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{rules}</CORSConfiguration>"#
    )
}

fn s3(rules: &str) -> CorsConfig {
    parse(&s3_doc(rules), Format::S3Xml).unwrap_or_else(|e| panic!("{e}"))
}

fn s3_err(rules: &str) -> (ErrorKind, String) {
    let e = parse(&s3_doc(rules), Format::S3Xml).unwrap_err();
    (e.kind(), e.to_string())
}

#[test]
fn s3_validation_refusals() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        (
            "<CORSRule><AllowedOrigin>http://*.*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
            ErrorKind::Value,
            r#"rule 1, AllowedOrigin: AllowedOrigin "http://*.*.example.com" can not have more than one wildcard."#,
        ),
        (
            "<CORSRule><ID>opt</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod></CORSRule>",
            ErrorKind::Value,
            r#"rule 1 ("opt"), AllowedMethod: Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS (preflights are answered automatically; OPTIONS is never listed)"#,
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod></CORSRule>",
            ErrorKind::Value,
            r#"Unsupported method is get (methods are upper case: "GET")"#,
        ),
        (
            "<CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>",
            ErrorKind::Schema,
            "rule 1, AllowedOrigin: is required",
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>",
            ErrorKind::Schema,
            "rule 1, AllowedMethod: is required",
        ),
        ("", ErrorKind::Schema, "at least one <CORSRule>"),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader></CORSRule>",
            ErrorKind::Value,
            r#"ExposeHeader "*" contains wildcard. We currently do not support wildcard for ExposeHeader."#,
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader></CORSRule>",
            ErrorKind::Value,
            r#"AllowedHeader "x-*-*" can not have more than one wildcard."#,
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule>",
            ErrorKind::Schema,
            r#"MaxAgeSeconds: "soon" is not a whole number of seconds"#,
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule>",
            ErrorKind::Value,
            "MaxAgeSeconds: -1 is out of range",
        ),
        (
            "<CORSRule><AllowedOrigins>*</AllowedOrigins><AllowedMethod>GET</AllowedMethod></CORSRule>",
            ErrorKind::Schema,
            "unknown element <AllowedOrigins>; did you mean <AllowedOrigin>?",
        ),
        (
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
            ErrorKind::Syntax,
            "not well-formed XML",
        ),
        (
            "<CORSRule><AllowedOrigin><b>x</b></AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
            ErrorKind::Schema,
            "AllowedOrigin: must hold text, not other elements",
        ),
    ];
    for (rules, kind, says) in cases {
        let (k, text) = s3_err(rules);
        assert_eq!(k, *kind, "{rules}: {text}");
        assert!(
            text.contains(says),
            "{rules}:\n  got  {text}\n  want {says}"
        );
    }
    let long_id = format!(
        "<CORSRule><ID>{}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
        "i".repeat(256)
    );
    assert!(s3_err(&long_id).1.contains("at most 255"));
    let rule =
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
    assert!(s3_err(&rule.repeat(101))
        .1
        .contains("101 rules given; a bucket can have at most 100"));
    let big = format!(
        "<CORSRule><AllowedOrigin>{}</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
        "a".repeat(70_000)
    );
    assert!(s3_err(&big).1.contains("at most 65536 bytes"));
    // Every error is reported, not only the first.
    let (_, text) = s3_err(
        "<CORSRule><AllowedOrigin>a*b*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule>\
         <CORSRule><ID>two</ID><AllowedOrigin>*</AllowedOrigin></CORSRule>",
    );
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn s3_accepts_what_aws_accepts_and_reads_it_back() {
    // Empty AllowedOrigin is accepted by AWS; case, order and duplicates are kept.
    let config = s3(
        "<CORSRule><ID>Rule One</ID><AllowedOrigin></AllowedOrigin><AllowedOrigin>http://www.Example.com</AllowedOrigin>\
         <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>X-Amz-*</AllowedHeader>\
         <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>",
    );
    let xml = serialize(&config, Format::S3Xml).unwrap();
    assert!(xml.contains("<ID>Rule One</ID>"));
    let methods: Vec<&str> = xml
        .lines()
        .filter(|l| l.contains("AllowedMethod"))
        .collect();
    assert_eq!(
        methods,
        [
            "    <AllowedMethod>PUT</AllowedMethod>",
            "    <AllowedMethod>GET</AllowedMethod>"
        ]
    );
    assert!(xml.contains("<AllowedOrigin></AllowedOrigin>"));
    assert!(xml.contains("<AllowedOrigin>http://www.Example.com</AllowedOrigin>"));
    assert!(xml.contains("<AllowedHeader>X-Amz-*</AllowedHeader>"));
    assert_eq!(parse(&xml, Format::S3Xml).unwrap(), config);
    // Entities and CDATA are text.
    let config = s3("<CORSRule><ID>a&amp;b &#x41;</ID><AllowedOrigin><![CDATA[https://x.example]]></AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>");
    assert_eq!(config.rules()[0].name(), Some("a&b A"));
    assert_eq!(config.rules()[0].origins(), ["https://x.example"]);
}

#[test]
fn s3_evaluation_follows_the_recordings() {
    let config = s3(
        "<CORSRule><AllowedOrigin>http://www.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>\
         <AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedHeader>*</AllowedHeader>\
         <ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>\
         <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
    );
    // Matched echo rule: every method of the rule, requested headers lower-cased in order.
    let pre = CorsRequest::preflight(
        Endpoint::S3,
        "http://www.example.com",
        "PUT",
        Some("Content-Type, X-Amz-Date"),
    );
    let Decision::Allowed {
        rule_index,
        headers,
    } = config.evaluate(&pre)
    else {
        panic!()
    };
    assert_eq!(rule_index, 0);
    assert_eq!(headers.allow_origin, "http://www.example.com");
    assert!(headers.allow_credentials);
    assert_eq!(headers.allow_methods, "PUT, POST, DELETE");
    assert_eq!(
        headers.allow_headers.as_deref(),
        Some("content-type, x-amz-date")
    );
    assert_eq!(headers.expose_headers, Some("ETag, x-amz-request-id"));
    assert_eq!(headers.max_age, Some("3000"));

    // `*` rule: ACAO `*`, no credentials, no max age; a rule without AllowedHeader refuses any.
    let get = CorsRequest::actual(Endpoint::S3, "https://other.example", "GET");
    let Decision::Allowed {
        rule_index: 1,
        headers,
    } = config.evaluate(&get)
    else {
        panic!()
    };
    assert_eq!(
        (
            headers.allow_origin,
            headers.allow_credentials,
            headers.max_age
        ),
        ("*", false, None)
    );
    let with_header = CorsRequest::preflight(
        Endpoint::S3,
        "https://other.example",
        "GET",
        Some("x-custom"),
    );
    let ex = config.explain(&with_header);
    assert_eq!(
        ex.trace[1].outcome,
        RuleOutcome::HeaderNotAllowed { header: "x-custom" }
    );

    // The effective method is ACRM even on a non-OPTIONS request (AWS: GET carrying ACRM: PUT).
    let odd = CorsRequest {
        request_method: Some("PUT"),
        ..CorsRequest::actual(Endpoint::S3, "https://other.example", "GET")
    };
    assert!(matches!(
        config.evaluate(&odd),
        Decision::Refused(Refusal::NoRuleMatched { .. })
    ));

    // Origin comparisons are literal.
    for origin in [
        "https://www.example.com",
        "http://www.example.com:80",
        "http://www.example.com/",
        "http://WWW.example.com",
    ] {
        let req = CorsRequest::preflight(Endpoint::S3, origin, "PUT", None);
        assert!(
            matches!(config.evaluate(&req), Decision::Refused(_)),
            "{origin}"
        );
    }
    // Preflight without Origin is a bad request; without ACRM refused; unknown method refused.
    let mut no_origin = pre;
    no_origin.origin = None;
    assert_eq!(
        config.evaluate(&no_origin),
        Decision::Refused(Refusal::MissingOrigin)
    );
    assert!(Refusal::MissingOrigin.is_bad_request());
    assert_eq!(
        Refusal::MissingOrigin.message(),
        "Insufficient information. Origin request header needed."
    );
    let mut no_acrm = pre;
    no_acrm.request_method = None;
    assert_eq!(
        config.evaluate(&no_acrm),
        Decision::Refused(Refusal::MissingRequestMethod)
    );
    let patch = CorsRequest::preflight(Endpoint::S3, "http://www.example.com", "PATCH", None);
    assert_eq!(
        config.evaluate(&patch),
        Decision::Refused(Refusal::MethodNotApplicable {
            method: "PATCH".into()
        })
    );
}

#[test]
fn s3_wildcard_origins() {
    let config = s3("<CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>");
    for (origin, ok) in [
        ("http://a.example.com", true),
        ("http://a.b.example.com", true),
        ("http://.example.com", true),
        ("https://a.example.com", false),
        ("http://example.com", false),
        ("http://a.example.com:8080", false),
    ] {
        let req = CorsRequest::preflight(Endpoint::S3, origin, "GET", None);
        assert_eq!(
            matches!(config.evaluate(&req), Decision::Allowed { .. }),
            ok,
            "{origin}"
        );
    }
}

fn b2_err(rule_json: &str) -> String {
    parse(&format!("[{rule_json}]"), Format::B2Json)
        .unwrap_err()
        .to_string()
}

const GOOD: &str = r#""allowedOperations":["b2_download_file_by_name"],"maxAgeSeconds":60"#;

#[test]
fn b2_validation_refusals() {
    let cases: &[(String, &str)] = &[
        (format!(r#"{{"corsRuleName":"short","allowedOrigins":["*"],{GOOD}}}"#), r#"rule 1 ("short"), corsRuleName: "short" is 5 characters long; a rule name must be 6 to 50 characters"#),
        (format!(r#"{{"corsRuleName":"{}","allowedOrigins":["*"],{GOOD}}}"#, "a".repeat(51)), "must be 6 to 50 characters"),
        (format!(r#"{{"corsRuleName":"my rule","allowedOrigins":["*"],{GOOD}}}"#), r#"contains ' '; use only letters, digits and `-`"#),
        (format!(r#"{{"corsRuleName":"b2-mine","allowedOrigins":["*"],{GOOD}}}"#), "reserved for Backblaze"),
        (format!(r#"{{"allowedOrigins":["*"],{GOOD}}}"#), "rule 1, corsRuleName: is required"),
        (format!(r#"{{"corsRuleName":"starRule","allowedOrigins":["*","https://a.example"],{GOOD}}}"#), r#"allowedOrigins: "*" allows every origin and must be the only entry"#),
        (format!(r#"{{"corsRuleName":"twoHttps","allowedOrigins":["https","https"],{GOOD}}}"#), r#""https" is listed more than once"#),
        (format!(r#"{{"corsRuleName":"httpsPlus","allowedOrigins":["https","https://a.example"],{GOOD}}}"#), r#""https://a.example" is already covered by "https""#),
        (format!(r#"{{"corsRuleName":"emptyOrigin","allowedOrigins":[""],{GOOD}}}"#), "illegal empty string in allowedOrigins"),
        (format!(r#"{{"corsRuleName":"noOrigins","allowedOrigins":[],{GOOD}}}"#), "must list at least one origin"),
        (r#"{"corsRuleName":"ageless","allowedOrigins":["*"],"allowedOperations":["s3_get"]}"#.into(), "maxAgeSeconds: is required"),
        (r#"{"corsRuleName":"tooOld","allowedOrigins":["*"],"allowedOperations":["s3_get"],"maxAgeSeconds":86401}"#.into(), "86401 is out of range; use 0 to 86400"),
        (r#"{"corsRuleName":"negative","allowedOrigins":["*"],"allowedOperations":["s3_get"],"maxAgeSeconds":-1}"#.into(), "-1 is out of range"),
        (r#"{"corsRuleName":"stringAge","allowedOrigins":["*"],"allowedOperations":["s3_get"],"maxAgeSeconds":"60"}"#.into(), r#"maxAgeSeconds: must be a whole number of seconds, found the string "60""#),
        (r#"{"corsRuleName":"badOps","allowedOrigins":["*"],"allowedOperations":["B2_download_file_by_name"],"maxAgeSeconds":1}"#.into(), r#"unknown operation "B2_download_file_by_name"; operation names are lower case: "b2_download_file_by_name""#),
        (r#"{"corsRuleName":"noOps","allowedOrigins":["*"],"allowedOperations":[],"maxAgeSeconds":1}"#.into(), "must list at least one operation"),
        (r#"{"corsRuleName":"opString","allowedOrigins":["*"],"allowedOperations":"s3_get","maxAgeSeconds":1}"#.into(), r#"must be a list of strings: write ["s3_get"] instead of "s3_get""#),
        (format!(r#"{{"corsRuleName":"unknownKey","allowedOrigins":["*"],"AllowedOrigins":["*"],{GOOD}}}"#), r#"AllowedOrigins: unknown field; did you mean "allowedOrigins"?"#),
        (format!(r#"{{"corsRuleName":"exposeStar","allowedOrigins":["*"],"exposeHeaders":["x-bz-*"],{GOOD}}}"#), "wildcards are not allowed here"),
        (format!(r#"{{"corsRuleName":"midStar","allowedOrigins":["*"],"allowedHeaders":["x-*-id"],{GOOD}}}"#), "a `*` is only allowed at the end"),
        (format!(r#"{{"corsRuleName":"starPlus","allowedOrigins":["*"],"allowedHeaders":["*","range"],{GOOD}}}"#), r#""*" allows every header and must be the only entry"#),
        (format!(r#"{{"corsRuleName":"pathOrigin","allowedOrigins":["https://a.example/x"],{GOOD}}}"#), "has a path"),
        (format!(r#"{{"corsRuleName":"bigRule1","allowedOrigins":[{}],{GOOD}}}"#, (0..40).map(|i| format!(r#""https://host-number-{i}.example.com""#)).collect::<Vec<_>>().join(",")), "a rule must be under 1000 bytes"),
        ("\"notAnObject\"".into(), "rule 1: must be a JSON object"),
    ];
    for (rule, says) in cases {
        let text = b2_err(rule);
        assert!(text.contains(says), "{rule}:\n  got  {text}\n  want {says}");
    }
    let dup = format!(
        r#"[{{"corsRuleName":"sameName","allowedOrigins":["*"],{GOOD}}},{{"corsRuleName":"sameName","allowedOrigins":["*"],{GOOD}}}]"#
    );
    let text = parse(&dup, Format::B2Json).unwrap_err().to_string();
    assert!(
        text.contains(
            r#"rule 2 ("sameName"), corsRuleName: "sameName" is already the name of rule 1"#
        ),
        "{text}"
    );
    let many: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"corsRuleName":"rule-{i:04}","allowedOrigins":["*"],{GOOD}}}"#))
        .collect();
    let text = parse(&format!("[{}]", many.join(",")), Format::B2Json)
        .unwrap_err()
        .to_string();
    assert!(text.contains("at most 100"), "{text}");
}

#[test]
fn b2_origin_forms_match_as_documented() {
    let config = parse(
        r#"[{"corsRuleName":"portRule","allowedOrigins":["https://*:8443","http://www.example.com:8180","https://www.example.com"],
             "allowedOperations":["b2_upload_file","b2_upload_part"],"allowedHeaders":["authorization","x-bz-info-*"],"maxAgeSeconds":0}]"#,
        Format::B2Json,
    )
    .unwrap();
    for (origin, ok) in [
        ("https://a.example:8443", true),
        ("https://a.example", false),
        ("http://www.example.com:8180", true),
        ("http://www.example.com", false),
        ("https://www.example.com", true),
        ("https://www.example.com:443", true),
    ] {
        let req = CorsRequest::preflight(
            Endpoint::B2UploadFile,
            origin,
            "POST",
            Some("authorization,x-bz-info-src_last_modified_millis"),
        );
        let d = config.evaluate(&req);
        assert_eq!(matches!(d, Decision::Allowed { .. }), ok, "{origin}: {d:?}");
        if let Decision::Allowed { headers, .. } = d {
            assert_eq!(headers.allow_methods, "POST");
            assert_eq!(headers.max_age, Some("0"));
        }
    }
    // GET is not an upload.
    let get = CorsRequest::preflight(
        Endpoint::B2UploadFile,
        "https://www.example.com",
        "GET",
        None,
    );
    assert!(matches!(
        config.evaluate(&get),
        Decision::Refused(Refusal::MethodNotApplicable { .. })
    ));
}

#[test]
fn conversion_is_lossless_where_both_can_say_it() {
    let b2 = parse(
        r#"[{"corsRuleName":"s3Everything","allowedOrigins":["https"],"allowedOperations":["s3_get","s3_put"],
             "allowedHeaders":["*"],"exposeHeaders":["ETag"],"maxAgeSeconds":600}]"#,
        Format::B2Json,
    )
    .unwrap();
    let xml = serialize(&b2, Format::S3Xml).unwrap();
    assert!(xml.contains("<ID>s3Everything</ID>"));
    assert!(
        xml.contains("<AllowedOrigin>https://*</AllowedOrigin>"),
        "{xml}"
    );
    let back = parse(&xml, Format::S3Xml).unwrap();
    assert_eq!(
        serialize(&back, Format::B2Json).unwrap(),
        serialize(&b2, Format::B2Json).unwrap()
    );
    // Same decisions on both sides.
    for origin in [
        "https://a.example",
        "https://a.example:8443",
        "http://a.example",
    ] {
        let req = CorsRequest::preflight(Endpoint::S3, origin, "PUT", Some("x-amz-date"));
        assert_eq!(b2.evaluate(&req), back.evaluate(&req), "{origin}");
    }
    // S3 → R2 → S3.
    let s3 = s3("<CORSRule><ID>fonts</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>");
    let r2 = serialize(&s3, Format::R2Json).unwrap();
    assert_eq!(
        parse(
            &serialize(&parse(&r2, Format::R2Json).unwrap(), Format::S3Xml).unwrap(),
            Format::S3Xml
        )
        .unwrap(),
        s3
    );
}

#[test]
fn conversion_refuses_what_the_target_cannot_say() {
    let b2 = parse(
        r#"[{"corsRuleName":"browserUploads","allowedOrigins":["https://app.example.com"],"allowedOperations":["b2_upload_file","s3_put"],"maxAgeSeconds":60}]"#,
        Format::B2Json,
    )
    .unwrap();
    let err = serialize(&b2, Format::S3Xml).unwrap_err().to_string();
    assert_eq!(
        err,
        r#"rule 1 ("browserUploads"), allowedOperations: grants b2_upload_file, which S3 rules cannot express: they only allow HTTP methods on the S3 API"#
    );
    let any_https = parse(
        r#"[{"corsRuleName":"anyHttps","allowedOrigins":["https"],"allowedOperations":["s3_get"],"maxAgeSeconds":60}]"#,
        Format::B2Json,
    )
    .unwrap();
    let err = serialize(&any_https, Format::R2Json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("R2 cannot say that"), "{err}");
    let upper = s3("<CORSRule><AllowedOrigin>https://App.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>");
    let err = serialize(&upper, Format::B2Json).unwrap_err().to_string();
    assert!(err.contains("browsers send them in lower case"), "{err}");
    let empty = s3(
        "<CORSRule><AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
    );
    assert!(serialize(&empty, Format::B2Json)
        .unwrap_err()
        .to_string()
        .contains("illegal empty string"));
    // B2's `https://*` is the default port only; S3's `https://*` is any port.
    let default_port = parse(
        r#"[{"corsRuleName":"defaultPort","allowedOrigins":["https://*"],"allowedOperations":["s3_get"],"maxAgeSeconds":60}]"#,
        Format::B2Json,
    )
    .unwrap();
    assert!(serialize(&default_port, Format::S3Xml)
        .unwrap_err()
        .to_string()
        .contains("different origins"));
}

#[test]
fn conversion_to_b2_names_rules_and_sets_max_age() {
    let s3 = s3("<CORSRule><ID>my rule</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>");
    let converted = convert(&s3, Dialect::B2).unwrap();
    let rule = &converted.config.rules()[0];
    assert_eq!(rule.name(), Some("s3-rule-1"));
    assert_eq!(rule.max_age_seconds(), Some(5));
    assert_eq!(converted.notes.len(), 2, "{:?}", converted.notes);
    assert!(converted.notes[0].contains("not a valid B2 rule name"));
}

/// Found by the `parse_any` fuzz target: a rule name whose third byte is inside a multi-byte
/// character made the reserved-prefix check slice a string off a character boundary.
#[test]
fn fuzz_rule_name_with_multibyte_character_is_refused_not_a_panic() {
    let doc = "[{\"corsRuleName\":\"d\u{feff}loadFromAnyOrigin\",\"allowedOrigins\":[\"https\"],\
               \"allowedOperations\":[\"s3_get\"],\"maxAgeSeconds\":1}]";
    let text = parse(doc, Format::B2Json).unwrap_err().to_string();
    assert!(text.contains("use only letters, digits and `-`"), "{text}");
    let doc = "[{\"corsRuleName\":\"é2-abcdef\",\"allowedOrigins\":[\"*\"],\"allowedOperations\":[\"s3_get\"],\"maxAgeSeconds\":1}]";
    assert!(parse(doc, Format::B2Json).is_err());
}
