//! S3's server-side encryption headers (`docs/design.md`, "Encryption at rest"):
//! `x-amz-server-side-encryption` (`AES256`: SSE-S3) and the SSE-C headers
//! (`x-amz-server-side-encryption-customer-algorithm/-key/-key-MD5`, and `x-amz-copy-source-…`
//! for a copy's source), read once into the store's [`Encrypt`] or a [`CustomerKey`], and the
//! headers a response shows for an object's envelope.

use pier_crypto::{CustomerKey, Envelope, Mode};
use pier_store::{Bucket, Encrypt, Readable, StoreError};
use s3s::dto::{SSECustomerAlgorithm, SSECustomerKey, SSECustomerKeyMD5, ServerSideEncryption};
use s3s::{s3_error, S3Result};

/// A request's SSE-C headers, as s3s parsed them.
pub struct CustomerHeaders<'a> {
    /// `…-customer-algorithm`.
    pub algorithm: Option<&'a SSECustomerAlgorithm>,
    /// `…-customer-key`.
    pub key: Option<&'a SSECustomerKey>,
    /// `…-customer-key-MD5`.
    pub md5: Option<&'a SSECustomerKeyMD5>,
}

/// The customer's key SSE-C headers carry, if they carry one: refused as AWS refuses them (an
/// algorithm other than `AES256`, a key without its algorithm or the reverse, a key that is not
/// 256 bits or not its MD5, a key over plain HTTP unless the front allowed it).
pub fn customer_key(headers: CustomerHeaders<'_>, allowed: bool) -> S3Result<Option<CustomerKey>> {
    let (algorithm, key) = match (headers.algorithm, headers.key) {
        (None, None) if headers.md5.is_none() => return Ok(None),
        (Some(a), Some(k)) => (a, k),
        (Some(_), None) => {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."
            ))
        }
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."
            ))
        }
    };
    if algorithm.as_str() != "AES256" {
        return Err(s3_error!(
            InvalidEncryptionAlgorithmError,
            "The encryption request you specified is not valid. Supported value: AES256."
        ));
    }
    if !allowed {
        return Err(s3_error!(
            InvalidRequest,
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
        ));
    }
    if headers.md5.is_none() {
        return Err(s3_error!(
            InvalidArgument,
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."
        ));
    }
    CustomerKey::parse(key, headers.md5.map(|m| m.as_str()))
        .map(Some)
        .map_err(|e| s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, e.to_string()))
}

/// How a new object is to be encrypted: SSE-C when the request gives a customer's key,
/// SSE-S3 when it asks `AES256`, SSE-KMS with `aws:kms` (the key ring's key it names, else the
/// bucket default's, else `aws/s3`), else the bucket's default.
pub fn requested(
    bucket: &Bucket,
    (sse, kms_key_id): (Option<&ServerSideEncryption>, Option<&str>),
    customer: Option<CustomerKey>,
) -> S3Result<Option<Encrypt>> {
    let kms = sse.is_some_and(|s| s.as_str() == "aws:kms" || s.as_str() == "aws:kms:dsse");
    if kms_key_id.is_some() && !kms {
        return Err(s3_error!(
            InvalidArgument,
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
        ));
    }
    if let Some(key) = customer {
        if sse.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
            ));
        }
        return Ok(Some(Encrypt::SseC(key)));
    }
    match sse.map(|s| s.as_str()) {
        Some("AES256") => Ok(Some(Encrypt::SseS3)),
        Some(_) if kms => {
            let bucket_key = bucket
                .encryption
                .as_ref()
                .filter(|d| d.mode == Mode::SseKms)
                .and_then(|d| d.kms_key_id.clone());
            Ok(Some(Encrypt::SseKms(
                kms_key_id
                    .map(str::to_owned)
                    .or(bucket_key)
                    .unwrap_or_else(|| pier_store::DEFAULT_KMS_KEY.to_owned()),
            )))
        }
        Some(other) => Err(s3_error!(
            InvalidArgument,
            "The encryption method specified is not supported: {other}"
        )),
        None => Ok(bucket.encryption.as_ref().map(|d| d.encrypt())),
    }
}

/// Makes `entry`'s bytes readable with the request's customer key, as S3 answers a read:
/// an SSE-C object needs its key (400 without, 403 with another); a key given for an object
/// not encrypted with one is refused (400).
pub fn unlock(entry: &mut Readable, customer: Option<&CustomerKey>) -> Result<(), StoreError> {
    match (entry.encryption().map(|e| e.mode), customer) {
        (Some(Mode::SseC), Some(key)) => entry.unlock(key),
        (Some(Mode::SseC), None) => Err(StoreError::KeyRequired),
        (_, Some(_)) => Err(StoreError::NotCustomerEncrypted),
        (_, None) => Ok(()),
    }
}

/// The data key parts of an upload encrypted as `envelope` are sealed under: SSE-C parts need
/// the upload's customer key (400 without, 403 with another); a key given for an upload not
/// encrypted with one is refused (400).
pub fn upload_key(
    store: &pier_store::Store,
    envelope: Option<&Envelope>,
    customer: Option<&CustomerKey>,
) -> Result<Option<pier_crypto::DataKey>, StoreError> {
    match (envelope, customer) {
        (Some(e), customer) if e.mode == Mode::SseC => {
            Ok(store.open_envelope(e, customer).map(Some)?)
        }
        (_, Some(_)) => Err(StoreError::NotCustomerEncrypted),
        (Some(e), None) => Ok(store.open_envelope(e, None).map(Some)?),
        (None, None) => Ok(None),
    }
}

/// The `x-amz-server-side-encryption` and `-aws-kms-key-id` headers of an s3s input, as
/// [`requested`] takes them.
macro_rules! server_headers {
    ($input:expr) => {
        (
            $input.server_side_encryption.as_ref(),
            $input.ssekms_key_id.as_deref(),
        )
    };
}
pub(crate) use server_headers;

/// The SSE-C headers of an s3s input, by their usual field names.
macro_rules! customer_headers {
    ($input:expr) => {
        $crate::sse::CustomerHeaders {
            algorithm: $input.sse_customer_algorithm.as_ref(),
            key: $input.sse_customer_key.as_ref(),
            md5: $input.sse_customer_key_md5.as_ref(),
        }
    };
}
pub(crate) use customer_headers;

/// The `x-amz-copy-source-server-side-encryption-customer-*` headers of an s3s copy input.
macro_rules! copy_source_headers {
    ($input:expr) => {
        $crate::sse::CustomerHeaders {
            algorithm: $input.copy_source_sse_customer_algorithm.as_ref(),
            key: $input.copy_source_sse_customer_key.as_ref(),
            md5: $input.copy_source_sse_customer_key_md5.as_ref(),
        }
    };
}
pub(crate) use copy_source_headers;

/// The response headers for an object encrypted as `envelope`: `x-amz-server-side-encryption`
/// for SSE-S3, the customer algorithm and key MD5 for SSE-C.
pub struct Shown {
    /// `x-amz-server-side-encryption`.
    pub sse: Option<ServerSideEncryption>,
    /// `…-customer-algorithm`.
    pub algorithm: Option<SSECustomerAlgorithm>,
    /// `…-customer-key-MD5`.
    pub key_md5: Option<SSECustomerKeyMD5>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub kms_key_id: Option<String>,
}

/// What a response shows of `envelope`.
pub fn shown(envelope: Option<&Envelope>) -> Shown {
    let none = Shown {
        sse: None,
        algorithm: None,
        key_md5: None,
        kms_key_id: None,
    };
    match envelope {
        Some(e) if e.mode == Mode::SseS3 => Shown {
            sse: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..none
        },
        Some(e) if e.mode == Mode::SseKms => Shown {
            sse: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AWS_KMS,
            )),
            kms_key_id: Some(e.key_id.clone()),
            ..none
        },
        Some(e) => Shown {
            algorithm: Some("AES256".to_owned()),
            key_md5: Some(e.key_id.clone()),
            ..none
        },
        None => none,
    }
}

/// Refuses `x-amz-server-side-encryption` on a GET or HEAD, as S3 does (400): a read names no
/// server-side encryption (an object's is known).
pub fn no_encryption_on_reads(headers: &http::HeaderMap) -> S3Result<()> {
    if headers.contains_key("x-amz-server-side-encryption") {
        return Err(s3_error!(
            InvalidArgument,
            "The x-amz-server-side-encryption header is not supported for this operation."
        ));
    }
    Ok(())
}

/// The error a part answers when it names another customer key than its upload's (400, as S3:
/// a part must carry the upload's own encryption parameters).
pub fn part_key_error(e: StoreError) -> s3s::S3Error {
    match e {
        StoreError::WrongKey => s3_error!(
            InvalidRequest,
            "The provided encryption parameters did not match the ones used originally."
        ),
        other => crate::error::s3_error(other),
    }
}

/// Whether the request may carry a customer's key (TLS, or allowed by the operator).
pub fn keys_allowed(extensions: &http::Extensions) -> bool {
    extensions
        .get::<pier_edge::listen::CustomerKeysAllowed>()
        .is_some()
}
