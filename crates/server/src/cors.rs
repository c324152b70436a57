//! The CORS layer, outside everything: preflights (`OPTIONS`) are answered from the bucket's
//! rules before authentication (s3s never sees them), and every other response to a request
//! carrying `Origin` gets the matched rule's headers, errors included, so a page can read the
//! real status. Caches never mix origins: `Vary` is set wherever the answer depends on them.

use crate::fixes::xml_response;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use pier_cors::{CorsConfig, CorsHeaders, CorsRequest, Decision, Endpoint, Refusal, VARY};
use pier_s3::service::VirtualHosts;
use pier_store::{Bucket, Store};
use s3s::Body;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What the layer needs of a request, kept after the request itself moves on to s3s.
#[derive(Clone, Debug, Default)]
pub struct CorsFacts {
    /// Which API surface and kind of URL; `None` for B2 calls that CORS does not cover.
    endpoint: Option<Endpoint>,
    /// A B2 preflight presented a token in the `Authorization` query parameter.
    b2_query_token: Option<String>,
    method: String,
    origin: Option<String>,
    request_method: Option<String>,
    request_headers: Option<String>,
    bucket: Option<String>,
    has_key: bool,
}

fn header_str<B>(req: &Request<B>, name: HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Compiled rules by bucket name, with the bucket revision they were compiled at.
type CompiledRules = HashMap<String, (i64, Option<Arc<CorsConfig>>)>;

/// Evaluates bucket CORS rules for S3 requests.
pub struct CorsLayer {
    store: Store,
    hosts: VirtualHosts,
    /// Rules are compiled once per bucket revision, not per request.
    compiled: RwLock<CompiledRules>,
}

impl CorsLayer {
    /// A layer over `store`'s buckets, addressed path-style or under `hosts`.
    pub fn new(store: Store, hosts: VirtualHosts) -> Self {
        CorsLayer {
            store,
            hosts,
            compiled: RwLock::new(HashMap::new()),
        }
    }

    /// The facts of `req`: its CORS headers and which bucket (and whether a key) it addresses.
    pub fn facts<B>(&self, req: &Request<B>) -> CorsFacts {
        if pier_b2::is_b2_path(req.uri().path()) {
            return self.b2_facts(req);
        }
        let path = req.uri().path().trim_start_matches('/');
        let host = header_str(req, header::HOST).unwrap_or_default();
        let (bucket, has_key) = match self.hosts.bucket_of(host) {
            Some(b) => (Some(b.to_owned()), !path.is_empty()),
            None => match path.split_once('/') {
                Some((b, rest)) => (Some(b.to_owned()), !rest.is_empty()),
                None => ((!path.is_empty()).then(|| path.to_owned()), false),
            },
        };
        CorsFacts {
            endpoint: Some(Endpoint::S3),
            b2_query_token: None,
            method: req.method().as_str().to_owned(),
            origin: header_str(req, header::ORIGIN).map(str::to_owned),
            request_method: header_str(req, header::ACCESS_CONTROL_REQUEST_METHOD)
                .map(str::to_owned),
            request_headers: header_str(req, header::ACCESS_CONTROL_REQUEST_HEADERS)
                .map(str::to_owned),
            bucket,
            has_key,
        }
    }

    /// The facts of a B2 request: which B2 operation its URL performs, and on which bucket.
    fn b2_facts<B>(&self, req: &Request<B>) -> CorsFacts {
        let path = req.uri().path();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.to_owned(), pier_b2::percent_decode(v)))
            })
            .collect();
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let origin = header_str(req, header::ORIGIN).map(str::to_owned);
        // Finding the bucket of a file id or upload costs a metadata read: only when CORS can
        // apply (`decorate` varies the answer by Origin otherwise).
        let lookup = origin.is_some() || req.method() == http::Method::OPTIONS;
        let (endpoint, bucket) = if let Some(rest) = path.strip_prefix("/file/") {
            let bucket = rest.split('/').next().map(pier_b2::percent_decode);
            (Some(Endpoint::B2DownloadFileByName), bucket)
        } else {
            let op = path.splitn(4, '/').nth(3).unwrap_or("");
            let (op, tail) = op.split_once('/').unwrap_or((op, ""));
            match op {
                "b2_download_file_by_id" => {
                    let bucket = q("fileId")
                        .filter(|_| lookup)
                        .and_then(|id| self.store.object_by_version(&id).ok())
                        .and_then(|o| self.store.bucket_by_id(&o.bucket_id).ok())
                        .map(|b| b.name.clone());
                    (Some(Endpoint::B2DownloadFileById), bucket)
                }
                "b2_upload_file" => {
                    let bucket = lookup
                        .then(|| self.store.bucket_by_id(tail).ok())
                        .flatten()
                        .map(|b| b.name.clone());
                    (Some(Endpoint::B2UploadFile), bucket)
                }
                "b2_upload_part" => {
                    let bucket = lookup
                        .then(|| self.store.upload(tail).ok())
                        .flatten()
                        .and_then(|u| self.store.bucket_by_id(&u.bucket_id).ok())
                        .map(|b| b.name.clone());
                    (Some(Endpoint::B2UploadPart), bucket)
                }
                _ => (None, None),
            }
        };
        CorsFacts {
            endpoint,
            b2_query_token: q("Authorization"),
            method: req.method().as_str().to_owned(),
            origin,
            request_method: header_str(req, header::ACCESS_CONTROL_REQUEST_METHOD)
                .map(str::to_owned),
            request_headers: header_str(req, header::ACCESS_CONTROL_REQUEST_HEADERS)
                .map(str::to_owned),
            bucket,
            has_key: true,
        }
    }

    /// The bucket's compiled rules, compiled once per bucket revision.
    pub fn rules(&self, bucket: &Bucket) -> Option<Arc<CorsConfig>> {
        if let Some((rev, config)) = self.compiled.read().expect("cors cache").get(&bucket.name) {
            if *rev == bucket.revision {
                return config.clone();
            }
        }
        let config = pier_s3::bucket_settings::cors_of(bucket).map(Arc::new);
        self.compiled
            .write()
            .expect("cors cache")
            .insert(bucket.name.clone(), (bucket.revision, config.clone()));
        config
    }

    /// Answers a preflight: S3 refusals as S3 XML, B2 refusals as B2 JSON.
    pub fn preflight(&self, facts: &CorsFacts) -> Response<Body> {
        let resource = if facts.has_key { "OBJECT" } else { "BUCKET" };
        let method = facts.request_method.as_deref().unwrap_or("OPTIONS");
        let b2 = facts.endpoint != Some(Endpoint::S3);
        let deny = |status: StatusCode, message: &str| {
            if b2 {
                let code = if status == StatusCode::BAD_REQUEST {
                    "bad_request"
                } else {
                    "access_denied"
                };
                let mut resp =
                    pier_b2::B2Error::new(status.as_u16(), code, message).into_response();
                add_vary(&mut resp, VARY);
                resp
            } else if status == StatusCode::BAD_REQUEST {
                with_vary(xml_response(
                    status,
                    &[("Code", "BadRequest"), ("Message", message)],
                ))
            } else {
                refuse(method, resource, message)
            }
        };
        let Some(origin) = facts.origin.as_deref() else {
            return deny(StatusCode::BAD_REQUEST, &Refusal::MissingOrigin.message());
        };
        let Some(endpoint) = facts.endpoint else {
            return deny(
                StatusCode::FORBIDDEN,
                "CORS is not supported for this B2 call: only downloads and uploads are",
            );
        };
        if let Some(token) = &facts.b2_query_token {
            if matches!(
                pier_b2::token::verify(&self.store, token),
                Ok((_, pier_b2::token::Scope::Account))
            ) {
                return deny(
                    StatusCode::FORBIDDEN,
                    "A preflight may not present an account authorization token; use one from b2_get_download_authorization",
                );
            }
        }
        let bucket = facts
            .bucket
            .as_deref()
            .and_then(|name| self.store.bucket(name).ok());
        let Some(bucket) = bucket else {
            return deny(StatusCode::FORBIDDEN, "CORSResponse: Bucket not found");
        };
        let Some(rules) = self.rules(&bucket) else {
            return deny(StatusCode::FORBIDDEN, &Refusal::NotEnabled.message());
        };
        let request = CorsRequest {
            endpoint,
            method: "OPTIONS",
            origin: Some(origin),
            request_method: facts.request_method.as_deref(),
            request_headers: facts.request_headers.as_deref(),
            preflight: true,
        };
        match rules.evaluate(&request) {
            Decision::Allowed { headers, .. } => {
                let mut resp = Response::new(Body::empty());
                resp.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                apply(&headers, &mut resp);
                resp
            }
            Decision::Refused(refusal) => {
                let explanation = rules.explain(&request);
                tracing::info!(
                    bucket = %bucket.name,
                    origin,
                    method,
                    headers = facts.request_headers.as_deref().unwrap_or(""),
                    reason = %explanation.summary(),
                    "preflight refused"
                );
                deny(StatusCode::FORBIDDEN, &refusal.message())
            }
            Decision::NotCors => deny(StatusCode::BAD_REQUEST, &Refusal::MissingOrigin.message()),
        }
    }

    /// Adds CORS headers (and `Vary`) to the response of an actual request.
    pub fn decorate(&self, facts: &CorsFacts, resp: &mut Response<Body>) {
        let Some(endpoint) = facts.endpoint else {
            return; // B2 calls CORS does not cover get no CORS headers
        };
        if facts.origin.is_none() && facts.bucket.is_none() && endpoint != Endpoint::S3 {
            // A B2 transfer whose bucket was not looked up: it may have rules.
            add_vary(resp, "Origin");
            return;
        }
        let Some(bucket) = facts
            .bucket
            .as_deref()
            .and_then(|n| self.store.bucket(n).ok())
        else {
            return;
        };
        let Some(rules) = self.rules(&bucket) else {
            return; // no rules: the answer never depends on Origin
        };
        let Some(origin) = facts.origin.as_deref() else {
            add_vary(resp, "Origin");
            return;
        };
        let request = CorsRequest {
            endpoint,
            method: &facts.method,
            origin: Some(origin),
            request_method: facts.request_method.as_deref(),
            request_headers: facts.request_headers.as_deref(),
            preflight: false,
        };
        match rules.evaluate(&request) {
            Decision::Allowed { headers, .. } => apply(&headers, resp),
            _ => add_vary(resp, "Origin"),
        }
    }
}

fn refuse(method: &str, resource: &str, message: &str) -> Response<Body> {
    with_vary(xml_response(
        StatusCode::FORBIDDEN,
        &[
            ("Code", "AccessForbidden"),
            ("Message", message),
            ("Method", method),
            ("ResourceType", resource),
        ],
    ))
}

fn with_vary(mut resp: Response<Body>) -> Response<Body> {
    add_vary(&mut resp, VARY);
    resp
}

fn header_name(name: &str) -> HeaderName {
    match name {
        "Access-Control-Allow-Origin" => header::ACCESS_CONTROL_ALLOW_ORIGIN,
        "Access-Control-Allow-Credentials" => header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        "Access-Control-Allow-Methods" => header::ACCESS_CONTROL_ALLOW_METHODS,
        "Access-Control-Allow-Headers" => header::ACCESS_CONTROL_ALLOW_HEADERS,
        "Access-Control-Expose-Headers" => header::ACCESS_CONTROL_EXPOSE_HEADERS,
        "Access-Control-Max-Age" => header::ACCESS_CONTROL_MAX_AGE,
        _ => header::VARY,
    }
}

/// Sets the CORS headers (replacing any) and merges `Vary`.
fn apply(headers: &CorsHeaders<'_>, resp: &mut Response<Body>) {
    for (name, value) in headers.iter() {
        let name = header_name(name);
        if name == header::VARY {
            add_vary(resp, value);
        } else if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(name, value);
        }
    }
}

/// Adds `value`'s names to `Vary`, keeping names already there.
fn add_vary(resp: &mut Response<Body>, value: &str) {
    let existing = resp
        .headers()
        .get(header::VARY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut names: Vec<&str> = existing
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for n in value.split(',').map(str::trim) {
        if !names.iter().any(|e| e.eq_ignore_ascii_case(n)) {
            names.push(n);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
        resp.headers_mut().insert(header::VARY, v);
    }
}
