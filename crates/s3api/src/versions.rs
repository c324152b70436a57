//! Versioning over S3: version ids as S3 shows them, Put/GetBucketVersioning and ListObjectVersions.
//!
//! The store keeps one history per key for both APIs; here it is shown in S3's terms: the null
//! version's id is `null`, B2 hide markers are delete markers, and an unversioned bucket lists
//! each object once, as version `null`.

use crate::convert::timestamp;
use crate::error::s3_error;
use pier_store::{Bucket, Object, Store, VersionQuery, VersionRef, VersionStart, Versioning};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// The version id S3 shows for an entry of `bucket`: none while the bucket was never versioned
/// (AWS sends no `x-amz-version-id` there), `null` for the null version.
pub fn shown_version(bucket: &Bucket, o: &Object) -> Option<String> {
    (bucket.versioning != Versioning::Unversioned).then(|| o.s3_version_id().to_owned())
}

/// The version id S3 returns for a version just written: none for a `null` version (a
/// bucket unversioned or suspended), as AWS (and the s3-tests suite) answer.
pub fn written_version(o: &Object) -> Option<String> {
    (!o.null_version).then(|| o.version_id.clone())
}

/// Parses a `versionId`: `null`, or an id pier could have issued (32 hex digits); anything else
/// is S3's 400 `InvalidArgument`.
pub fn parse_version(text: &str) -> S3Result<VersionRef> {
    let issued = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if text == "null" || issued {
        Ok(VersionRef::parse(text))
    } else {
        Err(s3_error!(InvalidArgument, "Invalid version id specified"))
    }
}

pub async fn put_versioning(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketVersioningInput,
) -> S3Result<PutBucketVersioningOutput> {
    let config = input.versioning_configuration;
    if config
        .mfa_delete
        .as_ref()
        .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
    {
        return Err(s3_error!(
            NotImplemented,
            "MFA delete is not available: pier has no MFA devices."
        ));
    }
    let state = match config.status.as_ref().map(|s| s.as_str()) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The versioning Status must be Enabled or Suspended."
            ))
        }
    };
    let bucket = input.bucket;
    crate::error::change_bucket!(store, actor.clone(), &bucket, versioning: Some(state));
    Ok(PutBucketVersioningOutput::default())
}

pub fn get_versioning(
    store: &Store,
    input: GetBucketVersioningInput,
) -> S3Result<GetBucketVersioningOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let status = match bucket.versioning {
        Versioning::Unversioned => None,
        Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
        Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
    };
    Ok(GetBucketVersioningOutput {
        status: status.map(BucketVersioningStatus::from_static),
        ..Default::default()
    })
}

pub fn list_versions(
    store: &Store,
    input: ListObjectVersionsInput,
) -> S3Result<ListObjectVersionsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let url = input
        .encoding_type
        .as_ref()
        .is_some_and(|e| e.as_str() == EncodingType::URL);
    let enc = |s: String| {
        if url {
            pier_edge::percent::encode(&s, pier_edge::percent::PATH)
        } else {
            s
        }
    };
    let max_keys = match input.max_keys {
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "max-keys must be a non-negative number"
            ))
        }
        Some(n) => n.min(1000) as usize,
        None => 1000,
    };
    let key_marker = input.key_marker.clone().filter(|k| !k.is_empty());
    let version_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
    let start = match (&key_marker, &version_marker) {
        (None, None) => VersionStart::Beginning,
        (None, Some(_)) => {
            return Err(s3_error!(
                InvalidArgument,
                "A version-id marker cannot be specified without a key marker."
            ))
        }
        (Some(k), None) => VersionStart::AfterKey(k.clone()),
        (Some(k), Some(v)) => VersionStart::AfterVersion(k.clone(), parse_version(v)?),
    };
    let query = VersionQuery {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
        start,
        max_keys,
    };
    let page = store.list_versions(&bucket.id, &query).map_err(s3_error)?;
    let owner = crate::convert::owner(&bucket.owner);
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    for e in &page.entries {
        let version_id = Some(e.s3_version_id().to_owned());
        if e.marker {
            markers.push(DeleteMarkerEntry {
                is_latest: Some(e.is_current()),
                key: Some(enc(e.key.clone())),
                last_modified: Some(timestamp(e.created)),
                owner: Some(owner.clone()),
                version_id,
            });
        } else {
            versions.push(ObjectVersion {
                e_tag: Some(ETag::Strong(e.etag.clone())),
                is_latest: Some(e.is_current()),
                key: Some(enc(e.key.clone())),
                last_modified: Some(timestamp(e.created)),
                owner: Some(owner.clone()),
                size: Some(e.size as i64),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                version_id,
                ..Default::default()
            });
        }
    }
    let prefixes: Vec<CommonPrefix> = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p.clone())),
        })
        .collect();
    let (next_key, next_version) = match &page.last {
        Some((key, entry)) => (
            Some(enc(key.clone())),
            entry.as_ref().map(|e| e.s3_version_id().to_owned()),
        ),
        None => (None, None),
    };
    Ok(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(enc(query.prefix.clone())),
        delimiter: input.delimiter.map(enc),
        key_marker: Some(key_marker.map(enc).unwrap_or_default()),
        version_id_marker: Some(version_marker.unwrap_or_default()),
        max_keys: Some(max_keys as i32),
        is_truncated: Some(page.truncated),
        next_key_marker: next_key,
        next_version_id_marker: next_version,
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}
