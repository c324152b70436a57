//! Conversions between s3s DTOs and store types, kept at the edge.

use pier_store::{Millis, ObjectMeta};
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm, Metadata, Timestamp, TimestampFormat};
use std::time::{Duration, UNIX_EPOCH};

/// A store timestamp as an S3 timestamp.
pub fn timestamp(ms: Millis) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// A store timestamp as whole seconds since the epoch (HTTP dates have second precision).
pub fn seconds(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

/// An S3 timestamp as whole seconds since the epoch.
pub fn timestamp_seconds(t: &Timestamp) -> i64 {
    let odt: time::OffsetDateTime = t.clone().into();
    odt.unix_timestamp()
}

/// An HTTP date string for `Expires`.
pub fn http_date(t: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

/// Parses a stored `Expires` back.
pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

/// The HTTP metadata fields of PUT, copy and create-multipart requests.
pub struct MetaFields {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`.
    pub expires: Option<Timestamp>,
    /// `x-amz-meta-*`.
    pub metadata: Option<Metadata>,
}

/// The [`MetaFields`] of any s3s input that carries them (PUT, POST, copy, create-multipart all
/// name them alike).
macro_rules! meta_fields {
    ($input:expr) => {
        $crate::convert::MetaFields {
            content_type: $input.content_type,
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires,
            metadata: $input.metadata,
        }
    };
}
pub(crate) use meta_fields;

/// The metadata a new object (PUT or CreateMultipartUpload: s3s names their fields alike) is
/// stored with: its content headers and user metadata, its ACL (checked against `bucket`), its
/// `x-amz-tagging` and its object lock headers, all checked before any byte is stored.
macro_rules! upload_meta {
    ($bucket:expr, $input:expr) => {{
        let acl = $crate::acl::upload_acl!($bucket, $input);
        let tags = $crate::tagging::from_header($input.tagging.as_deref())?;
        let lock = $crate::object_lock::upload_lock(
            $input.object_lock_mode.as_ref(),
            $input.object_lock_retain_until_date.as_ref(),
            $input.object_lock_legal_hold_status.as_ref(),
        )?;
        let mut meta = $crate::convert::meta_fields!($input).into_meta();
        meta.website_redirect =
            $crate::convert::website_redirect($input.website_redirect_location)?;
        meta.acl = acl;
        meta.tags = tags;
        (meta.retention, meta.legal_hold) = lock;
        meta
    }};
}
pub(crate) use upload_meta;

impl MetaFields {
    /// The store's metadata record.
    pub fn into_meta(self) -> ObjectMeta {
        ObjectMeta {
            content_type: self.content_type,
            // `aws-chunked` describes the upload, not the object: S3 stores the rest.
            content_encoding: self.content_encoding.and_then(|e| {
                let kept: Vec<&str> = e
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked"))
                    .collect();
                (!kept.is_empty()).then(|| kept.join(", "))
            }),
            content_disposition: self.content_disposition,
            content_language: self.content_language,
            cache_control: self.cache_control,
            expires: self.expires.as_ref().and_then(http_date),
            user: self
                .metadata
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            // Checksums, tags and lock are filled in by the operation.
            ..ObjectMeta::default()
        }
    }
}

/// The longest `x-amz-website-redirect-location` S3 takes, in bytes.
pub const MAX_WEBSITE_REDIRECT: usize = 2048;

/// An `x-amz-website-redirect-location` as stored: a path starting with `/` or an `http://` or
/// `https://` URL of at most [`MAX_WEBSITE_REDIRECT`] bytes, as S3 requires (400
/// `InvalidRedirectLocation` otherwise).
pub fn website_redirect(location: Option<String>) -> s3s::S3Result<Option<String>> {
    let Some(location) = location else {
        return Ok(None);
    };
    let lower = location.to_ascii_lowercase();
    let shaped =
        location.starts_with('/') || lower.starts_with("http://") || lower.starts_with("https://");
    if !shaped || location.len() > MAX_WEBSITE_REDIRECT {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::InvalidRedirectLocation,
            "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
        )
        .into_s3s());
    }
    Ok(Some(location))
}

/// S3's limit on user metadata: keys and values of `x-amz-meta-*` together, in bytes.
pub const MAX_USER_METADATA: usize = 2048;

/// Refuses user metadata over [`MAX_USER_METADATA`] (400 `MetadataTooLarge`, as S3).
pub fn check_user_metadata(metadata: Option<&s3s::dto::Metadata>) -> s3s::S3Result<()> {
    let size: usize = metadata
        .map(|m| m.iter().map(|(k, v)| k.len() + v.len()).sum())
        .unwrap_or(0);
    if size > MAX_USER_METADATA {
        return Err(s3s::s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size ({size} of {MAX_USER_METADATA} bytes)."
        ));
    }
    Ok(())
}

/// User metadata for a response, or `None` when there is none. Values that cannot be an HTTP
/// header value are left out (see [`header_safe`]).
pub fn user_metadata(meta: &ObjectMeta) -> Option<Metadata> {
    let safe: Metadata = meta
        .user
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), header_safe(Some(v.clone()))?)))
        .collect();
    (!safe.is_empty()).then_some(safe)
}

/// `value` if it can be sent as an HTTP header value; otherwise `None`, logged. A stored value
/// that no longer fits (written through another API, or by an older version) must never make
/// the object unreadable: the answer goes out without that header.
pub fn header_safe(value: Option<String>) -> Option<String> {
    let v = value?;
    if http::HeaderValue::from_bytes(v.as_bytes()).is_ok() {
        Some(v)
    } else {
        tracing::warn!(value = ?v, "a stored header value is not a valid HTTP header value; left out");
        None
    }
}

/// Checksums a client announced (headers, or trailers read after the body).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Announced {
    /// `x-amz-checksum-crc32` (base64).
    pub crc32: Option<String>,
    /// `x-amz-checksum-crc32c` (base64).
    pub crc32c: Option<String>,
    /// `x-amz-checksum-sha1` (base64).
    pub sha1: Option<String>,
    /// `x-amz-checksum-sha256` (base64).
    pub sha256: Option<String>,
    /// `x-amz-checksum-crc64nvme` (base64).
    pub crc64nvme: Option<String>,
}

/// The checksums an s3s input announces in its headers, by their usual field names.
macro_rules! announced {
    ($input:expr) => {
        $crate::convert::Announced {
            crc32: $input.checksum_crc32.clone(),
            crc32c: $input.checksum_crc32c.clone(),
            sha1: $input.checksum_sha1.clone(),
            sha256: $input.checksum_sha256.clone(),
            crc64nvme: $input.checksum_crc64nvme.clone(),
        }
    };
}
pub(crate) use announced;

impl Announced {
    /// A hasher computing every algorithm announced or requested.
    pub fn hasher(&self, algorithm: Option<&ChecksumAlgorithm>) -> ChecksumHasher {
        let mut h = ChecksumHasher::default();
        let algo = algorithm.map(|a| a.as_str().to_ascii_uppercase());
        let wants =
            |name: &str, given: &Option<String>| given.is_some() || algo.as_deref() == Some(name);
        if wants("CRC32", &self.crc32) {
            h.crc32 = Some(Default::default());
        }
        if wants("CRC32C", &self.crc32c) {
            h.crc32c = Some(Default::default());
        }
        if wants("SHA1", &self.sha1) {
            h.sha1 = Some(Default::default());
        }
        if wants("SHA256", &self.sha256) {
            h.sha256 = Some(Default::default());
        }
        if wants("CRC64NVME", &self.crc64nvme) {
            h.crc64nvme = Some(Default::default());
        }
        h
    }

    /// The checksums named `x-amz-checksum-*` (headers, trailers or a POST form's fields),
    /// each read by that name with `value`.
    pub fn named(value: impl Fn(&str) -> Option<String>) -> Announced {
        Announced {
            crc32: value("x-amz-checksum-crc32"),
            crc32c: value("x-amz-checksum-crc32c"),
            sha1: value("x-amz-checksum-sha1"),
            sha256: value("x-amz-checksum-sha256"),
            crc64nvme: value("x-amz-checksum-crc64nvme"),
        }
    }

    /// Adds values that arrived as trailers (`x-amz-checksum-*`); a value already announced
    /// in the headers stays.
    pub fn add_trailers(&mut self, trailers: Option<http::HeaderMap>) {
        let Some(trailers) = trailers else { return };
        let late = Announced::named(|name| {
            trailers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        self.crc32 = self.crc32.take().or(late.crc32);
        self.crc32c = self.crc32c.take().or(late.crc32c);
        self.sha1 = self.sha1.take().or(late.sha1);
        self.sha256 = self.sha256.take().or(late.sha256);
        self.crc64nvme = self.crc64nvme.take().or(late.crc64nvme);
    }

    /// Compares announced values with what was computed; returns the computed ones to store.
    pub fn verify(&self, computed: &Checksum) -> Result<Vec<(String, String)>, String> {
        let pairs = [
            ("crc32", &self.crc32, &computed.checksum_crc32),
            ("crc32c", &self.crc32c, &computed.checksum_crc32c),
            ("sha1", &self.sha1, &computed.checksum_sha1),
            ("sha256", &self.sha256, &computed.checksum_sha256),
            ("crc64nvme", &self.crc64nvme, &computed.checksum_crc64nvme),
        ];
        let mut keep = Vec::new();
        for (name, announced, computed) in pairs {
            if let (Some(a), Some(c)) = (announced, computed) {
                if a != c {
                    return Err(format!(
                        "The {} you specified did not match the calculated checksum.",
                        name.to_ascii_uppercase()
                    ));
                }
            }
            if let Some(c) = computed {
                keep.push((name.to_owned(), c.clone()));
            }
        }
        Ok(keep)
    }
}

/// How S3 shows `account` as an owner: its id is both the canonical id and the display name.
pub fn owner(account: &str) -> s3s::dto::Owner {
    s3s::dto::Owner {
        display_name: Some(account.into()),
        id: Some(account.into()),
    }
}
