//! S3 behaviours added while working through ceph's s3-tests, each driven by a real client
//! against a real `pier serve` (`tests/clients/conformance_boto3.py`), so they stay covered
//! when the suite itself is not run.

mod common;

#[test]
fn tagging_listing_read_details_and_form_uploads_with_boto3() {
    let server = common::Server::start();
    let out = server.python_ok("conformance_boto3.py", &[]);
    assert!(out.contains("24 passed, 0 failed"), "{out}");
}

#[test]
fn multipart_checksums_and_object_attributes_with_boto3() {
    let server = common::Server::start();
    let out = server.python_ok("checksums_boto3.py", &[]);
    assert!(out.contains("8 passed, 0 failed"), "{out}");
}
