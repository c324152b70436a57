//! s3cmd out of the box (issue 30): its default configuration, with only the endpoint and the
//! keys set, signs for the region `US`; pier answers as AWS does (`AuthorizationHeaderMalformed`
//! naming `us-east-1`), s3cmd signs again, and every command works. With `--signature-v2` it
//! sends dates with a numeric zone (`+0000`), which pier reads as HTTP allows.

mod common;

use common::{Server, ACCESS_KEY, SECRET_KEY};
use std::path::Path;
use std::process::Command;

/// Runs `s3cmd ARGS` with a configuration naming only `server` and the test keys; returns its
/// output after checking it succeeded.
fn s3cmd(server: &Server, dir: &Path, extra: &[&str], args: &[&str]) -> String {
    let host = server.endpoint.trim_start_matches("http://");
    let config = dir.join("s3cfg");
    std::fs::write(
        &config,
        format!(
            "[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\nhost_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
        ),
    )
    .unwrap();
    let out = Command::new("s3cmd")
        .arg("-c")
        .arg(&config)
        .args(extra)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "s3cmd {extra:?} {args:?} failed:\n{text}\n{}",
        server.log_tail(20)
    );
    text
}

/// mb, sync, ls, info, get, setacl, setcors, signurl, del and rb, as a user runs them.
fn every_command(extra: &[&str], bucket: &str) {
    common::ensure_tools();
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let dir = work.path();
    let run = |args: &[&str]| s3cmd(&server, dir, extra, args);
    let url = format!("s3://{bucket}");
    run(&["mb", &url]);
    std::fs::create_dir(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/a.txt"), "hello from s3cmd").unwrap();
    std::fs::write(dir.join("site/big.bin"), common::bytes(7, 20 * 1024 * 1024)).unwrap();
    run(&["sync", "site/", &format!("{url}/")]);
    let listed = run(&["ls", &format!("{url}/")]);
    assert!(
        listed.contains("a.txt") && listed.contains("big.bin"),
        "{listed}"
    );
    let info = run(&["info", &url]);
    assert!(info.contains("Payer:     BucketOwner"), "{info}");
    run(&["get", &format!("{url}/big.bin"), "got.bin"]);
    assert_eq!(
        std::fs::read(dir.join("got.bin")).unwrap(),
        common::bytes(7, 20 * 1024 * 1024)
    );
    run(&["setacl", "--acl-public", &format!("{url}/a.txt")]);
    let public = common::raw(&server.endpoint, "GET", &format!("/{bucket}/a.txt"), &[]);
    assert_eq!(
        (public.status, public.body.as_str()),
        (200, "hello from s3cmd")
    );
    std::fs::write(
        dir.join("cors.xml"),
        "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    )
    .unwrap();
    run(&["setcors", "cors.xml", &url]);
    let preflight = common::raw(
        &server.endpoint,
        "OPTIONS",
        &format!("/{bucket}/a.txt"),
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(preflight.status, 200, "{preflight:?}");
    let signed = run(&["signurl", &format!("{url}/a.txt"), "+600"]);
    let link = signed.lines().last().unwrap().trim();
    let path = link.trim_start_matches(&server.endpoint);
    let fetched = common::raw(&server.endpoint, "GET", path, &[]);
    assert_eq!(
        (fetched.status, fetched.body.as_str()),
        (200, "hello from s3cmd")
    );
    run(&["del", &format!("{url}/a.txt")]);
    run(&["rb", "--recursive", &url]);
    let gone = common::raw(&server.endpoint, "HEAD", &format!("/{bucket}"), &[]);
    assert_eq!(gone.status, 404);
}

#[test]
fn s3cmd_with_its_default_configuration_and_sigv4() {
    every_command(&[], "s3cmd-v4");
}

#[test]
fn s3cmd_with_signature_v2() {
    every_command(&["--signature-v2"], "s3cmd-v2");
}
