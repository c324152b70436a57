//! Objects: browsing by prefix as folders (paged), details with versions, share links
//! (presigned GETs on the API port: object bytes are never served on the dashboard's origin),
//! deleting files and whole prefixes, and the upload endpoints `assets/app.js` uses (one
//! request for small files; multipart, part by part, for large ones).

use crate::auth::{header_token, Page, Signed};
use crate::buckets::{blocking, nav, versioning_name, visibility_name};
use crate::extract::{InBucket, PostedToBucket};
use crate::views::{
    render, size, time, Crumb, ObjectPage, ObjectRow, ObjectsPage, SharePage, VersionRow,
};
use crate::Dashboard;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use futures_util::StreamExt;
use http::{header, HeaderMap, StatusCode};
use pier_access::Action;
use pier_store::{ListQuery, ObjectMeta, VersionQuery, WriteCondition, S3_MIN_PART_SIZE};
use serde::Deserialize;

/// Entries per page when browsing.
const PAGE: usize = 100;

#[derive(Deserialize)]
pub(crate) struct BrowseQuery {
    #[serde(default)]
    prefix: String,
    after: Option<String>,
    /// Also list the keys here whose current entry is a delete marker (B2's hidden files).
    #[serde(default)]
    hidden: Option<String>,
}

pub(crate) async fn browse(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, Page> {
    // A key limited to a name prefix starts where it may look.
    if let Some(own) = who.scope.name_prefix.as_deref() {
        if !q.prefix.starts_with(own) {
            let to = format!(
                "/b/{bucket}?prefix={}",
                pier_edge::percent::encode(own, pier_edge::percent::UNRESERVED)
            );
            return Ok(Redirect::to(&to).into_response());
        }
    }
    who.allow(&d, Action::ListBucket, Some(&bucket), None, Some(&q.prefix))?;
    let b = d.store().bucket(&bucket).map_err(Page::store)?;
    let show_hidden = q.hidden.as_deref() == Some("1");
    let hidden: Vec<Crumb> = if show_hidden {
        let (store, id, prefix) = (d.store().clone(), b.id.clone(), q.prefix.clone());
        let versions = blocking(move || {
            store
                .list_versions(
                    &id,
                    &VersionQuery {
                        prefix,
                        delimiter: Some("/".into()),
                        max_keys: 1000,
                        ..Default::default()
                    },
                )
                .map_err(Page::store)
        })
        .await?;
        versions
            .entries
            .iter()
            .filter(|e| e.marker && e.is_current())
            .map(|e| Crumb {
                label: e.key[q.prefix.len()..].to_owned(),
                prefix: e.key.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let store = d.store().clone();
    let (id, prefix, after) = (b.id.clone(), q.prefix.clone(), q.after.clone());
    let page = blocking(move || {
        store
            .list(
                &id,
                &ListQuery {
                    prefix,
                    delimiter: Some("/".into()),
                    start_after: after,
                    start_inclusive: false,
                    max_keys: PAGE,
                },
            )
            .map_err(Page::store)
    })
    .await?;
    let mut crumbs = Vec::new();
    let mut acc = String::new();
    for part in q.prefix.split_inclusive('/') {
        acc.push_str(part);
        crumbs.push(Crumb {
            label: part.trim_end_matches('/').to_owned(),
            prefix: acc.clone(),
        });
    }
    let folders = page
        .common_prefixes
        .iter()
        .map(|p| Crumb {
            label: p[q.prefix.len()..].to_owned(),
            prefix: p.clone(),
        })
        .collect();
    let objects = page
        .objects
        .iter()
        .map(|o| ObjectRow {
            name: o.key[q.prefix.len()..].to_owned(),
            key: o.key.clone(),
            size: size(o.size),
            modified: time(o.created),
        })
        .collect();
    Ok(render(&ObjectsPage {
        can_write: who.may(&d, Action::PutObject, Some(&bucket)),
        nav: nav(&d, &who),
        visibility: visibility_name(b.public),
        versioning: versioning_name(b.versioning),
        show_hidden,
        hidden,
        prefix: q.prefix,
        next: page.next.filter(|_| page.truncated),
        bucket,
        crumbs,
        folders,
        objects,
    }))
}

#[derive(Deserialize)]
pub(crate) struct KeyQuery {
    key: String,
}

pub(crate) async fn details(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
    Query(q): Query<KeyQuery>,
) -> Result<Response, Page> {
    who.allow(&d, Action::GetObject, Some(&bucket), Some(&q.key), None)?;
    let b = d.store().bucket(&bucket).map_err(Page::store)?;
    let store = d.store().clone();
    let (id, key) = (b.id.clone(), q.key.clone());
    let (object, history) = blocking(move || {
        // A key whose current entry is a delete marker still has a page: its versions.
        let object = match store.object(&id, &key) {
            Ok(o) => Some(o),
            Err(pier_store::FindError::NoSuchKey) => None,
            Err(e) => return Err(Page::store(e)),
        };
        let history = store
            .list_versions(
                &id,
                &VersionQuery {
                    prefix: key.clone(),
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .map_err(Page::store)?;
        Ok((object, history))
    })
    .await?;
    let deleted = object.is_none();
    let Some(object) = object.or_else(|| {
        history
            .entries
            .iter()
            .find(|e| e.key == q.key && !e.marker)
            .cloned()
    }) else {
        return Err(Page::store(pier_store::StoreError::NoSuchKey));
    };
    let m = &object.meta;
    let mut meta: Vec<(String, String)> = m
        .user
        .iter()
        .map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone()))
        .collect();
    for (name, value) in [
        ("Content-Encoding", &m.content_encoding),
        ("Content-Disposition", &m.content_disposition),
        ("Cache-Control", &m.cache_control),
    ] {
        if let Some(v) = value {
            meta.push((name.into(), v.clone()));
        }
    }
    meta.push((
        "Encryption at rest".into(),
        match &m.encryption {
            Some(e) if e.mode == pier_crypto::Mode::SseS3 => {
                "SSE-S3 / SSE-B2 (AES-256, server-managed key)".into()
            }
            Some(e) if e.mode == pier_crypto::Mode::SseKms => {
                format!("SSE-KMS (AES-256, the key ring's key {})", e.key_id)
            }
            Some(e) => format!(
                "SSE-C (AES-256, the customer's key, MD5 {}): only requests that send that key can read it, so a share link cannot",
                e.key_id
            ),
            None => "none (stored as sent)".into(),
        },
    ));
    let versions = history
        .entries
        .iter()
        .filter(|e| e.key == q.key)
        .map(|e| VersionRow {
            id: e.s3_version_id().to_owned(),
            marker: e.marker,
            current: e.is_current(),
            size: size(e.size),
            modified: time(e.created),
            lock: crate::views::lock_state(&e.meta),
        })
        .collect();
    Ok(render(&ObjectPage {
        nav: nav(&d, &who),
        deleted,
        size: size(object.size),
        etag: object.etag.clone(),
        sha1: object.sha1.clone().unwrap_or_else(|| "—".into()),
        content_type: m
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        modified: time(object.created),
        meta,
        versions,
        bucket,
        key: q.key,
    }))
}

#[derive(Deserialize)]
pub(crate) struct ShareForm {
    key: String,
    expires: u64,
}

/// `http(s)://HOST:API_PORT` for the host name the browser used to reach the dashboard
/// (`Host`, or HTTP/2's `:authority`).
fn api_endpoint(d: &Dashboard, headers: &HeaderMap, uri: &http::Uri) -> String {
    let host = pier_edge::request_host(headers, uri).unwrap_or("127.0.0.1");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    format!(
        "{}://{name}:{}",
        d.config().api_scheme(),
        d.config().api_port
    )
}

/// A GET of `bucket`/`key` (with `query`, a version say) presigned with the signed-in key, on
/// the API's address as the browser reaches the dashboard, valid `expires` seconds.
pub(crate) fn presigned_get(
    d: &Dashboard,
    who: &Signed,
    (headers, uri): (&HeaderMap, &http::Uri),
    (bucket, key): (&str, &str),
    query: Vec<(String, String)>,
    expires: u64,
) -> Result<String, Page> {
    let signer = d
        .store()
        .key(&who.session.key_id)
        .map_err(Page::store)?
        .ok_or_else(|| Page::new(StatusCode::UNAUTHORIZED, "Your key was deleted."))?;
    let endpoint = api_endpoint(d, headers, uri);
    pier_edge::presign::presign_url(&pier_edge::presign::Presign {
        endpoint: &endpoint,
        method: "GET",
        bucket,
        key,
        query,
        content_type: None,
        expires,
        access_key: &signer.access_key,
        secret_key: &signer.secret,
        region: &d.config().region,
        now: std::time::SystemTime::now(),
    })
    .map_err(|e| Page::new(StatusCode::BAD_REQUEST, e))
}

pub(crate) async fn share(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    uri: http::Uri,
    PostedToBucket { who, bucket, form }: PostedToBucket<ShareForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::GetObject, Some(&bucket), Some(&form.key), None)?;
    let url = presigned_get(
        &d,
        &who,
        (&headers, &uri),
        (&bucket, &form.key),
        vec![],
        form.expires,
    )?;
    Ok(render(&SharePage {
        nav: nav(&d, &who),
        url,
        expires: time(pier_store::now_millis() + form.expires as i64 * 1000),
        bucket,
        key: form.key,
    }))
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    key: Option<String>,
    prefix: Option<String>,
    confirm: Option<String>,
}

/// Deletes one object, or every object under a prefix (typed confirmation: the prefix, or the
/// bucket's name for the whole bucket). In a versioned bucket a delete adds a marker, as S3's.
pub(crate) async fn delete(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<DeleteForm>,
) -> Result<Response, Page> {
    let b = d.store().bucket(&bucket).map_err(Page::store)?;
    if let Some(key) = form.key {
        who.allow(&d, Action::DeleteObject, Some(&bucket), Some(&key), None)?;
        let store = d.store().clone();
        let id = b.id.clone();
        blocking(move || store.delete_object(&id, &key).map_err(Page::store)).await?;
        return Ok(Redirect::to(&format!("/b/{bucket}")).into_response());
    }
    let prefix = form.prefix.unwrap_or_default();
    let expected = if prefix.is_empty() { &bucket } else { &prefix };
    if form.confirm.as_deref() != Some(expected.as_str()) {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "Type the prefix (or, for the whole bucket, its name) exactly to delete everything under it.",
        ));
    }
    who.allow(&d, Action::ListBucket, Some(&bucket), None, Some(&prefix))?;
    loop {
        let store = d.store().clone();
        let (id, p) = (b.id.clone(), prefix.clone());
        let page = blocking(move || {
            store
                .list(
                    &id,
                    &ListQuery {
                        prefix: p,
                        max_keys: 1000,
                        ..Default::default()
                    },
                )
                .map_err(Page::store)
        })
        .await?;
        for o in &page.objects {
            who.allow(&d, Action::DeleteObject, Some(&bucket), Some(&o.key), None)?;
        }
        let store = d.store().clone();
        let id = b.id.clone();
        let keys: Vec<String> = page.objects.into_iter().map(|o| o.key).collect();
        let done = keys.is_empty();
        blocking(move || {
            for k in keys {
                store.delete_object(&id, &k).map_err(Page::store)?;
            }
            Ok(())
        })
        .await?;
        if done || !page.truncated {
            break;
        }
    }
    Ok(Redirect::to(&format!("/b/{bucket}")).into_response())
}

/// An upload API error: plain text with its status, for `app.js` to show (not a page).
pub(crate) struct ApiError(Page);

impl From<Page> for ApiError {
    fn from(page: Page) -> ApiError {
        ApiError(page)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0.status, self.0.message).into_response()
    }
}

/// The body's length as its `Content-Length` declares it (the server holds the body to it).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

/// Streams a request body into a writer (off the async runtime for each write).
async fn receive(
    body: Body,
    mut write: impl FnMut(bytes::Bytes) -> pier_store::Result<()>,
) -> Result<(), Page> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("the upload broke off: {e}"),
            )
        })?;
        tokio::task::block_in_place(|| write(chunk)).map_err(Page::store)?;
    }
    Ok(())
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Refuses a name B2 would not create (the dashboard serves buckets of both APIs, so it makes
/// only names both carry).
fn check_name(name: &str) -> Result<(), Page> {
    match pier_edge::names::b2_name_refusal(name) {
        Some(why) => Err(Page::new(
            StatusCode::BAD_REQUEST,
            format!("The name {name:?} cannot be used: {why}."),
        )),
        None => Ok(()),
    }
}

/// The bucket an upload of `key` goes to, once the request's form token, the caller's right to
/// put `key` there and the name itself are checked.
fn upload_target(
    d: &Dashboard,
    who: &Signed,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<pier_store::Bucket>, Page> {
    who.check_csrf(header_token(headers))?;
    who.allow(d, Action::PutObject, Some(bucket), Some(key), None)?;
    check_name(key)?;
    d.store().bucket(bucket).map_err(Page::store)
}

/// `PUT /api/b/{bucket}/object?key=`: one request, the body streamed to the store.
pub(crate) async fn upload(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b = upload_target(&d, &who, &bucket, &q.key, &headers)?;
    let declared = declared_length(&headers);
    // A bucket with default encryption gets its uploads encrypted, as over the APIs.
    let sealing = default_sealing(&d, &b)?;
    let mut writer = match &sealing {
        Some((_, key)) => d.store().new_sealed_payload(declared, key),
        None => d.store().new_payload(declared),
    }
    .map_err(Page::store)?;
    receive(body, |c| writer.write_bytes(c)).await?;
    let payload = tokio::task::block_in_place(|| writer.finish()).map_err(Page::store)?;
    let meta = ObjectMeta {
        content_type: content_type(&headers),
        encryption: sealing.map(|(envelope, _)| envelope),
        ..Default::default()
    };
    let store = d.store().clone();
    let key = q.key.clone();
    let object = blocking(move || {
        store
            .put_object(&b.id, &key, payload, meta, WriteCondition::None)
            .map_err(Page::store)
    })
    .await?;
    Ok(Json(serde_json::json!({ "etag": object.etag })))
}

/// `POST /api/b/{bucket}/uploads?key=`: starts a multipart upload.
pub(crate) async fn start_upload(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b = upload_target(&d, &who, &bucket, &q.key, &headers)?;
    let meta = ObjectMeta {
        content_type: content_type(&headers),
        encryption: default_sealing(&d, &b)?.map(|(envelope, _)| envelope),
        ..Default::default()
    };
    let store = d.store().clone();
    let key = q.key.clone();
    let upload =
        blocking(move || store.create_upload(&b.id, &key, meta).map_err(Page::store)).await?;
    Ok(Json(serde_json::json!({ "uploadId": upload.upload_id })))
}

/// A new data key and its envelope when `bucket` has default encryption.
fn default_sealing(
    d: &Dashboard,
    bucket: &pier_store::Bucket,
) -> Result<Option<(pier_crypto::Envelope, pier_crypto::DataKey)>, Page> {
    match &bucket.encryption {
        Some(default) => d
            .store()
            .new_data_key(&default.encrypt())
            .map(Some)
            .map_err(Page::store),
        None => Ok(None),
    }
}

/// The upload `id` of `bucket`, checked against the caller's access to its key.
fn upload_of(
    d: &Dashboard,
    who: &Signed,
    bucket: &str,
    id: &str,
) -> Result<pier_store::Upload, Page> {
    let b = d.store().bucket(bucket).map_err(Page::store)?;
    let upload = d.store().upload(id).map_err(Page::store)?;
    if upload.bucket_id != b.id {
        return Err(Page::new(StatusCode::NOT_FOUND, "No such upload."));
    }
    who.allow(d, Action::PutObject, Some(bucket), Some(&upload.key), None)?;
    Ok(upload)
}

/// `PUT /api/b/{bucket}/uploads/{upload}/{part}`: one part, streamed.
pub(crate) async fn upload_part(
    State(d): State<Dashboard>,
    who: Signed,
    Path((bucket, upload, part)): Path<(String, String, u32)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.check_csrf(header_token(&headers))?;
    if !(1..=10_000).contains(&part) {
        return Err(Page::new(StatusCode::BAD_REQUEST, "Part numbers run from 1 to 10000.").into());
    }
    let started = upload_of(&d, &who, &bucket, &upload)?;
    // A part of an encrypted upload is sealed under the upload's key.
    let mut writer = match &started.meta.encryption {
        Some(envelope) => {
            let key = d
                .store()
                .open_envelope(envelope, None)
                .map_err(Page::store)?;
            d.store()
                .new_sealed_part_payload(declared_length(&headers), &key)
        }
        None => d.store().new_part_payload(declared_length(&headers), false),
    }
    .map_err(Page::store)?;
    receive(body, |c| writer.write_bytes(c)).await?;
    let pier_store::Payload::Blob(blob) =
        tokio::task::block_in_place(|| writer.finish()).map_err(Page::store)?
    else {
        return Err(Page::internal("a part of an upload was kept inline").into());
    };
    let store = d.store().clone();
    let part = blocking(move || {
        store
            .put_part(&upload, part, blob, None)
            .map_err(Page::store)
    })
    .await?;
    Ok(Json(serde_json::json!({ "etag": part.etag })))
}

#[derive(Deserialize)]
pub(crate) struct Completion {
    parts: Vec<(u32, String)>,
}

/// `POST /api/b/{bucket}/uploads/{upload}/complete`: `{"parts": [[1, "etag"], ...]}`.
pub(crate) async fn complete_upload(
    State(d): State<Dashboard>,
    who: Signed,
    Path((bucket, upload)): Path<(String, String)>,
    headers: HeaderMap,
    Json(completion): Json<Completion>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.check_csrf(header_token(&headers))?;
    upload_of(&d, &who, &bucket, &upload)?;
    let store = d.store().clone();
    let object = blocking(move || {
        store
            .complete_upload(
                &upload,
                completion.parts,
                S3_MIN_PART_SIZE,
                WriteCondition::None,
                None,
            )
            .map_err(|e| match e {
                pier_store::CompleteError::Storage(s) => Page::store(s),
                other => Page::new(StatusCode::BAD_REQUEST, other.to_string()),
            })
    })
    .await?;
    Ok(Json(serde_json::json!({ "etag": object.etag })))
}
