//! The entry a read names: the current version or a named one, with S3's answers for delete
//! markers (`x-amz-delete-marker`, 404 on top, 405 by id).

use crate::convert::timestamp;
use crate::error::s3_error;
use crate::versions::{parse_version, shown_version};
use pier_store::{Bucket, Object, Readable, Store, StoreError};
use s3s::{s3_error, S3Result};

/// The headers S3 sends with an answer about a delete marker.
fn marker_headers(marker: &Object, shown: Option<String>) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amz-delete-marker",
        http::HeaderValue::from_static("true"),
    );
    if let Some(v) = shown.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
        headers.insert("x-amz-version-id", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(
        &crate::convert::http_date(&timestamp(marker.created)).unwrap_or_default(),
    ) {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    headers
}

/// What an entry is read for, which decides how a delete marker refuses the read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFor {
    /// A read of the object itself (GET, HEAD, its ACL, tags or attributes): a marker on top is
    /// S3's 404 `NoSuchKey` and a marker named by id its 405 `MethodNotAllowed`, both with
    /// `x-amz-delete-marker: true`.
    Object,
    /// The source of a copy: a marker on top is a plain 404 `NoSuchKey`, and one named by id
    /// S3's 400 `InvalidRequest`.
    CopySource,
}

/// The entry a read names, with its bytes from the same snapshot: the current version, or the
/// version `version_id` names; a delete marker refuses it as [`ReadFor`] says.
pub fn read_entry(
    store: &Store,
    bucket: &Bucket,
    (key, version_id): (&str, Option<&str>),
    purpose: ReadFor,
) -> S3Result<Readable> {
    match version_id {
        None => match store.read_object(&bucket.id, key) {
            Ok(o) => Ok(o),
            Err(pier_store::ReadError::NoSuchKey) if purpose == ReadFor::Object => {
                let mut e = s3_error(StoreError::NoSuchKey);
                if let Some(top) = store.top(&bucket.id, key).map_err(s3_error)? {
                    if top.marker {
                        e.set_headers(marker_headers(&top, shown_version(bucket, &top)));
                    }
                }
                Err(e)
            }
            Err(other) => Err(s3_error(other)),
        },
        Some(v) => {
            let which = parse_version(v)?;
            let found = store
                .read_version(&bucket.id, key, &which)
                .map_err(s3_error)?;
            let o = &found.object;
            if !o.marker {
                return Ok(found);
            }
            match purpose {
                ReadFor::Object => {
                    let mut e = s3_error!(
                        MethodNotAllowed,
                        "The specified method is not allowed against this resource."
                    );
                    e.set_headers(marker_headers(o, shown_version(bucket, o)));
                    Err(e)
                }
                ReadFor::CopySource => Err(s3_error!(
                    InvalidRequest,
                    "The source of a copy request may not specifically refer to a delete marker by version id."
                )),
            }
        }
    }
}
