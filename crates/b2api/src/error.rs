//! B2's error document: `{"status": N, "code": "...", "message": "..."}` with the same HTTP status.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use pier_store::StoreError;
use s3s::Body;

/// A B2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct B2Error {
    /// HTTP status (also in the body).
    pub status: u16,
    /// B2's snake_case code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl B2Error {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        B2Error {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        B2Error::new(400, "bad_request", message)
    }

    /// The JSON response.
    pub fn into_response(self) -> Response<Body> {
        let body =
            serde_json::json!({"status": self.status, "code": self.code, "message": self.message});
        Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(Bytes::from(body.to_string())))
            .expect("static response parts are valid")
    }
}

impl From<StoreError> for B2Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchBucket => B2Error::new(400, "bad_bucket_id", "Bucket does not exist"),
            StoreError::BucketExists => B2Error::new(
                400,
                "duplicate_bucket_name",
                "Bucket name is already in use.",
            ),
            StoreError::BucketNotEmpty => B2Error::new(
                400,
                "cannot_delete_non_empty_bucket",
                "Cannot delete non-empty bucket",
            ),
            StoreError::NoSuchKey => B2Error::new(404, "not_found", "File not present"),
            StoreError::PreconditionFailed => {
                B2Error::new(409, "conflict", "The revision does not match")
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                B2Error::new(500, "internal_error", "internal error")
            }
        }
    }
}

/// Result of a B2 handler.
pub type B2Result<T> = Result<T, B2Error>;

/// A blocking task that did not finish (it panicked or was cancelled).
pub(crate) fn blocking_err(_: tokio::task::JoinError) -> B2Error {
    B2Error::new(500, "internal_error", "internal error")
}
