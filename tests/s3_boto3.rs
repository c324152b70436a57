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

/// Issue 30: bucket configurations pier does not keep answer as AWS answers for a bucket
/// without them (tools read them), and the region is AWS's us-east-1.
#[test]
fn unconfigured_bucket_settings_and_the_region_answer_as_aws_does() {
    let server = common::Server::start();
    let out = server.python_ok("unconfigured.py", &[]);
    assert!(out.contains("12 passed, 0 failed"), "{out}");
}
