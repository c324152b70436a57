//! Object lock end to end: S3's bucket lock, retention and legal holds through boto3, and the
//! same state through the B2 native API with b2sdk (fileRetention, legalHold, file lock on
//! buckets), each refusing the deletions the other refuses.

mod common;

use common::Server;

#[test]
fn object_lock_through_boto3_and_b2sdk() {
    let server = Server::start();
    let out = server.python_ok("object_lock.py", &[]);
    assert!(out.contains("14 passed, 0 failed"), "{out}");
}
