//! Store errors in S3's words.

use pier_store::{NameError, StoreError};
use s3s::{s3_error, S3Error};

/// Maps a store error to the S3 error a client expects.
pub fn s3_error(e: StoreError) -> S3Error {
    match e {
        StoreError::NoSuchBucket => s3_error!(NoSuchBucket, "The specified bucket does not exist"),
        StoreError::BucketExists => s3_error!(
            BucketAlreadyOwnedByYou,
            "Your previous request to create the named bucket succeeded and you already own it."
        ),
        StoreError::BucketNotEmpty => s3_error!(
            BucketNotEmpty,
            "The bucket you tried to delete is not empty"
        ),
        StoreError::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
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
        StoreError::EntityTooSmall(n) => s3_error!(
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed object size (part {n})."
        ),
        StoreError::PreconditionFailed => s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ),
        StoreError::InvalidName(NameError::TooLong(_)) => {
            s3_error!(KeyTooLongError, "Your key is too long")
        }
        StoreError::InvalidName(why) => {
            S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, why.to_string())
        }
        other => {
            tracing::error!(error = %other, "storage failure: internal error");
            s3_error!(InternalError, "We encountered an internal error. Please try again.")
        }
    }
}

/// Runs blocking store work off the async threads, mapping both failure kinds.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, S3Error> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(s3_error),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(s3_error!(
                InternalError,
                "We encountered an internal error. Please try again."
            ))
        }
    }
}

/// An S3 error whose code s3s does not know, with its HTTP status.
pub fn custom_error(code: &'static str, status: u16, message: &'static str) -> S3Error {
    let mut e = S3Error::with_message(s3s::S3ErrorCode::Custom(code.into()), message);
    e.set_status_code(http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST));
    e
}
