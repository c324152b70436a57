//! The CORS layer, outside everything: preflights (`OPTIONS`) are answered from the bucket's
//! rules before authentication (s3s never sees them), and every other response to a request
//! carrying `Origin` gets the matched rule's headers, errors included, so a page can read the
//! real status. Caches never mix origins: `Vary` is set wherever the answer depends on them.

use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use pier_cors::{CorsConfig, CorsHeaders, CorsRequest, Decision, Endpoint, Refusal, VARY};
use pier_edge::cors_watch::CorsWatch;
use pier_edge::exchange::CorsVerdict;
use pier_s3::endpoint::S3Endpoint;
use pier_s3::fault::{S3ErrorKind, S3Fault};
use pier_store::{Bucket, Store};
use s3s::Body;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What the layer needs of a request, kept after the request itself moves on to s3s.
#[derive(Clone, Debug, Default)]
pub struct CorsFacts {
    /// Which API surface and kind of URL; `None` for B2 calls that CORS does not cover.
    endpoint: Option<Endpoint>,
    /// A B2 preflight presented an account token in the `Authorization` query parameter.
    b2_account_token_in_query: bool,
    method: String,
    origin: Option<String>,
    request_method: Option<String>,
    request_headers: Option<String>,
    bucket: Option<String>,
    has_key: bool,
}

impl CorsFacts {
    /// The bucket the request addresses, if known.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// True when the request addresses an object (a key, a B2 file or upload).
    pub fn has_key(&self) -> bool {
        self.has_key
    }
}

fn header_str<B>(req: &Request<B>, name: HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Compiled rules by bucket id (never reused, unlike names: a bucket deleted and created again
/// under its name must not inherit its rules), with the revision they were compiled at.
type CompiledRules = HashMap<String, (i64, Option<Arc<CorsConfig>>)>;

/// Most buckets whose compiled rules are kept.
const MAX_COMPILED: usize = 4096;

/// Evaluates bucket CORS rules for S3 and B2 requests.
pub struct CorsLayer {
    store: Store,
    /// Rules are compiled once per bucket (id) and revision, not per request.
    compiled: RwLock<CompiledRules>,
    /// What was decided, for people (recently refused, report-only rules).
    watch: CorsWatch,
    /// Which refusals are explained and logged: each distinct one once (within a budget).
    refusals: pier_edge::refusals::RefusalLog,
}

impl CorsLayer {
    /// A layer over `store`'s buckets, recording its decisions of cross-origin requests in
    /// `watch`.
    pub fn new(store: Store, watch: CorsWatch) -> Self {
        CorsLayer {
            store,
            compiled: RwLock::new(HashMap::new()),
            watch,
            refusals: pier_edge::refusals::RefusalLog::new("CORS"),
        }
    }

    /// Whether to explain a refusal of `request` on `bucket` in full: the first time this
    /// request is refused under these rules, within the log's budget (counted otherwise).
    fn explains(&self, bucket: &pier_store::Bucket, request: &CorsRequest<'_>) -> bool {
        let fingerprint = pier_edge::refusals::RefusalLog::fingerprint((
            &bucket.id,
            bucket.revision,
            request.origin,
            request.method,
            request.request_method,
            request.request_headers,
            request.preflight,
            request.endpoint as u8,
        ));
        self.refusals.should_explain(fingerprint)
    }

    /// The facts of an S3 request, parsed once at the front: its CORS headers, and the bucket
    /// (and whether a key) its endpoint addresses.
    pub fn s3_facts<B>(&self, req: &Request<B>, endpoint: &S3Endpoint) -> CorsFacts {
        CorsFacts {
            endpoint: Some(Endpoint::S3),
            bucket: endpoint.bucket.clone(),
            has_key: endpoint.key.is_some(),
            ..Self::headers_of(req)
        }
    }

    /// The facts of a B2 request, from its parsed form: which CORS operation it is, and its
    /// bucket. Finding the bucket of a file id or upload costs a metadata read, so it is done
    /// only when CORS can apply (`decorate` varies the answer by Origin otherwise).
    pub fn b2_facts<B>(&self, req: &Request<B>, parsed: Option<&pier_b2::B2Request>) -> CorsFacts {
        let headers = Self::headers_of(req);
        let Some((endpoint, where_bucket)) = parsed.and_then(pier_b2::B2Request::cors_target)
        else {
            return CorsFacts {
                endpoint: None,
                ..headers
            };
        };
        let preflight = req.method() == http::Method::OPTIONS;
        let lookup = headers.origin.is_some() || preflight;
        let bucket = match where_bucket {
            pier_b2::CorsBucket::Name(name) => Some(name.to_owned()),
            other if lookup => other.resolve(&self.store),
            _ => None,
        };
        CorsFacts {
            endpoint: Some(endpoint),
            b2_account_token_in_query: preflight
                && parsed.is_some_and(|p| p.presents_account_token(&self.store)),
            bucket,
            has_key: true,
            ..headers
        }
    }

    fn headers_of<B>(req: &Request<B>) -> CorsFacts {
        CorsFacts {
            method: req.method().as_str().to_owned(),
            origin: header_str(req, header::ORIGIN).map(str::to_owned),
            request_method: header_str(req, header::ACCESS_CONTROL_REQUEST_METHOD)
                .map(str::to_owned),
            request_headers: header_str(req, header::ACCESS_CONTROL_REQUEST_HEADERS)
                .map(str::to_owned),
            ..CorsFacts::default()
        }
    }

    /// The bucket's compiled rules, compiled once per bucket revision.
    pub fn rules(&self, bucket: &Bucket) -> Option<Arc<CorsConfig>> {
        if let Some((rev, config)) = self.compiled.read().expect("cors cache").get(&bucket.id) {
            if *rev == bucket.revision {
                return config.clone();
            }
        }
        let config = pier_edge::bucket_cors(bucket).map(Arc::new);
        let mut compiled = self.compiled.write().expect("cors cache");
        if compiled.len() >= MAX_COMPILED {
            // Buckets come and go; their ids never return. Start over rather than grow forever.
            compiled.clear();
        }
        compiled.insert(bucket.id.clone(), (bucket.revision, config.clone()));
        config
    }

    /// Answers a preflight: S3 refusals as S3 XML, B2 refusals as B2 JSON.
    pub fn preflight(&self, facts: &CorsFacts) -> Response<Body> {
        let resource = if facts.has_key { "OBJECT" } else { "BUCKET" };
        let method = facts.request_method.as_deref().unwrap_or("OPTIONS");
        let b2 = facts.endpoint != Some(Endpoint::S3);
        let deny = |status: StatusCode, message: &str| {
            if b2 {
                let kind = if status == StatusCode::BAD_REQUEST {
                    pier_b2::B2ErrorKind::BadRequest
                } else {
                    pier_b2::B2ErrorKind::AccessDenied
                };
                let mut resp = pier_b2::B2Error::new(kind, message).into_response();
                add_vary(&mut resp, VARY);
                resp
            } else if status == StatusCode::BAD_REQUEST {
                with_vary(S3Fault::new(S3ErrorKind::BadRequest, message).into_response())
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
        if facts.b2_account_token_in_query {
            return deny(
                StatusCode::FORBIDDEN,
                "A preflight may not present an account authorization token; use one from b2_get_download_authorization",
            );
        }
        let bucket = facts
            .bucket
            .as_deref()
            .and_then(|name| self.store.bucket(name).ok());
        let Some(bucket) = bucket else {
            return deny(StatusCode::FORBIDDEN, "CORSResponse: Bucket not found");
        };
        let request = CorsRequest {
            endpoint,
            method: "OPTIONS",
            origin: Some(origin),
            request_method: facts.request_method.as_deref(),
            request_headers: facts.request_headers.as_deref(),
            preflight: true,
        };
        let Some(rules) = self.rules(&bucket) else {
            self.watch
                .record(&bucket.id, bucket.revision, &request, false, || {
                    Refusal::NotEnabled.message()
                });
            return deny(StatusCode::FORBIDDEN, &Refusal::NotEnabled.message());
        };
        let decision = rules.evaluate(&request);
        let allowed = matches!(decision, Decision::Allowed { .. });
        // A refusal is explained (for the log and the memory of refusals alike) the first time
        // it is seen, within the log's budget; repeats and floods are only counted.
        let reason = (!allowed && self.explains(&bucket, &request))
            .then(|| rules.explain(&request).summary());
        self.watch
            .record(&bucket.id, bucket.revision, &request, allowed, || {
                match (&reason, &decision) {
                    (Some(reason), _) => reason.clone(),
                    (None, Decision::Refused(refusal)) => refusal.message(),
                    (None, _) => String::new(),
                }
            });
        match decision {
            Decision::Allowed { headers, .. } => {
                let mut resp = Response::new(Body::empty());
                resp.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                apply(&headers, &mut resp);
                resp
            }
            Decision::Refused(refusal) => {
                if let Some(reason) = &reason {
                    tracing::info!(
                        bucket = %bucket.name,
                        origin,
                        method,
                        headers = facts.request_headers.as_deref().unwrap_or(""),
                        reason = reason.as_str(),
                        "preflight refused (repeats are counted, not logged)"
                    );
                }
                let status = if refusal.is_bad_request() {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::FORBIDDEN
                };
                deny(status, &refusal.message())
            }
            Decision::NotCors => deny(StatusCode::BAD_REQUEST, &Refusal::MissingOrigin.message()),
        }
    }

    /// Adds CORS headers (and `Vary`) to the response of an actual request; says what it
    /// decided.
    pub fn decorate(&self, facts: &CorsFacts, resp: &mut Response<Body>) -> CorsVerdict {
        let Some(endpoint) = facts.endpoint else {
            return CorsVerdict::NotCors; // B2 calls CORS does not cover get no CORS headers
        };
        let cors = if facts.origin.is_some() {
            CorsVerdict::Refused
        } else {
            CorsVerdict::NotCors
        };
        if facts.origin.is_none() && facts.bucket.is_none() && endpoint != Endpoint::S3 {
            // A B2 transfer whose bucket was not looked up: it may have rules.
            add_vary(resp, "Origin");
            return cors;
        }
        let Some(bucket) = facts
            .bucket
            .as_deref()
            .and_then(|n| self.store.bucket(n).ok())
        else {
            return cors;
        };
        let request = facts.origin.as_deref().map(|origin| CorsRequest {
            endpoint,
            method: &facts.method,
            origin: Some(origin),
            request_method: facts.request_method.as_deref(),
            request_headers: facts.request_headers.as_deref(),
            preflight: false,
        });
        let Some(rules) = self.rules(&bucket) else {
            if let Some(request) = &request {
                self.watch
                    .record(&bucket.id, bucket.revision, request, false, || {
                        Refusal::NotEnabled.message()
                    });
            }
            return cors; // no rules: the answer never depends on Origin
        };
        let Some(request) = request else {
            add_vary(resp, "Origin");
            return cors;
        };
        let decision = rules.evaluate(&request);
        let allowed = matches!(decision, Decision::Allowed { .. });
        self.watch.record(
            &bucket.id,
            bucket.revision,
            &request,
            allowed,
            || match &decision {
                Decision::Refused(refusal) if !self.explains(&bucket, &request) => {
                    refusal.message()
                }
                _ => rules.explain(&request).summary(),
            },
        );
        match decision {
            Decision::Allowed { headers, .. } => {
                apply(&headers, resp);
                CorsVerdict::Allowed
            }
            _ => {
                add_vary(resp, "Origin");
                CorsVerdict::Refused
            }
        }
    }
}

fn refuse(method: &str, resource: &str, message: &str) -> Response<Body> {
    with_vary(
        S3Fault::new(S3ErrorKind::AccessForbidden, message)
            .with("Method", method)
            .with("ResourceType", resource)
            .into_response(),
    )
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
