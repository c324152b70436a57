//! Multipart uploads.

use crate::body;
use crate::checksum;
use crate::convert::timestamp;
use crate::error::{blocking, blocking_map, complete_error, part_error, s3_error};
use crate::objects::{check_preconditions, copy_bytes, copy_source, write_condition};
use pier_store::{Store, StoreError, S3_MIN_PART_SIZE};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

/// The checksums an s3s value names in its `checksum_*` fields (a part, a completion), as one
/// [`Checksum`].
macro_rules! checksums_of {
    ($x:expr) => {
        Checksum {
            checksum_crc32: $x.checksum_crc32.clone(),
            checksum_crc32c: $x.checksum_crc32c.clone(),
            checksum_crc64nvme: $x.checksum_crc64nvme.clone(),
            checksum_sha1: $x.checksum_sha1.clone(),
            checksum_sha256: $x.checksum_sha256.clone(),
            checksum_type: None,
        }
    };
}

/// Loads an upload and checks it belongs to `bucket`/`key`; with the bucket's owner.
fn upload_for(
    store: &Store,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> S3Result<(pier_store::Upload, String)> {
    let bucket = store.bucket(bucket).map_err(s3_error)?;
    let upload = store.upload(upload_id).map_err(s3_error)?;
    if upload.bucket_id != bucket.id || upload.key != key {
        return Err(s3_error(pier_store::StoreError::NoSuchUpload));
    }
    Ok((upload, bucket.owner.clone()))
}

/// The initiator S3 shows for an upload: pier keeps no initiator, and shows the bucket's owner.
fn initiator(account: &str) -> Initiator {
    Initiator {
        display_name: Some(account.into()),
        id: Some(account.into()),
    }
}

fn part_number(n: i32) -> S3Result<u32> {
    if (1..=10_000).contains(&n) {
        Ok(n as u32)
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

/// Records part `number` of an upload, its bytes already written (`blob`), off the async
/// runtime.
async fn put_part(
    store: &Store,
    upload_id: String,
    number: u32,
    blob: pier_store::WrittenBlob,
    checksum: Option<String>,
) -> S3Result<pier_store::Part> {
    let store = store.clone();
    blocking_map(
        move || store.put_part(&upload_id, number, blob, checksum),
        part_error,
    )
    .await
}

pub async fn create(
    store: &Store,
    input: CreateMultipartUploadInput,
    keys_allowed: bool,
) -> S3Result<CreateMultipartUploadOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    crate::convert::check_user_metadata(input.metadata.as_ref())?;
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let encrypt = crate::sse::requested(&bucket, crate::sse::server_headers!(input), customer)?;
    let mut meta = crate::convert::upload_meta!(&bucket, input);
    // The upload's data key is made now; every part is sealed under it.
    meta.encryption = match &encrypt {
        Some(how) => Some(store.new_data_key(how).map_err(s3_error)?.0),
        None => None,
    };
    let shown = crate::sse::shown(meta.encryption.as_ref());
    // Checked now rather than at completion, as S3 does (object lock never goes off again).
    if bucket.object_lock.is_none() && (meta.retention.is_some() || meta.legal_hold) {
        return Err(s3_error(pier_store::StoreError::LockNotEnabled));
    }
    match &input.checksum_algorithm {
        Some(a) => {
            let name = checksum::name_of(a)?;
            meta.checksum_type =
                Some(checksum::upload_type(name, input.checksum_type.as_ref())?.to_owned());
            meta.checksum_algorithm = Some(name.to_owned());
        }
        None if input.checksum_type.is_some() => {
            return Err(s3_error!(
                InvalidRequest,
                "A checksum type needs a checksum algorithm (x-amz-checksum-algorithm)."
            ))
        }
        None => {}
    }
    let algorithm = meta.checksum_algorithm.as_deref().map(checksum::algorithm);
    let kind = meta.checksum_type.clone().map(ChecksumType::from);
    let key = input.key.clone();
    let store = store.clone();
    let upload = blocking(move || Ok(store.create_upload(&bucket.id, &key, meta)?)).await?;
    Ok(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload.upload_id),
        checksum_algorithm: algorithm,
        checksum_type: kind,
        server_side_encryption: shown.sse,
        sse_customer_algorithm: shown.algorithm,
        sse_customer_key_md5: shown.key_md5,
        ssekms_key_id: shown.kms_key_id,
        ..Default::default()
    })
}

pub async fn upload_part(
    store: &Store,
    req: S3Request<UploadPartInput>,
) -> S3Result<UploadPartOutput> {
    let keys_allowed = crate::sse::keys_allowed(&req.extensions);
    let input = req.input;
    let number = part_number(input.part_number)?;
    let (upload, _) = upload_for(store, &input.bucket, &input.key, &input.upload_id)?;
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let sealing = crate::sse::upload_key(store, upload.meta.encryption.as_ref(), customer.as_ref())
        .map_err(crate::sse::part_key_error)?;
    let shown = crate::sse::shown(upload.meta.encryption.as_ref());
    let mut announced = crate::convert::announced!(input);
    // An upload started with an algorithm gets it computed for every part.
    let wanted = upload.meta.checksum_algorithm.clone();
    let algorithm = wanted.as_deref().map(checksum::algorithm);
    let mut hasher = announced.hasher(algorithm.as_ref().or(input.checksum_algorithm.as_ref()));
    if input.checksum_algorithm.is_some() && algorithm.is_some() {
        // A part may name the upload's algorithm again; it never replaces it.
        let named = input
            .checksum_algorithm
            .as_ref()
            .map(checksum::name_of)
            .transpose()?;
        if named != wanted.as_deref() {
            return Err(s3_error!(
                InvalidRequest,
                "The part's checksum algorithm differs from the upload's ({}).",
                wanted.as_deref().unwrap_or_default().to_ascii_uppercase()
            ));
        }
    }
    let blob = match body::receive(
        store,
        input.body,
        input.content_length,
        (false, sealing.as_ref()),
        &mut hasher,
    )
    .await?
    {
        pier_store::Payload::Blob(b) => b,
        pier_store::Payload::Inline { .. } => unreachable!("parts are never inline"),
    };
    announced.add_trailers(req.trailing_headers.and_then(|t| t.take()));
    let computed = hasher.finalize();
    if let Err(message) = announced.verify(&computed) {
        store
            .discard_payload(pier_store::Payload::Blob(blob))
            .map_err(s3_error)?;
        return Err(s3_error!(BadDigest, "{message}"));
    }
    if let Some(md5) = &input.content_md5 {
        use base64::Engine as _;
        let ok = base64::engine::general_purpose::STANDARD
            .decode(md5)
            .is_ok_and(|b| hex::encode(b) == blob.md5);
        if !ok {
            store
                .discard_payload(pier_store::Payload::Blob(blob))
                .map_err(s3_error)?;
            return Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ));
        }
    }
    let part_sum = wanted
        .as_deref()
        .and_then(|n| checksum::value_of(&computed, n));
    let part = put_part(store, input.upload_id, number, blob, part_sum).await?;
    Ok(UploadPartOutput {
        server_side_encryption: shown.sse,
        sse_customer_algorithm: shown.algorithm,
        sse_customer_key_md5: shown.key_md5,
        ssekms_key_id: shown.kms_key_id,
        e_tag: Some(ETag::Strong(part.etag)),
        checksum_crc32: computed.checksum_crc32,
        checksum_crc32c: computed.checksum_crc32c,
        checksum_sha1: computed.checksum_sha1,
        checksum_sha256: computed.checksum_sha256,
        checksum_crc64nvme: computed.checksum_crc64nvme,
        ..Default::default()
    })
}

/// Parses `bytes=first-last` (inclusive) of a copy-source range.
fn copy_range(range: &str, size: u64) -> S3Result<(u64, u64)> {
    let bad = || {
        s3_error!(InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
    };
    let spec = range.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if first > last || last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok((first, last - first + 1))
}

pub async fn upload_part_copy(
    store: &Store,
    input: UploadPartCopyInput,
    keys_allowed: bool,
) -> S3Result<UploadPartCopyOutput> {
    let number = part_number(input.part_number)?;
    let (upload, _) = upload_for(store, &input.bucket, &input.key, &input.upload_id)?;
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let source_customer =
        crate::sse::customer_key(crate::sse::copy_source_headers!(input), keys_allowed)?;
    let sealing = crate::sse::upload_key(store, upload.meta.encryption.as_ref(), customer.as_ref())
        .map_err(crate::sse::part_key_error)?;
    let shown = crate::sse::shown(upload.meta.encryption.as_ref());
    let (src_bucket, src_key, src_version) = copy_source(&input.copy_source)?;
    let source_bucket = store.bucket(&src_bucket).map_err(s3_error)?;
    // The source and its bytes from one snapshot; read again if they were reclaimed meanwhile.
    let mut attempt = 1;
    let (source, blob, part_sum) = loop {
        let mut source = crate::entry::read_entry(
            store,
            &source_bucket,
            (&src_key, src_version.as_deref()),
            crate::entry::ReadFor::CopySource,
        )?;
        crate::sse::unlock(&mut source, source_customer.as_ref()).map_err(s3_error)?;
        check_preconditions(
            &source.object,
            input.copy_source_if_match.as_ref(),
            input.copy_source_if_none_match.as_ref(),
            input.copy_source_if_modified_since.as_ref(),
            input.copy_source_if_unmodified_since.as_ref(),
            true,
        )?;
        let (start, len) = match &input.copy_source_range {
            Some(r) => copy_range(r, source.object.size)?,
            None => (0, source.object.size),
        };
        let copied = match copy_bytes(store, &source, (start, len), sealing.clone()).await {
            Err(StoreError::Reclaimed) if attempt < pier_store::READ_ATTEMPTS => {
                attempt += 1;
                continue;
            }
            other => other.map_err(s3_error)?,
        };
        let part_sum = match upload.meta.checksum_algorithm.clone() {
            Some(name) => Some(sum_of_bytes(store, &source, start, len, name).await?),
            None => None,
        };
        break (source.object, copied, part_sum);
    };
    let part = put_part(store, input.upload_id, number, blob, part_sum).await?;
    Ok(UploadPartCopyOutput {
        server_side_encryption: shown.sse,
        sse_customer_algorithm: shown.algorithm,
        sse_customer_key_md5: shown.key_md5,
        ssekms_key_id: shown.kms_key_id,
        copy_source_version_id: crate::objects::shown_version(&source_bucket, &source),
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag)),
            last_modified: Some(timestamp(part.created)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The checksum `name` of `len` bytes of `entry` from `start` (an UploadPartCopy into an
/// upload with an algorithm).
async fn sum_of_bytes(
    store: &Store,
    entry: &pier_store::Readable,
    start: u64,
    len: u64,
    name: String,
) -> S3Result<String> {
    let (store, entry) = (store.clone(), entry.clone());
    blocking(move || {
        let mut reader = store.reader(&entry, start, len);
        let mut h = checksum::hasher_for(&name);
        loop {
            let chunk = reader.next_chunk(1024 * 1024)?;
            if chunk.is_empty() {
                break;
            }
            h.update(&chunk);
        }
        Ok(checksum::value_of(&h.finalize(), &name).unwrap_or_default())
    })
    .await
}

/// A completion's answer about the object it made (also for a retried completion).
/// s3s's output has no SSE-C fields: they ride as headers, as S3 sends them.
fn completed(
    input: &CompleteMultipartUploadInput,
    object: pier_store::Object,
) -> S3Response<CompleteMultipartUploadOutput> {
    let customer = crate::sse::shown(object.meta.encryption.as_ref());
    let mut response = S3Response::new(completed_output(input, object));
    for (name, value) in [
        (
            "x-amz-server-side-encryption-customer-algorithm",
            customer.algorithm,
        ),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            customer.key_md5,
        ),
    ] {
        if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
            response.headers.insert(name, v);
        }
    }
    response
}

fn completed_output(
    input: &CompleteMultipartUploadInput,
    object: pier_store::Object,
) -> CompleteMultipartUploadOutput {
    let sums = match &object.meta.checksum_algorithm {
        Some(name) => checksum::only(name, object.meta.checksums.get(name).cloned()),
        None => Checksum::default(),
    };
    let shown = crate::sse::shown(object.meta.encryption.as_ref());
    CompleteMultipartUploadOutput {
        server_side_encryption: shown.sse,
        ssekms_key_id: shown.kms_key_id,
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        version_id: crate::objects::written_version(&object),
        e_tag: Some(ETag::Strong(object.etag.clone())),
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        checksum_crc32: sums.checksum_crc32,
        checksum_crc32c: sums.checksum_crc32c,
        checksum_crc64nvme: sums.checksum_crc64nvme,
        checksum_sha1: sums.checksum_sha1,
        checksum_sha256: sums.checksum_sha256,
        checksum_type: object.meta.checksum_type.clone().map(ChecksumType::from),
        ..Default::default()
    }
}

/// The whole-object checksum of a completion, for an upload started with an algorithm: each
/// listed part's stored checksum (a client's listed value must match it: `InvalidPart`),
/// combined as the upload's type says, and checked against the value the client sent for the
/// whole object (`BadDigest`).
fn completion_checksum(
    store: &Store,
    upload: &pier_store::Upload,
    input: &CompleteMultipartUploadInput,
    listed: &[CompletedPart],
) -> S3Result<Option<pier_store::PartsChecksum>> {
    let (Some(name), Some(kind)) = (&upload.meta.checksum_algorithm, &upload.meta.checksum_type)
    else {
        return Ok(None);
    };
    let stored = store
        .parts(&upload.upload_id, 0, 10_001)
        .map_err(s3_error)?;
    let mut parts = Vec::with_capacity(listed.len());
    for p in listed {
        let number = p.part_number.unwrap_or(0);
        let found = stored.iter().find(|s| s.part_number as i32 == number);
        let sum = found.and_then(|s| s.checksum.clone().map(|c| (c, s.size)));
        let Some((sum, size)) = sum else {
            return Err(s3_error!(
                InvalidPart,
                "Part {number} was not uploaded or has no {} checksum.",
                name.to_ascii_uppercase()
            ));
        };
        let given = checksum::value_of(&checksums_of!(p), name);
        if given.is_some_and(|g| g != sum) {
            return Err(s3_error!(
                InvalidPart,
                "The {} checksum listed for part {number} does not match the part's.",
                name.to_ascii_uppercase()
            ));
        }
        parts.push((sum, size));
    }
    let value = checksum::combine(name, kind, &parts)
        .ok_or_else(|| s3_error!(InvalidPart, "A part's stored checksum does not decode."))?;
    let announced = checksum::value_of(&checksums_of!(input), name);
    if announced.is_some_and(|a| a != value) {
        return Err(s3_error!(
            BadDigest,
            "The {} you specified for the object did not match the one computed from its parts.",
            name.to_ascii_uppercase()
        ));
    }
    Ok(Some(pier_store::PartsChecksum {
        algorithm: name.clone(),
        value,
        parts: parts.into_iter().map(|(c, _)| c).collect(),
    }))
}

pub async fn complete(
    store: &Store,
    input: CompleteMultipartUploadInput,
    keys_allowed: bool,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let upload = match upload_for(store, &input.bucket, &input.key, &input.upload_id) {
        Ok((u, _)) => u,
        Err(e) => {
            // Completing again (a retry) answers as the first completion did.
            let done = store
                .completed_upload(&input.upload_id)
                .map_err(s3_error)?
                .filter(|o| o.key == input.key);
            return match done {
                Some(object) => Ok(completed(&input, object)),
                None => Err(e),
            };
        }
    };
    // A completion of an SSE-C upload may name the key (AWS asks for it only with a checksum
    // algorithm or a policy; rclone sends none): a key named must be the upload's (400).
    let customer = crate::sse::customer_key(crate::sse::customer_headers!(input), keys_allowed)?;
    let sse_c = upload
        .meta
        .encryption
        .as_ref()
        .is_some_and(|e| e.mode == pier_crypto::Mode::SseC);
    if customer.is_some() || (sse_c && upload.meta.checksum_algorithm.is_some()) {
        crate::sse::upload_key(store, upload.meta.encryption.as_ref(), customer.as_ref())
            .map_err(crate::sse::part_key_error)?;
    }
    let listed = input
        .multipart_upload
        .as_ref()
        .and_then(|m| m.parts.clone())
        .unwrap_or_default();
    if listed.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "You must specify at least one part"
        ));
    }
    let sums = completion_checksum(store, &upload, &input, &listed)?;
    let mut parts = Vec::with_capacity(listed.len());
    for p in listed {
        let number = part_number(p.part_number.unwrap_or(0))?;
        let etag = p.e_tag.map(|e| e.value().to_owned()).ok_or_else(|| {
            s3_error!(
                InvalidPart,
                "Each part must carry its ETag (part {number})."
            )
        })?;
        parts.push((number, etag));
    }
    let condition = write_condition(input.if_match.as_ref(), input.if_none_match.as_ref());
    let upload_id = input.upload_id.clone();
    let store = store.clone();
    let object = blocking_map(
        move || store.complete_upload(&upload_id, parts, S3_MIN_PART_SIZE, condition, sums),
        complete_error,
    )
    .await?;
    Ok(completed(&input, object))
}

pub async fn abort(
    store: &Store,
    input: AbortMultipartUploadInput,
) -> S3Result<AbortMultipartUploadOutput> {
    upload_for(store, &input.bucket, &input.key, &input.upload_id)?;
    let store = store.clone();
    blocking(move || Ok(store.abort_upload(&input.upload_id)?)).await?;
    Ok(AbortMultipartUploadOutput::default())
}

pub fn list_parts(store: &Store, input: ListPartsInput) -> S3Result<ListPartsOutput> {
    let (upload, owner) = upload_for(store, &input.bucket, &input.key, &input.upload_id)?;
    let name = upload.meta.checksum_algorithm.clone();
    let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
    let after = input.part_number_marker.unwrap_or(0).max(0) as u32;
    let mut parts = store
        .parts(&input.upload_id, after, max + 1)
        .map_err(s3_error)?;
    let truncated = parts.len() > max;
    parts.truncate(max);
    let next = parts.last().map(|p| p.part_number as i32);
    Ok(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max as i32),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: if truncated { next } else { None },
        is_truncated: Some(truncated),
        owner: Some(crate::convert::owner(&owner)),
        initiator: Some(initiator(&owner)),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        checksum_algorithm: name.as_deref().map(checksum::algorithm),
        checksum_type: upload.meta.checksum_type.clone().map(ChecksumType::from),
        parts: Some(
            parts
                .into_iter()
                .map(|p| {
                    let sums = checksum::only(name.as_deref().unwrap_or(""), p.checksum);
                    Part {
                        part_number: Some(p.part_number as i32),
                        e_tag: Some(ETag::Strong(p.etag)),
                        size: Some(p.size as i64),
                        last_modified: Some(timestamp(p.created)),
                        checksum_crc32: sums.checksum_crc32,
                        checksum_crc32c: sums.checksum_crc32c,
                        checksum_crc64nvme: sums.checksum_crc64nvme,
                        checksum_sha1: sums.checksum_sha1,
                        checksum_sha256: sums.checksum_sha256,
                    }
                })
                .collect(),
        ),
        ..Default::default()
    })
}

pub fn list_uploads(
    store: &Store,
    input: ListMultipartUploadsInput,
) -> S3Result<ListMultipartUploadsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
    let prefix = input.prefix.clone().unwrap_or_default();
    let key_marker = input.key_marker.clone().unwrap_or_default();
    // Without an upload-id marker, S3 starts after every upload of the key marker.
    let id_marker = match &input.upload_id_marker {
        Some(id) => id.clone(),
        None if key_marker.is_empty() => String::new(),
        None => "\u{10ffff}".to_owned(),
    };
    let mut uploads = store
        .uploads(&bucket.id, &prefix, (&key_marker, &id_marker), max + 1)
        .map_err(s3_error)?;
    let truncated = uploads.len() > max;
    uploads.truncate(max);
    let last = uploads.last().cloned();
    Ok(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: last.as_ref().filter(|_| truncated).map(|u| u.key.clone()),
        next_upload_id_marker: last.filter(|_| truncated).map(|u| u.upload_id),
        uploads: Some(
            uploads
                .into_iter()
                .map(|u| MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.upload_id),
                    initiated: Some(timestamp(u.created)),
                    storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                    owner: Some(crate::convert::owner(&bucket.owner)),
                    initiator: Some(initiator(&bucket.owner)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    })
}
