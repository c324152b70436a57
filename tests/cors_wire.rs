//! The CORS layer over raw HTTP against a real `pier serve`: exact header sets, status codes
//! and bodies for preflights and for actual requests (errors included), the S3 bucket-CORS
//! operations, public buckets, and the `cors-explain` extension.

mod common;

use common::{presigned_path, raw, RawResponse, Server};
use std::process::Command;

const APP: &str = "https://app.example.com";

fn setup() -> Server {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "site"]);
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "plain"]);
    let f = work.path().join("f");
    std::fs::write(&f, b"0123456789").unwrap();
    for b in ["site", "plain"] {
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            b,
            "--key",
            "obj.txt",
            "--body",
            f.to_str().unwrap(),
        ]);
    }
    let rules = work.path().join("cors.json");
    std::fs::write(
        &rules,
        format!(
            r#"{{"CORSRules":[
              {{"ID":"app","AllowedOrigins":["{APP}","https://admin.example.com"],"AllowedMethods":["PUT","GET","HEAD"],
                "AllowedHeaders":["Content-Type","x-amz-*"],"ExposeHeaders":["ETag","x-amz-request-id"],"MaxAgeSeconds":600}},
              {{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}}]}}"#
        ),
    )
    .unwrap();
    server.aws_ok(&common::put_bucket_cors(
        "site",
        &format!("file://{}", rules.display()),
    ));
    server
}

#[test]
fn preflights_are_answered_before_auth_exactly() {
    let s = setup();
    // Allowed: the matched rule's headers, requested names lower-cased in order, no body.
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/site/photo.jpg",
        &[
            ("Origin", APP),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type,x-amz-date"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("PUT, GET, HEAD")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type, x-amz-date")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("ETag, x-amz-request-id")
    );
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(
        r.header("vary"),
        Some("Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
    );
    assert_eq!(
        r.count("access-control-allow-origin"),
        1,
        "one ACAO value, never a list"
    );
    assert_eq!(r.body, "");

    // The query string of a presigned URL is not checked for a preflight.
    let presigned = presigned_path(&s, "PUT", "site", "photo.jpg", vec![]);
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        &presigned,
        &[("Origin", APP), ("Access-Control-Request-Method", "PUT")],
    );
    assert_eq!(r.status, 200);

    // `*` rule: ACAO `*`, no credentials.
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/site/x",
        &[
            ("Origin", "https://other.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (200, Some("*"))
    );
    assert_eq!(r.header("access-control-allow-credentials"), None);

    // Refusals: S3 XML, no CORS headers, still varied.
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/site/photo.jpg",
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(r.cors_names().is_empty(), "{:?}", r.headers);
    assert!(
        r.body.contains("<Code>AccessForbidden</Code>")
            && r.body.contains("<Method>PUT</Method>")
            && r.body.contains("<ResourceType>OBJECT</ResourceType>"),
        "{}",
        r.body
    );
    assert!(r.header("vary").is_some());
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/site/photo.jpg",
        &[
            ("Origin", APP),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-fake-header"),
        ],
    );
    assert_eq!(
        r.status, 403,
        "an unlisted requested header fails the preflight"
    );
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/site/photo.jpg",
        &[("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("Insufficient information. Origin request header needed."),
        "{}",
        r.body
    );
    let r = preflight_get(&s, "/plain");
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("CORS is not enabled for this bucket.")
            && r.body.contains("<ResourceType>BUCKET</ResourceType>"),
        "{}",
        r.body
    );
    let r = preflight_get(&s, "/nope-bucket/k");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Bucket not found"), "{}", r.body);
    // The refusal is logged with its reason.
    assert!(s.log().contains("preflight refused"), "{}", s.log());
}

#[test]
fn actual_responses_carry_cors_headers_errors_included() {
    let s = setup();
    let get = presigned_path(&s, "GET", "site", "obj.txt", vec![]);
    let r = raw(&s.endpoint, "GET", &get, &[("Origin", APP)]);
    assert_eq!((r.status, r.body.as_str()), (200, "0123456789"));
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert!(r.header("vary").unwrap().contains("Origin"));
    // Without Origin: no CORS headers at all, but the answer varies by Origin.
    let r = raw(&s.endpoint, "GET", &get, &[]);
    assert!(r.cors_names().is_empty(), "{:?}", r.headers);
    assert_eq!(r.header("vary"), Some("Origin"));
    // 404, 412, 416 and an auth failure: the page can read the status.
    let missing = presigned_path(&s, "GET", "site", "missing.txt", vec![]);
    for (path, extra, status) in [
        (missing.as_str(), None, 404),
        (get.as_str(), Some(("If-Match", "\"nope\"")), 412),
        (get.as_str(), Some(("Range", "bytes=100-")), 416),
        ("/site/obj.txt", None, 403),
    ] {
        let mut headers = vec![("Origin", APP)];
        headers.extend(extra);
        let r = raw(&s.endpoint, "GET", path, &headers);
        assert_eq!(r.status, status, "{path}: {r:?}");
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(APP),
            "{status}"
        );
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("ETag, x-amz-request-id")
        );
    }
    // A HEAD error has no body.
    let head_missing = presigned_path(&s, "HEAD", "site", "missing.txt", vec![]);
    let r = raw(&s.endpoint, "HEAD", &head_missing, &[("Origin", APP)]);
    assert_eq!((r.status, r.body.as_str()), (404, ""));
    // Unmatched origin: no CORS headers; a bucket without rules: no Vary either.
    let r = raw(
        &s.endpoint,
        "PUT",
        &presigned_path(&s, "PUT", "site", "p", vec![]),
        &[("Origin", "https://evil.example"), ("Content-Length", "0")],
    );
    assert!(r.cors_names().is_empty());
    let plain = presigned_path(&s, "GET", "plain", "obj.txt", vec![]);
    let r = raw(&s.endpoint, "GET", &plain, &[("Origin", APP)]);
    assert_eq!(r.status, 200);
    assert!(
        r.cors_names().is_empty() && r.header("vary").is_none(),
        "{:?}",
        r.headers
    );
}

#[test]
fn public_read_buckets_allow_anonymous_listing_and_object_acls_reads() {
    let s = setup();
    let r = raw(&s.endpoint, "GET", "/site/obj.txt", &[]);
    assert_eq!(r.status, 403);
    assert!(r.body.contains("AccessDenied"));
    s.aws_ok(&[
        "s3api",
        "put-bucket-acl",
        "--bucket",
        "site",
        "--acl",
        "public-read",
    ]);
    let acl = s.aws_ok(&["s3api", "get-bucket-acl", "--bucket", "site"]);
    assert!(acl.contains("AllUsers") && acl.contains("READ"), "{acl}");
    assert_eq!(
        raw(&s.endpoint, "GET", "/site?list-type=2", &[]).status,
        200,
        "S3's public-read allows anonymous listing"
    );
    assert_eq!(
        raw(&s.endpoint, "GET", "/site/obj.txt", &[]).status,
        403,
        "as in S3, a bucket's ACL does not open its objects"
    );
    s.aws_ok(&[
        "s3api",
        "put-object-acl",
        "--bucket",
        "site",
        "--key",
        "obj.txt",
        "--acl",
        "public-read",
    ]);
    let logged = s.log().len();
    assert!(
        s.log().contains("access refused"),
        "the refused reads above were logged"
    );
    assert_eq!(raw(&s.endpoint, "GET", "/site/obj.txt", &[]).status, 200);
    assert_eq!(raw(&s.endpoint, "HEAD", "/site/obj.txt", &[]).status, 200);
    assert!(
        !s.log()[logged..].contains("access refused"),
        "a read the object's ACL allows is not logged as refused"
    );
    assert_eq!(
        raw(&s.endpoint, "PUT", "/site/new", &[("Content-Length", "0")]).status,
        403,
        "writes stay private"
    );
    assert_eq!(raw(&s.endpoint, "GET", "/plain/obj.txt", &[]).status, 403);
    s.aws_ok(&[
        "s3api",
        "put-bucket-acl",
        "--bucket",
        "site",
        "--acl",
        "private",
    ]);
    assert_eq!(
        raw(&s.endpoint, "GET", "/site?list-type=2", &[]).status,
        403
    );
}

#[test]
fn bucket_cors_reads_back_and_refuses_invalid_rules_in_s3_xml() {
    let s = setup();
    let v: serde_json::Value =
        serde_json::from_str(&s.aws_ok(&["s3api", "get-bucket-cors", "--bucket", "site"])).unwrap();
    let rule = &v["CORSRules"][0];
    assert_eq!(rule["ID"], "app");
    assert_eq!(
        rule["AllowedMethods"],
        serde_json::json!(["PUT", "GET", "HEAD"]),
        "order kept"
    );
    assert_eq!(
        rule["AllowedHeaders"],
        serde_json::json!(["Content-Type", "x-amz-*"]),
        "case kept"
    );
    assert_eq!(
        v["CORSRules"][1]["AllowedOrigins"],
        serde_json::json!(["*"])
    );
    let out = s.aws(&["s3api", "get-bucket-cors", "--bucket", "plain"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchCORSConfiguration"));
    let work = tempfile::TempDir::new().unwrap();
    let bad = work.path().join("bad.json");
    std::fs::write(&bad, r#"{"CORSRules":[{"ID":"twice","AllowedOrigins":["https://*.*.example.com"],"AllowedMethods":["GET","OPTIONS"]}]}"#).unwrap();
    let out = s.aws(&common::put_bucket_cors(
        "plain",
        &format!("file://{}", bad.display()),
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InvalidRequest"), "{err}");
    assert!(err.contains(r#"rule 1 ("twice"), AllowedOrigin: AllowedOrigin "https://*.*.example.com" can not have more than one wildcard."#), "{err}");
    assert!(err.contains("Unsupported method is OPTIONS"), "{err}");
    // DeleteBucketCors: 204, then CORS is off for the bucket.
    let del = raw(
        &s.endpoint,
        "DELETE",
        &presigned_path(
            &s,
            "DELETE",
            "site",
            "",
            vec![("cors".into(), String::new())],
        ),
        &[],
    );
    assert_eq!(del.status, 204, "{del:?}");
    let r = preflight_get(&s, "/site/x");
    assert!(r.status == 403 && r.body.contains("not enabled"), "{r:?}");
}

#[test]
fn cors_explain_shows_the_trace_to_signed_callers() {
    let s = setup();
    let q = |origin: &str, method: &str, headers: &str| {
        vec![
            ("cors-explain".to_owned(), String::new()),
            ("origin".to_owned(), origin.to_owned()),
            ("method".to_owned(), method.to_owned()),
            ("headers".to_owned(), headers.to_owned()),
        ]
    };
    let path = presigned_path(
        &s,
        "GET",
        "site",
        "",
        q("https://evil.example", "PUT", "content-type"),
    );
    let r = raw(&s.endpoint, "GET", &path, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["decision"], "refused");
    assert_eq!(
        v["rules"][0]["reason"],
        r#"origin "https://evil.example" matches none of AllowedOrigin ["https://app.example.com", "https://admin.example.com"]"#
    );
    assert_eq!(
        v["rules"][1]["reason"],
        r#"PUT is not in AllowedMethod ["GET"]"#
    );
    let path = presigned_path(&s, "GET", "site", "", q(APP, "PUT", "content-type"));
    let v: serde_json::Value =
        serde_json::from_str(&raw(&s.endpoint, "GET", &path, &[]).body).unwrap();
    assert_eq!(v["decision"], "allowed");
    assert_eq!(v["headers"]["Access-Control-Allow-Origin"], APP);
    // Anonymous callers are refused.
    assert_eq!(
        raw(
            &s.endpoint,
            "GET",
            "/site?cors-explain&origin=x&method=GET",
            &[]
        )
        .status,
        403
    );
    // The CLI asks the same endpoint.
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "cors",
            "explain",
            "--bucket",
            "site",
            "--origin",
            APP,
            "--method",
            "PUT",
            "--header",
            "x-fake-header",
            "--preflight",
        ])
        .args([
            "--endpoint",
            &s.endpoint,
            "--access-key",
            common::ACCESS_KEY,
            "--secret-key",
            common::SECRET_KEY,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(r#"rule 1 ("app"): requested header "x-fake-header" is not in AllowedHeader ["Content-Type", "x-amz-*"]"#), "{text}");
}

#[test]
fn the_cli_prints_an_explanation_of_many_kilobytes_and_multibyte_text_whole() {
    let s = setup();
    let origin = format!("https://{}.example", "ü".repeat(6000));
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["cors", "explain", "--bucket", "site", "--origin", &origin])
        .args(["--method", "GET", "--endpoint", &s.endpoint])
        .args(["--access-key", common::ACCESS_KEY])
        .args(["--secret-key", common::SECRET_KEY])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "origin \"{origin}\" matches none of AllowedOrigin"
        )),
        "{text}"
    );
}

#[test]
fn b2_quick_choices_and_how_s3_sees_b2_rules() {
    let s = setup();
    let data = s.dir.path().join("data");
    let pier = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pier"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = pier(&["bucket", "cors", "plain", "--share-all-origins"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the server's bucket cache
                                                                // The rule grants s3_get: a GET preflight on the S3 path is allowed.
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/plain/obj.txt",
        &[
            ("Origin", "https://any.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (200, Some("*")),
        "{r:?}"
    );
    // S3 sees the S3 part of the B2 rule, and may not replace it silently.
    let v: serde_json::Value =
        serde_json::from_str(&s.aws_ok(&["s3api", "get-bucket-cors", "--bucket", "plain"]))
            .unwrap();
    assert_eq!(
        v["CORSRules"][0]["AllowedMethods"],
        serde_json::json!(["GET", "HEAD"])
    );
    let work = tempfile::TempDir::new().unwrap();
    let f = work.path().join("c.json");
    std::fs::write(
        &f,
        r#"{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"]}]}"#,
    )
    .unwrap();
    let out = s.aws(&common::put_bucket_cors(
        "plain",
        &format!("file://{}", f.display()),
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InvalidRequest") && err.contains("B2 native operations"),
        "{err}"
    );
    // An invalid rules file is refused with every error; --none removes the rules.
    let bad = work.path().join("bad.json");
    std::fs::write(&bad, r#"[{"corsRuleName":"x","allowedOrigins":["*"],"allowedOperations":["s3_get"],"maxAgeSeconds":1}]"#).unwrap();
    let out = pier(&["bucket", "cors", "plain", "--rules", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be 6 to 50 characters"));
    assert!(pier(&["bucket", "cors", "plain", "--none"])
        .status
        .success());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = raw(
        &s.endpoint,
        "OPTIONS",
        "/plain/obj.txt",
        &[
            ("Origin", "https://any.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(r.status, 403);
}

/// An OPTIONS preflight of a GET of `path` from [`APP`].
fn preflight_get(server: &Server, path: &str) -> RawResponse {
    let headers = [("Origin", APP), ("Access-Control-Request-Method", "GET")];
    raw(&server.endpoint, "OPTIONS", path, &headers)
}
