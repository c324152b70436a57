//! Object operations: put, get, head, delete, copy.

use crate::body;
use crate::convert::{header_safe, seconds, timestamp, timestamp_seconds, user_metadata};
use crate::entry::{read_entry, ReadFor};
use crate::error::{blocking, blocking_map, put_error, s3_error};
use crate::versions::parse_version;
pub use crate::versions::{shown_version, written_version};
use pier_store::{
    Bucket, Object, ObjectMeta, Readable, Store, StoreError, VersionRef, WriteCondition,
};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

/// The write condition of `If-Match` / `If-None-Match` on a write.
pub fn write_condition(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> WriteCondition {
    match (if_match, if_none_match) {
        (Some(ETagCondition::Any), _) => WriteCondition::IfEtag("*".into()),
        (Some(ETagCondition::ETag(e)), _) => WriteCondition::IfEtag(e.value().to_owned()),
        (None, Some(ETagCondition::Any)) => WriteCondition::IfAbsent,
        (None, Some(ETagCondition::ETag(e))) => WriteCondition::IfNotEtag(e.value().to_owned()),
        (None, None) => WriteCondition::None,
    }
}

pub async fn put(store: &Store, req: S3Request<PutObjectInput>) -> S3Result<PutObjectOutput> {
    let keys_allowed = crate::sse::keys_allowed(&req.extensions);
    let input = req.input;
    crate::convert::check_user_metadata(input.metadata.as_ref())?;
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let encrypt = crate::sse::requested(&bucket, crate::sse::server_headers!(input), customer)?;
    let mut announced = crate::convert::announced!(input);
    // Every header that needs no body is checked before the body is read and stored.
    let mut meta = crate::convert::upload_meta!(&bucket, input);
    let expected_md5 = match &input.content_md5 {
        Some(md5) => Some(base64_to_hex(md5).ok_or_else(|| {
            s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid.")
        })?),
        None => None,
    };
    let mut hasher = announced.hasher(input.checksum_algorithm.as_ref());
    let declared = input.content_length;
    let sealing = match &encrypt {
        Some(how) => Some(store.new_data_key(how).map_err(s3_error)?),
        None => None,
    };
    let blob = body::receive(
        store,
        input.body,
        declared,
        (true, sealing.as_ref().map(|(_, key)| key)),
        &mut hasher,
    )
    .await?;
    meta.encryption = sealing.map(|(envelope, _)| envelope);
    if expected_md5.is_some_and(|expected| expected != blob.md5()) {
        store.discard_payload(blob).map_err(s3_error)?;
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    announced.add_trailers(req.trailing_headers.and_then(|t| t.take()));
    let computed = hasher.finalize();
    meta.checksums = match announced.verify(&computed) {
        Ok(c) => c.into_iter().collect(),
        Err(message) => {
            store.discard_payload(blob).map_err(s3_error)?;
            return Err(s3_error!(BadDigest, "{message}"));
        }
    };
    let condition = write_condition(input.if_match.as_ref(), input.if_none_match.as_ref());
    let key = input.key;
    let store2 = store.clone();
    let bucket_id = bucket.id.clone();
    let object = blocking_map(
        move || store2.put_object(&bucket_id, &key, blob, meta, condition),
        put_error,
    )
    .await?;
    let shown = crate::sse::shown(object.meta.encryption.as_ref());
    Ok(PutObjectOutput {
        server_side_encryption: shown.sse,
        sse_customer_algorithm: shown.algorithm,
        sse_customer_key_md5: shown.key_md5,
        ssekms_key_id: shown.kms_key_id,
        expiration: crate::lifecycle::expiration_header(&bucket, &object),
        version_id: written_version(&object),
        e_tag: Some(ETag::Strong(object.etag.clone())),
        checksum_crc32: computed.checksum_crc32,
        checksum_crc32c: computed.checksum_crc32c,
        checksum_sha1: computed.checksum_sha1,
        checksum_sha256: computed.checksum_sha256,
        checksum_crc64nvme: computed.checksum_crc64nvme,
        ..Default::default()
    })
}

fn base64_to_hex(b64: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() == 16).then(|| hex::encode(bytes))
}

/// Evaluates HTTP preconditions in S3's order: `If-Match` (else `If-Unmodified-Since`) → 412,
/// then `If-None-Match` (else `If-Modified-Since`) → 304.
pub fn check_preconditions(
    object: &Object,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
    not_modified_is_412: bool,
) -> S3Result<()> {
    let etag = ETag::Strong(object.etag.clone());
    let modified = seconds(object.created);
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    match if_match {
        Some(ETagCondition::ETag(e)) if !etag.strong_cmp(e) => return Err(failed()),
        Some(_) => {}
        None => {
            if if_unmodified_since.is_some_and(|t| modified > timestamp_seconds(t)) {
                return Err(failed());
            }
        }
    }
    let not_modified = match if_none_match {
        Some(ETagCondition::Any) => true,
        Some(ETagCondition::ETag(e)) => etag.weak_cmp(e),
        None => if_modified_since.is_some_and(|t| modified <= timestamp_seconds(t)),
    };
    if not_modified {
        return Err(if not_modified_is_412 {
            failed()
        } else {
            {
                // A 304 still names the object (ETag, Last-Modified), as S3's does.
                let mut e = s3_error!(NotModified, "Not Modified");
                let mut headers = http::HeaderMap::new();
                if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", object.etag)) {
                    headers.insert(http::header::ETAG, v);
                }
                if let Some(v) = crate::convert::http_date(&timestamp(object.created))
                    .and_then(|d| http::HeaderValue::from_str(&d).ok())
                {
                    headers.insert(http::header::LAST_MODIFIED, v);
                }
                e.set_headers(headers);
                e
            }
        });
    }
    Ok(())
}

/// What a GET or HEAD returns besides the body.
struct ReadPlan {
    /// The entry and its bytes, from one snapshot.
    entry: Readable,
    /// `x-amz-expiration`, when a lifecycle rule will expire the entry.
    expiration: Option<String>,
    version_id: Option<String>,
    start: u64,
    len: u64,
    content_range: Option<String>,
}

fn plan_read(
    store: &Store,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    range: Option<&Range>,
    part_number: Option<i32>,
) -> S3Result<ReadPlan> {
    let bucket = store.bucket(bucket).map_err(s3_error)?;
    let entry = read_entry(store, &bucket, (key, version_id), ReadFor::Object)?;
    let object = &entry.object;
    let shown = shown_version(&bucket, object);
    let size = object.size;
    let (start, len, content_range) = match (range, part_number) {
        (Some(r), _) => {
            let r = r.check(size)?;
            let range = format!("bytes {}-{}/{size}", r.start, r.end - 1);
            (r.start, r.end - r.start, Some(range))
        }
        (None, Some(n)) => {
            let idx = usize::try_from(n).ok().filter(|n| *n >= 1).map(|n| n - 1);
            let seg = idx.and_then(|i| object.segments.get(i)).ok_or_else(|| {
                crate::fault::S3Fault::new(
                    crate::fault::S3ErrorKind::InvalidPartNumber,
                    "The requested partnumber is not satisfiable",
                )
                .into_s3s()
            })?;
            let start: u64 = object.segments[..idx.unwrap_or(0)]
                .iter()
                .map(|s| s.size)
                .sum();
            let range = (object.segments.len() > 1).then(|| {
                format!(
                    "bytes {}-{}/{size}",
                    start,
                    start + seg.size.saturating_sub(1)
                )
            });
            (start, seg.size, range)
        }
        (None, None) => (0, size, None),
    };
    let expiration = crate::lifecycle::expiration_header(&bucket, object);
    Ok(ReadPlan {
        expiration,
        entry,
        version_id: shown,
        start,
        len,
        content_range,
    })
}

/// GET and HEAD answer alike but for the body, and s3s gives them distinct input and output
/// types with the same field names: this builds either from one definition, with the object's
/// tag count and the read plan (for the GET body) beside it.
macro_rules! read_object {
    ($store:expr, $input:expr, $keys_allowed:expr, $Output:ident) => {{
        let input = $input;
        let customer =
            crate::sse::customer_key(crate::sse::customer_headers!(input), $keys_allowed)?;
        let mut plan = plan_read(
            $store,
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            input.range.as_ref(),
            input.part_number,
        )?;
        crate::sse::unlock(&mut plan.entry, customer.as_ref()).map_err(s3_error)?;
        let encryption = crate::sse::shown(plan.entry.encryption());
        check_preconditions(
            &plan.entry.object,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
            false,
        )?;
        // S3 returns stored checksums only when asked, and only for the whole object.
        let checksums = plan.content_range.is_none()
            && input
                .checksum_mode
                .as_ref()
                .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let o = &plan.entry.object;
        let m = &o.meta;
        // A part read by number answers with that part's own checksum.
        let part_sum = input
            .part_number
            .and_then(|n| usize::try_from(n).ok()?.checked_sub(1))
            .and_then(|i| m.part_checksums.get(i))
            .zip(m.checksum_algorithm.as_deref());
        let sum = |name: &str| match (input.part_number, part_sum) {
            (Some(_), Some((value, algo))) => (algo == name).then(|| value.clone()),
            (Some(_), None) => None,
            (None, _) => checksums.then(|| m.checksums.get(name).cloned()).flatten(),
        };
        let any_sum = crate::checksum::NAMES.iter().any(|n| sum(n).is_some());
        let checksum_type = any_sum.then(|| {
            ChecksumType::from(
                m.checksum_type
                    .clone()
                    .unwrap_or_else(|| ChecksumType::FULL_OBJECT.to_owned()),
            )
        });
        let tags = o.meta.tags.len();
        let (lock_mode, lock_until, legal_hold) = crate::object_lock::lock_headers(o);
        (
            $Output {
                object_lock_mode: lock_mode,
                object_lock_retain_until_date: lock_until,
                object_lock_legal_hold_status: legal_hold,
                accept_ranges: Some("bytes".into()),
                content_length: Some(plan.len as i64),
                content_range: plan.content_range.clone(),
                e_tag: Some(ETag::Strong(o.etag.clone())),
                last_modified: Some(timestamp(o.created)),
                metadata: user_metadata(m),
                // `response-*` query parameters (presigned URLs) override the stored headers.
                // An object stored without a type reads as S3 serves it: `binary/octet-stream`.
                content_type: header_safe(input.response_content_type.or_else(|| {
                    Some(
                        m.content_type
                            .clone()
                            .unwrap_or_else(|| "binary/octet-stream".to_owned()),
                    )
                })),
                content_disposition: header_safe(
                    input
                        .response_content_disposition
                        .or_else(|| m.content_disposition.clone()),
                ),
                content_encoding: header_safe(
                    input
                        .response_content_encoding
                        .or_else(|| m.content_encoding.clone()),
                ),
                content_language: header_safe(
                    input
                        .response_content_language
                        .or_else(|| m.content_language.clone()),
                ),
                cache_control: header_safe(
                    input
                        .response_cache_control
                        .or_else(|| m.cache_control.clone()),
                ),
                expires: input.response_expires.or_else(|| {
                    m.expires
                        .as_deref()
                        .and_then(crate::convert::parse_http_date)
                }),
                checksum_crc32: sum("crc32"),
                checksum_crc32c: sum("crc32c"),
                checksum_sha1: sum("sha1"),
                checksum_sha256: sum("sha256"),
                checksum_crc64nvme: sum("crc64nvme"),
                checksum_type,
                // A multipart object (ETag `hex-N`) has N parts, even when N is 1.
                parts_count: input
                    .part_number
                    .and_then(|_| o.etag.split_once('-').and_then(|(_, n)| n.parse().ok())),
                version_id: plan.version_id.clone(),
                expiration: plan.expiration.clone(),
                website_redirect_location: header_safe(m.website_redirect.clone()),
                server_side_encryption: encryption.sse,
                sse_customer_algorithm: encryption.algorithm,
                sse_customer_key_md5: encryption.key_md5,
                ssekms_key_id: encryption.kms_key_id,
                ..Default::default()
            },
            tags,
            plan,
        )
    }};
}

/// GET: the entry and its bytes from one snapshot. A read whose bytes were reclaimed before it
/// opened them (it took longer than the garbage grace period) reads the entry again.
pub async fn get(
    store: &Store,
    input: GetObjectInput,
    keys_allowed: bool,
) -> S3Result<GetObjectOutput> {
    let mut attempt = 1;
    loop {
        let (mut out, tags, plan) =
            read_object!(store, input.clone(), keys_allowed, GetObjectOutput);
        match body::send(store, &plan.entry, plan.start, plan.len) {
            Err(StoreError::Reclaimed) if attempt < pier_store::READ_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "the object changed under the read: reading it again"
                );
                attempt += 1;
            }
            Err(e) => return Err(s3_error(e)),
            Ok(body) => {
                out.body = Some(body);
                out.tag_count = (tags > 0).then_some(tags as i32);
                return Ok(out);
            }
        }
    }
}

/// HEAD; s3s's HeadObjectOutput has no tag count, so `x-amz-tagging-count` rides as a header.
pub fn head(
    store: &Store,
    input: HeadObjectInput,
    keys_allowed: bool,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let (out, tags, _) = read_object!(store, input, keys_allowed, HeadObjectOutput);
    let mut response = S3Response::new(out);
    if tags > 0 {
        response
            .headers
            .insert("x-amz-tagging-count", http::HeaderValue::from(tags));
    }
    Ok(response)
}

/// What deleting one key (or one version of it) did, in S3's terms.
struct Deleted {
    /// The version named by the request.
    version_id: Option<String>,
    delete_marker: bool,
    marker_version_id: Option<String>,
}

/// Deletes the current entry of `key` (a marker where versioned), or the version named.
fn delete_one(
    store: &Store,
    bucket: &Bucket,
    key: &str,
    version: Option<VersionRef>,
    bypass_governance: bool,
) -> pier_store::Result<Deleted> {
    match version {
        None => {
            let removal = store.delete_object(&bucket.id, key)?;
            Ok(match removal.marker {
                Some(m) => Deleted {
                    version_id: None,
                    delete_marker: true,
                    marker_version_id: Some(m.s3_version_id().to_owned()),
                },
                None => Deleted {
                    version_id: None,
                    delete_marker: false,
                    marker_version_id: None,
                },
            })
        }
        Some(which) => {
            let shown = which.as_str().to_owned();
            let removed = store.delete_version(&bucket.id, key, which, bypass_governance)?;
            let marker = removed.is_some_and(|o| o.marker);
            Ok(Deleted {
                version_id: Some(shown.clone()),
                delete_marker: marker,
                marker_version_id: marker.then_some(shown),
            })
        }
    }
}

pub async fn delete(store: &Store, input: DeleteObjectInput) -> S3Result<DeleteObjectOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let version = input.version_id.as_deref().map(parse_version).transpose()?;
    let store = store.clone();
    let key = input.key;
    let bypass = input.bypass_governance_retention == Some(true);
    let deleted = blocking(move || delete_one(&store, &bucket, &key, version, bypass)).await?;
    Ok(DeleteObjectOutput {
        delete_marker: deleted.delete_marker.then_some(true),
        version_id: deleted.version_id.or(deleted.marker_version_id),
        ..Default::default()
    })
}

pub async fn delete_many(
    store: &Store,
    input: DeleteObjectsInput,
) -> S3Result<DeleteObjectsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    if input.delete.objects.len() > 1000 {
        return Err(s3_error!(
            MalformedXML,
            "A delete request can list at most 1000 keys."
        ));
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut wanted = Vec::with_capacity(input.delete.objects.len());
    let mut errors = Vec::new();
    for o in input.delete.objects {
        match o.version_id.as_deref().map(parse_version).transpose() {
            Ok(v) => wanted.push((o.key, v)),
            Err(_) => errors.push(Error {
                code: Some("InvalidArgument".into()),
                key: Some(o.key),
                version_id: o.version_id,
                message: Some("Invalid version id specified".into()),
            }),
        }
    }
    let store = store.clone();
    let bypass = input.bypass_governance_retention == Some(true);
    let results = blocking(move || {
        Ok(wanted
            .into_iter()
            .map(|(k, v)| {
                let shown = v.as_ref().map(|v| v.as_str().to_owned());
                let r = delete_one(&store, &bucket, &k, v, bypass);
                (k, shown, r)
            })
            .collect::<Vec<_>>())
    })
    .await?;
    let mut deleted = Vec::new();
    for (key, version_id, result) in results {
        match result {
            Ok(d) => {
                if !quiet {
                    deleted.push(DeletedObject {
                        key: Some(key),
                        version_id: d.version_id,
                        delete_marker: d.delete_marker.then_some(true),
                        delete_marker_version_id: d.marker_version_id,
                    })
                }
            }
            Err(StoreError::ObjectLocked(why)) => errors.push(Error {
                code: Some("AccessDenied".into()),
                key: Some(key),
                version_id,
                message: Some(format!(
                    "Access Denied because object protected by object lock: {why}"
                )),
            }),
            Err(e) => {
                tracing::error!(error = %e, key, "batch delete failed for one key");
                errors.push(Error {
                    code: Some("InternalError".into()),
                    key: Some(key),
                    message: Some("We encountered an internal error. Please try again.".into()),
                    ..Default::default()
                })
            }
        }
    }
    Ok(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    })
}

/// The bucket, key and version id (if named) of a copy source.
pub fn copy_source(source: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_owned),
        )),
        _ => Err(s3_error!(
            NotImplemented,
            "Only bucket/key copy sources are supported."
        )),
    }
}

/// Copies `len` bytes of `entry` from `start` into a new durable blob (sealed under `into`,
/// a part of an encrypted upload); `Reclaimed` (read the entry again) when its bytes went
/// with it.
pub async fn copy_bytes(
    store: &Store,
    entry: &Readable,
    (start, len): (u64, u64),
    into: Option<pier_crypto::DataKey>,
) -> Result<pier_store::WrittenBlob, StoreError> {
    let store = store.clone();
    let entry = entry.clone();
    tokio::task::spawn_blocking(move || store.copy_bytes(&entry, start, len, into.as_ref()))
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
        .map_err(StoreError::from)
}

pub async fn copy(
    store: &Store,
    input: CopyObjectInput,
    keys_allowed: bool,
) -> S3Result<CopyObjectOutput> {
    let (src_bucket, src_key, src_version) = copy_source(&input.copy_source)?;
    let source_bucket = store.bucket(&src_bucket).map_err(s3_error)?;
    let target_bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let source_customer =
        crate::sse::customer_key(crate::sse::copy_source_headers!(input), keys_allowed)?;
    let encryption_named = input.server_side_encryption.is_some() || customer.is_some();
    let encrypt =
        crate::sse::requested(&target_bucket, crate::sse::server_headers!(input), customer)?;
    let source_name = (src_key.as_str(), src_version.as_deref());
    let mut entry = read_entry(store, &source_bucket, source_name, ReadFor::CopySource)?;
    crate::sse::unlock(&mut entry, source_customer.as_ref()).map_err(s3_error)?;
    // A whole-object copy encrypted as its source shares the source's blobs (its bytes are not
    // read); into another encryption it is written again.
    let shares = pier_store::same_encryption(entry.encryption(), encrypt.as_ref());
    let source = entry.object.clone();
    check_preconditions(
        &source,
        input.copy_source_if_match.as_ref(),
        input.copy_source_if_none_match.as_ref(),
        input.copy_source_if_modified_since.as_ref(),
        input.copy_source_if_unmodified_since.as_ref(),
        true,
    )?;
    let replace = input
        .metadata_directive
        .as_ref()
        .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    if !replace
        && input.website_redirect_location.is_none()
        && !encryption_named
        && src_version.is_none()
        && src_bucket == input.bucket
        && src_key == input.key
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    if replace {
        crate::convert::check_user_metadata(input.metadata.as_ref())?;
    }
    let acl = crate::acl::upload_acl!(&target_bucket, input);
    // S3 never copies a website redirect: a copy has the one its request names, if any.
    let website_redirect =
        crate::convert::website_redirect(input.website_redirect_location.clone())?;
    let mut meta: ObjectMeta = if replace {
        crate::convert::meta_fields!(input).into_meta()
    } else {
        source.meta.clone()
    };
    let replace_tags = input
        .tagging_directive
        .as_ref()
        .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
    meta.tags = if replace_tags {
        crate::tagging::from_header(input.tagging.as_deref())?
    } else {
        source.meta.tags.clone()
    };
    // A copy's ACL and lock are its own (the request's headers, or the bucket's default), never
    // the source's.
    meta.acl = acl;
    meta.website_redirect = website_redirect;
    (meta.retention, meta.legal_hold) = crate::object_lock::upload_lock(
        input.object_lock_mode.as_ref(),
        input.object_lock_retain_until_date.as_ref(),
        input.object_lock_legal_hold_status.as_ref(),
    )?;
    let key = input.key;
    let store2 = store.clone();
    let target_id = target_bucket.id.clone();
    let object = if shares {
        // The copy shares the source's bytes (docs/design.md, "Shared bytes").
        let shared = source.clone();
        blocking_map(
            move || store2.copy_object(&shared, &target_id, &key, meta, WriteCondition::None),
            put_error,
        )
        .await?
    } else {
        let into = match &encrypt {
            Some(how) => Some(store.new_data_key(how).map_err(s3_error)?),
            None => None,
        };
        blocking_map(
            move || {
                store2.copy_object_rewritten(
                    &entry,
                    &target_id,
                    &key,
                    meta,
                    WriteCondition::None,
                    into,
                )
            },
            put_error,
        )
        .await?
    };
    let shown = crate::sse::shown(object.meta.encryption.as_ref());
    Ok(CopyObjectOutput {
        server_side_encryption: shown.sse,
        sse_customer_algorithm: shown.algorithm,
        sse_customer_key_md5: shown.key_md5,
        ssekms_key_id: shown.kms_key_id,
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(object.etag.clone())),
            last_modified: Some(timestamp(object.created)),
            ..Default::default()
        }),
        copy_source_version_id: shown_version(&source_bucket, &source),
        version_id: written_version(&object),
        ..Default::default()
    })
}
