//! Store errors in S3's words.

use pier_store::{CompleteError, NameError, PartError, PutError, StorageError, StoreError};
use s3s::{s3_error, S3Error};

/// Maps a store error (or an operation's error, which folds into one) to the S3 error a client
/// expects.
pub fn s3_error(e: impl Into<StoreError>) -> S3Error {
    let e = e.into();
    match e {
        StoreError::NoSuchBucket => s3_error!(NoSuchBucket, "The specified bucket does not exist"),
        // Creating a bucket the caller owns already is answered before this (200).
        StoreError::BucketExists => s3_error!(
            BucketAlreadyExists,
            "The requested bucket name is not available. The bucket namespace is shared by all accounts of this server. Please select a different name and try again."
        ),
        StoreError::BucketNotEmpty => s3_error!(
            BucketNotEmpty,
            "The bucket you tried to delete is not empty"
        ),
        StoreError::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
        StoreError::NoSuchVersion => s3_error!(
            NoSuchVersion,
            "The specified version does not exist."
        ),
        StoreError::InvalidVersioning => s3_error!(
            IllegalVersioningConfigurationException,
            "A bucket whose versioning was enabled can only be suspended, not unversioned."
        ),
        StoreError::NoSuchUpload => s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        ),
        StoreError::InvalidPart(n) => s3_error!(
            InvalidPart,
            "One or more of the specified parts could not be found or its entity tag did not match (part {n})."
        ),
        StoreError::InvalidPartOrder => s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        ),
        StoreError::LongerThanDeclared(n) => s3_error!(
            IncompleteBody,
            "The body is longer than the {n} bytes its request declared."
        ),
        StoreError::EntityTooSmall(n) => s3_error!(
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed object size (part {n})."
        ),
        StoreError::PreconditionFailed => s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ),
        StoreError::InvalidBucketState(why) => {
            S3Error::with_message(s3s::S3ErrorCode::InvalidBucketState, why)
        }
        StoreError::ObjectLocked(why) => S3Error::with_message(
            s3s::S3ErrorCode::AccessDenied,
            format!("Access Denied because object protected by object lock: {why}"),
        ),
        StoreError::LockNotEnabled => s3_error!(
            InvalidRequest,
            "Bucket is missing Object Lock Configuration"
        ),
        StoreError::InvalidName(NameError::TooLong(_)) => {
            s3_error!(KeyTooLongError, "Your key is too long")
        }
        StoreError::InvalidName(why) => {
            S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, why.to_string())
        }
        StoreError::KeyRequired => s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        ),
        StoreError::WrongKey => s3_error!(AccessDenied, "Access Denied"),
        StoreError::CapExceeded(cap) => cap_exceeded(&cap),
        StoreError::NoSuchKmsKey(id) => crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::KmsNotFound,
            format!("Invalid keyId {id}"),
        )
        .into_s3s(),
        StoreError::InvalidKmsKeyId(_) => {
            S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, e.to_string())
        }
        StoreError::NotCustomerEncrypted => s3_error!(
            InvalidRequest,
            "The encryption parameters are not applicable to this object."
        ),
        StoreError::Unavailable(why) => unavailable(&why),
        // A read that lost every race with deletes of what it read: the client retries.
        StoreError::Reclaimed => unavailable("the object changed under every read attempt"),
        other => {
            tracing::error!(error = %other, "storage failure: internal error");
            s3_error!(InternalError, "We encountered an internal error. Please try again.")
        }
    }
}

/// The metadata database out of reach: logged, answered as S3's 503, which every S3 client
/// retries.
fn unavailable(why: &str) -> S3Error {
    tracing::warn!(cause = %why, "storage unavailable: answered 503");
    S3Error::with_message(
        s3s::S3ErrorCode::ServiceUnavailable,
        "The service is unavailable. Please retry.",
    )
}

/// A storage failure: logged with its cause, answered as S3's 500 (503 when only unavailable).
pub fn storage_error(e: StorageError) -> S3Error {
    if let StorageError::Unavailable(why) = &e {
        return unavailable(why);
    }
    tracing::error!(error = %e, "storage failure: internal error");
    s3_error!(
        InternalError,
        "We encountered an internal error. Please try again."
    )
}

/// A write or request over a cap: 403 with a code naming the cap and a message naming its
/// scope and limit.
pub fn cap_exceeded(cap: &pier_store::CapExceeded) -> S3Error {
    use crate::fault::S3ErrorKind;
    let kind = match cap.kind {
        pier_store::CapKind::Storage => S3ErrorKind::StorageCapExceeded,
        pier_store::CapKind::Objects => S3ErrorKind::ObjectCapExceeded,
        pier_store::CapKind::Transactions => S3ErrorKind::TransactionCapExceeded,
    };
    let mut message = cap.to_string();
    if let Some(first) = message.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    crate::fault::S3Fault::new(kind, format!("{message}.")).into_s3s()
}

/// A failed object write in S3's words.
pub fn put_error(e: PutError) -> S3Error {
    match e {
        PutError::InvalidName(n) => s3_error(StoreError::InvalidName(n)),
        PutError::PreconditionFailed => s3_error(StoreError::PreconditionFailed),
        PutError::NoSuchBucket => s3_error(StoreError::NoSuchBucket),
        PutError::SourceGone | PutError::NoSuchKey => s3_error(StoreError::NoSuchKey),
        PutError::LockNotEnabled => s3_error(StoreError::LockNotEnabled),
        PutError::CapExceeded(cap) => cap_exceeded(&cap),
        PutError::Storage(s) => storage_error(s),
        other => storage_error(StorageError::Corrupt(format!(
            "an outcome the S3 edge does not know: {other:?}"
        ))),
    }
}

/// A failed part upload in S3's words (a race with abort or completion is `NoSuchUpload`).
pub fn part_error(e: PartError) -> S3Error {
    match e {
        PartError::NoSuchUpload => s3_error(StoreError::NoSuchUpload),
        PartError::CapExceeded(cap) => cap_exceeded(&cap),
        PartError::Storage(s) => storage_error(s),
        other => storage_error(StorageError::Corrupt(format!(
            "an outcome the S3 edge does not know: {other:?}"
        ))),
    }
}

/// A failed completion in S3's words.
pub fn complete_error(e: CompleteError) -> S3Error {
    s3_error(match e {
        CompleteError::NoSuchUpload => StoreError::NoSuchUpload,
        CompleteError::InvalidPart(n) => StoreError::InvalidPart(n),
        CompleteError::InvalidPartOrder => StoreError::InvalidPartOrder,
        CompleteError::EntityTooSmall(n) => StoreError::EntityTooSmall(n),
        CompleteError::PreconditionFailed => StoreError::PreconditionFailed,
        CompleteError::NoSuchKey => StoreError::NoSuchKey,
        CompleteError::CapExceeded(cap) => StoreError::CapExceeded(cap),
        CompleteError::Storage(s) => return storage_error(s),
        other => {
            return storage_error(StorageError::Corrupt(format!(
                "an outcome the S3 edge does not know: {other:?}"
            )))
        }
    })
}

/// Runs blocking store work off the async threads, mapping both failure kinds.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, S3Error> {
    blocking_map(f, s3_error).await
}

/// [`blocking`] for store calls with an error sized to their operation, mapped by `map`.
pub async fn blocking_map<T: Send + 'static, E: Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
    map: fn(E) -> S3Error,
) -> Result<T, S3Error> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(map),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(s3_error!(
                InternalError,
                "We encountered an internal error. Please try again."
            ))
        }
    }
}

/// Changes one of a bucket's settings as an actor, in an async S3 handler, returning early
/// with the S3 error when the store refuses:
/// `change_bucket!(store, actor, &bucket, tags: Some(tags))` is [`update_bucket`] with a
/// `BucketUpdate` that sets that one field.
macro_rules! change_bucket {
    ($store:expr, $actor:expr, $bucket:expr, $field:ident: $value:expr) => {
        crate::error::update_bucket(
            $store,
            $actor,
            $bucket,
            pier_store::BucketUpdate {
                $field: $value,
                ..Default::default()
            },
        )
        .await?
    };
}
pub(crate) use change_bucket;

/// Changes a bucket's settings as `actor` (recorded in the audit log) off the async runtime
/// (the store writes synchronously).
pub async fn update_bucket(
    store: &pier_store::Store,
    actor: pier_store::Actor,
    name: &str,
    update: pier_store::BucketUpdate,
) -> s3s::S3Result<()> {
    let (store, name) = (store.clone(), name.to_owned());
    blocking(move || Ok(store.acting(actor).update_bucket(&name, update)?)).await?;
    Ok(())
}
