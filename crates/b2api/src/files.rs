//! The file calls: upload, download (by name and id), listing, info, hide, delete, and
//! download authorizations.

use crate::args::{
    file_meta, ByBucket, ByFile, DeleteFileVersion, DownloadAuthorization, HideFile, ListFiles,
};
use crate::error::{blocking_err, missing_as, B2Error, B2ErrorKind, B2Result};
use crate::token::{self, Scope};
use crate::{json, percent_decode_strict, percent_encode, Call};
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;
use pier_access::Action;
use pier_store::{
    Bucket, ListQuery, Object, ObjectMeta, PayloadWriter, Readable, StoreError, VersionQuery,
    VersionRef, VersionStart, WriteCondition,
};
use s3s::Body;
use serde_json::{json, Value};

fn file_info(meta: &ObjectMeta) -> serde_json::Map<String, Value> {
    let mut info: serde_json::Map<String, Value> = meta
        .user
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    for (name, value) in [
        ("b2-content-disposition", &meta.content_disposition),
        ("b2-content-language", &meta.content_language),
        ("b2-expires", &meta.expires),
        ("b2-cache-control", &meta.cache_control),
        ("b2-content-encoding", &meta.content_encoding),
    ] {
        if let Some(v) = value {
            info.insert(name.into(), Value::from(v.as_str()));
        }
    }
    info
}

/// The checksum-metadata mark of a file uploaded with `X-Bz-Content-Sha1: do_not_verify`.
const UNVERIFIED: &str = "b2-sha1-unverified";

/// The `contentSha1` B2 reports: the hex SHA-1, `unverified:<sha1>` when the uploader asked not
/// to verify, `none` when unknown (large files).
fn content_sha1(o: &Object) -> String {
    match &o.sha1 {
        Some(s) if o.meta.checksums.contains_key(UNVERIFIED) => format!("unverified:{s}"),
        Some(s) => s.clone(),
        None => "none".into(),
    }
}

/// The file object B2 clients read, in a bucket of account `account`; a hide marker (an S3
/// delete marker too) is action `hide`.
pub(crate) fn file_json(o: &Object, account: &str) -> Value {
    if o.marker {
        return json!({
            "accountId": account,
            "action": "hide",
            "bucketId": o.bucket_id,
            "contentLength": 0,
            "size": 0,
            "contentSha1": "none",
            "contentMd5": null,
            "contentType": "application/x-bz-hide-marker",
            "fileId": o.version_id,
            "fileInfo": {},
            "fileName": o.key,
            "uploadTimestamp": o.created,
            "fileRetention": crate::file_lock::retention_json(o),
            "legalHold": crate::file_lock::legal_hold_json(o),
            "replicationStatus": null,
        });
    }
    let mut file = json!({
        "accountId": account,
        "action": "upload",
        "bucketId": o.bucket_id,
        "contentLength": o.size,
        // API v1's name for contentLength (rclone reads it).
        "size": o.size,
        "contentSha1": content_sha1(o),
        "contentMd5": (!o.etag.contains('-')).then_some(o.etag.as_str()),
        "contentType": o.meta.content_type.as_deref().unwrap_or("application/octet-stream"),
        "fileId": o.version_id,
        "fileInfo": file_info(&o.meta),
        "fileName": o.key,
        "uploadTimestamp": o.created,
        "fileRetention": crate::file_lock::retention_json(o),
        "legalHold": crate::file_lock::legal_hold_json(o),
        "replicationStatus": null,
    });
    if let Some(sse) = crate::sse::file_json(o.meta.encryption.as_ref()) {
        file["serverSideEncryption"] = sse;
    }
    file
}

pub(crate) fn get_upload_url(call: &Call<'_>, args: ByBucket) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    // Each upload's name is checked when it arrives; here, whether the key may write at all.
    let under = me.name_prefix.clone().unwrap_or_default();
    call.allow_object(&me, Action::PutObject, &bucket.name, &under)?;
    let token = call.issue(
        &me.id,
        Scope::Upload {
            b: bucket.id.clone(),
        },
        token::ACCOUNT_TOKEN_MILLIS,
    )?;
    Ok(json(json!({
        "bucketId": bucket.id,
        "uploadUrl": format!("{}/b2api/v4/b2_upload_file/{}", call.base, bucket.id),
        "authorizationToken": token,
    })))
}

/// B2's file-name rules (as b2sdk checks them).
pub(crate) fn check_file_name(name: &str) -> B2Result<()> {
    match pier_edge::names::b2_name_refusal(name) {
        Some(why) => Err(B2Error::bad_request(format!(
            "Invalid file name {name:?}: {why}"
        ))),
        None => Ok(()),
    }
}

/// A Content-Type for `b2/x-auto`, from the extension.
fn guess_type(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("txt") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

fn header<'a>(call: &'a Call<'_>, name: &str) -> Option<&'a str> {
    call.headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn upload_file(
    call: &Call<'_>,
    bucket_id: &str,
    mut body: Body,
) -> B2Result<Response<Body>> {
    let token = call
        .auth_header()
        .ok_or_else(|| B2Error::new(B2ErrorKind::BadAuthToken, "Missing Authorization header"))?;
    let me = match token::verify(call.store, token)? {
        (key, Scope::Upload { b }) if b == bucket_id => call.scope_of(&key)?,
        (key, Scope::Account) => call.scope_of(&key)?,
        _ => {
            return Err(B2Error::new(
                B2ErrorKind::Unauthorized,
                "This token cannot upload to this bucket",
            ))
        }
    };
    let bucket = call.store.bucket_by_id(bucket_id)?;
    let name = percent_decode_strict(
        header(call, "x-bz-file-name")
            .ok_or_else(|| B2Error::bad_request("Missing header: X-Bz-File-Name"))?,
        "X-Bz-File-Name",
    )?;
    check_file_name(&name)?;
    call.allow_object(&me, Action::PutObject, &bucket.name, &name)?;
    let length: u64 = header(call, "content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| B2Error::bad_request("Missing header: Content-Length"))?;
    let sha1_header = header(call, "x-bz-content-sha1")
        .ok_or_else(|| B2Error::bad_request("Missing header: X-Bz-Content-Sha1"))?;
    let digits_at_end = sha1_header == "hex_digits_at_end";
    let expected_sha1 = match sha1_header {
        "do_not_verify" | "hex_digits_at_end" => None,
        h if h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(h.to_ascii_lowercase())
        }
        h => {
            return Err(B2Error::bad_request(format!(
                "X-Bz-Content-Sha1 must be 40 hex digits, not {h:?}"
            )))
        }
    };
    let data_len = if digits_at_end {
        length.checked_sub(40).ok_or_else(|| {
            B2Error::bad_request("Content-Length is too short for hex_digits_at_end")
        })?
    } else {
        length
    };
    let content_type = match header(call, "content-type") {
        Some("b2/x-auto") | None => guess_type(&name).to_owned(),
        Some(t) => t.to_owned(),
    };
    let mut infos = Vec::new();
    for (hname, value) in call.headers {
        let Some(info) = hname.as_str().strip_prefix("x-bz-info-") else {
            continue;
        };
        let value = percent_decode_strict(
            value.to_str().map_err(|_| {
                B2Error::bad_request("file info values must be ASCII (percent-encoded)")
            })?,
            "an X-Bz-Info-* value",
        )?;
        infos.push((info.to_owned(), value));
    }
    let mut meta = file_meta(Some(content_type), infos)?;
    let lock = crate::file_lock::upload_headers(call)?;
    crate::file_lock::allow_upload_lock(call, &me, &bucket.name, &name, lock)?;
    (meta.retention, meta.legal_hold) = lock;
    if sha1_header == "do_not_verify" {
        meta.checksums.insert(UNVERIFIED.into(), "true".into());
    }
    let writer = match crate::sse::upload_from_headers(call, &bucket)? {
        Some(how) => {
            let (envelope, key) = call.store.new_data_key(&how)?;
            meta.encryption = Some(envelope);
            call.store.new_sealed_payload(Some(data_len), &key)?
        }
        None => call.store.new_payload(Some(data_len))?,
    };
    let (writer, tail) = receive_body(&mut body, writer, length, digits_at_end).await?;
    let store = call.store.clone();
    let payload = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(blocking_err)??;
    let expected = match (expected_sha1, digits_at_end) {
        (Some(h), _) => Some(h),
        (None, true) => Some(String::from_utf8_lossy(&tail).to_ascii_lowercase()),
        (None, false) => None,
    };
    if let Some(expected) = expected {
        if Some(expected.as_str()) != payload.sha1() {
            store.discard_payload(payload)?;
            return Err(B2Error::bad_request("Sha1 did not match data received"));
        }
    }
    let bucket_id = bucket.id.clone();
    let object = tokio::task::spawn_blocking(move || {
        store.put_object(&bucket_id, &name, payload, meta, WriteCondition::None)
    })
    .await
    .map_err(blocking_err)??;
    Ok(json(file_json(&object, &bucket.owner)))
}

/// Streams an upload body of `length` bytes into `writer`. With `digits_at_end` the last 40
/// bytes are the SHA-1 (hex), held back and returned instead of written.
pub(crate) async fn receive_body(
    body: &mut Body,
    mut writer: PayloadWriter,
    length: u64,
    digits_at_end: bool,
) -> B2Result<(PayloadWriter, Vec<u8>)> {
    let mut tail: Vec<u8> = Vec::new();
    let mut received: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if pier_edge::is_body_stall(&*e) {
                B2Error::new(B2ErrorKind::RequestTimeout, e.to_string())
            } else {
                B2Error::bad_request("the upload ended before Content-Length bytes")
            }
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        received += chunk.len() as u64;
        if digits_at_end {
            tail.extend_from_slice(&chunk);
            if tail.len() > 40 {
                let cut = tail.len() - 40;
                writer.write(&tail[..cut])?;
                tail.drain(..cut);
            }
        } else {
            writer.write_bytes(chunk)?;
        }
    }
    if received != length {
        return Err(B2Error::bad_request(format!(
            "received {received} bytes, Content-Length said {length}"
        )));
    }
    Ok((writer, tail))
}

/// May the caller download `name` from `bucket`? Without a token, what the bucket grants
/// anyone (`allPublic`, a policy for `"*"`). With a token (the `Authorization` header or query
/// parameter): an account token's key decides, and a download authorization allows its
/// bucket and name prefix while the key that issued it still works.
fn check_download(call: &Call<'_>, bucket: &Bucket, name: &str) -> B2Result<()> {
    let Some(token) = call.auth_header().or_else(|| call.query("Authorization")) else {
        return call.allow(
            None,
            Action::GetObject,
            Some(&bucket.name),
            Some(name),
            None,
        );
    };
    match token::verify(call.store, token)? {
        (key, Scope::Account) => {
            let me = call.scope_of(&key)?;
            call.allow_object(&me, Action::GetObject, &bucket.name, name)
        }
        (key, Scope::Download { b, p }) if b == bucket.id && name.starts_with(&p) => {
            call.scope_of(&key).map(drop)
        }
        _ => Err(B2Error::new(
            B2ErrorKind::Unauthorized,
            "This token does not allow downloading this file",
        )),
    }
}

pub(crate) async fn download_by_name(
    call: &Call<'_>,
    bucket: &str,
    name: &str,
) -> B2Result<Response<Body>> {
    let bucket = call.store.bucket(bucket).map_err(missing_as(|| {
        B2Error::new(
            B2ErrorKind::NotFound,
            format!("Bucket {bucket} does not exist"),
        )
    }))?;
    check_download(call, &bucket, name)?;
    let key = crate::sse::customer_from_headers(call)?;
    // The file and its bytes from one snapshot; read again if its bytes were reclaimed before
    // they were opened (`docs/design.md`, "Reading").
    let mut attempt = 1;
    loop {
        let mut entry = call
            .store
            .read_object(&bucket.id, name)
            .map_err(missing_as(|| {
                B2Error::new(
                    B2ErrorKind::NotFound,
                    format!("File with such name does not exist: {name}"),
                )
            }))?;
        crate::sse::unlock(&mut entry, key.as_ref())?;
        match serve(call, &entry) {
            Err(Served::Reclaimed) if attempt < pier_store::READ_ATTEMPTS => attempt += 1,
            Err(Served::Reclaimed) => return Err(StoreError::Reclaimed.into()),
            Err(Served::Failed(e)) => return Err(e),
            Ok(response) => return Ok(response),
        }
    }
}

pub(crate) async fn download_by_id(call: &Call<'_>, id: &str) -> B2Result<Response<Body>> {
    let not_found = || B2Error::new(B2ErrorKind::NotFound, format!("File not present: {id}"));
    let key = crate::sse::customer_from_headers(call)?;
    let mut entry = call
        .store
        .read_by_version(id)
        .map_err(missing_as(not_found))?;
    if entry.object.marker {
        return Err(not_found());
    }
    let bucket = call.store.bucket_by_id(&entry.object.bucket_id)?;
    // A refusal names the bucket: only a caller of the bucket's own account hears it; anyone
    // else is told what a missing id gets.
    if let Err(e) = check_download(call, &bucket, &entry.object.key) {
        let own = call
            .auth_header()
            .or_else(|| call.query("Authorization"))
            .and_then(|t| token::verify(call.store, t).ok())
            .and_then(|(key, _)| call.store.key(&key).ok().flatten())
            .is_some_and(|k| k.account == bucket.owner);
        return Err(if own { e } else { not_found() });
    }
    crate::sse::unlock(&mut entry, key.as_ref())?;
    match serve(call, &entry) {
        Ok(response) => Ok(response),
        // That version is gone since it was read.
        Err(Served::Reclaimed) => Err(not_found()),
        Err(Served::Failed(e)) => Err(e),
    }
}

/// Why a download could not be answered.
enum Served {
    /// The entry's bytes were reclaimed after it was read: read it again.
    Reclaimed,
    /// Any other failure, as B2 answers it.
    Failed(B2Error),
}

impl From<B2Error> for Served {
    fn from(e: B2Error) -> Served {
        Served::Failed(e)
    }
}

/// Parses a single `bytes=` range against `size`: `Ok(None)` without one, or with several (the
/// whole file is sent).
fn range(call: &Call<'_>, size: u64) -> B2Result<Option<(u64, u64)>> {
    let Some(spec) = header(call, "range") else {
        return Ok(None);
    };
    let unsatisfiable = || {
        B2Error::new(
            B2ErrorKind::RangeNotSatisfiable,
            format!("The range {spec:?} is not satisfiable for {size} bytes"),
        )
    };
    let r = spec.strip_prefix("bytes=").ok_or_else(unsatisfiable)?;
    // Several ranges: the whole file, as S3 answers them (and clients fall back on a 200).
    if r.contains(',') {
        return Ok(None);
    }
    let (a, b) = r.split_once('-').ok_or_else(unsatisfiable)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| unsatisfiable())?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (
            a.parse().map_err(|_| unsatisfiable())?,
            size.saturating_sub(1),
        ),
        (a, b) => (
            a.parse().map_err(|_| unsatisfiable())?,
            b.parse::<u64>()
                .map_err(|_| unsatisfiable())?
                .min(size.saturating_sub(1)),
        ),
    };
    if start >= size || start > end {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

fn serve(call: &Call<'_>, entry: &Readable) -> Result<Response<Body>, Served> {
    let o = &entry.object;
    let range = range(call, o.size)?;
    let (start, len) = match range {
        Some((a, b)) => (a, b - a + 1),
        None => (0, o.size),
    };
    let mut resp = Response::builder()
        .status(if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_LENGTH, len)
        .header(
            header::CONTENT_TYPE,
            o.meta
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        )
        .header(header::ACCEPT_RANGES, "bytes")
        .header("x-bz-file-id", &o.version_id)
        .header("x-bz-file-name", percent_encode(&o.key))
        .header("x-bz-content-sha1", content_sha1(o))
        .header("x-bz-upload-timestamp", o.created.to_string());
    if let Some((a, b)) = range {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{}", o.size));
    }
    for (name, value) in [
        (header::CONTENT_DISPOSITION, &o.meta.content_disposition),
        (header::CONTENT_LANGUAGE, &o.meta.content_language),
        (header::EXPIRES, &o.meta.expires),
        (header::CACHE_CONTROL, &o.meta.cache_control),
        (header::CONTENT_ENCODING, &o.meta.content_encoding),
    ] {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            resp = resp.header(name, v);
        }
    }
    for (k, v) in &o.meta.user {
        resp = resp.header(format!("x-bz-info-{k}"), percent_encode(v));
    }
    for (name, value) in crate::sse::download_headers(o.meta.encryption.as_ref()) {
        resp = resp.header(name, value);
    }
    let body = if *call.method == Method::HEAD {
        Body::empty()
    } else {
        let stream = match call.store.stream(entry, start, len) {
            Err(StoreError::Reclaimed) => return Err(Served::Reclaimed),
            other => other.map_err(B2Error::from)?,
        };
        Body::from(s3s::stream::DynByteStream::from(
            s3s::dto::StreamingBlob::wrap(stream),
        ))
    };
    Ok(resp.body(body).map_err(B2Error::internal)?)
}

fn folder_json(bucket: &pier_store::Bucket, name: &str) -> Value {
    json!({"accountId": bucket.owner, "action": "folder", "bucketId": bucket.id, "contentLength": 0, "size": 0,
           "contentSha1": null, "contentType": null, "fileId": null, "fileInfo": {}, "fileName": name, "uploadTimestamp": 0})
}

pub(crate) fn list(call: &Call<'_>, args: ListFiles, versions: bool) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let action = if versions {
        Action::ListBucketVersions
    } else {
        Action::ListBucket
    };
    call.allow(Some(&me), action, Some(&bucket.name), None, Some(&prefix))?;
    let max = match args.max_file_count {
        None => 100,
        Some(n @ 1..=10_000) => n as usize,
        Some(_) => {
            return Err(B2Error::new(
                B2ErrorKind::OutOfRange,
                "maxFileCount out of range: use 1 to 10000",
            ))
        }
    };
    if versions {
        return list_versions(call, &bucket, args, max);
    }
    let page = call.store.list(
        &bucket.id,
        &ListQuery {
            prefix: args.prefix.unwrap_or_default(),
            delimiter: args.delimiter.filter(|d| !d.is_empty()),
            start_after: args.start_file_name.filter(|s| !s.is_empty()),
            start_inclusive: true,
            max_keys: max,
        },
    )?;
    let mut files: Vec<(String, Value)> = page
        .objects
        .iter()
        .map(|o| (o.key.clone(), file_json(o, &bucket.owner)))
        .collect();
    files.extend(
        page.common_prefixes
            .iter()
            .map(|p| (p.clone(), folder_json(&bucket, p))),
    );
    files.sort_by(|a, b| a.0.cmp(&b.0));
    // The next page starts just after the last entry returned (`\0` sorts before any legal name character).
    let next = page
        .truncated
        .then(|| page.next.map(|n| format!("{n}\u{0}")))
        .flatten();
    Ok(json(
        json!({ "files": files.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), "nextFileName": next }),
    ))
}

/// `b2_list_file_versions`: every version and hide marker, by name then newest first; a page
/// ends naming the next entry (`nextFileName` + `nextFileId`), where the next page starts.
fn list_versions(
    call: &Call<'_>,
    bucket: &Bucket,
    args: ListFiles,
    max: usize,
) -> B2Result<Response<Body>> {
    let start_name = args.start_file_name.filter(|s| !s.is_empty());
    let start = match (start_name, args.start_file_id.filter(|s| !s.is_empty())) {
        (None, None) => VersionStart::Beginning,
        (None, Some(_)) => {
            return Err(B2Error::bad_request(
                "startFileId is only allowed together with startFileName",
            ))
        }
        (Some(name), None) => VersionStart::FromKey(name),
        (Some(name), Some(id)) => VersionStart::FromVersion(name, id),
    };
    let page = call.store.list_versions(
        &bucket.id,
        &VersionQuery {
            prefix: args.prefix.unwrap_or_default(),
            delimiter: args.delimiter.filter(|d| !d.is_empty()),
            start,
            max_keys: max,
        },
    )?;
    // Entries and folders merge in name order (each folder sorts where its first name would).
    let mut files: Vec<(String, usize, Value)> = page
        .entries
        .iter()
        .enumerate()
        .map(|(i, o)| (o.key.clone(), i, file_json(o, &bucket.owner)))
        .collect();
    files.extend(
        page.common_prefixes
            .iter()
            .map(|p| (p.clone(), 0, folder_json(bucket, p))),
    );
    files.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let (next_name, next_id) = match (&page.next, &page.last) {
        (Some(n), _) => (Some(n.key.clone()), Some(n.version_id.clone())),
        (None, Some((name, None))) if page.truncated => (Some(format!("{name}\u{0}")), None),
        _ => (None, None),
    };
    Ok(json(json!({
        "files": files.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
        "nextFileName": next_name,
        "nextFileId": next_id,
    })))
}

pub(crate) fn get_file_info(call: &Call<'_>, args: ByFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let o = call.store.object_by_version(&args.file_id)?;
    let bucket = call.store.bucket_by_id(&o.bucket_id)?;
    call.allow_by_id(&me, Action::GetObject, &bucket, &o.key, || {
        StoreError::NoSuchKey.into()
    })?;
    Ok(json(file_json(&o, &bucket.owner)))
}

pub(crate) async fn delete_file_version(
    call: &Call<'_>,
    args: DeleteFileVersion,
) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let (name, id) = (args.file_name, args.file_id);
    let not_present = || {
        B2Error::new(
            B2ErrorKind::FileNotPresent,
            format!("File not present: {name} {id}"),
        )
    };
    let o = call
        .store
        .object_by_version(&id)
        .map_err(missing_as(not_present))?;
    // Access first: whether the name matches says something about the file.
    let bucket = call.store.bucket_by_id(&o.bucket_id)?;
    call.allow_by_id(
        &me,
        Action::DeleteObjectVersion,
        &bucket,
        &o.key,
        not_present,
    )?;
    if o.key != name {
        return Err(not_present());
    }
    let bypass = args.bypass_governance;
    if bypass {
        call.allow_object(&me, Action::BypassGovernanceRetention, &bucket.name, &o.key)?;
    }
    let store = call.store.clone();
    let (bucket_id, key, which) = (
        o.bucket_id.clone(),
        o.key.clone(),
        VersionRef::Id(id.clone()),
    );
    let removed =
        tokio::task::spawn_blocking(move || store.delete_version(&bucket_id, &key, which, bypass))
            .await
            .map_err(blocking_err)??;
    if removed.is_none() {
        return Err(not_present());
    }
    Ok(json(json!({"fileId": id, "fileName": name})))
}

/// `b2_hide_file`: a hide marker on top of the file's versions (in a bucket S3 never made
/// versioned, the file is deleted instead, as S3's DELETE does there).
pub(crate) async fn hide_file(call: &Call<'_>, args: HideFile) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    let name = args.file_name;
    // Hiding writes a marker: B2 asks for writeFiles.
    call.allow_object(&me, Action::PutObject, &bucket.name, &name)?;
    // In a bucket that does not keep every version (one S3 made, or suspended), hiding removes
    // the file's bytes (or its null version): that is a delete, decided as one (deleteFiles, and
    // a policy's Deny of s3:DeleteObject applies).
    if bucket.versioning != pier_store::Versioning::Enabled {
        call.allow_object(&me, Action::DeleteObject, &bucket.name, &name)?;
    }
    match call.store.top(&bucket.id, &name)? {
        None => {
            return Err(B2Error::new(
                B2ErrorKind::NoSuchFile,
                format!("File not present: {name}"),
            ))
        }
        Some(top) if top.marker => {
            return Err(B2Error::new(
                B2ErrorKind::AlreadyHidden,
                format!("File already hidden: {name}"),
            ))
        }
        Some(_) => {}
    }
    let store = call.store.clone();
    let bucket_id = bucket.id.clone();
    let key = name.clone();
    let removal = tokio::task::spawn_blocking(move || store.delete_object(&bucket_id, &key))
        .await
        .map_err(blocking_err)??;
    match (removal.marker, removal.removed) {
        (Some(marker), _) => Ok(json(file_json(&marker, &bucket.owner))),
        (None, Some(removed)) => {
            // Nothing is kept: the answer describes a marker that was never stored.
            let mut shown = removed.clone();
            shown.marker = true;
            shown.version_id = uuid::Uuid::new_v4().simple().to_string();
            shown.created = pier_store::now_millis();
            Ok(json(file_json(&shown, &bucket.owner)))
        }
        (None, None) => Err(B2Error::new(
            B2ErrorKind::NoSuchFile,
            format!("File not present: {name}"),
        )),
    }
}

pub(crate) fn get_download_authorization(
    call: &Call<'_>,
    args: DownloadAuthorization,
) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    let prefix = args.file_name_prefix;
    // A token can only share what the key may read itself: its prefix must lie inside the
    // key's namePrefix.
    call.allow_object(&me, Action::ShareFiles, &bucket.name, &prefix)?;
    let secs = args.valid_duration_in_seconds;
    if !(1..=604_800).contains(&secs) {
        return Err(B2Error::bad_request(
            "validDurationInSeconds must be 1 to 604800",
        ));
    }
    let token = call.issue(
        &me.id,
        Scope::Download {
            b: bucket.id.clone(),
            p: prefix.clone(),
        },
        secs * 1000,
    )?;
    Ok(json(
        json!({"bucketId": bucket.id, "fileNamePrefix": prefix, "authorizationToken": token}),
    ))
}
