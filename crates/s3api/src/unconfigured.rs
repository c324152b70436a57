//! Bucket configurations pier does not keep, answered as AWS answers for a bucket that has none
//! of them: tools read them to describe a bucket (s3cmd `info`, Terraform's bucket resource) and
//! stop at a `501`. Requester-pays is never on (`BucketOwner` pays); acceleration and logging
//! are empty documents; analytics, metrics, intelligent-tiering and inventory
//! list nothing and have no configuration by id; replication is S3's 404.

use crate::error::s3_error;
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// Fails with `NoSuchBucket` unless `bucket` exists.
fn exists(store: &Store, bucket: &str) -> S3Result<()> {
    store.bucket(bucket).map(drop).map_err(s3_error)
}

/// `GET ?requestPayment`: the owner pays.
pub fn request_payment(store: &Store, bucket: &str) -> S3Result<GetBucketRequestPaymentOutput> {
    exists(store, bucket)?;
    Ok(GetBucketRequestPaymentOutput {
        payer: Some(Payer::from_static(Payer::BUCKET_OWNER)),
    })
}

/// `GET ?accelerate`: no status (never configured).
pub fn accelerate(store: &Store, bucket: &str) -> S3Result<GetBucketAccelerateConfigurationOutput> {
    exists(store, bucket)?;
    Ok(GetBucketAccelerateConfigurationOutput::default())
}

/// `GET ?logging`: logging is off.
pub fn logging(store: &Store, bucket: &str) -> S3Result<GetBucketLoggingOutput> {
    exists(store, bucket)?;
    Ok(GetBucketLoggingOutput::default())
}

/// `GET ?analytics`, `?metrics`, `?intelligent-tiering`, `?inventory` without an id: an empty,
/// complete list (the caller fills in its own output type).
pub fn empty_list(store: &Store, bucket: &str) -> S3Result<()> {
    exists(store, bucket)
}

/// The same with an `id`: S3's 404 `NoSuchConfiguration`.
pub fn no_configuration(store: &Store, bucket: &str) -> S3Result<()> {
    exists(store, bucket)?;
    Err(crate::fault::S3Fault::new(
        crate::fault::S3ErrorKind::NoSuchConfiguration,
        "The specified configuration does not exist.",
    )
    .into_s3s())
}

/// `GET ?replication`: S3's 404 `ReplicationConfigurationNotFoundError`.
pub fn replication(store: &Store, bucket: &str) -> S3Result<GetBucketReplicationOutput> {
    exists(store, bucket)?;
    Err(s3_error!(
        ReplicationConfigurationNotFoundError,
        "The replication configuration was not found"
    ))
}
