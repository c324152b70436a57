//! What hostile testing found (issue 23), one regression test per finding, each over real
//! sockets against a real `pier serve`: a client that tries what it should not, and the answer
//! it must get.

mod common;

use base64::Engine as _;
use common::{RawResponse, Server, ACCESS_KEY, SECRET_KEY};
use serde_json::{json, Value};

/// A key's id and secret.
type Key<'a> = (&'a str, &'a str);

const ROOT: Key<'static> = (ACCESS_KEY, SECRET_KEY);

/// A request presigned with `key` for `(bucket, object)`, sent with `headers` and `body`.
fn s3(
    server: &Server,
    key: Key<'_>,
    method: &str,
    (bucket, object): (&str, &str),
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let url = pier_edge::presign::presign_url(&pier_edge::presign::Presign {
        endpoint: &server.endpoint,
        method,
        bucket,
        key: object,
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        content_type: None,
        expires: 600,
        access_key: key.0,
        secret_key: key.1,
        region: "us-east-1",
        now: std::time::SystemTime::now(),
    })
    .unwrap();
    let path = url.trim_start_matches(&server.endpoint);
    let request = common::request_bytes(&server.endpoint, method, path, headers, body);
    common::raw_bytes(&server.endpoint, &request)
}

/// B2's account authorization for `key`: (token, accountId).
fn b2_authorize(server: &Server, key: Key<'_>) -> (String, String) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key.0, key.1));
    let r = common::raw(
        &server.endpoint,
        "GET",
        "/b2api/v2/b2_authorize_account",
        &[("Authorization", &format!("Basic {basic}"))],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    (
        v["authorizationToken"].as_str().unwrap().to_owned(),
        v["accountId"].as_str().unwrap().to_owned(),
    )
}

/// A B2 call with a JSON body: (status, answer).
fn b2(server: &Server, token: &str, call: &str, args: Value) -> (u16, Value) {
    let body = args.to_string();
    let host = server.endpoint.trim_start_matches("http://");
    let req = format!(
        "POST /b2api/v2/{call} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = common::raw_bytes(&server.endpoint, req.as_bytes());
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// Puts `object` with `body` as the root key; checks it worked.
fn put(server: &Server, bucket: &str, object: &str, body: &[u8]) {
    let r = s3(server, ROOT, "PUT", (bucket, object), &[], &[], body);
    assert_eq!(r.status, 200, "{r:?}");
}

/// The `<Key>` values of an S3 listing.
fn keys_of(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

/// A bucket `bkt` with `docs/a.txt` and `secret/b.txt`, versioned, and a key limited to `docs/`.
fn bucket_and_prefixed_key(server: &Server) -> common::MadeKey {
    let r = s3(server, ROOT, "PUT", ("bkt", ""), &[], &[], b"");
    assert_eq!(r.status, 200, "{r:?}");
    let versioning = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    let r = s3(
        server,
        ROOT,
        "PUT",
        ("bkt", ""),
        &[("versioning", "")],
        &[],
        versioning,
    );
    assert_eq!(r.status, 200, "{r:?}");
    put(server, "bkt", "docs/a.txt", b"a");
    put(server, "bkt", "secret/b.txt", b"b");
    server.create_key(&[
        "--account",
        "pier",
        "--capabilities",
        "listBuckets,listFiles,readFiles,writeFiles",
        "--bucket",
        "bkt",
        "--prefix",
        "docs/",
    ])
}

#[test]
fn a_prefix_restricted_key_lists_only_versions_under_its_prefix() {
    let server = Server::start();
    let k = bucket_and_prefixed_key(&server);
    let key = (k.id.as_str(), k.secret.as_str());
    // S3 ListObjectVersions: without a prefix, or with one outside the key's, refused.
    for query in [
        vec![("versions", "")],
        vec![("versions", ""), ("prefix", "secret/")],
    ] {
        let r = s3(&server, key, "GET", ("bkt", ""), &query, &[], b"");
        assert_eq!(r.status, 403, "{query:?}: {r:?}");
        assert!(!r.body.contains("secret/b.txt"), "{}", r.body);
    }
    let r = s3(
        &server,
        key,
        "GET",
        ("bkt", ""),
        &[("versions", ""), ("prefix", "docs/")],
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(keys_of(&r.body), ["docs/a.txt"]);
    // B2 b2_list_file_versions: the same.
    let (token, _) = b2_authorize(&server, key);
    let (_, buckets) = b2(
        &server,
        &token,
        "b2_list_buckets",
        json!({"accountId": "pier", "bucketName": "bkt"}),
    );
    let bucket_id = buckets["buckets"][0]["bucketId"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        json!({"bucketId": bucket_id}),
        json!({"bucketId": bucket_id, "prefix": "secret/"}),
    ] {
        let (status, answer) = b2(&server, &token, "b2_list_file_versions", args.clone());
        assert_eq!(status, 401, "{args}: {answer}");
        assert!(!answer.to_string().contains("secret/b.txt"), "{answer}");
    }
    let (status, answer) = b2(
        &server,
        &token,
        "b2_list_file_versions",
        json!({"bucketId": bucket_id, "prefix": "docs/"}),
    );
    assert_eq!(status, 200, "{answer}");
    let names: Vec<&str> = answer["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fileName"].as_str())
        .collect();
    assert_eq!(names, ["docs/a.txt"]);
}

/// The bucket id of `name` as B2 shows it to `token`.
fn b2_bucket_id(server: &Server, token: &str, account: &str, name: &str) -> String {
    let (status, answer) = b2(
        server,
        token,
        "b2_list_buckets",
        json!({"accountId": account, "bucketName": name}),
    );
    assert_eq!(status, 200, "{answer}");
    answer["buckets"][0]["bucketId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn hiding_a_file_that_a_hide_would_delete_is_decided_as_a_delete() {
    let server = Server::start();
    // A bucket S3 made (unversioned): hiding a file there deletes it.
    assert_eq!(
        s3(&server, ROOT, "PUT", ("plain", ""), &[], &[], b"").status,
        200
    );
    put(&server, "plain", "keep.txt", b"precious");
    let writer = server.create_key(&[
        "--account",
        "pier",
        "--capabilities",
        "listBuckets,listFiles,readFiles,writeFiles",
    ]);
    let (token, account) = b2_authorize(&server, (&writer.id, &writer.secret));
    let bucket_id = b2_bucket_id(&server, &token, &account, "plain");
    let (status, answer) = b2(
        &server,
        &token,
        "b2_hide_file",
        json!({"bucketId": bucket_id, "fileName": "keep.txt"}),
    );
    assert_eq!(status, 401, "writeFiles alone must not delete: {answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("deleteFiles"),
        "{answer}"
    );
    // A policy's Deny of s3:DeleteObject holds for B2 hides too, even for a key with every
    // capability.
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
        "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::plain/*"}]});
    let r = s3(
        &server,
        ROOT,
        "PUT",
        ("plain", ""),
        &[("policy", "")],
        &[],
        policy.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{r:?}");
    let (root_token, _) = b2_authorize(&server, ROOT);
    let (status, answer) = b2(
        &server,
        &root_token,
        "b2_hide_file",
        json!({"bucketId": bucket_id, "fileName": "keep.txt"}),
    );
    assert_eq!(status, 401, "{answer}");
    let r = s3(&server, ROOT, "GET", ("plain", "keep.txt"), &[], &[], b"");
    assert_eq!((r.status, r.body.as_str()), (200, "precious"));
    // In a bucket that keeps every version, hiding adds a marker: writeFiles is enough.
    let (status, made) = b2(
        &server,
        &root_token,
        "b2_create_bucket",
        json!({"accountId": account, "bucketName": "kept-versions", "bucketType": "allPrivate"}),
    );
    assert_eq!(status, 200, "{made}");
    put(&server, "kept-versions", "old.txt", b"old");
    let (status, answer) = b2(
        &server,
        &token,
        "b2_hide_file",
        json!({"bucketId": made["bucketId"], "fileName": "old.txt"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["action"], "hide");
}

/// An S3 error answer without its request id (which differs between any two answers).
fn without_request_id(r: &RawResponse) -> (u16, String) {
    let body = match r.body.split_once("<RequestId>") {
        Some((head, tail)) => format!(
            "{head}{}",
            tail.split_once("</RequestId>").map_or("", |t| t.1)
        ),
        None => r.body.clone(),
    };
    (r.status, body)
}

#[test]
fn the_expected_bucket_owner_header_tells_a_stranger_nothing() {
    let server = Server::start();
    assert_eq!(
        s3(&server, ROOT, "PUT", ("owned", ""), &[], &[], b"").status,
        200
    );
    let stranger = server.create_key(&["--account", "stranger"]);
    let key = (stranger.id.as_str(), stranger.secret.as_str());
    let ask = |owner: &str| {
        without_request_id(&s3(
            &server,
            key,
            "GET",
            ("owned", ""),
            &[],
            &[("x-amz-expected-bucket-owner", owner)],
            b"",
        ))
    };
    let (right, wrong) = (ask("pier"), ask("someone-else"));
    assert_eq!(right.0, 403, "{right:?}");
    assert_eq!(
        right, wrong,
        "the answer must not depend on the guessed owner"
    );
    // The owner's own key still has the header checked.
    for (owner, status) in [("someone-else", 403), ("pier", 200)] {
        let mine = s3(
            &server,
            ROOT,
            "GET",
            ("owned", ""),
            &[],
            &[("x-amz-expected-bucket-owner", owner)],
            b"",
        );
        assert_eq!(mine.status, status, "{owner}: {mine:?}");
    }
}

#[test]
fn b2_calls_by_file_id_tell_another_account_nothing_about_the_file() {
    let server = Server::start();
    let (root_token, _) = b2_authorize(&server, ROOT);
    let (status, made) = b2(
        &server,
        &root_token,
        "b2_create_bucket",
        json!({"accountId": "pier", "bucketName": "private-stuff", "bucketType": "allPrivate"}),
    );
    assert_eq!(status, 200, "{made}");
    put(&server, "private-stuff", "plans.txt", b"secret plans");
    let (_, listed) = b2(
        &server,
        &root_token,
        "b2_list_file_names",
        json!({"bucketId": made["bucketId"]}),
    );
    let file_id = listed["files"][0]["fileId"].as_str().unwrap().to_owned();
    let stranger = server.create_key(&["--account", "stranger"]);
    let (token, account) = b2_authorize(&server, (&stranger.id, &stranger.secret));
    assert_eq!(account, "stranger");
    let missing_id = "0".repeat(32);
    for call in ["b2_get_file_info", "b2_delete_file_version"] {
        let existing = b2(
            &server,
            &token,
            call,
            json!({"fileId": file_id, "fileName": "plans.txt"}),
        );
        let wrong_name = b2(
            &server,
            &token,
            call,
            json!({"fileId": file_id, "fileName": "guess.txt"}),
        );
        let missing = b2(
            &server,
            &token,
            call,
            json!({"fileId": missing_id, "fileName": "plans.txt"}),
        );
        for (what, (status, answer)) in [("existing", &existing), ("wrong name", &wrong_name)] {
            assert_eq!(
                *status, missing.0,
                "{call} {what}: {answer} vs {}",
                missing.1
            );
            assert_eq!(answer["code"], missing.1["code"], "{call} {what}: {answer}");
            assert!(
                !answer.to_string().contains("private-stuff"),
                "{call}: {answer}"
            );
        }
    }
    // Downloads by id, too.
    let download = common::raw(
        &server.endpoint,
        "GET",
        &format!("/b2api/v2/b2_download_file_by_id?fileId={file_id}"),
        &[("Authorization", &token)],
    );
    assert_eq!(download.status, 404, "{download:?}");
    assert!(
        !download.body.contains("private-stuff"),
        "{}",
        download.body
    );
    // Naming another account's id in calls that take one is refused, not answered for the
    // caller's own account.
    for (call, args) in [
        ("b2_list_buckets", json!({"accountId": "pier"})),
        (
            "b2_create_key",
            json!({"accountId": "pier", "keyName": "mine", "capabilities": ["listBuckets"]}),
        ),
        ("b2_list_keys", json!({"accountId": "pier"})),
    ] {
        let (status, answer) = b2(&server, &token, call, args);
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("unauthorized")),
            "{call}: {answer}"
        );
    }
    let (status, own) = b2(
        &server,
        &token,
        "b2_list_buckets",
        json!({"accountId": "stranger"}),
    );
    assert_eq!(status, 200, "{own}");
}

#[test]
fn metrics_are_served_only_with_the_operators_token() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--metrics-token", "scrape-me"],
    );
    assert_eq!(
        s3(&server, ROOT, "PUT", ("hidden-name", ""), &[], &[], b"").status,
        200
    );
    for auth in [None, Some("Bearer wrong"), Some("scrape-me")] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        let r = common::raw(&server.endpoint, "GET", "/_pier/metrics", &headers);
        assert_eq!(r.status, 403, "{auth:?}: {r:?}");
        assert!(!r.body.contains("hidden-name"), "{}", r.body);
    }
    let r = common::raw(
        &server.endpoint,
        "GET",
        "/_pier/metrics",
        &[("Authorization", "Bearer scrape-me")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("pier_requests_total"), "{}", r.body);
    // Without a token configured, nobody gets them.
    let closed = Server::start();
    let r = common::raw(&closed.endpoint, "GET", "/_pier/metrics", &[]);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("--metrics-token"), "{}", r.body);
}

#[test]
fn the_redirect_to_the_dashboard_never_reflects_the_host_header() {
    let server = Server::start();
    let port = server.dashboard.rsplit(':').next().unwrap().to_owned();
    let ask = |host: &str| {
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        );
        common::raw_bytes(&server.endpoint, req.as_bytes())
    };
    let r = ask("evil.example:80");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{port}/").as_str())
    );
    let r = ask("localhost:9000");
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{port}/").as_str())
    );
}

#[test]
fn control_characters_in_keys_are_written_as_references_in_xml_listings() {
    let server = Server::start();
    assert_eq!(
        s3(&server, ROOT, "PUT", ("ctl", ""), &[], &[], b"").status,
        200
    );
    put(&server, "ctl", "a\u{1}b\rc", b"x");
    let r = s3(
        &server,
        ROOT,
        "GET",
        ("ctl", ""),
        &[("list-type", "2")],
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<Key>a&#x1;b&#xD;c</Key>"), "{}", r.body);
    assert!(
        !r.body.bytes().any(|b| b < 0x20 && b != b'\n' && b != b'\t'),
        "{:?}",
        r.body
    );
    let r = s3(
        &server,
        ROOT,
        "GET",
        ("ctl", ""),
        &[("list-type", "2"), ("encoding-type", "url")],
        &[],
        b"",
    );
    assert!(r.body.contains("<Key>a%01b%0Dc</Key>"), "{}", r.body);
}

#[test]
fn several_ranges_are_answered_with_the_whole_object_on_both_apis() {
    let server = Server::start();
    let other = server.create_key(&["--account", "other"]);
    let mut cmd = std::process::Command::new(common::repo().join(".venv/bin/python"));
    common::ensure_tools();
    server.client_env(&mut cmd);
    let out = cmd
        .arg(common::repo().join("tests/clients/multi_range.py"))
        .env("OTHER_ID", &other.id)
        .env("OTHER_SECRET", &other.secret)
        .output()
        .unwrap();
    server.assert_checks_passed(&out, "6 passed, 0 failed");
    // curl-style: an anonymous read of a public object, with CORS as any answer.
    let (token, _) = b2_authorize(&server, ROOT);
    let (status, made) = b2(
        &server,
        &token,
        "b2_create_bucket",
        json!({"accountId": "pier", "bucketName": "public-ranges", "bucketType": "allPublic",
               "corsRules": [{"corsRuleName": "everyone", "allowedOrigins": ["*"],
                              "allowedOperations": ["s3_get", "b2_download_file_by_name"],
                              "allowedHeaders": ["range"], "maxAgeSeconds": 60}]}),
    );
    assert_eq!(status, 200, "{made}");
    put(&server, "public-ranges", "p.txt", b"0123456789");
    let headers = [
        ("Range", "bytes=0-1, 4-5"),
        ("Origin", "https://app.example"),
    ];
    let s3_read = common::raw(&server.endpoint, "GET", "/public-ranges/p.txt", &headers);
    assert_eq!(
        (s3_read.status, s3_read.body.as_str()),
        (200, "0123456789"),
        "{s3_read:?}"
    );
    assert_eq!(s3_read.header("access-control-allow-origin"), Some("*"));
    let b2_read = common::raw(
        &server.endpoint,
        "GET",
        "/file/public-ranges/p.txt",
        &headers,
    );
    assert_eq!(
        (b2_read.status, b2_read.body.as_str()),
        (200, "0123456789"),
        "{b2_read:?}"
    );
    assert_eq!(b2_read.header("access-control-allow-origin"), Some("*"));
    let one = common::raw(
        &server.endpoint,
        "GET",
        "/file/public-ranges/p.txt",
        &[("Range", "bytes=2-3")],
    );
    assert_eq!((one.status, one.body.as_str()), (206, "23"));
}
