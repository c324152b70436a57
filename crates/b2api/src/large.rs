//! Large files (B2's multipart uploads) and b2_copy_file, on the store's multipart machinery:
//! a large file's `fileId` while unfinished is the upload id; finishing checks each part's SHA-1
//! and completes without copying bytes.

use crate::args::{
    file_meta, ByFile, CopyFile, FinishLargeFile, ListParts, ListUnfinished, StartLargeFile,
};
use crate::error::{blocking_err, missing_as, B2Error, B2ErrorKind, B2Result};
use crate::files::file_json;
use crate::token::{self, Scope};
use crate::{json, Call};
use http::Response;
use pier_access::{Action, KeyScope};
use pier_store::StoreError;
use pier_store::{Payload, Upload, WriteCondition};
use s3s::Body;
use serde_json::{json, Value};

/// B2's smallest part (all but the last).
const MIN_PART: u64 = 5_000_000;

/// The file object of a large file in progress, in a bucket of account `account`.
fn start_json(u: &Upload, account: &str) -> Value {
    let info: serde_json::Map<String, Value> = u
        .meta
        .user
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    json!({
        "accountId": account, "action": "start", "bucketId": u.bucket_id, "contentLength": 0, "size": 0,
        "contentSha1": "none", "contentType": u.meta.content_type.as_deref().unwrap_or("application/octet-stream"),
        "fileId": u.upload_id, "fileInfo": info, "fileName": u.key, "uploadTimestamp": u.created,
        "fileRetention": {"isClientAuthorizedToRead": true, "value": {"mode": null}},
        "legalHold": {"isClientAuthorizedToRead": true, "value": null},
    })
}

fn upload(call: &Call<'_>, file_id: &str) -> B2Result<Upload> {
    call.store.upload(file_id).map_err(missing_as(|| {
        B2Error::bad_request(format!("No active upload for: {file_id}"))
    }))
}

/// Asks the engine whether `me` may `action` on the large file `up` (its bucket and name); to
/// another account's key, a refusal reads as an unknown file id.
fn allow_on(call: &Call<'_>, me: &KeyScope, action: Action, up: &Upload) -> B2Result<()> {
    let bucket = call.store.bucket_by_id(&up.bucket_id)?;
    call.allow_by_id(me, action, &bucket, &up.key, || {
        B2Error::bad_request(format!("No active upload for: {}", up.upload_id))
    })
}

pub(crate) async fn start(call: &Call<'_>, args: StartLargeFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    let name = args.file_name;
    crate::files::check_file_name(&name)?;
    call.allow_object(&me, Action::PutObject, &bucket.name, &name)?;
    let content_type = Some(args.content_type).filter(|t| t != "b2/x-auto");
    let mut meta = file_meta(content_type, args.file_info.unwrap_or_default())?;
    let lock =
        crate::file_lock::body_lock(args.file_retention.as_ref(), args.legal_hold.as_deref())?;
    crate::file_lock::allow_upload_lock(call, &me, &bucket.name, &name, lock)?;
    if bucket.object_lock.is_none() && (lock.0.is_some() || lock.1) {
        return Err(pier_store::StoreError::LockNotEnabled.into());
    }
    (meta.retention, meta.legal_hold) = lock;
    let asked = crate::sse::from_json(
        call,
        args.server_side_encryption.as_ref(),
        "serverSideEncryption",
    )?;
    // The large file's data key is made now; every part is sealed under it.
    if let Some(how) = crate::sse::new_file(&bucket, asked) {
        meta.encryption = Some(call.store.new_data_key(&how)?.0);
    }
    let store = call.store.clone();
    let bucket_id = bucket.id.clone();
    let up = tokio::task::spawn_blocking(move || store.create_upload(&bucket_id, &name, meta))
        .await
        .map_err(blocking_err)??;
    Ok(json(start_json(&up, &bucket.owner)))
}

pub(crate) fn get_upload_part_url(call: &Call<'_>, args: ByFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let up = upload(call, &args.file_id)?;
    allow_on(call, &me, Action::PutObject, &up)?;
    let token = call.issue(
        &me.id,
        Scope::Upload {
            b: up.bucket_id.clone(),
        },
        token::ACCOUNT_TOKEN_MILLIS,
    )?;
    Ok(json(json!({
        "fileId": up.upload_id,
        "uploadUrl": format!("{}/b2api/v4/b2_upload_part/{}", call.base, up.upload_id),
        "authorizationToken": token,
    })))
}

pub(crate) async fn upload_part(
    call: &Call<'_>,
    file_id: &str,
    mut body: Body,
) -> B2Result<Response<Body>> {
    let up = upload(call, file_id)?;
    let token = call
        .auth_header()
        .ok_or_else(|| B2Error::new(B2ErrorKind::BadAuthToken, "Missing Authorization header"))?;
    let me = match token::verify(call.store, token)? {
        (key, Scope::Upload { b }) if b == up.bucket_id => call.scope_of(&key)?,
        (key, Scope::Account) => call.scope_of(&key)?,
        _ => {
            return Err(B2Error::new(
                B2ErrorKind::Unauthorized,
                "This token cannot upload to this file",
            ))
        }
    };
    allow_on(call, &me, Action::PutObject, &up)?;
    let header = |n: &str| call.headers.get(n).and_then(|v| v.to_str().ok());
    let number: u32 = header("x-bz-part-number")
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| B2Error::bad_request("X-Bz-Part-Number must be 1 to 10000"))?;
    let length: u64 = header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| B2Error::bad_request("Missing header: Content-Length"))?;
    let sha1 = header("x-bz-content-sha1")
        .ok_or_else(|| B2Error::bad_request("Missing header: X-Bz-Content-Sha1"))?
        .to_ascii_lowercase();
    let digits_at_end = sha1 == "hex_digits_at_end";
    // The part's own bytes: the 40 hex digits at the end are its SHA-1, not data.
    let data_len = length.checked_sub(if digits_at_end { 40 } else { 0 });
    let key = crate::sse::customer_from_headers(call)?;
    let writer = match &up.meta.encryption {
        Some(envelope) => {
            if envelope.mode != pier_crypto::Mode::SseC && key.is_some() {
                return Err(StoreError::NotCustomerEncrypted.into());
            }
            let data_key = call.store.open_envelope(envelope, key.as_ref())?;
            call.store.new_sealed_part_payload(data_len, &data_key)?
        }
        None if key.is_some() => return Err(StoreError::NotCustomerEncrypted.into()),
        None => call.store.new_part_payload(data_len, true)?,
    };
    let (writer, tail) =
        crate::files::receive_body(&mut body, writer, length, digits_at_end).await?;
    let Payload::Blob(blob) = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(blocking_err)??
    else {
        return Err(B2Error::internal("a part was kept inline"));
    };
    let expected = if digits_at_end {
        String::from_utf8_lossy(&tail).to_ascii_lowercase()
    } else {
        sha1
    };
    if expected != "do_not_verify" && Some(&expected) != blob.sha1.as_ref() {
        call.store.discard_payload(Payload::Blob(blob))?;
        return Err(B2Error::bad_request("Sha1 did not match data received"));
    }
    let store = call.store.clone();
    let id = up.upload_id.clone();
    let part = tokio::task::spawn_blocking(move || store.put_part(&id, number, blob, None))
        .await
        .map_err(blocking_err)??;
    Ok(json(json!({
        "fileId": up.upload_id, "partNumber": part.part_number, "contentLength": part.size,
        "contentSha1": part.sha1, "contentMd5": part.etag, "uploadTimestamp": part.created,
    })))
}

pub(crate) fn list_parts(call: &Call<'_>, args: ListParts) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let up = upload(call, &args.file_id)?;
    allow_on(call, &me, Action::ListMultipartUploadParts, &up)?;
    let start = match args.start_part_number {
        None => 1,
        Some(n @ 1..=10_000) => n as u32,
        Some(n) => {
            return Err(B2Error::bad_request(format!(
                "startPartNumber must be 1 to 10000, not {n}"
            )))
        }
    };
    let max = args.max_part_count.unwrap_or(1000).clamp(1, 1000) as usize;
    let mut parts = call.store.parts(&up.upload_id, start - 1, max + 1)?;
    let next = (parts.len() > max).then(|| parts[max].part_number);
    parts.truncate(max);
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| {
            // A part uploaded through S3 has no SHA-1 yet: B2's word for that is "none".
            json!({"fileId": up.upload_id, "partNumber": p.part_number, "contentLength": p.size,
                        "contentSha1": p.sha1.as_deref().unwrap_or("none"), "contentMd5": p.etag,
                        "uploadTimestamp": p.created})
        })
        .collect();
    Ok(json(json!({"parts": parts, "nextPartNumber": next})))
}

pub(crate) async fn finish(call: &Call<'_>, args: FinishLargeFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let up = upload(call, &args.file_id)?;
    allow_on(call, &me, Action::PutObject, &up)?;
    let sha1s: Vec<String> = args
        .part_sha1_array
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let mut parts = call.store.parts(&up.upload_id, 0, 10_001)?;
    if parts.iter().any(|p| p.sha1.is_none()) {
        // Parts uploaded through S3 carry no SHA-1: computed now, from their bytes.
        let store = call.store.clone();
        parts = tokio::task::spawn_blocking(move || -> B2Result<Vec<pier_store::Part>> {
            parts
                .into_iter()
                .map(|mut p| {
                    p.sha1 = Some(store.part_sha1(&p)?);
                    Ok(p)
                })
                .collect()
        })
        .await
        .map_err(blocking_err)??;
    }
    let mut listed = Vec::with_capacity(sha1s.len());
    for (i, sha1) in sha1s.iter().enumerate() {
        let n = i as u32 + 1;
        let part = parts.iter().find(|p| p.part_number == n).ok_or_else(|| {
            B2Error::new(
                B2ErrorKind::MissingPart,
                format!("Part number {n} has not been uploaded"),
            )
        })?;
        if part.sha1.as_ref() != Some(sha1) {
            return Err(B2Error::new(
                B2ErrorKind::PartSha1Mismatch,
                format!("Part number {n} has wrong SHA1"),
            ));
        }
        listed.push((n, part.etag.clone()));
    }
    let store = call.store.clone();
    let id = up.upload_id.clone();
    let object = tokio::task::spawn_blocking(move || {
        store.complete_upload(&id, listed, MIN_PART, WriteCondition::None, None)
    })
    .await
    .map_err(blocking_err)??;
    Ok(json(file_json(
        &object,
        &call.store.bucket_by_id(&object.bucket_id)?.owner,
    )))
}

pub(crate) async fn cancel(call: &Call<'_>, args: ByFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let up = upload(call, &args.file_id)?;
    allow_on(call, &me, Action::AbortMultipartUpload, &up)?;
    let store = call.store.clone();
    let id = up.upload_id.clone();
    tokio::task::spawn_blocking(move || store.abort_upload(&id))
        .await
        .map_err(blocking_err)??;
    Ok(json(
        json!({"fileId": up.upload_id, "accountId": call.store.bucket_by_id(&up.bucket_id)?.owner, "bucketId": up.bucket_id, "fileName": up.key}),
    ))
}

pub(crate) fn list_unfinished(call: &Call<'_>, args: ListUnfinished) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    let prefix = args.name_prefix.unwrap_or_default();
    call.allow(
        Some(&me),
        Action::ListBucketMultipartUploads,
        Some(&bucket.name),
        None,
        Some(&prefix),
    )?;
    let max = args.max_file_count.unwrap_or(100).clamp(1, 100) as usize;
    let uploads = call.store.uploads(&bucket.id, &prefix, ("", ""), max + 1)?;
    let next = (uploads.len() > max).then(|| uploads[max].upload_id.clone());
    let files: Vec<Value> = uploads
        .iter()
        .take(max)
        .map(|u| start_json(u, &bucket.owner))
        .collect();
    Ok(json(json!({"files": files, "nextFileId": next})))
}

pub(crate) async fn copy(call: &Call<'_>, args: CopyFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let source_key = crate::sse::asked_key(crate::sse::from_json(
        call,
        args.source_server_side_encryption.as_ref(),
        "sourceServerSideEncryption",
    )?);
    let asked = crate::sse::from_json(
        call,
        args.destination_server_side_encryption.as_ref(),
        "destinationServerSideEncryption",
    )?;
    // A ranged copy reads the source's bytes: the entry and its bytes from one snapshot.
    let mut entry = call.store.read_by_version(&args.source_file_id)?;
    crate::sse::unlock(&mut entry, source_key.as_ref())?;
    let source = entry.object.clone();
    if source.marker {
        return Err(B2Error::bad_request("A hide marker cannot be copied"));
    }
    let name = args.file_name;
    crate::files::check_file_name(&name)?;
    let source_bucket = call.store.bucket_by_id(&source.bucket_id)?;
    call.allow_by_id(&me, Action::GetObject, &source_bucket, &source.key, || {
        StoreError::NoSuchKey.into()
    })?;
    let destination = match &args.destination_bucket_id {
        Some(id) => call.store.bucket_by_id(id)?,
        None => source_bucket,
    };
    call.allow_object(&me, Action::PutObject, &destination.name, &name)?;
    let bucket_id = destination.id.clone();
    let range = match args.range.as_deref() {
        None => None,
        Some(r) => {
            let bad = || B2Error::new(B2ErrorKind::RangeNotSatisfiable, format!("bad range {r:?}"));
            let (a, b) = r
                .strip_prefix("bytes=")
                .and_then(|r| r.split_once('-'))
                .ok_or_else(bad)?;
            let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a > b || b >= source.size {
                return Err(bad());
            }
            Some((a, b - a + 1))
        }
    };
    let lock =
        crate::file_lock::body_lock(args.file_retention.as_ref(), args.legal_hold.as_deref())?;
    crate::file_lock::allow_upload_lock(call, &me, &destination.name, &name, lock)?;
    let mut meta = match args.metadata_directive.as_deref().unwrap_or("COPY") {
        "COPY" => source.meta.clone(),
        "REPLACE" => {
            let content_type = args.content_type.ok_or_else(|| {
                B2Error::bad_request("contentType is required with metadataDirective REPLACE")
            })?;
            file_meta(Some(content_type), args.file_info.unwrap_or_default())?
        }
        other => {
            return Err(B2Error::bad_request(format!(
                "metadataDirective must be COPY or REPLACE, not {other:?}"
            )))
        }
    };
    // A copy's lock is its own, never the source's.
    (meta.retention, meta.legal_hold) = lock;
    let encrypt = crate::sse::new_file(&destination, asked);
    let shares =
        range.is_none() && pier_store::same_encryption(entry.encryption(), encrypt.as_ref());
    // A copy that shares the source's bytes keeps their data key; only bytes written again
    // need a new one.
    let into = match &encrypt {
        Some(how) if !shares => Some(call.store.new_data_key(how)?),
        _ => None,
    };
    let store = call.store.clone();
    let object = tokio::task::spawn_blocking(move || -> B2Result<pier_store::Object> {
        let Some((start, len)) = range else {
            if shares {
                // The whole file, encrypted as its source: the copy shares its bytes.
                return Ok(store.copy_object(
                    &source,
                    &bucket_id,
                    &name,
                    meta,
                    WriteCondition::None,
                )?);
            }
            return Ok(store.copy_object_rewritten(
                &entry,
                &bucket_id,
                &name,
                meta,
                WriteCondition::None,
                into,
            )?);
        };
        // Reclaimed meanwhile: that version is gone, so the copy has no source.
        let blob = store.copy_bytes(&entry, start, len, into.as_ref().map(|(_, k)| k))?;
        let mut meta = meta;
        meta.encryption = into.map(|(envelope, _)| envelope);
        Ok(store.put_object(
            &bucket_id,
            &name,
            Payload::Blob(blob),
            meta,
            WriteCondition::None,
        )?)
    })
    .await
    .map_err(blocking_err)??;
    Ok(json(file_json(
        &object,
        &call.store.bucket_by_id(&object.bucket_id)?.owner,
    )))
}
