//! Preflight evaluation cost: 100 rules where only the last matches (exact origins), and 100 rules
//! of wildcard origins where only the last matches. Target: under 1 µs per evaluation.

use criterion::{criterion_group, criterion_main, Criterion};
use pier_cors::{parse, CorsConfig, CorsRequest, Decision, Endpoint, Format};
use std::hint::black_box;

fn config(origin_of: impl Fn(usize) -> String) -> CorsConfig {
    let rules: Vec<String> = (0..100)
        .map(|i| {
            format!(
                "<CORSRule><ID>rule-{i}</ID><AllowedOrigin>{}</AllowedOrigin><AllowedOrigin>{}</AllowedOrigin>\
                 <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>\
                 <AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>\
                 <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>",
                origin_of(i),
                origin_of(i + 1000)
            )
        })
        .collect();
    let doc = format!("<CORSConfiguration>{}</CORSConfiguration>", rules.concat());
    parse(&doc, Format::S3Xml).expect("valid benchmark rules")
}

fn bench(c: &mut Criterion) {
    let exact = config(|i| format!("https://app{i}.example.com"));
    let wild = config(|i| format!("https://*.tenant{i}.example.com"));
    let exact_req = CorsRequest::preflight(
        Endpoint::S3,
        "https://app99.example.com",
        "PUT",
        Some("content-type,x-amz-date,x-amz-content-sha256"),
    );
    let wild_req = CorsRequest::preflight(
        Endpoint::S3,
        "https://files.tenant99.example.com",
        "PUT",
        Some("content-type,x-amz-date,x-amz-content-sha256"),
    );
    for (config, req) in [(&exact, &exact_req), (&wild, &wild_req)] {
        assert!(matches!(
            config.evaluate(req),
            Decision::Allowed { rule_index: 99, .. }
        ));
    }
    let mut group = c.benchmark_group("preflight_100_rules_last_matches");
    group.bench_function("exact_origins", |b| {
        b.iter(|| black_box(&exact).evaluate(black_box(&exact_req)).clone())
    });
    group.bench_function("wildcard_origins", |b| {
        b.iter(|| black_box(&wild).evaluate(black_box(&wild_req)).clone())
    });
    let refused = CorsRequest::preflight(Endpoint::S3, "https://evil.example", "PUT", None);
    group.bench_function("no_rule_matches", |b| {
        b.iter(|| black_box(&exact).evaluate(black_box(&refused)).clone())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
