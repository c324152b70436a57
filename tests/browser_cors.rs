//! CORS proven in Debian's headless Chromium: pages on three loopback origins use buckets of a
//! real `pier serve` with `fetch()`, covering the seeds' scenarios (no CORS, any origin with only
//! `authorization` and `range`, all headers, one exact origin), a presigned PUT from the page,
//! exposed headers, a public bucket read anonymously, credentialed fetches and a visible 404.

mod common;

use std::process::Command;

#[test]
fn chromium_sees_exactly_what_the_rules_allow() {
    let server = common::Server::start();
    common::cors_pages::chromium_cors_scenarios(&server, &server.endpoint);
}

/// The B2 half of the first seed: `/file/...` downloads under B2 `corsRules`, and a browser upload
/// through `b2_upload_file`.
#[test]
fn chromium_b2_downloads_and_uploads_follow_b2_rules() {
    let server = common::Server::start();
    let port = common::free_port();
    let origin_a = format!("http://127.0.0.1:{port}");
    let setup = server.python_ok("b2_browser_setup.py", &[&origin_a]);
    let out = Command::new("node")
        .arg(common::repo().join("tests/browser/b2.mjs"))
        .current_dir(common::repo().join("tests/browser"))
        .env("PIER_ENDPOINT", &server.endpoint)
        .env("ORIGIN_A_PORT", port.to_string())
        .env("SETUP", setup.trim())
        .output()
        .expect("run node");
    server.assert_checks_passed(&out, " passed, 0 failed");
}
