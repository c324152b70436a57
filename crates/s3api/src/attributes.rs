//! GetObjectAttributes: an object's ETag, whole-object checksum, parts (size and checksum of
//! each, paged by `max-parts` and `part-number-marker`), storage class and size, each only when
//! asked for, as S3 answers.

use crate::checksum;
use crate::convert::timestamp;
use crate::entry::{read_entry, ReadFor};
use crate::error::s3_error;
use crate::versions::shown_version;
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// The attributes asked for, read from one version (the current one unless `versionId`).
pub fn get(
    store: &Store,
    input: GetObjectAttributesInput,
    keys_allowed: bool,
) -> S3Result<GetObjectAttributesOutput> {
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let mut entry = read_entry(
        store,
        &bucket,
        (&input.key, input.version_id.as_deref()),
        ReadFor::Object,
    )?;
    // An SSE-C object's attributes need its key, as its bytes do.
    crate::sse::unlock(&mut entry, customer.as_ref()).map_err(crate::error::s3_error)?;
    let o = entry.object;
    let mut wants = std::collections::HashSet::new();
    // The header is one comma-separated list (s3s 0.14.1 hands it over unsplit).
    let named = input
        .object_attributes
        .iter()
        .flat_map(|a| a.as_str().split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty());
    for a in named {
        match a {
            ObjectAttributes::CHECKSUM
            | ObjectAttributes::ETAG
            | ObjectAttributes::OBJECT_PARTS
            | ObjectAttributes::OBJECT_SIZE
            | ObjectAttributes::STORAGE_CLASS => {
                wants.insert(a.to_owned());
            }
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid attribute name specified: {other}"
                ))
            }
        }
    }
    let m = &o.meta;
    let multipart = o.etag.contains('-');
    let checksum = wants
        .contains(ObjectAttributes::CHECKSUM)
        .then(|| {
            let name = checksum::NAMES
                .into_iter()
                .find(|n| m.checksums.contains_key(*n))?;
            let mut c = checksum::only(name, m.checksums.get(name).cloned());
            c.checksum_type = Some(ChecksumType::from(
                m.checksum_type
                    .clone()
                    .unwrap_or_else(|| ChecksumType::FULL_OBJECT.to_owned()),
            ));
            Some(c)
        })
        .flatten();
    let object_parts = (wants.contains(ObjectAttributes::OBJECT_PARTS) && multipart).then(|| {
        let total = o.segments.len();
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let after = input.part_number_marker.unwrap_or(0).max(0) as usize;
        let name = m.checksum_algorithm.as_deref().unwrap_or("");
        let parts: Vec<ObjectPart> = o
            .segments
            .iter()
            .enumerate()
            .skip(after)
            .take(max)
            .map(|(i, seg)| {
                let sums = checksum::only(name, m.part_checksums.get(i).cloned());
                ObjectPart {
                    part_number: Some(i as i32 + 1),
                    size: Some(seg.size as i64),
                    checksum_crc32: sums.checksum_crc32,
                    checksum_crc32c: sums.checksum_crc32c,
                    checksum_crc64nvme: sums.checksum_crc64nvme,
                    checksum_sha1: sums.checksum_sha1,
                    checksum_sha256: sums.checksum_sha256,
                }
            })
            .collect();
        let truncated = after + parts.len() < total;
        GetObjectAttributesParts {
            is_truncated: Some(truncated),
            max_parts: Some(max as i32),
            next_part_number_marker: parts.last().and_then(|p| p.part_number),
            part_number_marker: input.part_number_marker,
            parts: Some(parts),
            total_parts_count: Some(total as i32),
        }
    });
    Ok(GetObjectAttributesOutput {
        checksum,
        e_tag: wants
            .contains(ObjectAttributes::ETAG)
            .then(|| ETag::Strong(o.etag.clone())),
        last_modified: Some(timestamp(o.created)),
        object_parts,
        object_size: wants
            .contains(ObjectAttributes::OBJECT_SIZE)
            .then_some(o.size as i64),
        storage_class: wants
            .contains(ObjectAttributes::STORAGE_CLASS)
            .then(|| StorageClass::from_static(StorageClass::STANDARD)),
        version_id: shown_version(&bucket, &o),
        ..Default::default()
    })
}
