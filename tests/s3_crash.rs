//! `kill -9` while many uploads are in flight: after a restart every acknowledged upload reads
//! back byte-identical and nothing half-written is listed.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn kill_9_during_uploads_loses_nothing_acknowledged() {
    common::ensure_tools();
    let mut server = common::Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let ack = work.path().join("acked.txt");
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let mut uploader = cmd
        .arg(common::repo().join("tests/clients/crash_upload.py"))
        .arg(&ack)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Let uploads get going, then pull the plug mid-stream.
    let start = Instant::now();
    while !ack.exists() || std::fs::read_to_string(&ack).unwrap().lines().count() < 200 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "uploads did not start:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    let status = uploader.wait().unwrap();
    assert!(status.success(), "uploader crashed");
    let acked = std::fs::read_to_string(&ack).unwrap().lines().count();
    assert!(acked >= 200, "{acked} acknowledged");
    server.restart();
    let out = server.python_ok("crash_verify.py", &[ack.to_str().unwrap()]);
    eprintln!("{out}");
    assert!(out.contains("missing 0, bad 0"), "{out}");
}
