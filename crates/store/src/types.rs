//! The store's own data types, independent of any HTTP API.

pub use crate::time::{now_millis, Millis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a bucket grants to callers outside its owner's account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Nothing (the default: private).
    #[default]
    Private,
    /// Anyone may read its objects (B2 `allPublic`, `pier bucket public B on`).
    PublicObjects,
    /// Anyone may list it (S3's `public-read` bucket ACL; as in S3, its objects are read by
    /// their own ACLs).
    PublicListing,
    /// Anyone may list it and write and delete its objects (S3's `public-read-write`).
    PublicReadWrite,
    /// Any key, of any account, may list it (S3's `authenticated-read`).
    AuthenticatedListing,
}

impl Visibility {
    /// The stored code (0 to 4).
    pub fn code(self) -> i64 {
        match self {
            Visibility::Private => 0,
            Visibility::PublicObjects => 1,
            Visibility::PublicListing => 2,
            Visibility::PublicReadWrite => 3,
            Visibility::AuthenticatedListing => 4,
        }
    }

    /// The visibility of a stored code; `None` for an unknown code (corruption).
    pub fn from_code(code: i64) -> Option<Visibility> {
        Some(match code {
            0 => Visibility::Private,
            1 => Visibility::PublicObjects,
            2 => Visibility::PublicListing,
            3 => Visibility::PublicReadWrite,
            4 => Visibility::AuthenticatedListing,
            _ => return None,
        })
    }

    /// True unless private (S3 counts grants to every key as public too).
    pub fn is_public(self) -> bool {
        self != Visibility::Private
    }

    /// True when anyone may read its objects (B2's `allPublic`).
    pub fn reads_objects(self) -> bool {
        self == Visibility::PublicObjects
    }
}

/// A bucket's versioning state, S3's three: a bucket starts unversioned (S3) or enabled (B2);
/// once enabled it can only be suspended, never unversioned again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Versioning {
    /// Never versioned: a write replaces the key's only (`null`) version.
    #[default]
    Unversioned,
    /// Every write adds a version; a delete adds a marker.
    Enabled,
    /// Writes replace the `null` version; older versions are kept.
    Suspended,
}

impl Versioning {
    /// The stored code (0, 1, 2).
    pub fn code(self) -> i64 {
        match self {
            Versioning::Unversioned => 0,
            Versioning::Enabled => 1,
            Versioning::Suspended => 2,
        }
    }

    /// The state of a stored code; `None` for an unknown code (corruption).
    pub fn from_code(code: i64) -> Option<Versioning> {
        Some(match code {
            0 => Versioning::Unversioned,
            1 => Versioning::Enabled,
            2 => Versioning::Suspended,
            _ => return None,
        })
    }
}

/// One lifecycle rule, in the store's own terms (each API translates to and from its own).
/// Days count from the entry's upload (`expire_days`) or from when it stopped being current
/// (`noncurrent_days`); a rule applies to keys starting with `prefix`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// S3's rule `ID` (B2 rules have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Disabled rules are kept but not applied (S3 `Status`).
    pub enabled: bool,
    /// Keys the rule applies to.
    #[serde(default)]
    pub prefix: String,
    /// The rule named its prefix with S3's rule-level `Prefix` (the form before `Filter`):
    /// shown back the same way, as S3 does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix_outside_filter: bool,
    /// Expire (delete, or hide in a versioned bucket) current versions this many days after
    /// upload: S3 `Expiration/Days`, B2 `daysFromUploadingToHiding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_days: Option<u32>,
    /// Expire current versions from this time on: S3 `Expiration/Date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_at: Option<Millis>,
    /// Remove a current marker that has no older entry left: S3
    /// `ExpiredObjectDeleteMarker`; B2 removes such hide markers under any rule that hides or
    /// deletes.
    #[serde(default)]
    pub expired_markers: bool,
    /// Delete noncurrent entries this many days after they stopped being current: S3
    /// `NoncurrentVersionExpiration/NoncurrentDays`, B2 `daysFromHidingToDeleting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    /// Keep this many newest noncurrent versions regardless of age (S3
    /// `NewerNoncurrentVersions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_noncurrent: Option<u32>,
    /// Abort multipart uploads this many days after they started: S3
    /// `AbortIncompleteMultipartUpload`, B2 `daysFromStartingToCancelingUnfinishedLargeFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_uploads_days: Option<u32>,
    /// Only versions carrying every one of these tags (S3 `Filter/Tag`, `Filter/And/Tags`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Only versions larger than this many bytes (S3 `ObjectSizeGreaterThan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_greater_than: Option<u64>,
    /// Only versions smaller than this many bytes (S3 `ObjectSizeLessThan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_less_than: Option<u64>,
}

impl LifecycleRule {
    /// Whether the rule's tag and size filters take this version (its prefix is matched by the
    /// scan). Markers have neither tags nor size: a rule with such filters never takes one.
    pub fn takes(&self, version: &Object) -> bool {
        let filtered = !self.tags.is_empty()
            || self.size_greater_than.is_some()
            || self.size_less_than.is_some();
        if version.marker {
            return !filtered;
        }
        self.tags
            .iter()
            .all(|(k, v)| version.meta.tags.get(k) == Some(v))
            && self.size_greater_than.is_none_or(|n| version.size > n)
            && self.size_less_than.is_none_or(|n| version.size < n)
    }

    /// When this rule expires `version` (the key's current version), if it does: `Days` after
    /// upload rounded up to the next midnight UTC, as S3 counts them, or its `Date`. `None` for
    /// a disabled rule, a marker, or a version the rule does not take.
    pub fn expires(&self, version: &Object) -> Option<Millis> {
        if !self.enabled || version.marker || !version.key.starts_with(&self.prefix) {
            return None;
        }
        if !self.takes(version) {
            return None;
        }
        match (self.expire_days, self.expire_at) {
            (Some(days), _) => {
                let day = crate::time::DAY;
                let due = version
                    .created
                    .saturating_add(Millis::from(days).saturating_mul(day));
                Some(due.saturating_add(day - 1) / day * day)
            }
            (None, Some(at)) => Some(at),
            (None, None) => None,
        }
    }
}

/// Which version of a key: by id, or S3's `null` version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionRef {
    /// The entry with this version id.
    Id(String),
    /// The key's `null` version (written while unversioned or suspended).
    Null,
}

impl VersionRef {
    /// Parses an S3 `versionId`: `null` is the null version, anything else an id.
    pub fn parse(text: &str) -> VersionRef {
        if text == "null" {
            VersionRef::Null
        } else {
            VersionRef::Id(text.to_owned())
        }
    }

    /// The S3 `versionId` naming it (the inverse of [`VersionRef::parse`]).
    pub fn as_str(&self) -> &str {
        match self {
            VersionRef::Id(id) => id,
            VersionRef::Null => "null",
        }
    }
}

/// A bucket and its settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's globally unique name.
    pub name: String,
    /// A stable id (B2's `bucketId`), never reused.
    pub id: String,
    /// The account that owns it (never changes).
    pub owner: String,
    /// Creation time.
    pub created: Millis,
    /// Who may read it without credentials.
    pub public: Visibility,
    /// The bucket's CORS rules, encoded by the API layer (opaque here); `None` when unset.
    pub cors: Option<String>,
    /// Extra settings an API keeps (B2 `bucketInfo`), opaque JSON.
    pub info: Option<String>,
    /// Incremented by every settings change (B2 `revision`).
    pub revision: i64,
    /// The S3 bucket policy (JSON, validated by the API layer; opaque here); `None` when unset.
    pub policy: Option<String>,
    /// Whether writes keep older versions.
    pub versioning: Versioning,
    /// Lifecycle rules, applied by the store's background task.
    pub lifecycle: Vec<LifecycleRule>,
    /// Bucket tags (S3 PutBucketTagging).
    pub tags: BTreeMap<String, String>,
    /// S3's public access block, as [`PublicBlock`] bits; 0 when unset.
    pub public_block: u8,
    /// Object lock, once turned on (never off again); `None` when off.
    pub object_lock: Option<crate::lock::ObjectLock>,
    /// S3's object ownership setting (`BucketOwnerEnforced`, ...), validated by the API layer;
    /// `None` when unset.
    pub ownership: Option<String>,
    /// Event notification rules (B2's form; those made through S3 carry `s3`); changes they
    /// select are recorded in the outbox with the change.
    pub notifications: Vec<pier_events::NotificationRule>,
    /// Its static website configuration (JSON, `pier_edge::website::Website`), if it has one.
    pub website: Option<String>,
    /// Its default encryption: a put that names none is encrypted so (S3 bucket encryption,
    /// B2 `defaultServerSideEncryption`); `None` stores objects as sent.
    pub encryption: Option<DefaultEncryption>,
}

/// The bits of a bucket's public access block (S3 `PublicAccessBlockConfiguration`).
pub struct PublicBlock;

impl PublicBlock {
    /// Refuse ACLs that make the bucket public.
    pub const BLOCK_PUBLIC_ACLS: u8 = 1;
    /// Ignore ACLs that make the bucket public (its visibility reads as private).
    pub const IGNORE_PUBLIC_ACLS: u8 = 2;
    /// Refuse bucket policies that grant public access.
    pub const BLOCK_PUBLIC_POLICY: u8 = 4;
    /// Ignore public policies for callers without a key.
    pub const RESTRICT_PUBLIC_BUCKETS: u8 = 8;
}

/// Changes to a bucket's settings; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct BucketUpdate {
    /// New visibility.
    pub public: Option<Visibility>,
    /// New CORS rules (`Some(None)` removes them).
    pub cors: Option<Option<String>>,
    /// New extra settings.
    pub info: Option<Option<String>>,
    /// New bucket policy (`Some(None)` removes it).
    pub policy: Option<Option<String>>,
    /// New versioning state (never back to unversioned: refused with `InvalidVersioning`).
    pub versioning: Option<Versioning>,
    /// New lifecycle rules (an empty list removes them).
    pub lifecycle: Option<Vec<LifecycleRule>>,
    /// New bucket tags (an empty map removes them).
    pub tags: Option<BTreeMap<String, String>>,
    /// New public access block bits (0 removes it).
    pub public_block: Option<u8>,
    /// Turns object lock on, or changes its default retention (it never goes off; refused with
    /// `InvalidBucketState` unless versioning is enabled).
    pub object_lock: Option<crate::lock::ObjectLock>,
    /// New object ownership setting (`Some(None)` removes it).
    pub ownership: Option<Option<String>>,
    /// New B2 event notification rules, already validated (`pier_events::rule::validate`),
    /// replacing the B2 ones (the S3 ones stay): each rule saved new or changed is sent a test
    /// event, and saving resumes a suspended rule. A name an S3 rule has is refused.
    pub notifications: Option<Vec<pier_events::NotificationRule>>,
    /// New S3 notification rules (each with `s3` set), replacing the S3 ones (the B2 ones
    /// stay). No test event is sent (Ceph sends none). A name a B2 rule has is refused.
    pub s3_notifications: Option<Vec<pier_events::NotificationRule>>,
    /// New static website configuration (`Some(None)` removes it).
    pub website: Option<Option<String>>,
    /// New default encryption (`Some(None)` removes it).
    pub encryption: Option<Option<DefaultEncryption>>,
    /// Apply only if the bucket's revision is this one.
    pub if_revision: Option<i64>,
}

/// HTTP-level metadata kept with an object and returned on reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Cache-Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Expires`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// User metadata (`x-amz-meta-*` names without the prefix; B2 `X-Bz-Info-*`), lower-case names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user: BTreeMap<String, String>,
    /// Checksums supplied or computed at upload (`crc32`, `crc32c`, `sha256`, ...: base64).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// Object tags (S3 `x-amz-tagging`, PutObjectTagging), validated by the API layer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Object lock retention (S3 `x-amz-object-lock-*`, B2 `fileRetention`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::lock::Retention>,
    /// Object lock legal hold (S3 `LegalHold`, B2 `legalHold`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold: bool,
    /// The checksum algorithm a multipart upload was started with (S3 `ChecksumAlgorithm`, as
    /// `checksums` names it: `sha256`, `crc32`, ...): every part gets that checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// How the whole-object checksum of a multipart object is made (S3 `ChecksumType`:
    /// `COMPOSITE` or `FULL_OBJECT`); `None` for a single upload (a full-object checksum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// The checksum of each part of a multipart object with a `checksum_algorithm`, in part
    /// order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<String>,
    /// The S3 canned ACL the version was given (`public-read`, ...), validated by the API
    /// layer; `None` is S3's default, `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// S3 `x-amz-website-redirect-location`: where a website endpoint redirects a request for
    /// this object (a path in the bucket starting with `/`, or an `http(s)://` URL), validated by
    /// the API layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect: Option<String>,
    /// How the bytes are encrypted at rest, with the wrapped data key; `None` when they are
    /// stored as sent (`docs/design.md`, "Encryption at rest").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<pier_crypto::Envelope>,
}

impl ObjectMeta {
    /// What object lock holds this version by: its retention and legal hold.
    pub fn lock(&self) -> crate::lock::VersionLock {
        crate::lock::VersionLock {
            retention: self.retention,
            legal_hold: self.legal_hold,
        }
    }
}

/// A bucket's default encryption: a mode of the server's (SSE-S3, or SSE-KMS with the key
/// ring's key it names), never SSE-C, which needs a key no default can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultEncryption {
    /// `SseS3` or `SseKms`.
    pub mode: pier_crypto::Mode,
    /// The key ring's key, for `SseKms` (`None`: the server's default KMS key).
    pub kms_key_id: Option<String>,
}

impl DefaultEncryption {
    /// SSE-S3.
    pub fn sse_s3() -> DefaultEncryption {
        DefaultEncryption {
            mode: pier_crypto::Mode::SseS3,
            kms_key_id: None,
        }
    }

    /// How the store keeps it: `sse-s3`, `sse-kms` or `sse-kms:KEYID`.
    pub fn to_text(&self) -> String {
        match (&self.mode, &self.kms_key_id) {
            (pier_crypto::Mode::SseKms, Some(id)) => format!("sse-kms:{id}"),
            (pier_crypto::Mode::SseKms, None) => "sse-kms".into(),
            _ => "sse-s3".into(),
        }
    }

    /// What [`DefaultEncryption::to_text`] wrote, or `None` for text it never writes.
    pub fn from_text(text: &str) -> Option<DefaultEncryption> {
        match text.split_once(':') {
            Some(("sse-kms", id)) => Some(DefaultEncryption {
                mode: pier_crypto::Mode::SseKms,
                kms_key_id: Some(id.to_owned()),
            }),
            None if text == "sse-kms" => Some(DefaultEncryption {
                mode: pier_crypto::Mode::SseKms,
                kms_key_id: None,
            }),
            None if text == "sse-s3" => Some(DefaultEncryption::sse_s3()),
            _ => None,
        }
    }
}

/// The segment name of an object whose bytes are stored inline in the metadata database.
pub const INLINE_BLOB: &str = "inline";

/// One stretch of an object's bytes: a blob file and its length. Stored as JSON
/// (`{"blob":"…","size":N}`, a list per entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Blob id (file name).
    pub blob: String,
    /// Length in bytes.
    pub size: u64,
}

/// An entry of a key's history as stored: a version with bytes, or a marker (S3 delete marker,
/// B2 hide marker: no bytes, no segments).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object {
    /// Owning bucket's id.
    pub bucket_id: String,
    /// The key.
    pub key: String,
    /// This version's id (B2 `fileId`); unique across the store.
    pub version_id: String,
    /// Total size in bytes.
    pub size: u64,
    /// S3 ETag without quotes: hex MD5, or `hex-N` for multipart objects.
    pub etag: String,
    /// Hex SHA-1 of the whole content (B2 `contentSha1`), when known (not for multipart).
    pub sha1: Option<String>,
    /// Upload time.
    pub created: Millis,
    /// HTTP metadata.
    pub meta: ObjectMeta,
    /// The bytes, in order.
    pub segments: Vec<Segment>,
    /// Position in the key's history (higher is newer); assigned by the store at commit.
    pub seq: i64,
    /// S3's `null` version (written while unversioned or suspended); set by the store at commit.
    pub null_version: bool,
    /// A delete (hide) marker rather than a version.
    pub marker: bool,
    /// When it stopped being the key's current entry; `None` while current.
    pub superseded: Option<Millis>,
}

impl Object {
    /// True while this entry is the key's newest (S3 `IsLatest`).
    pub fn is_current(&self) -> bool {
        self.superseded.is_none()
    }

    /// The version id S3 shows: `null` for the null version.
    pub fn s3_version_id(&self) -> &str {
        if self.null_version {
            "null"
        } else {
            &self.version_id
        }
    }

    /// True when the bytes are stored inline in the metadata database.
    pub fn is_inline(&self) -> bool {
        self.segments.first().is_some_and(|s| s.blob == INLINE_BLOB)
    }
}

/// A condition on a write, checked atomically with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// Write unconditionally.
    #[default]
    None,
    /// Only if no object exists under the key (`If-None-Match: *`).
    IfAbsent,
    /// Only if the current object's ETag is this (`If-Match`).
    IfEtag(String),
    /// Only if there is no current object or its ETag is not this (`If-None-Match` with an
    /// ETag).
    IfNotEtag(String),
}

/// A multipart upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The upload id.
    pub upload_id: String,
    /// Bucket id.
    pub bucket_id: String,
    /// Target key.
    pub key: String,
    /// Start time.
    pub created: Millis,
    /// Metadata the finished object gets.
    pub meta: ObjectMeta,
}

/// One uploaded part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// 1..=10000.
    pub part_number: u32,
    /// Bytes.
    pub size: u64,
    /// Hex MD5 (no quotes).
    pub etag: String,
    /// Hex SHA-1; `None` for an S3 part, written without one ([`crate::Store::part_sha1`]).
    pub sha1: Option<String>,
    /// Blob id.
    pub blob: String,
    /// Upload time.
    pub created: Millis,
    /// Its checksum in the upload's `checksum_algorithm` (base64), when it has one.
    pub checksum: Option<String>,
}

/// The first account's id: it owns everything made before accounts existed.
pub const DEFAULT_ACCOUNT: &str = "pier";

/// A new account's id: 12 random lowercase hex digits, as B2 account ids look.
pub fn new_account_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// True when `id` can name an account: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn is_account_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An access key pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKey {
    /// Public id (`AKIA...`-like).
    pub access_key: String,
    /// The secret.
    pub secret: String,
    /// Creation time.
    pub created: Millis,
    /// Free text.
    pub description: String,
    /// The account it belongs to (acts as, and creates buckets for).
    pub account: String,
    /// What it may do; the default is everything, everywhere, forever.
    pub scope: KeyRestrictions,
}

/// An access key's limits, as stored (the access engine gives them meaning).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRestrictions {
    /// B2 capability names; `None`: every capability.
    pub capabilities: Option<Vec<String>>,
    /// Bucket ids it is limited to; `None`: every bucket.
    pub buckets: Option<Vec<String>>,
    /// It may only touch names starting with this.
    pub name_prefix: Option<String>,
    /// When it stops working.
    pub expires: Option<Millis>,
}

/// A dashboard sign-in, kept with the metadata so every node sharing it knows the session.
/// The id is stored as given: callers store a digest of the cookie, never the cookie itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardSession {
    /// The session's id (a digest of the browser's cookie).
    pub id: String,
    /// The access key it signed in with.
    pub key_id: String,
    /// The token every state-changing request must carry.
    pub csrf: String,
    /// When it began.
    pub created: Millis,
    /// When it was last used.
    pub last_seen: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(key: &str, created: Millis) -> Object {
        Object {
            key: key.into(),
            created,
            ..Object::default()
        }
    }

    #[test]
    fn a_rule_expires_days_after_upload_at_the_next_midnight_utc() {
        let rule = LifecycleRule {
            id: Some("logs".into()),
            enabled: true,
            prefix: "logs/".into(),
            expire_days: Some(1),
            ..LifecycleRule::default()
        };
        let day = crate::time::DAY;
        // Uploaded at 10:00 on day 100: one day later is 10:00 on day 101, due at midnight.
        let created = 100 * day + 10 * 3_600_000;
        assert_eq!(rule.expires(&version("logs/a", created)), Some(102 * day));
        assert_eq!(rule.expires(&version("other/a", created)), None);
        let mut marker = version("logs/a", created);
        marker.marker = true;
        assert_eq!(rule.expires(&marker), None);
        let disabled = LifecycleRule {
            enabled: false,
            ..rule.clone()
        };
        assert_eq!(disabled.expires(&version("logs/a", created)), None);
        let dated = LifecycleRule {
            expire_days: None,
            expire_at: Some(7 * day),
            ..rule
        };
        assert_eq!(dated.expires(&version("logs/a", created)), Some(7 * day));
    }
}
