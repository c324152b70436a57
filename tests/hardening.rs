//! Regression tests for hostile and broken clients (the hardening issue): each is named after the
//! defect it prevents, and drives a real `pier serve` over real sockets.

mod common;

use base64::Engine as _;
use common::{presigned_path, Server, ACCESS_KEY, SECRET_KEY};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// A raw HTTP/1.1 exchange on a new connection (`Connection: close`), with a body.
fn http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let host = server.endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let request = common::request_bytes(&server.endpoint, method, path, headers, body);
    s.write_all(&request).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    parse(&buf)
}

fn parse(buf: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    (status, text)
}

/// The B2 account token and API URL of the root key.
fn b2_auth(server: &Server) -> String {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCESS_KEY}:{SECRET_KEY}"));
    let (status, text) = http(
        server,
        "GET",
        "/b2api/v2/b2_authorize_account",
        &[("Authorization", &format!("Basic {basic}"))],
        b"",
    );
    assert_eq!(status, 200, "{text}");
    body_json(&text)["authorizationToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn body_json(text: &str) -> Value {
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn b2(server: &Server, token: &str, call: &str, args: Value) -> (u16, Value) {
    let (status, text) = http(
        server,
        "POST",
        &format!("/b2api/v2/{call}"),
        &[("Authorization", token)],
        args.to_string().as_bytes(),
    );
    (status, body_json(&text))
}

fn b2_create_bucket(server: &Server, token: &str, name: &str, cors: Value) -> String {
    let (status, bucket) = b2(
        server,
        token,
        "b2_create_bucket",
        json!({"accountId": "pier", "bucketName": name, "bucketType": "allPrivate", "corsRules": cors}),
    );
    assert_eq!(status, 200, "{bucket}");
    bucket["bucketId"].as_str().unwrap().to_owned()
}

/// An upload URL of the bucket `bucket_id`: its path on this server and its token.
fn b2_upload_url(server: &Server, token: &str, bucket_id: &str) -> (String, String) {
    let (status, up) = b2(
        server,
        token,
        "b2_get_upload_url",
        json!({"bucketId": bucket_id}),
    );
    assert_eq!(status, 200, "{up}");
    let path = up["uploadUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches(&server.endpoint)
        .to_owned();
    (path, up["authorizationToken"].as_str().unwrap().to_owned())
}

fn preflight(server: &Server, path: &str, origin: &str, method: &str) -> u16 {
    http(
        server,
        "OPTIONS",
        path,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ],
        b"",
    )
    .0
}

/// Files under the data directory's `blobs/` and `tmp/`.
fn blob_files(server: &Server, dir: &str) -> usize {
    let root = server.dir.path().join("data").join(dir);
    if !root.exists() {
        return 0;
    }
    common::tree(&root).len()
}

#[test]
fn connections_over_the_cap_get_503_while_health_and_established_clients_are_served() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--max-connections", "20"],
    );
    let host = server.endpoint.trim_start_matches("http://").to_owned();
    // An established client, kept alive across the attack.
    let mut established = TcpStream::connect(&host).unwrap();
    established
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let ask = |s: &mut TcpStream| {
        s.write_all(format!("GET /_pier/health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        parse(&buf[..n]).0
    };
    assert_eq!(ask(&mut established), 200);
    // The attack: idle connections well past the cap.
    let idle: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(&host).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        common::raw(&server.endpoint, "GET", "/_pier/health", &[]).status,
        200
    );
    let refused = common::raw(&server.endpoint, "GET", "/", &[]);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(
        refused.body.contains("<Code>SlowDown</Code>"),
        "{}",
        refused.body
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals must be fast"
    );
    assert_eq!(
        ask(&mut established),
        200,
        "an established client is still served"
    );
    drop(idle);
    // Once the attacker lets go, new clients are served normally again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if common::raw(&server.endpoint, "GET", "/", &[]).status != 503 {
            break;
        }
        assert!(Instant::now() < deadline, "slots were not freed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_connections_are_closed_after_the_header_timeout() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--header-timeout", "1"],
    );
    let host = server.endpoint.trim_start_matches("http://");
    let mut idle = TcpStream::connect(host).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    // A slowloris: half a request head, then nothing.
    idle.write_all(b"GET /_pier/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let n = idle.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
        "{:?}",
        &buf[..n]
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn a_stalled_upload_fails_and_leaves_no_temp_file() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--body-stall-timeout", "1"],
    );
    let token = b2_auth(&server);
    b2_create_bucket(&server, &token, "stalls", json!([]));
    let path = presigned_path(&server, "PUT", "stalls", "big.bin", vec![]);
    let host = server.endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000000\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    s.write_all(&[7u8; 100_000]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(blob_files(&server, "tmp"), 1, "the upload is in progress");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let (status, text) = parse(&buf);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    assert_eq!(blob_files(&server, "tmp"), 0, "the temp file is gone");
    let head = common::raw(
        &server.endpoint,
        "HEAD",
        &presigned_path(&server, "HEAD", "stalls", "big.bin", vec![]),
        &[],
    );
    assert_eq!(head.status, 404);
}

#[test]
fn a_recreated_b2_bucket_does_not_inherit_the_deleted_buckets_cors_rules() {
    let server = Server::start();
    let token = b2_auth(&server);
    let rules = json!([{
        "corsRuleName": "oldRule",
        "allowedOrigins": ["https://old.example"],
        "allowedOperations": ["b2_download_file_by_name"],
        "allowedHeaders": ["authorization"],
        "maxAgeSeconds": 3600
    }]);
    let id = b2_create_bucket(&server, &token, "recreated", rules);
    let path = "/file/recreated/a.txt";
    assert_eq!(preflight(&server, path, "https://old.example", "GET"), 200);
    let (status, body) = b2(
        &server,
        &token,
        "b2_delete_bucket",
        json!({"accountId": "pier", "bucketId": id}),
    );
    assert_eq!(status, 200, "{body}");
    b2_create_bucket(&server, &token, "recreated", json!([]));
    assert_eq!(
        preflight(&server, path, "https://old.example", "GET"),
        403,
        "the new bucket has no rules"
    );
}

#[test]
fn a_recreated_s3_bucket_does_not_inherit_the_deleted_buckets_cors_rules() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "again"]);
    server.aws_ok(&common::put_bucket_cors(
        "again",
        r#"{"CORSRules":[{"AllowedOrigins":["https://old.example"],"AllowedMethods":["GET"]}]}"#,
    ));
    assert_eq!(
        preflight(&server, "/again/a.txt", "https://old.example", "GET"),
        200
    );
    server.aws_ok(&["s3api", "delete-bucket", "--bucket", "again"]);
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "again"]);
    assert_eq!(
        preflight(&server, "/again/a.txt", "https://old.example", "GET"),
        403
    );
}

#[test]
fn b2_info_values_with_control_characters_are_refused_and_nothing_is_stored() {
    let server = Server::start();
    let token = b2_auth(&server);
    let id = b2_create_bucket(&server, &token, "poison", json!([]));
    let (upload_path, upload_token) = b2_upload_url(&server, &token, &id);
    for (info, value) in [
        (
            "X-Bz-Info-b2-content-disposition",
            "attachment%0D%0ASet-Cookie: x=1",
        ),
        ("X-Bz-Info-b2-cache-control", "max-age=1%00"),
        ("X-Bz-Info-b2-content-language", "en%0A"),
        ("X-Bz-Info-b2-expires", "%1B"),
        ("X-Bz-Info-b2-content-encoding", "gzip%0D"),
        ("X-Bz-Info-author", "a%0Ab"),
    ] {
        let (status, text) = http(
            &server,
            "POST",
            &upload_path,
            &[
                ("Authorization", &upload_token),
                ("X-Bz-File-Name", "poisoned.txt"),
                ("Content-Type", "text/plain"),
                ("X-Bz-Content-Sha1", "do_not_verify"),
                (info, value),
            ],
            b"hello",
        );
        assert_eq!(status, 400, "{info}: {text}");
        assert!(text.contains("control characters"), "{text}");
    }
    let head = common::raw(
        &server.endpoint,
        "HEAD",
        &presigned_path(&server, "HEAD", "poison", "poisoned.txt", vec![]),
        &[],
    );
    assert_eq!(head.status, 404, "nothing was stored");
}

#[test]
fn an_upload_whose_client_leaves_after_the_body_is_committed_and_nothing_is_orphaned() {
    let mut server = Server::start();
    let token = b2_auth(&server);
    b2_create_bucket(&server, &token, "leavers", json!([]));
    let host = server.endpoint.trim_start_matches("http://").to_owned();
    let body = common::bytes(3, 1 << 20);
    for i in 0..5 {
        let path = presigned_path(&server, "PUT", "leavers", &format!("gone-{i}.bin"), vec![]);
        let mut s = TcpStream::connect(&host).unwrap();
        s.write_all(
            format!(
                "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
        s.write_all(&body).unwrap();
        // Gone before the answer: the connection is reset.
        s.shutdown(Shutdown::Both).unwrap();
        drop(s);
    }
    // Each upload is committed all the same.
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0..5 {
        let path = presigned_path(&server, "HEAD", "leavers", &format!("gone-{i}.bin"), vec![]);
        loop {
            let head = common::raw(&server.endpoint, "HEAD", &path, &[]);
            if head.status == 200 {
                assert_eq!(head.header("content-length"), Some("1048576"));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "upload {i} was not committed: {head:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // A half-closed client (the whole body sent, then its side shut) still gets its answer.
    let path = presigned_path(&server, "PUT", "leavers", "half.bin", vec![]);
    let mut s = TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nhello").as_bytes(),
    )
    .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert_eq!(parse(&buf).0, 200, "{}", String::from_utf8_lossy(&buf));
    // An orphan as a crash would leave it, then a *clean* restart: it is reclaimed.
    let orphan_dir = server.dir.path().join("data/blobs/ff");
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(
        orphan_dir.join("ff00000000000000000000000000orphan"),
        b"lost",
    )
    .unwrap();
    assert_eq!(blob_files(&server, "blobs"), 6);
    server.restart_clean();
    assert_eq!(
        blob_files(&server, "blobs"),
        5,
        "only the five referenced blobs remain"
    );
    assert_eq!(blob_files(&server, "tmp"), 0);
}

#[test]
fn b2_names_are_checked_on_copy_and_start_large_file() {
    let server = Server::start();
    let token = b2_auth(&server);
    let id = b2_create_bucket(&server, &token, "names-check", json!([]));
    let (upload_path, upload_token) = b2_upload_url(&server, &token, &id);
    let (status, file) = {
        let (status, text) = http(
            &server,
            "POST",
            &upload_path,
            &[
                ("Authorization", upload_token.as_str()),
                ("X-Bz-File-Name", "source.txt"),
                ("Content-Type", "text/plain"),
                ("X-Bz-Content-Sha1", "do_not_verify"),
            ],
            b"source",
        );
        (status, body_json(&text))
    };
    assert_eq!(status, 200, "{file}");
    let long = "x".repeat(1025);
    for bad in [
        "",
        "a\u{0}b",
        "a\nb",
        "a\u{7f}",
        long.as_str(),
        "/lead",
        "a//b",
    ] {
        let (status, body) = b2(
            &server,
            &token,
            "b2_copy_file",
            json!({"sourceFileId": file["fileId"], "fileName": bad}),
        );
        assert_eq!(status, 400, "copy to {bad:?}: {body}");
        let (status, body) = b2(
            &server,
            &token,
            "b2_start_large_file",
            json!({"bucketId": id, "fileName": bad, "contentType": "b2/x-auto"}),
        );
        assert_eq!(status, 400, "start {bad:?}: {body}");
    }
    let (_, listed) = b2(
        &server,
        &token,
        "b2_list_file_names",
        json!({"bucketId": id}),
    );
    assert_eq!(listed["files"].as_array().unwrap().len(), 1, "{listed}");
    let (_, unfinished) = b2(
        &server,
        &token,
        "b2_list_unfinished_large_files",
        json!({"bucketId": id}),
    );
    assert_eq!(
        unfinished["files"].as_array().unwrap().len(),
        0,
        "{unfinished}"
    );
}

#[test]
fn if_revision_is_must_be_an_integer() {
    let server = Server::start();
    let token = b2_auth(&server);
    let id = b2_create_bucket(&server, &token, "revisions", json!([]));
    for bad in [json!("1"), json!(1.5), json!(true)] {
        let (status, body) = b2(
            &server,
            &token,
            "b2_update_bucket",
            json!({"accountId": "pier", "bucketId": id, "bucketType": "allPublic", "ifRevisionIs": bad}),
        );
        assert_eq!(status, 400, "ifRevisionIs {bad}: {body}");
    }
    let (_, list) = b2(
        &server,
        &token,
        "b2_list_buckets",
        json!({"accountId": "pier", "bucketId": id}),
    );
    assert_eq!(
        list["buckets"][0]["bucketType"], "allPrivate",
        "no update was applied"
    );
}

#[test]
fn list_parts_refuses_part_numbers_out_of_range() {
    let server = Server::start();
    let token = b2_auth(&server);
    let id = b2_create_bucket(&server, &token, "parts-check", json!([]));
    let (status, large) = b2(
        &server,
        &token,
        "b2_start_large_file",
        json!({"bucketId": id, "fileName": "big.bin", "contentType": "b2/x-auto"}),
    );
    assert_eq!(status, 200, "{large}");
    for start in [json!(4294967296u64), json!(0), json!(-1), json!(10001)] {
        let (status, body) = b2(
            &server,
            &token,
            "b2_list_parts",
            json!({"fileId": large["fileId"], "startPartNumber": start}),
        );
        assert_eq!(status, 400, "startPartNumber {start}: {body}");
    }
}

#[test]
fn b2_upload_part_after_cancel_is_a_b2_error_not_a_server_error() {
    let server = Server::start();
    let token = b2_auth(&server);
    let id = b2_create_bucket(&server, &token, "races-check", json!([]));
    let (_, large) = b2(
        &server,
        &token,
        "b2_start_large_file",
        json!({"bucketId": id, "fileName": "big.bin", "contentType": "b2/x-auto"}),
    );
    let (_, part_url) = b2(
        &server,
        &token,
        "b2_get_upload_part_url",
        json!({"fileId": large["fileId"]}),
    );
    let (status, body) = b2(
        &server,
        &token,
        "b2_cancel_large_file",
        json!({"fileId": large["fileId"]}),
    );
    assert_eq!(status, 200, "{body}");
    let path = part_url["uploadUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches(&server.endpoint)
        .to_owned();
    let (status, text) = http(
        &server,
        "POST",
        &path,
        &[
            (
                "Authorization",
                part_url["authorizationToken"].as_str().unwrap(),
            ),
            ("X-Bz-Part-Number", "1"),
            ("X-Bz-Content-Sha1", "do_not_verify"),
        ],
        b"part",
    );
    assert!(status == 400 || status == 404, "{text}");
    assert!(!text.contains("internal_error"), "{text}");
}

#[test]
fn metrics_count_requests_connections_and_cors_verdicts() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--metrics-token", "scrape-token"],
    );
    let token = b2_auth(&server);
    b2_create_bucket(&server, &token, "counted", json!([]));
    preflight(&server, "/counted/x", "https://a.example", "GET");
    // The earlier connections close asynchronously: read until only this one is open.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let metrics = common::raw(
            &server.endpoint,
            "GET",
            "/_pier/metrics",
            &[("Authorization", "Bearer scrape-token")],
        );
        assert_eq!(metrics.status, 200);
        if metrics.body.contains("pier_open_connections 1\n") || Instant::now() > deadline {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let m = &metrics.body;
    assert!(
        m.contains(r#"pier_requests_total{api="b2",operation="b2_create_bucket",status="200"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(
            r#"pier_requests_total{api="b2",operation="b2_authorize_account",status="200"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"pier_cors_decisions_total{bucket="counted",verdict="refused"} 1"#),
        "{m}"
    );
    assert!(m.contains("pier_open_connections 1"), "{m}");
    assert!(m.contains("pier_store_commits "), "{m}");
    // One SQLite writer never conflicts: nothing was run again.
    assert!(m.contains("pier_store_write_retries 0"), "{m}");
    assert!(m.contains("pier_request_duration_seconds_bucket"), "{m}");
}

#[test]
fn the_access_log_has_one_json_line_per_request() {
    let dir = tempfile::TempDir::new().unwrap();
    let log = dir.path().join("access.jsonl");
    let server = Server::start_with(dir, &["--access-log", log.to_str().unwrap()]);
    let token = b2_auth(&server);
    b2_create_bucket(&server, &token, "logged", json!([]));
    let refused = common::raw(&server.endpoint, "GET", "/logged", &[]);
    assert_eq!(refused.status, 403);
    let request_id = refused.header("x-amz-request-id").unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= 3 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["operation"], "b2_authorize_account");
    assert_eq!(lines[1]["operation"], "b2_create_bucket");
    assert_eq!(lines[1]["key_id"], ACCESS_KEY);
    assert_eq!(lines[1]["bucket"], Value::Null);
    assert_eq!(lines[2]["operation"], "ListObjects");
    assert_eq!(lines[2]["status"], 403);
    assert_eq!(lines[2]["bucket"], "logged");
    assert_eq!(lines[2]["request_id"], request_id.as_str());
    assert_eq!(lines[2]["cors"], "none");
}

#[test]
fn hostile_document_bodies_are_client_errors_not_500s() {
    let server = Server::start();
    let out = server.python_ok("xml_bodies.py", &[]);
    assert!(out.contains("6 passed, 0 failed"), "{out}");
    assert!(
        !server.log().contains("answered with a server error"),
        "{}",
        server.log()
    );
}

/// Issue 23: connections that never send a byte are closed when the head timeout, counted from
/// their accept, runs out, on the API's listener and on the dashboard's, while a normal client
/// keeps being served. (hyper-util's protocol detection read the first bytes with no timer, so
/// such a connection used to stay open for good, and ten thousand of them filled the cap.)
#[test]
fn connections_that_never_send_a_byte_are_closed_after_the_head_timeout() {
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
    if soft < 8192 {
        rlimit::Resource::NOFILE.set(hard.min(16384), hard).unwrap();
    }
    let silent_per_listener = 2000.min(rlimit::Resource::NOFILE.get().unwrap().0 as usize / 4);
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--header-timeout", "3"],
    );
    let timeout = Duration::from_secs(3);
    let api = server.endpoint.trim_start_matches("http://").to_owned();
    let dashboard = server.dashboard.trim_start_matches("http://").to_owned();
    // A normal client, every 100 ms, while the attack runs: health and a signed request.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signed = presigned_path(&server, "GET", "normal", "", Vec::new());
    let normal = {
        let (stop, endpoint) = (std::sync::Arc::clone(&stop), server.endpoint.clone());
        std::thread::spawn(move || {
            let mut served = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let health = common::raw(&endpoint, "GET", "/_pier/health", &[]);
                assert_eq!(health.status, 200, "{health:?}");
                let listed = common::raw(&endpoint, "GET", &signed, &[]);
                assert_eq!(listed.status, 404, "a signed request: {listed:?}");
                assert!(
                    started.elapsed() < Duration::from_secs(2),
                    "a normal client waited {:?}",
                    started.elapsed()
                );
                served += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            served
        })
    };
    let mut silent = Vec::new();
    for host in [&api, &dashboard] {
        for _ in 0..silent_per_listener {
            let s = TcpStream::connect(host).unwrap();
            s.set_read_timeout(Some(timeout * 4)).unwrap();
            silent.push((Instant::now(), s));
        }
    }
    for (opened, mut s) in silent {
        let mut buf = [0u8; 512];
        // Closed (EOF, or a reset) without an answer, or with the over-cap 503.
        let n = s.read(&mut buf).unwrap_or(0);
        if n > 0 {
            assert!(
                String::from_utf8_lossy(&buf[..n]).contains(" 503 "),
                "{}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
        let open_for = opened.elapsed();
        assert!(
            open_for < timeout + Duration::from_secs(1),
            "a silent connection stayed open {open_for:?}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = normal.join().unwrap();
    assert!(served >= 10, "the normal client was served {served} times");
    // The dashboard is free again for its users.
    let page = common::raw(&server.dashboard, "GET", "/login", &[]);
    assert_eq!(page.status, 200, "{page:?}");
}

/// Issue 23: a PUT dripping a byte every half second never trips the stall timeout, but it holds
/// a socket and a temp file: below the minimum body rate it fails like a stalled one.
#[test]
fn an_upload_that_drips_below_the_minimum_rate_fails_and_leaves_no_temp_file() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--body-stall-timeout", "2"],
    );
    let token = b2_auth(&server);
    b2_create_bucket(&server, &token, "drip-drip", json!([]));
    let path = presigned_path(&server, "PUT", "drip-drip", "slow.bin", vec![]);
    let host = server.endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    // Past the inline size, so the body goes to a temp file.
    s.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000000\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        if s.write_all(b"x").is_err() {
            break;
        }
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                break;
            }
            Err(_) => {} // nothing yet: drip on
        }
    }
    let waited = started.elapsed();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.read_to_end(&mut buf);
    let (status, text) = parse(&buf);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    assert!(
        waited < Duration::from_secs(5),
        "the drip was cut after {waited:?}"
    );
    assert_eq!(blob_files(&server, "tmp"), 0, "the temp file is gone");
}

/// Issue 23: a flood of refused requests is counted, not logged a line each (and not
/// explained each, which made a refused preflight cost six times an allowed one).
#[test]
fn repeated_refusals_are_logged_once() {
    let server = Server::start();
    let token = b2_auth(&server);
    b2_create_bucket(
        &server,
        &token,
        "refusing",
        json!([{"corsRuleName": "one-origin", "allowedOrigins": ["https://app.example"],
                "allowedOperations": ["s3_get"], "maxAgeSeconds": 60}]),
    );
    for _ in 0..200 {
        assert_eq!(
            preflight(&server, "/refusing/x", "https://evil.example", "GET"),
            403
        );
        let r = common::raw(&server.endpoint, "GET", "/refusing/secret.txt", &[]);
        assert_eq!(r.status, 403, "{r:?}");
    }
    let log = server.log();
    assert_eq!(log.matches("preflight refused").count(), 1, "{log}");
    assert_eq!(log.matches("access refused").count(), 1, "{log}");
    // Another origin is another refusal: explained and logged once too.
    assert_eq!(
        preflight(&server, "/refusing/x", "https://other.example", "GET"),
        403
    );
    assert_eq!(server.log().matches("preflight refused").count(), 2);
}
