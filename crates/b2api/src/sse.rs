//! B2's server-side encryption (`docs/design.md`, "Encryption at rest"): `SSE-B2` (the store's
//! SSE-S3) and `SSE-C`, from upload and download headers (`X-Bz-Server-Side-Encryption`,
//! `X-Bz-Server-Side-Encryption-Customer-*`) and from JSON `serverSideEncryption` objects
//! (large files, copies), and the JSON and headers B2 shows for a file's or a bucket's
//! encryption.

use crate::error::{B2Error, B2ErrorKind, B2Result};
use crate::Call;
use pier_crypto::{CustomerKey, Envelope, Mode};
use pier_store::{Bucket, DefaultEncryption, Encrypt, Readable};
use serde_json::{json, Value};

fn header<'a>(call: &'a Call<'_>, name: &str) -> Option<&'a str> {
    call.headers.get(name).and_then(|v| v.to_str().ok())
}

fn customer(
    call: &Call<'_>,
    algorithm: Option<&str>,
    key: Option<&str>,
    md5: Option<&str>,
) -> B2Result<Option<CustomerKey>> {
    let (algorithm, key) = match (algorithm, key) {
        (None, None) => return Ok(None),
        (Some(a), Some(k)) => (a, k),
        _ => {
            return Err(B2Error::bad_request(
                "SSE-C needs both the customer key and its algorithm (AES256)",
            ))
        }
    };
    if algorithm != "AES256" {
        return Err(B2Error::bad_request(format!(
            "SSE-C algorithm must be AES256, not {algorithm:?}"
        )));
    }
    if md5.is_none() {
        return Err(B2Error::bad_request(
            "SSE-C needs the MD5 of the customer key (customerKeyMd5)",
        ));
    }
    if !call.customer_keys_allowed {
        return Err(B2Error::bad_request(
            "SSE-C customer keys are accepted only over HTTPS",
        ));
    }
    CustomerKey::parse(key, md5)
        .map(Some)
        .map_err(|e| B2Error::bad_request(e.to_string()))
}

/// The customer key of a request's `X-Bz-Server-Side-Encryption-Customer-*` headers.
pub(crate) fn customer_from_headers(call: &Call<'_>) -> B2Result<Option<CustomerKey>> {
    customer(
        call,
        header(call, "x-bz-server-side-encryption-customer-algorithm"),
        header(call, "x-bz-server-side-encryption-customer-key"),
        header(call, "x-bz-server-side-encryption-customer-key-md5"),
    )
}

/// How an upload asks to be encrypted: SSE-C with the customer headers, SSE-B2 with
/// `X-Bz-Server-Side-Encryption: AES256`, else the bucket's default.
pub(crate) fn upload_from_headers(call: &Call<'_>, bucket: &Bucket) -> B2Result<Option<Encrypt>> {
    let key = customer_from_headers(call)?;
    let sse_b2 = header(call, "x-bz-server-side-encryption");
    requested(bucket, sse_b2.is_some(), sse_b2, key)
}

fn requested(
    bucket: &Bucket,
    sse_b2: bool,
    algorithm: Option<&str>,
    key: Option<CustomerKey>,
) -> B2Result<Option<Encrypt>> {
    match (sse_b2, key) {
        (true, Some(_)) => Err(B2Error::bad_request(
            "a file is encrypted with SSE-B2 or SSE-C, not both",
        )),
        (false, Some(key)) => Ok(Some(Encrypt::SseC(key))),
        (true, None) => match algorithm {
            Some("AES256") | None => Ok(Some(Encrypt::SseS3)),
            Some(other) => Err(B2Error::bad_request(format!(
                "SSE-B2 algorithm must be AES256, not {other:?}"
            ))),
        },
        (false, None) => Ok(bucket.encryption.as_ref().map(|d| d.encrypt())),
    }
}

/// What a JSON `serverSideEncryption` object asks: `None` when absent or mode `none`.
pub(crate) enum Asked {
    /// `{"mode": "SSE-B2", "algorithm": "AES256"}`.
    SseB2,
    /// `{"mode": "SSE-C", "algorithm": "AES256", "customerKey": …, "customerKeyMd5": …}`.
    SseC(CustomerKey),
}

/// Reads a `serverSideEncryption`-shaped object (the argument `field`).
pub(crate) fn from_json(
    call: &Call<'_>,
    value: Option<&Value>,
    field: &str,
) -> B2Result<Option<Asked>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if !value.is_object() {
        return Err(B2Error::bad_request(format!("{field} must be an object")));
    }
    let text = |name: &str| -> B2Result<Option<&str>> {
        match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(B2Error::bad_request(format!(
                "{field}.{name} must be a string"
            ))),
        }
    };
    match text("mode")? {
        None | Some("none") => Ok(None),
        Some("SSE-B2") => match text("algorithm")? {
            Some("AES256") | None => Ok(Some(Asked::SseB2)),
            Some(other) => Err(B2Error::bad_request(format!(
                "{field}.algorithm must be AES256, not {other:?}"
            ))),
        },
        Some("SSE-C") => {
            let key = customer(
                call,
                Some(text("algorithm")?.unwrap_or("")),
                Some(text("customerKey")?.ok_or_else(|| {
                    B2Error::bad_request(format!("{field}.customerKey is required for SSE-C"))
                })?),
                text("customerKeyMd5")?,
            )?;
            Ok(key.map(Asked::SseC))
        }
        Some(other) => Err(B2Error::bad_request(format!(
            "{field}.mode must be SSE-B2 or SSE-C, not {other:?}"
        ))),
    }
}

/// How a new file asked for by JSON `asked` is encrypted: as asked, else the bucket's default.
pub(crate) fn new_file(bucket: &Bucket, asked: Option<Asked>) -> Option<Encrypt> {
    match asked {
        Some(Asked::SseB2) => Some(Encrypt::SseS3),
        Some(Asked::SseC(key)) => Some(Encrypt::SseC(key)),
        None => bucket.encryption.as_ref().map(|d| d.encrypt()),
    }
}

/// The customer key of a JSON `serverSideEncryption` object (a copy's source, a part's file).
pub(crate) fn asked_key(asked: Option<Asked>) -> Option<CustomerKey> {
    match asked {
        Some(Asked::SseC(key)) => Some(key),
        _ => None,
    }
}

/// Makes `entry`'s bytes readable with the request's customer key, as B2 answers a download:
/// an SSE-C file without its key, or with another, is 403 `access_denied`.
pub(crate) fn unlock(entry: &mut Readable, key: Option<&CustomerKey>) -> B2Result<()> {
    match (entry.encryption().map(|e| e.mode), key) {
        (Some(Mode::SseC), Some(key)) => Ok(entry.unlock(key)?),
        (Some(Mode::SseC), None) => Err(pier_store::StoreError::KeyRequired.into()),
        (_, Some(_)) => Err(pier_store::StoreError::NotCustomerEncrypted.into()),
        (_, None) => Ok(()),
    }
}

/// A file's `serverSideEncryption` as B2 shows it (absent for a file stored as sent).
pub(crate) fn file_json(envelope: Option<&Envelope>) -> Option<Value> {
    envelope.map(|e| match e.mode {
        // B2 has no KMS: a file under the server's key ring reads as server-managed.
        Mode::SseS3 | Mode::SseKms => json!({"algorithm": "AES256", "mode": "SSE-B2"}),
        Mode::SseC => json!({"algorithm": "AES256", "mode": "SSE-C", "customerKeyMd5": e.key_id}),
    })
}

/// A bucket's `defaultServerSideEncryption` as B2 shows it.
pub(crate) fn bucket_json(bucket: &Bucket) -> Value {
    let value = match bucket.encryption {
        Some(_) => json!({"algorithm": "AES256", "mode": "SSE-B2"}),
        None => json!({"mode": "none"}),
    };
    json!({"isClientAuthorizedToRead": true, "isClientAuthorizedToWrite": true, "value": value})
}

/// A bucket's new default from `defaultServerSideEncryption` in a create or update call:
/// `Some(None)` turns it off, `None` leaves it.
pub(crate) fn bucket_default(args: &Value) -> B2Result<Option<Option<DefaultEncryption>>> {
    if !args.is_object() {
        return Ok(None);
    }
    let Some(value) = args.get("defaultServerSideEncryption") else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    if !value.is_object() {
        return Err(B2Error::bad_request(
            "defaultServerSideEncryption must be an object",
        ));
    }
    match value.get("mode").and_then(Value::as_str) {
        None | Some("none") => Ok(Some(None)),
        Some("SSE-B2") => match value.get("algorithm").and_then(Value::as_str) {
            Some("AES256") | None => Ok(Some(Some(DefaultEncryption::sse_s3()))),
            Some(other) => Err(B2Error::bad_request(format!(
                "defaultServerSideEncryption.algorithm must be AES256, not {other:?}"
            ))),
        },
        Some(other) => Err(B2Error::new(
            B2ErrorKind::BadRequest,
            format!("defaultServerSideEncryption.mode must be SSE-B2 or none, not {other:?}"),
        )),
    }
}

/// The download headers of a file encrypted as `envelope`.
pub(crate) fn download_headers(envelope: Option<&Envelope>) -> Vec<(&'static str, String)> {
    match envelope {
        Some(e) if e.mode != Mode::SseC => {
            vec![("x-bz-server-side-encryption", "AES256".to_owned())]
        }
        Some(e) => vec![
            (
                "x-bz-server-side-encryption-customer-algorithm",
                "AES256".to_owned(),
            ),
            (
                "x-bz-server-side-encryption-customer-key-md5",
                e.key_id.clone(),
            ),
        ],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_encryption_that_is_not_an_object_is_refused_not_read_as_none() {
        let refused = bucket_default(&json!({"defaultServerSideEncryption": "SSE-B2"}));
        assert!(refused.is_err());
        assert_eq!(
            bucket_default(&json!({"defaultServerSideEncryption": {"mode": "SSE-B2"}})).unwrap(),
            Some(Some(DefaultEncryption::sse_s3()))
        );
        assert_eq!(
            bucket_default(&json!({"defaultServerSideEncryption": {"mode": "none"}})).unwrap(),
            Some(None)
        );
        assert_eq!(bucket_default(&json!({})).unwrap(), None);
    }
}
