//! B2's error document: `{"status": N, "code": "...", "message": "..."}` with the same HTTP
//! status. A [`B2ErrorKind`] owns its status and code, so no call site pairs them by hand.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use pier_store::{CompleteError, PartError, PutError, StorageError, StoreError};
use s3s::Body;

/// The kinds of B2 error pier answers, each with B2's status and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum B2ErrorKind {
    /// 400 `bad_request`: a parameter is missing, malformed or out of range.
    BadRequest,
    /// 400 `bad_json`: the body is not a JSON object.
    BadJson,
    /// 400 `bad_bucket_id`: no bucket has this id (or name).
    BadBucketId,
    /// 400 `duplicate_bucket_name`.
    DuplicateBucketName,
    /// 400 `cannot_delete_non_empty_bucket`.
    CannotDeleteNonEmptyBucket,
    /// 400 `missing_part`: a large file is finished with a part that was not uploaded.
    MissingPart,
    /// 400 `part_sha1_mismatch`: a large file is finished with a part whose SHA-1 differs.
    PartSha1Mismatch,
    /// 400 `out_of_range`: a listing limit or part number is out of range.
    OutOfRange,
    /// 400 `file_not_present` (B2's answer for a file id that names nothing, in some calls).
    FileNotPresent,
    /// 400 `no_such_file`: hiding a name that has no current version.
    NoSuchFile,
    /// `b2_hide_file` on a file whose newest version is a hide marker already.
    AlreadyHidden,
    /// 400 `file_lock_conflict`: turning file lock off (it never goes off).
    FileLockConflict,
    /// 401 `bad_auth_token`: a token that does not verify, or none.
    BadAuthToken,
    /// 401 `expired_auth_token`.
    ExpiredAuthToken,
    /// 401 `unauthorized`: a valid token that does not allow this call.
    Unauthorized,
    /// 403 `access_denied`: refused by policy (a preflight no CORS rule allows, say).
    AccessDenied,
    /// 403 `storage_cap_exceeded`: an upload over a storage (or object) cap.
    StorageCapExceeded,
    /// 403 `transaction_cap_exceeded`: a call over a daily transaction cap.
    TransactionCapExceeded,
    /// 404 `not_found`: no such file, large file or endpoint.
    NotFound,
    /// 408 `request_timeout`: the upload body stalled.
    RequestTimeout,
    /// 409 `conflict`: `ifRevisionIs` did not match.
    Conflict,
    /// 416 `range_not_satisfiable`.
    RangeNotSatisfiable,
    /// 500 `internal_error`: a storage failure (always logged with its cause).
    InternalError,
    /// 503 `service_unavailable`: the server is overloaded; retry.
    ServiceUnavailable,
}

impl B2ErrorKind {
    /// The HTTP status (also in the body).
    pub fn status(self) -> u16 {
        use B2ErrorKind::*;
        match self {
            BadRequest
            | BadJson
            | BadBucketId
            | DuplicateBucketName
            | CannotDeleteNonEmptyBucket
            | MissingPart
            | PartSha1Mismatch
            | OutOfRange
            | FileNotPresent
            | NoSuchFile
            | AlreadyHidden
            | FileLockConflict => 400,
            BadAuthToken | ExpiredAuthToken | Unauthorized => 401,
            AccessDenied | StorageCapExceeded | TransactionCapExceeded => 403,
            NotFound => 404,
            RequestTimeout => 408,
            Conflict => 409,
            RangeNotSatisfiable => 416,
            InternalError => 500,
            ServiceUnavailable => 503,
        }
    }

    /// B2's snake_case code.
    pub fn code(self) -> &'static str {
        use B2ErrorKind::*;
        match self {
            BadRequest => "bad_request",
            BadJson => "bad_json",
            BadBucketId => "bad_bucket_id",
            DuplicateBucketName => "duplicate_bucket_name",
            CannotDeleteNonEmptyBucket => "cannot_delete_non_empty_bucket",
            MissingPart => "missing_part",
            PartSha1Mismatch => "part_sha1_mismatch",
            OutOfRange => "out_of_range",
            FileNotPresent => "file_not_present",
            NoSuchFile => "no_such_file",
            AlreadyHidden => "already_hidden",
            FileLockConflict => "file_lock_conflict",
            BadAuthToken => "bad_auth_token",
            ExpiredAuthToken => "expired_auth_token",
            Unauthorized => "unauthorized",
            AccessDenied => "access_denied",
            StorageCapExceeded => "storage_cap_exceeded",
            TransactionCapExceeded => "transaction_cap_exceeded",
            NotFound => "not_found",
            RequestTimeout => "request_timeout",
            Conflict => "conflict",
            RangeNotSatisfiable => "range_not_satisfiable",
            InternalError => "internal_error",
            ServiceUnavailable => "service_unavailable",
        }
    }
}

/// A B2 error: its kind and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct B2Error {
    /// Status and code.
    pub kind: B2ErrorKind,
    /// What went wrong, for the client.
    pub message: String,
}

impl B2Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: B2ErrorKind, message: impl Into<String>) -> Self {
        B2Error {
            kind,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        B2Error::new(B2ErrorKind::BadRequest, message)
    }

    /// 500 `internal_error`, logging `cause` (the client sees no detail).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "B2 request failed: internal error");
        B2Error::new(B2ErrorKind::InternalError, "internal error")
    }

    /// 503 `service_unavailable`, logging `cause`: the storage is out of reach for now, and B2
    /// clients retry.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(cause = %cause, "B2 request failed: storage unavailable");
        B2Error::new(
            B2ErrorKind::ServiceUnavailable,
            "service unavailable, please retry",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The JSON response.
    pub fn into_response(self) -> Response<Body> {
        let status = self.kind.status();
        let body = serde_json::json!({"status": status, "code": self.kind.code(), "message": self.message});
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(Bytes::from(body.to_string())))
            .expect("static response parts are valid")
    }
}

/// Each store operation's error answers as the [`StoreError`] it folds into.
macro_rules! b2_error_from_operation_errors {
    ($($operation_error:ty),* $(,)?) => {$(
        impl From<$operation_error> for B2Error {
            fn from(e: $operation_error) -> Self {
                StoreError::from(e).into()
            }
        }
    )*};
}

b2_error_from_operation_errors!(
    pier_store::BucketError,
    pier_store::ChangeError,
    pier_store::CreateBucketError,
    pier_store::DeleteBucketError,
    pier_store::DeleteError,
    pier_store::EnvelopeError,
    pier_store::FindError,
    pier_store::KeyError,
    pier_store::KmsError,
    pier_store::NewUploadError,
    pier_store::ReadError,
    pier_store::RequestError,
    pier_store::UpdateBucketError,
    pier_store::UploadError,
);

impl B2Error {
    /// A call over a cap, as B2 answers it: `storage_cap_exceeded` for storage and object
    /// caps, `transaction_cap_exceeded` for a transaction cap; the message names the cap.
    pub fn cap_exceeded(cap: &pier_store::CapExceeded) -> B2Error {
        let kind = match cap.kind {
            pier_store::CapKind::Transactions => B2ErrorKind::TransactionCapExceeded,
            pier_store::CapKind::Storage | pier_store::CapKind::Objects => {
                B2ErrorKind::StorageCapExceeded
            }
        };
        B2Error::new(kind, format!("Cap exceeded: {cap}"))
    }
}

impl From<StoreError> for B2Error {
    fn from(e: StoreError) -> Self {
        use B2ErrorKind::*;
        match e {
            StoreError::NoSuchBucket => B2Error::new(BadBucketId, "Bucket does not exist"),
            StoreError::BucketExists => {
                B2Error::new(DuplicateBucketName, "Bucket name is already in use.")
            }
            StoreError::BucketNotEmpty => {
                B2Error::new(CannotDeleteNonEmptyBucket, "Cannot delete non-empty bucket")
            }
            StoreError::NoSuchKey | StoreError::NoSuchVersion | StoreError::Reclaimed => {
                B2Error::new(NotFound, "File not present")
            }
            StoreError::InvalidVersioning => B2Error::bad_request(e.to_string()),
            StoreError::NoSuchUpload => B2Error::new(NotFound, "Large file not present"),
            StoreError::PreconditionFailed => B2Error::new(Conflict, "The revision does not match"),
            StoreError::InvalidName(why) => B2Error::bad_request(why.to_string()),
            StoreError::InvalidBucketState(why) => B2Error::bad_request(why),
            StoreError::LockNotEnabled => {
                B2Error::bad_request("file lock is not enabled on this bucket")
            }
            StoreError::ObjectLocked(why) => B2Error::new(AccessDenied, why.to_string()),
            StoreError::CapExceeded(cap) => B2Error::cap_exceeded(&cap),
            // As B2 answers a read of an SSE-C file without its key, or with another.
            StoreError::KeyRequired | StoreError::WrongKey => B2Error::new(
                AccessDenied,
                "The file is encrypted with SSE-C: the customer key it was written with is needed",
            ),
            StoreError::NoSuchKmsKey(_) | StoreError::InvalidKmsKeyId(_) => {
                B2Error::bad_request(e.to_string())
            }
            StoreError::NotCustomerEncrypted => {
                B2Error::bad_request("The file is not encrypted with SSE-C: give no customer key")
            }
            StoreError::Unavailable(why) => B2Error::unavailable(why),
            StoreError::LongerThanDeclared(_) => B2Error::bad_request(e.to_string()),
            other => B2Error::internal(other),
        }
    }
}

impl From<StorageError> for B2Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(why) => B2Error::unavailable(why),
            other => B2Error::internal(other),
        }
    }
}

impl From<PutError> for B2Error {
    fn from(e: PutError) -> Self {
        match e {
            PutError::InvalidName(n) => B2Error::bad_request(n.to_string()),
            PutError::PreconditionFailed => {
                B2Error::new(B2ErrorKind::Conflict, "The precondition did not hold")
            }
            PutError::NoSuchBucket => {
                B2Error::new(B2ErrorKind::BadBucketId, "Bucket does not exist")
            }
            PutError::SourceGone | PutError::NoSuchKey => {
                B2Error::new(B2ErrorKind::NotFound, "File not present")
            }
            PutError::LockNotEnabled => StoreError::LockNotEnabled.into(),
            PutError::CapExceeded(cap) => B2Error::cap_exceeded(&cap),
            PutError::Storage(s) => s.into(),
            other => B2Error::internal(other),
        }
    }
}

impl From<PartError> for B2Error {
    fn from(e: PartError) -> Self {
        match e {
            // The large file was finished or canceled meanwhile: B2's answer for a missing
            // large file, never a storage failure.
            PartError::NoSuchUpload => {
                B2Error::new(B2ErrorKind::NotFound, "Large file not present")
            }
            PartError::CapExceeded(cap) => B2Error::cap_exceeded(&cap),
            PartError::Storage(s) => s.into(),
            other => B2Error::internal(other),
        }
    }
}

impl From<CompleteError> for B2Error {
    fn from(e: CompleteError) -> Self {
        match e {
            CompleteError::NoSuchUpload => {
                B2Error::new(B2ErrorKind::NotFound, "Large file not present")
            }
            CompleteError::CapExceeded(cap) => B2Error::cap_exceeded(&cap),
            CompleteError::InvalidPart(n) => B2Error::new(
                B2ErrorKind::MissingPart,
                format!("Part number {n} has not been uploaded"),
            ),
            CompleteError::InvalidPartOrder => {
                B2Error::bad_request("parts must be listed in ascending order")
            }
            CompleteError::EntityTooSmall(n) => B2Error::bad_request(format!(
                "Part number {n} is smaller than the minimum part size"
            )),
            CompleteError::PreconditionFailed => {
                B2Error::new(B2ErrorKind::Conflict, "The precondition did not hold")
            }
            CompleteError::NoSuchKey => B2Error::new(B2ErrorKind::NotFound, "File not present"),
            CompleteError::Storage(s) => s.into(),
            other => B2Error::internal(other),
        }
    }
}

/// Maps the store's "not there" errors (no such bucket, file or upload) to `missing`, and every
/// other failure as usual: a storage failure is never reported as a missing file.
pub(crate) fn missing_as<E: Into<StoreError>>(
    missing: impl FnOnce() -> B2Error,
) -> impl FnOnce(E) -> B2Error {
    move |e| match e.into() {
        StoreError::NoSuchBucket | StoreError::NoSuchKey | StoreError::NoSuchUpload => missing(),
        other => B2Error::from(other),
    }
}

/// Result of a B2 handler.
pub type B2Result<T> = Result<T, B2Error>;

/// A blocking task that did not finish (it panicked or was cancelled).
pub(crate) fn blocking_err(e: tokio::task::JoinError) -> B2Error {
    B2Error::internal(format!("blocking task failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_own_status_and_code() {
        let resp = B2Error::new(B2ErrorKind::Conflict, "x").into_response();
        assert_eq!(resp.status(), 409);
        assert_eq!(
            B2ErrorKind::RangeNotSatisfiable.code(),
            "range_not_satisfiable"
        );
        assert_eq!(B2ErrorKind::ServiceUnavailable.status(), 503);
    }

    #[test]
    fn storage_races_are_not_internal_errors() {
        assert_eq!(B2Error::from(StoreError::NoSuchUpload).status(), 404);
        assert_eq!(B2Error::from(StoreError::NoSuchKey).status(), 404);
    }
}
