//! Fixtures for pier's tests: real services, started once per test binary and stopped when it
//! exits. Nothing here is used by pier itself.

pub mod history;
pub mod postgres;
pub mod seaweedfs;

use std::path::Path;
use std::process::{Command, Stdio};

/// Starts a watchdog: once this test binary's process is gone, it runs `cleanup` (a shell
/// command that stops a fixture) and removes `dir`. It runs in the background of a shell that
/// exits at once, so it belongs to init, not to this process, and holds none of its pipes.
pub(crate) fn watchdog(what: &str, cleanup: &str, dir: &Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {cleanup} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    let started = Command::new("sh")
        .args(["-c", &format!("({script}) &")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(started.success(), "could not start the {what} watchdog");
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    // A port is free when it is handed out, not when its server binds it: never hand one out
    // twice in this process, so two servers started together cannot be given the same one.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
