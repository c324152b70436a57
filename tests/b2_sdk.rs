//! The B2 native API with b2sdk (Backblaze's own SDK) against a real `pier serve`.

mod common;

#[test]
fn b2sdk_suite() {
    let server = common::Server::start();
    let out = server.python_ok("b2_sdk.py", &[]);
    eprintln!("{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
