//! Static websites on the website hosts (`--website-domain`): `GET`/`HEAD` of
//! `http(s)://BUCKET.DOMAIN/PATH` serve the bucket's objects as S3's website endpoints do, for
//! buckets with a website configuration (`pier_edge::website`): a folder's index document,
//! `RedirectAllRequestsTo`, routing rules on a prefix (before reading) or an error code (after),
//! a folder asked for without its slash sent to it (302), an object uploaded with
//! `x-amz-website-redirect-location` sent there (301), the error document with status 404.
//! Only what anyone may read is served: an object the access engine would not give an
//! anonymous GET is 403, as on S3. Answers that are not objects are small HTML pages.

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use pier_edge::access::Access;
use pier_edge::website::{Origin, Route, Website};
use pier_store::{Readable, Store, StoreError};
use s3s::Body;

/// Every domain whose `BUCKET.DOMAIN` is a website host: the `--website-domain`s, and
/// `s3-website.D` for each S3 domain `D`, as AWS names its website endpoints.
pub fn hosting_domains(domains: &[String], website_domains: &[String]) -> Vec<String> {
    website_domains
        .iter()
        .cloned()
        .chain(domains.iter().map(|d| format!("s3-website.{d}")))
        .collect()
}

/// `host` without its `:port`.
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The bucket a custom domain's `Host` names on a website listener: the host itself, port
/// dropped, lower-case (`www.example.com` serves bucket `www.example.com`, as on S3).
pub fn bucket_named(host: &str) -> String {
    without_port(host).to_ascii_lowercase()
}

/// The bucket a website host names, if `host` (port ignored) is `BUCKET.DOMAIN` for one of
/// `domains`. Runs for every API request: it allocates only for a match.
pub fn bucket_of(host: &str, domains: &[String]) -> Option<String> {
    let name = without_port(host);
    domains.iter().find_map(|d| {
        let split = name.len().checked_sub(d.len() + 1)?;
        // A Host that is not ASCII never names a bucket (and must not split inside a char).
        let (bucket, dot_domain) = name.split_at_checked(split)?;
        (!bucket.is_empty()
            && dot_domain.starts_with('.')
            && dot_domain[1..].eq_ignore_ascii_case(d))
        .then(|| bucket.to_ascii_lowercase())
    })
}

fn page(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let body = format!(
        "<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n\
         <li>Code: {code}</li>\n<li>Message: {}</li>\n</ul>\n</body>\n</html>\n",
        message.replace('&', "&amp;").replace('<', "&lt;")
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(Bytes::from(body)))
        .expect("static parts are valid")
}

fn redirect(location: &str, code: u16) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::MOVED_PERMANENTLY))
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap_or_else(|_| {
            page(
                StatusCode::BAD_REQUEST,
                "InvalidRedirectLocation",
                "The redirect location is not a valid header.",
            )
        })
}

fn failed(e: impl std::fmt::Display) -> Response<Body> {
    tracing::error!(error = %e, "website: the store failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "The server failed; the cause is in its log.",
    )
}

/// What reading a key gave.
enum Found {
    Object(Box<Readable>),
    Missing,
    Denied,
}

/// Serves one request for `bucket`'s website.
pub async fn serve(
    store: &Store,
    access: &Access,
    bucket: &str,
    req: Request<Body>,
    secure: bool,
) -> Response<Body> {
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "A website answers GET and HEAD.",
        );
    }
    let host = pier_edge::request_host(req.headers(), req.uri())
        .unwrap_or("")
        .to_owned();
    let Ok(key) = pier_edge::percent::decode_utf8(req.uri().path().trim_start_matches('/')) else {
        return page(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "The path is not UTF-8.",
        );
    };
    let key = key.into_owned();
    let found = match store.bucket(bucket) {
        Ok(b) => b,
        Err(pier_store::BucketError::NoSuchBucket) => {
            return page(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist.",
            )
        }
        Err(e) => return failed(e),
    };
    let website: Website = match found.website.as_deref().map(serde_json::from_str) {
        Some(Ok(w)) => w,
        Some(Err(e)) => return failed(format!("bucket {bucket}: website configuration: {e}")),
        None => {
            return page(
                StatusCode::NOT_FOUND,
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration.",
            )
        }
    };
    let origin = Origin {
        scheme: if secure { "https" } else { "http" },
        host: &host,
    };
    let object_key = match website.route(&key, origin) {
        Route::Redirect(location, code) => return redirect(&location, code),
        Route::Object(k) => k,
    };
    let read = |k: String| {
        let (store, access, bucket_id, bucket) = (
            store.clone(),
            access.clone(),
            found.id.clone(),
            bucket.to_owned(),
        );
        async move {
            tokio::task::spawn_blocking(move || -> Result<Found, StoreError> {
                if !access.anyone_may_read(&bucket, &k, secure)? {
                    return Ok(Found::Denied);
                }
                match store.read_object(&bucket_id, &k) {
                    Ok(entry) => Ok(Found::Object(Box::new(entry))),
                    Err(pier_store::ReadError::NoSuchKey) => Ok(Found::Missing),
                    Err(e) => Err(e.into()),
                }
            })
            .await
            .map_err(|e| StoreError::Database(format!("website read task: {e}")))?
        }
    };
    match read(object_key.clone()).await {
        Ok(Found::Object(entry)) => {
            // An object uploaded with `x-amz-website-redirect-location` is a redirect (301).
            if let Some(location) = &entry.object.meta.website_redirect {
                return redirect(location, 301);
            }
            // An SSE-C object needs its customer's key, which no website request carries.
            if !entry.is_unlocked() {
                return page(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "The object was stored using a form of Server Side Encryption and cannot be served by a website.",
                );
            }
            return object(store, &entry, StatusCode::OK, &method, Some(req.headers()));
        }
        Ok(Found::Denied) => {
            if let Some(Route::Redirect(location, code)) = website.on_error(&key, 403, origin) {
                return redirect(&location, code);
            }
            return page(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
        }
        Ok(Found::Missing) => {}
        Err(e) => return failed(e),
    }
    // A folder asked for without its slash: sent to it when it has an index document.
    if let Some(index) = &website.index_suffix {
        if !key.is_empty() && !key.ends_with('/') {
            if let Ok(Found::Object(_)) = read(format!("{key}/{index}")).await {
                return redirect(&format!("/{key}/"), 302);
            }
        }
    }
    if let Some(Route::Redirect(location, code)) = website.on_error(&key, 404, origin) {
        return redirect(&location, code);
    }
    if let Some(error_key) = &website.error_key {
        if let Ok(Found::Object(entry)) = read(error_key.clone()).await {
            return object(store, &entry, StatusCode::NOT_FOUND, &method, None);
        }
    }
    page(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

/// The one range a `Range` header asks of `size` bytes, as (first, last); `Err` when it
/// cannot be satisfied. Several ranges, or a header that is not a byte range, ask the whole.
fn range_of(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(first), Some(last)) if first <= last => {
            Some((first, last.min(size.saturating_sub(1))))
        }
        (Some(first), None) if b.is_empty() => Some((first, size.saturating_sub(1))),
        (None, Some(n)) if a.is_empty() && n > 0 => {
            Some((size.saturating_sub(n), size.saturating_sub(1)))
        }
        _ => return Ok(None),
    };
    match range {
        Some((first, _)) if first >= size => Err(()),
        other => Ok(other),
    }
}

/// True when the client's copy is current (`If-None-Match` names the ETag, or without it,
/// `If-Modified-Since` is not before the last change).
fn not_modified(headers: &http::HeaderMap, etag: &str, modified: std::time::SystemTime) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(tags) = text(header::IF_NONE_MATCH) {
        return tags.split(',').any(|t| {
            t.trim() == "*" || t.trim().trim_start_matches("W/").trim_matches('"') == etag
        });
    }
    match text(header::IF_MODIFIED_SINCE).and_then(|d| httpdate::parse_http_date(d).ok()) {
        Some(since) => {
            let whole_seconds = modified
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| std::time::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()))
                .unwrap_or(modified);
            whole_seconds <= since
        }
        None => false,
    }
}

/// An object's bytes (none for HEAD) with its content headers, under `status`; with the
/// request's `headers` (for a 200), answers `304` to a current copy and `206` to one range.
fn object(
    store: &Store,
    entry: &Readable,
    status: StatusCode,
    method: &Method,
    headers: Option<&http::HeaderMap>,
) -> Response<Body> {
    let o = &entry.object;
    let modified =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(o.created.max(0) as u64);
    let etag = format!("\"{}\"", o.etag);
    if headers.is_some_and(|h| not_modified(h, &o.etag, modified)) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .header(header::LAST_MODIFIED, httpdate::fmt_http_date(modified))
            .body(Body::empty())
            .unwrap_or_else(failed);
    }
    let range = match headers
        .and_then(|h| h.get(header::RANGE))
        .and_then(|v| v.to_str().ok())
        .map(|v| range_of(v, o.size))
    {
        Some(Err(())) => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{}", o.size))
                .body(Body::empty())
                .unwrap_or_else(failed)
        }
        Some(Ok(r)) => r,
        None => None,
    };
    let (start, len, status) = match range {
        Some((first, last)) => (first, last - first + 1, StatusCode::PARTIAL_CONTENT),
        None => (0, o.size, status),
    };
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, httpdate::fmt_http_date(modified))
        .header(
            header::CONTENT_TYPE,
            o.meta
                .content_type
                .as_deref()
                .unwrap_or("binary/octet-stream"),
        );
    for (name, value) in [
        (header::CACHE_CONTROL, &o.meta.cache_control),
        (header::CONTENT_ENCODING, &o.meta.content_encoding),
        (header::CONTENT_LANGUAGE, &o.meta.content_language),
    ] {
        if let Some(v) = value
            .as_deref()
            .and_then(|v| http::HeaderValue::from_str(v).ok())
        {
            resp = resp.header(name, v);
        }
    }
    if let Some((first, last)) = range {
        resp = resp.header(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{}", o.size),
        );
    }
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        match store.stream(entry, start, len) {
            Ok(stream) => Body::from(s3s::stream::DynByteStream::from(
                s3s::dto::StreamingBlob::wrap(stream),
            )),
            Err(e) => return failed(e),
        }
    };
    resp.body(body).unwrap_or_else(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_hosts_name_their_bucket() {
        let domains = vec!["web.example".to_owned()];
        assert_eq!(
            bucket_of("blog.web.example", &domains).as_deref(),
            Some("blog")
        );
        assert_eq!(
            bucket_of("Blog.Web.Example:9000", &domains).as_deref(),
            Some("blog")
        );
        assert_eq!(
            bucket_of("a.b.web.example", &domains).as_deref(),
            Some("a.b")
        );
        assert_eq!(bucket_of("web.example", &domains), None);
        assert_eq!(bucket_of("blog.other.example", &domains), None);
        assert_eq!(bucket_of("é.web.example", &domains).as_deref(), Some("é"));
        assert_eq!(bucket_of("ééééééééééééé", &domains), None);
    }

    #[test]
    fn one_byte_range_is_served_and_others_ask_the_whole() {
        assert_eq!(range_of("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(range_of("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(range_of("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(range_of("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(range_of("bytes=100-", 100), Err(()));
        assert_eq!(range_of("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(range_of("items=0-1", 100), Ok(None));
    }

    #[test]
    fn a_custom_domain_is_its_bucket() {
        assert_eq!(bucket_named("WWW.Example.com:8080"), "www.example.com");
        assert_eq!(bucket_named("www.example.com"), "www.example.com");
    }
}
