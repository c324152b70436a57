//! boto3 against a real `pier serve`: copy, batch delete, multipart (incl. part copy),
//! conditional requests, ranges, presigned URLs, virtual-host style, and bad input — each
//! failure checked for its S3 error and for leaving stored objects unchanged.

mod common;

#[test]
fn boto3_suite() {
    let server = common::Server::start();
    let out = server.python_ok("s3_boto3.py", &[]);
    eprintln!("{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
