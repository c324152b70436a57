//! pier's Backblaze B2 native API over the store: `/b2api/v2…v4/b2_*` and `/file/BUCKET/NAME`.
//!
//! - [`B2Api::handle`] routes a request; [`is_b2_path`] tells the front which requests are ours.
//! - [`token`]: stateless, HMAC-signed account, upload and download-authorization tokens.
//! - `buckets` and `files`: the calls; every error is B2's JSON (`error`).
//!
//! One bucket, two APIs: objects uploaded through S3 are files here and the other way round; a
//! file's `fileId` is the object's version id. Only the current version of a name is kept:
//! `b2_list_file_versions` lists current versions, and `b2_hide_file` removes the current version
//! (S3 then sees the key deleted) and answers with a hide marker.

mod buckets;
pub mod error;
mod files;
mod large;
pub mod token;

pub use error::{B2Error, B2Result};

use bytes::Bytes;
use http::{header, Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use pier_store::Store;
use s3s::Body;
use serde_json::Value;

/// The account id every response carries (one tenant per server).
pub const ACCOUNT_ID: &str = "pier";
/// Largest JSON request body read.
const MAX_JSON: usize = 1024 * 1024;

/// True when `path` belongs to the B2 API.
pub fn is_b2_path(path: &str) -> bool {
    path.starts_with("/b2api/") || path.starts_with("/file/")
}

/// The B2 API over a store.
#[derive(Clone, Debug)]
pub struct B2Api {
    store: Store,
}

/// What a handler sees of the request besides its body.
pub(crate) struct Call<'a> {
    pub store: &'a Store,
    /// `http://host:port` as the client addressed us; URLs we hand out point back here.
    pub base: String,
    pub method: &'a Method,
    pub headers: &'a http::HeaderMap,
    pub query: Vec<(String, String)>,
}

impl Call<'_> {
    /// The `Authorization` header (B2 sends the raw token).
    pub fn auth_header(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A new token for the access key `key_id`, signed with its secret.
    pub fn issue(&self, key_id: &str, scope: token::Scope, millis: i64) -> B2Result<String> {
        let key = self
            .store
            .key(key_id)?
            .ok_or_else(|| B2Error::new(401, "bad_auth_token", "the access key was deleted"))?;
        Ok(token::issue(key_id, &key.secret, scope, millis))
    }

    /// An account token from `Authorization`, verified.
    pub fn account(&self) -> B2Result<String> {
        let token = self
            .auth_header()
            .ok_or_else(|| B2Error::new(401, "bad_auth_token", "Missing Authorization header"))?;
        match token::verify(self.store, token)? {
            (key, token::Scope::Account) => Ok(key),
            _ => Err(B2Error::new(
                401,
                "unauthorized",
                "This token cannot be used for this call",
            )),
        }
    }
}

/// Decodes `%XX` escapes (B2 names are percent-encoded; `+` stays `+`); invalid UTF-8 becomes
/// U+FFFD. For what is stored, use [`percent_decode_strict`].
pub fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s)).into_owned()
}

/// Decodes `%XX` escapes, refusing a result that is not UTF-8 (a name must never be stored
/// other than it was sent).
pub fn percent_decode_strict(s: &str, what: &str) -> B2Result<String> {
    String::from_utf8(percent_decode_bytes(s))
        .map_err(|_| B2Error::bad_request(format!("{what} is not percent-encoded UTF-8")))
}

fn percent_decode_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Percent-encodes like b2sdk (`/` and unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// A JSON 200 response.
pub(crate) fn json(value: Value) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(Bytes::from(value.to_string())))
        .expect("static response parts are valid")
}

impl B2Api {
    /// Serves `store`.
    pub fn new(store: Store) -> Self {
        B2Api { store }
    }

    /// Answers one B2 request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        match self.route(req).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        }
    }

    async fn route(&self, req: Request<Incoming>) -> B2Result<Response<Body>> {
        let (parts, body) = req.into_parts();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let call = Call {
            store: &self.store,
            base: format!("http://{host}"),
            method: &parts.method,
            headers: &parts.headers,
            query: query_pairs(parts.uri.query()),
        };
        let path = parts.uri.path();
        if let Some(rest) = path.strip_prefix("/file/") {
            let (bucket, name) = rest.split_once('/').unwrap_or((rest, ""));
            return files::download_by_name(&call, &percent_decode(bucket), &percent_decode(name))
                .await;
        }
        let rest = path.strip_prefix("/b2api/").unwrap_or("");
        let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
        if !matches!(version, "v1" | "v2" | "v3" | "v4") {
            return Err(B2Error::new(
                404,
                "not_found",
                format!("unknown API version {version:?}"),
            ));
        }
        let (op, tail) = rest.split_once('/').unwrap_or((rest, ""));
        match op {
            "b2_upload_file" => return files::upload_file(&call, tail, body).await,
            "b2_upload_part" => return large::upload_part(&call, tail, body).await,
            "b2_download_file_by_id" if *call.method != Method::POST => {
                let id = call.query("fileId").unwrap_or("").to_owned();
                return files::download_by_id(&call, &id).await;
            }
            "b2_authorize_account" => return buckets::authorize(&call, version),
            _ => {}
        }
        let args = read_json(body, call.method, &call.query).await?;
        match op {
            "b2_create_bucket" => buckets::create(&call, &args).await,
            "b2_update_bucket" => buckets::update(&call, &args).await,
            "b2_list_buckets" => buckets::list(&call, &args),
            "b2_delete_bucket" => buckets::delete(&call, &args).await,
            "b2_get_upload_url" => files::get_upload_url(&call, &args),
            "b2_list_file_names" => files::list(&call, &args, false),
            "b2_list_file_versions" => files::list(&call, &args, true),
            "b2_get_file_info" => files::get_file_info(&call, &args),
            "b2_delete_file_version" => files::delete_file_version(&call, &args).await,
            "b2_hide_file" => files::hide_file(&call, &args).await,
            "b2_get_download_authorization" => files::get_download_authorization(&call, &args),
            "b2_start_large_file" => large::start(&call, &args).await,
            "b2_get_upload_part_url" => large::get_upload_part_url(&call, &args),
            "b2_list_parts" => large::list_parts(&call, &args),
            "b2_finish_large_file" => large::finish(&call, &args).await,
            "b2_cancel_large_file" => large::cancel(&call, &args).await,
            "b2_list_unfinished_large_files" => large::list_unfinished(&call, &args),
            "b2_copy_file" => large::copy(&call, &args).await,
            "b2_download_file_by_id" => {
                let id = args
                    .get("fileId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                files::download_by_id(&call, &id).await
            }
            other => Err(B2Error::new(
                400,
                "bad_request",
                format!("{other} is not supported by this server"),
            )),
        }
    }
}

/// The call's parameters: the JSON body of a POST, or the query string of a GET.
async fn read_json(body: Incoming, method: &Method, query: &[(String, String)]) -> B2Result<Value> {
    if *method == Method::GET {
        return Ok(Value::Object(
            query
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ));
    }
    let limited = http_body_util::Limited::new(body, MAX_JSON);
    let bytes = limited
        .collect()
        .await
        .map_err(|_| B2Error::bad_request("the request body is too large or incomplete"))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| B2Error::new(400, "bad_json", format!("the body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(B2Error::new(
            400,
            "bad_json",
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}

/// A required string parameter.
pub(crate) fn required<'a>(args: &'a Value, name: &str) -> B2Result<&'a str> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(B2Error::bad_request(format!(
            "{name} must be a string, not {other}"
        ))),
        None => Err(B2Error::bad_request(format!(
            "required field {name} is missing"
        ))),
    }
}
