//! Property tests: serialization round-trips in every format, evaluation never panics on
//! arbitrary header values, and removing a rule never allows more.

use pier_cors::validate::{B2_FIELDS, PASCAL_FIELDS, S3_XML_FIELDS};
use pier_cors::{
    parse, parse_detect, serialize, CorsConfig, CorsRequest, Decision, Dialect, Endpoint, Format,
    Operation, RuleSpec,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

const HOSTS: &[&str] = &[
    "example.com",
    "app.example.com",
    "localhost",
    "127.0.0.1",
    "*.example.com",
    "*",
];
const HEADERS: &[&str] = &[
    "authorization",
    "Range",
    "content-type",
    "x-amz-*",
    "x-bz-info-*",
    "*",
    "X-Fake-Header",
];
const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

fn url_origin(star_in_port: bool) -> impl Strategy<Value = String> {
    (
        select(vec!["http", "https"]),
        select(HOSTS.to_vec()),
        prop_oneof![Just(None), (1u16..).prop_map(Some), Just(Some(0))],
    )
        .prop_map(move |(scheme, host, port)| {
            let host = if host == "*" { "*" } else { host };
            match port {
                None => format!("{scheme}://{host}"),
                Some(0) if star_in_port && !host.contains('*') => format!("{scheme}://{host}:*"),
                Some(0) => format!("{scheme}://{host}"),
                Some(p) => format!("{scheme}://{host}:{p}"),
            }
        })
}

/// Free text with at most one `*`, XML-special characters and non-ASCII included.
fn s3_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&'\"./:é-]{0,12}(\\*[a-z.:]{0,6})?"
}

fn header_list(b2: bool) -> impl Strategy<Value = Vec<String>> {
    subsequence(HEADERS.to_vec(), 0..4).prop_map(move |hs| {
        let mut hs: Vec<String> = hs.into_iter().map(str::to_owned).collect();
        if b2 && hs.len() > 1 {
            hs.retain(|h| h != "*");
        }
        hs
    })
}

fn b2_spec() -> impl Strategy<Value = RuleSpec> {
    (
        "[A-Za-z][A-Za-z0-9-]{5,20}",
        prop_oneof![
            Just(vec!["*".to_owned()]),
            Just(vec!["https".to_owned()]),
            vec(url_origin(true), 1..4),
        ],
        subsequence(Operation::ALL.to_vec(), 1..9),
        header_list(true),
        subsequence(vec!["x-bz-content-sha1", "ETag", "x-bz-file-name"], 0..3),
        0i64..=86_400,
    )
        .prop_map(|(name, origins, ops, headers, expose, age)| RuleSpec {
            name: Some(name),
            origins,
            operations: ops.iter().map(|o| o.b2_name().to_owned()).collect(),
            allowed_headers: headers,
            expose_headers: expose.into_iter().map(str::to_owned).collect(),
            max_age_seconds: Some(age),
        })
}

fn s3_spec() -> impl Strategy<Value = RuleSpec> {
    (
        proptest::option::of("[ -~]{0,20}"),
        vec(s3_text(), 1..4),
        vec(select(METHODS.to_vec()), 1..5),
        vec(s3_text(), 0..3),
        vec("[A-Za-z0-9-]{1,12}", 0..3),
        proptest::option::of(0i64..=u32::MAX as i64),
    )
        .prop_map(|(name, origins, methods, headers, expose, age)| RuleSpec {
            name,
            origins,
            operations: methods.into_iter().map(str::to_owned).collect(),
            allowed_headers: headers,
            expose_headers: expose,
            max_age_seconds: age,
        })
}

fn r2_spec() -> impl Strategy<Value = RuleSpec> {
    (
        proptest::option::of("[a-z0-9-]{1,12}"),
        vec(url_origin(false), 1..4),
        subsequence(METHODS.to_vec(), 1..5),
        header_list(false),
        proptest::option::of(0i64..=86_400),
    )
        .prop_map(|(name, origins, methods, headers, age)| RuleSpec {
            name,
            origins,
            operations: methods.into_iter().map(str::to_owned).collect(),
            allowed_headers: headers,
            expose_headers: vec![],
            max_age_seconds: age,
        })
}

fn config_of(dialect: Dialect, specs: Vec<RuleSpec>) -> Option<CorsConfig> {
    let fields = match dialect {
        Dialect::B2 => &B2_FIELDS,
        Dialect::S3 => &S3_XML_FIELDS,
        Dialect::R2 => &PASCAL_FIELDS,
    };
    let mut seen = std::collections::HashSet::new();
    let specs: Vec<RuleSpec> = specs
        .into_iter()
        .filter(|s| dialect != Dialect::B2 || seen.insert(s.name.clone()))
        .collect();
    CorsConfig::from_specs(dialect, fields, specs).ok()
}

fn round_trip(config: &CorsConfig, format: Format) -> Result<(), TestCaseError> {
    let text = serialize(config, format).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = parse(&text, format).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(&back, config, "{}", text);
    let (detected, found) = parse_detect(&text, Some(format.dialect()))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(found, format);
    prop_assert_eq!(&detected, config);
    Ok(())
}

fn request() -> impl Strategy<Value = (String, &'static str, Option<String>)> {
    (
        prop_oneof![
            url_origin(false),
            Just("https://app.example.com".to_owned()),
            Just("http://localhost:3000".to_owned()),
        ],
        select(METHODS.to_vec()),
        proptest::option::of(
            subsequence(
                vec!["authorization", "range", "x-amz-date", "x-fake-header"],
                0..3,
            )
            .prop_map(|h| h.join(",")),
        ),
    )
}

fn allowed(
    config: &CorsConfig,
    (origin, method, headers): &(String, &'static str, Option<String>),
) -> bool {
    let req = CorsRequest::preflight(Endpoint::S3, origin, method, headers.as_deref());
    matches!(config.evaluate(&req), Decision::Allowed { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn b2_round_trips(specs in vec(b2_spec(), 0..5)) {
        if let Some(config) = config_of(Dialect::B2, specs) {
            round_trip(&config, Format::B2Json)?;
        }
    }

    #[test]
    fn s3_round_trips_in_xml_and_json(specs in vec(s3_spec(), 1..5)) {
        let config = config_of(Dialect::S3, specs).expect("generated S3 rules are valid");
        round_trip(&config, Format::S3Xml)?;
        round_trip(&config, Format::S3Json)?;
    }

    #[test]
    fn r2_round_trips_in_both_shapes(specs in vec(r2_spec(), 0..5)) {
        let config = config_of(Dialect::R2, specs).expect("generated R2 rules are valid");
        round_trip(&config, Format::R2Json)?;
        round_trip(&config, Format::R2RestJson)?;
    }

    #[test]
    fn evaluation_never_panics(
        specs in vec(s3_spec(), 1..4),
        b2 in vec(b2_spec(), 0..3),
        origin in proptest::option::of(".*"),
        method in ".*",
        acrm in proptest::option::of(".*"),
        acrh in proptest::option::of(".*"),
        preflight: bool,
        endpoint in select(vec![Endpoint::S3, Endpoint::B2DownloadFileByName, Endpoint::B2DownloadFileById, Endpoint::B2UploadFile, Endpoint::B2UploadPart]),
    ) {
        let mut rules = config_of(Dialect::S3, specs).unwrap().into_rules();
        if let Some(b2) = config_of(Dialect::B2, b2) {
            rules.extend(b2.into_rules());
        }
        let config = CorsConfig::from_rules(rules);
        let req = CorsRequest {
            endpoint,
            method: &method,
            origin: origin.as_deref(),
            request_method: acrm.as_deref(),
            request_headers: acrh.as_deref(),
            preflight,
        };
        let explained = config.explain(&req);
        prop_assert_eq!(&explained.decision, &config.evaluate(&req));
        let _ = explained.to_string();
        let _ = explained.summary();
    }

    #[test]
    fn removing_a_rule_never_allows_more(
        specs in vec(prop_oneof![s3_spec(), r2_spec()], 1..6),
        remove in any::<prop::sample::Index>(),
        requests in vec(request(), 1..8),
    ) {
        let Some(full) = config_of(Dialect::S3, specs) else { return Ok(()) };
        let mut fewer = full.clone().into_rules();
        fewer.remove(remove.index(fewer.len()));
        let fewer = CorsConfig::from_rules(fewer);
        for r in &requests {
            prop_assert!(!allowed(&fewer, r) || allowed(&full, r), "{:?}", r);
        }
    }

    #[test]
    fn indexed_evaluation_agrees_with_the_rule_by_rule_scan(
        s3 in vec(s3_spec(), 0..4),
        b2 in vec(b2_spec(), 0..4),
        r2 in vec(r2_spec(), 0..4),
        requests in vec(request(), 1..8),
        endpoint in select(vec![Endpoint::S3, Endpoint::B2DownloadFileByName, Endpoint::B2UploadFile]),
        preflight: bool,
    ) {
        let mut rules = Vec::new();
        for (dialect, specs) in [(Dialect::R2, r2), (Dialect::B2, b2), (Dialect::S3, s3)] {
            if let Some(c) = config_of(dialect, specs) {
                rules.extend(c.into_rules());
            }
        }
        let config = CorsConfig::from_rules(rules);
        for (origin, method, headers) in &requests {
            let method = if endpoint == Endpoint::B2UploadFile { "POST" } else { method };
            let req = if preflight {
                CorsRequest::preflight(endpoint, origin, method, headers.as_deref())
            } else {
                CorsRequest { request_headers: headers.as_deref(), ..CorsRequest::actual(endpoint, origin, method) }
            };
            let fast = config.evaluate(&req);
            prop_assert_eq!(fast, config.explain(&req).decision);
        }
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in ".{0,200}") {
        for format in Format::ALL {
            let _ = parse(&text, format);
        }
        let _ = parse_detect(&text, None);
    }
}
