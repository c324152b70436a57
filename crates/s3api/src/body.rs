//! Object bytes in and out: request bodies are streamed into a blob (hashed on the way), and
//! objects are streamed out chunk by chunk, so no whole object is ever held in memory.

use crate::error::{blocking, s3_error};
use futures::StreamExt;
use pier_store::{Payload, Readable, Store, StoreError};
use s3s::checksum::ChecksumHasher;
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Error, S3Result};

/// Streams `body` into a payload (kept inline when declared small and `inline` allows it,
/// else a durable blob, told the declared length so a blob cluster can take the bytes as they
/// come; a part, `inline` false, gets no SHA-1, which S3 never asks for; sealed
/// under `sealing` for an encrypted object), feeding
/// `checksums` as bytes pass. Nothing is kept unless this returns `Ok`; a broken or mis-signed
/// body leaves nothing behind.
pub async fn receive(
    store: &Store,
    body: Option<StreamingBlob>,
    declared_length: Option<i64>,
    (inline, sealing): (bool, Option<&pier_crypto::DataKey>),
    checksums: &mut ChecksumHasher,
) -> S3Result<Payload> {
    let expected = declared_length.and_then(|n| u64::try_from(n).ok());
    let mut writer = match (inline, sealing) {
        (true, None) => store.new_payload(expected),
        (true, Some(key)) => store.new_sealed_payload(expected, key),
        (false, None) => store.new_part_payload(expected, false),
        (false, Some(key)) => store.new_sealed_part_payload(expected, key),
    }
    .map_err(s3_error)?;
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(body_error)?;
            checksums.update(&chunk);
            writer.write_bytes(chunk).map_err(s3_error)?;
        }
    }
    if let Some(declared) = declared_length {
        if declared >= 0 && writer.size() != declared as u64 {
            return Err(s3_error!(
                IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header."
            ));
        }
    }
    blocking(move || writer.finish()).await
}

/// The S3 error for a body stream that failed: s3s reports signature and hash mismatches of
/// streamed payloads through the body.
fn body_error(e: s3s::StdError) -> S3Error {
    if pier_edge::is_body_stall(&*e) {
        return s3_error!(
            RequestTimeout,
            "Your socket connection to the server was not read from or written to within the timeout period."
        );
    }
    let text = e.to_string();
    if text.contains("Sha256Mismatch") {
        crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::XAmzContentSHA256Mismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .into_s3s()
    } else if text.contains("SignatureMismatch") {
        s3_error!(
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided."
        )
    } else {
        tracing::debug!(error = %text, "request body ended early");
        s3_error!(IncompleteBody, "The request body terminated unexpectedly")
    }
}

/// A body that streams `len` bytes of `entry` from `start` (`Reclaimed`: read the entry again).
pub fn send(
    store: &Store,
    entry: &Readable,
    start: u64,
    len: u64,
) -> Result<StreamingBlob, StoreError> {
    Ok(StreamingBlob::wrap(store.stream(entry, start, len)?))
}
