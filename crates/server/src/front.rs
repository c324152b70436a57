//! The front: one hyper service in front of everything. Every request goes through the same
//! readable sequence, one concern per step:
//!
//! 1. **route**: `/_pier/…` is ours (health, metrics), B2 paths are parsed once into a
//!    [`pier_b2::B2Request`], everything else is S3 for s3s;
//! 2. **preflight**: an `OPTIONS` is answered by the CORS layer before authentication;
//! 3. **dispatch**: a request with a body runs its API handler in its own task with a
//!    stall-guarded body, so a client that disconnects after sending its whole body still has
//!    its upload committed (and a panic is a logged 500); a request without a body runs inline;
//! 4. **edge fixes** for s3s 0.14.1 and clients ([`crate::fixes`]);
//! 5. **CORS decoration**, once, around whatever answer came back;
//! 6. **accounting**: request id, metrics, the access log, and every 5xx logged with its id.

use crate::access_log::{claimed_key, AccessLog, AccessRecord};
use crate::cors::{CorsFacts, CorsLayer};
use crate::fixes::{check_presigned_expiry, strip_forbidden_body};
use crate::limits::{Limits, StallGuard};
use crate::metrics::Metrics;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as _;
use hyper::body::Incoming;
use pier_b2::{B2Error, B2Request};
use pier_edge::exchange::{CorsVerdict, Exchange};
use pier_s3::endpoint::{S3Endpoint, S3Operation};
use pier_s3::fault::{S3ErrorKind, S3Fault};
use pier_s3::service::VirtualHosts;
use pier_store::Store;
use s3s::service::S3Service;
use s3s::Body;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Paths under this prefix are pier's own (no S3 bucket name can start with `_`).
pub const PIER_PREFIX: &str = "/_pier/";

/// The front service. Cheap to clone.
#[derive(Clone)]
pub struct Front {
    inner: Arc<Inner>,
    /// The address of the client this copy serves (one copy per connection), which bucket
    /// policies may test (`aws:SourceIp`).
    client: Option<std::net::IpAddr>,
    /// Its connection came over TLS.
    secure: bool,
    /// Every request is for a website whose bucket the `Host` names (`--website-listen`).
    website_only: bool,
}

struct Inner {
    store: Store,
    /// The access engine's door, shared with both APIs (form uploads ask it directly).
    access: pier_edge::access::Access,
    s3: S3Service,
    b2: pier_b2::B2Api,
    cors: CorsLayer,
    limits: Limits,
    metrics: Arc<Metrics>,
    /// The console's charts, when there is a console.
    traffic: Option<Arc<pier_edge::traffic::Traffic>>,
    access_log: Option<AccessLog>,
    dashboard_port: Option<u16>,
    /// Host names the `/` redirect to the dashboard may name (the server's own): a `Host`
    /// header is never reflected into a `Location` otherwise.
    own_names: Vec<String>,
    /// Who may read `/_pier/metrics`.
    metrics_access: MetricsAccess,
    /// See [`FrontOptions::allow_sse_c_over_http`].
    allow_sse_c_over_http: bool,
    /// The event dispatcher's counters, for the metrics.
    events: Option<Arc<pier_events::DispatchStats>>,
    /// Domains whose subdomains name buckets (virtual-host style), for parsing S3 requests.
    hosts: VirtualHosts,
    /// The key the front signs requests it sends s3s again with (`multi_range`).
    front_key: pier_s3::auth::FrontKey,
    /// The region SigV4 requests must name.
    region: String,
    /// The topic API.
    topics: pier_s3::topics::Topics,
    /// Domains whose subdomains serve static websites.
    website_domains: Vec<String>,
    /// Detached request handlers; shutdown waits for them before the store closes.
    tasks: TaskTracker,
    /// Request ids: a per-process prefix (start time) and a counter.
    id_prefix: u32,
    next_id: AtomicU64,
}

/// Which API a request is for, and what it asks of it: decided once, at the front.
enum Target {
    Pier,
    B2(Result<B2Request, B2Error>),
    S3(S3Endpoint),
    /// The SNS-compatible topic API (`pier_s3::topics`), on the S3 endpoint.
    Topics,
    /// A bucket's static website, on a website host (`crate::website`).
    Website(String),
}

/// Which API answered, for metrics, the access log and the format of a 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Pier,
    S3,
    B2,
    Sns,
    Website,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Pier => "pier",
            Api::S3 => "s3",
            Api::B2 => "b2",
            Api::Sns => "sns",
            Api::Website => "website",
        }
    }
}

impl Target {
    fn api(&self) -> Api {
        match self {
            Target::Pier => Api::Pier,
            Target::B2(_) => Api::B2,
            Target::S3(_) => Api::S3,
            Target::Topics => Api::Sns,
            Target::Website(_) => Api::Website,
        }
    }
}

/// Options of the front beyond the store and domains.
#[derive(Default)]
pub struct FrontOptions {
    /// Connection and request limits.
    pub limits: Limits,
    /// Where to write the access log, if anywhere.
    pub access_log: Option<AccessLog>,
    /// The dashboard's port, where a browser opening `/` without credentials is sent.
    pub dashboard_port: Option<u16>,
    /// Where the CORS layer records what it decides (shared with the dashboard).
    pub cors_watch: pier_edge::cors_watch::CorsWatch,
    /// Report-only access changes the APIs decide beside the live settings (shared with the
    /// dashboard).
    pub access_watch: pier_edge::access_watch::AccessWatch,
    /// The address clients reach the server at, for the URLs B2 hands out; `None`: the
    /// request's `Host`.
    pub public_url: Option<String>,
    /// Who may read `/_pier/metrics` (bucket names are labels there).
    pub metrics: MetricsAccess,
    /// The region SigV4 requests must name (empty: `us-east-1`).
    pub region: String,
    /// Event notification rules may name plain `http` and private-address webhooks.
    pub webhook_allow_private: bool,
    /// Customer keys (SSE-C) are taken over plain HTTP too (`--allow-sse-c-over-http`).
    pub allow_sse_c_over_http: bool,
    /// Domains whose subdomains serve buckets' static websites.
    pub website_domains: Vec<String>,
    /// The event dispatcher's counters, shown in `/_pier/metrics`.
    pub events: Option<std::sync::Arc<pier_events::DispatchStats>>,
    /// Where every answered request is counted for the console's charts.
    pub traffic: Option<std::sync::Arc<pier_edge::traffic::Traffic>>,
}

/// Who may read `/_pier/metrics`, whose labels name every account's buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Nobody, until the operator chooses (answered 403 with how to choose).
    #[default]
    Closed,
    /// Requests with `Authorization: Bearer TOKEN` (a Prometheus scrape job's
    /// `authorization` / `bearer_token`).
    Token(String),
    /// Anyone (a listener only a monitoring network reaches).
    Public,
}

impl Front {
    /// Serves `store` over S3 (virtual-host style under `domains`) and B2.
    pub fn new(store: Store, domains: Vec<String>, options: FrontOptions) -> Front {
        let website_domains = crate::website::hosting_domains(&domains, &options.website_domains);
        let mut own_names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|s| s.to_string())
            .chain(domains.iter().cloned())
            .collect();
        if let Some(url) = &options.public_url {
            let host = url.split("://").nth(1).unwrap_or(url).split('/').next();
            if let Some(host) = host {
                own_names.push(strip_port(host).to_owned());
            }
        }
        let hosts = VirtualHosts::new(domains);
        // One access engine door for both APIs: one cache of parsed bucket policies.
        let access = pier_edge::access::Access::new(store.clone(), options.access_watch.clone());
        let front_key = pier_s3::auth::FrontKey::new();
        let region = match options.region.as_str() {
            "" => "us-east-1".to_owned(),
            r => r.to_owned(),
        };
        let s3 = pier_s3::service::build(
            store.clone(),
            hosts.clone(),
            access.clone(),
            options.cors_watch.clone(),
            front_key.clone(),
            region.clone(),
        );
        let topics = pier_s3::topics::Topics::new(
            store.clone(),
            region.clone(),
            options.webhook_allow_private,
        );
        let id_prefix = (pier_store::now_millis() / 1000) as u32;
        Front {
            inner: Arc::new(Inner {
                s3,
                b2: pier_b2::B2Api::new(store.clone(), access.clone())
                    .with_public_url(options.public_url)
                    .with_webhook_allow_private(options.webhook_allow_private),
                access,
                cors: CorsLayer::new(store.clone(), options.cors_watch),
                store,
                limits: options.limits,
                metrics: Arc::new(Metrics::new()),
                traffic: options.traffic,
                access_log: options.access_log,
                dashboard_port: options.dashboard_port,
                own_names,
                metrics_access: options.metrics,
                allow_sse_c_over_http: options.allow_sse_c_over_http,
                events: options.events,
                hosts: hosts.clone(),
                front_key,
                topics,
                website_domains,
                region,
                tasks: TaskTracker::new(),
                id_prefix,
                next_id: AtomicU64::new(1),
            }),
            client: None,
            secure: false,
            website_only: false,
        }
    }

    /// This front, serving a connection from `client`.
    pub fn for_client(&self, client: std::net::IpAddr, secure: bool) -> Front {
        Front {
            inner: Arc::clone(&self.inner),
            client: Some(client),
            secure,
            website_only: self.website_only,
        }
    }

    /// This front for a website listener: every request is for the static website of the
    /// bucket its `Host` names (a custom domain pointed at pier, `--website-listen`).
    pub fn websites_only(&self) -> Front {
        Front {
            website_only: true,
            ..self.clone()
        }
    }

    /// The metrics every request is counted in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Waits for detached request handlers to finish (after the listener stopped).
    pub async fn drain(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    async fn handle(self, mut req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let inner = &self.inner;
        let request_id = format!(
            "{:08X}{:08X}",
            inner.id_prefix,
            inner.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let method = req.method().clone();
        let version = req.version();
        let key_id = inner
            .access_log
            .as_ref()
            .and_then(|_| claimed_key(req.headers(), req.uri().query()));
        let bytes_in = req.body().size_hint().exact().unwrap_or(0);

        // 1. route
        let path = req.uri().path();
        let host = pier_edge::request_host(req.headers(), req.uri());
        let website = match host {
            Some(host) if self.website_only => Some(crate::website::bucket_named(host)),
            Some(host) => crate::website::bucket_of(host, &inner.website_domains),
            None => None,
        };
        let target = if let Some(bucket) = website {
            Target::Website(bucket)
        } else if path.starts_with(PIER_PREFIX) || self.is_browser_at_root(&req) {
            Target::Pier
        } else if pier_b2::is_b2_path(path) {
            Target::B2(B2Request::parse(req.method(), req.uri()))
        } else {
            let endpoint = S3Endpoint::parse(&req, &inner.hosts);
            let bucket = endpoint.bucket.is_some();
            if pier_s3::topics::is_topic_request(req.method(), path, req.headers(), bucket) {
                Target::Topics
            } else {
                Target::S3(endpoint)
            }
        };
        let facts = match &target {
            Target::Pier | Target::Topics => CorsFacts::default(),
            // A website's pages and assets follow the bucket's CORS rules as its objects do.
            Target::Website(bucket) => {
                let key = pier_edge::percent::decode_lossy(path.trim_start_matches('/'));
                let endpoint = S3Endpoint {
                    op: if method == Method::HEAD {
                        S3Operation::HeadObject
                    } else {
                        S3Operation::GetObject
                    },
                    bucket: Some(bucket.clone()),
                    key: Some(key.into_owned()),
                };
                inner.cors.s3_facts(&req, &endpoint)
            }
            Target::B2(parsed) => inner.cors.b2_facts(&req, parsed.as_ref().ok()),
            Target::S3(endpoint) => inner.cors.s3_facts(&req, endpoint),
        };
        if let Target::S3(endpoint) = &target {
            req = crate::fixes::sigv2_bucket_path(req, endpoint.key.is_some());
            // The access check reads the parse from here, once.
            req.extensions_mut().insert(endpoint.clone());
        }
        let api = target.api();
        let s3_op = match &target {
            Target::S3(endpoint) => Some(endpoint.op),
            _ => None,
        };
        let operation = match &target {
            Target::Pier => "Pier",
            Target::B2(parsed) => {
                crate::operation::b2_operation(parsed.as_ref().ok().map(|r| &r.call))
            }
            Target::S3(endpoint) => endpoint.op.name(),
            Target::Topics => "Topics",
            Target::Website(_) => "Website",
        };

        let expect = crate::fixes::expects_continue(req.headers());
        let empty = crate::fixes::expects_continue_without_body(&req);
        let (resp, cors) = if matches!(target, Target::Pier) {
            (self.pier_route(&req), CorsVerdict::NotCors)
        } else if method == Method::OPTIONS {
            // 2. preflight: before authentication; a preflight carries no credentials, and
            // the query string of a presigned URL is not checked for it.
            let resp = inner.cors.preflight(&facts);
            let verdict = if resp.status().is_success() {
                CorsVerdict::Allowed
            } else {
                CorsVerdict::Refused
            };
            (resp, verdict)
        } else {
            // 3. dispatch: a request with a body runs detached, so that its commit does not
            // depend on the client staying connected; one without runs inline (no task hop).
            // Bucket policies may test the client's address (`aws:SourceIp`).
            if let Some(ip) = self.client {
                req.extensions_mut()
                    .insert(pier_edge::access::ClientAddr(ip));
            }
            if self.secure {
                req.extensions_mut().insert(pier_edge::listen::OverTls);
            }
            if self.secure || inner.allow_sse_c_over_http {
                req.extensions_mut()
                    .insert(pier_edge::listen::CustomerKeysAllowed);
            }
            let span = tracing::info_span!("request", id = %request_id);
            let bucket = facts.bucket().map(str::to_owned);
            let resp = if req.body().is_end_stream() {
                let req = req.map(Body::from);
                self.clone()
                    .dispatch(target, bucket, req, &request_id)
                    .instrument(span)
                    .await
            } else {
                let stall = inner.limits.body_stall();
                let min_rate = inner.limits.min_body_bytes_per_sec;
                let req = req.map(|b| Body::http_body(StallGuard::new(b, stall, min_rate)));
                let this = self.clone();
                let id = request_id.clone();
                let handled = inner
                    .tasks
                    .spawn(
                        async move { this.dispatch(target, bucket, req, &id).await }
                            .instrument(span),
                    )
                    .await;
                handled.unwrap_or_else(|e| {
                    tracing::error!(request_id, error = %e, "request handler panicked");
                    internal_error(api)
                })
            };
            // 4. edge fixes
            let mut resp = if s3_op == Some(S3Operation::GetObjectAttributes) {
                crate::fixes::attributes_etag(resp)
            } else {
                resp
            };
            // 5. CORS decoration, once
            let verdict = inner.cors.decorate(&facts, &mut resp);
            (resp, verdict)
        };
        let mut resp = strip_forbidden_body(&method, resp);
        // A final answer that may have come without `100 Continue`: see `fixes`.
        if empty || (expect && !resp.status().is_success()) {
            crate::fixes::close_connection(&mut resp);
        }

        // 6. accounting
        if api == Api::S3 {
            resp = crate::fixes::xml_control_chars(resp);
            resp = crate::fixes::error_request_id(resp, &request_id);
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                resp.headers_mut().insert("x-amz-request-id", v);
            }
        }
        let status = resp.status().as_u16();
        if status == 503 {
            // Passing (the storage is out of reach; its cause was logged): clients retry.
            tracing::warn!(
                request_id,
                api = api.name(),
                operation,
                status,
                "answered unavailable"
            );
        } else if status >= 500 {
            tracing::error!(
                request_id,
                api = api.name(),
                operation,
                status,
                "answered with a server error"
            );
        }
        let exchange = Exchange {
            api: api.name(),
            operation,
            bucket: facts.bucket(),
            status,
            bytes_in,
            bytes_out: resp.body().size_hint().exact().unwrap_or(0),
            duration: started.elapsed(),
            cors,
        };
        inner.metrics.record(&exchange);
        if let Some(traffic) = &inner.traffic {
            traffic.record(&exchange, |name| inner.store.bucket(name).is_ok());
        }
        if let Some(log) = &inner.access_log {
            log.write(&AccessRecord::new(
                &exchange,
                &request_id,
                key_id.as_deref(),
                (method.as_str(), version),
            ));
        }
        resp
    }

    /// Runs the API handler of a request.
    async fn dispatch(
        self,
        target: Target,
        bucket: Option<String>,
        req: Request<Body>,
        request_id: &str,
    ) -> Response<Body> {
        let inner = &self.inner;
        match target {
            Target::B2(parsed) => {
                // B2 requests carry B2 tokens, which s3s would reject: they never reach it.
                inner.b2.handle(parsed, req).await
            }
            Target::S3(endpoint) => {
                let op = endpoint.op;
                if let Some(refusal) = crate::region::refusal(&req, &inner.region) {
                    return refusal;
                }
                if let Some(refusal) = check_presigned_expiry(req.uri().query()) {
                    return refusal;
                }
                if let Some(refusal) = crate::fixes::check_v2_date(req.headers()) {
                    return refusal;
                }
                if op.checks_content_md5() {
                    if let Some(refusal) = crate::fixes::check_empty_md5(req.headers()) {
                        return refusal;
                    }
                }
                if let (S3Operation::PostObject, Some(bucket)) = (op, bucket.as_deref()) {
                    return self.post_form(bucket, req).await;
                }
                let mut req = req;
                if !op.streams_body() && matches!(*req.method(), Method::PUT | Method::POST) {
                    req = match crate::fixes::read_document_body(req).await {
                        Ok(req) => req,
                        Err(refusal) => return refusal,
                    };
                }
                // Several ranges are served whole, as S3 serves them (see `multi_range`).
                let mut retry = None;
                if op.reads_object() && crate::multi_range::is_multi(req.headers()) {
                    if crate::multi_range::range_is_signed(&req) {
                        retry = crate::multi_range::Retry::of(&req);
                    } else {
                        req.headers_mut().remove(header::RANGE);
                    }
                }
                let resp = self.call_s3(req).await;
                match retry {
                    Some(r) if crate::multi_range::Retry::refused_range(&resp) => {
                        match r.request(&inner.front_key, &inner.region) {
                            Some(mut again) => {
                                again.extensions_mut().insert(endpoint.clone());
                                self.call_s3(again).await
                            }
                            None => resp,
                        }
                    }
                    _ => resp,
                }
            }
            Target::Topics => inner.topics.handle(req, request_id).await,
            Target::Website(bucket) => {
                crate::website::serve(&inner.store, &inner.access, &bucket, req, self.secure).await
            }
            Target::Pier => {
                S3Fault::new(S3ErrorKind::NotFound, "No such pier endpoint.").into_response()
            }
        }
    }

    /// Hands a request to s3s; a failure of the service itself is a logged 500.
    async fn call_s3(&self, req: Request<Body>) -> Response<Body> {
        match self.inner.s3.call(req).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(error = ?e, "s3 service failed");
                internal_error(Api::S3)
            }
        }
    }

    /// A browser form upload (POST Object), handled by pier's own streaming form parser.
    async fn post_form(&self, bucket: &str, req: Request<Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let header =
            |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let facts = pier_edge::access::RequestFacts {
            source_ip: parts
                .extensions
                .get::<pier_edge::access::ClientAddr>()
                .map(|c| c.0),
            secure_transport: parts
                .extensions
                .get::<pier_edge::listen::OverTls>()
                .is_some(),
            referer: header(header::REFERER),
            user_agent: header(header::USER_AGENT),
            headers: None,
        };
        let keys_allowed = parts
            .extensions
            .get::<pier_edge::listen::CustomerKeysAllowed>()
            .is_some();
        let stream = http_body_util::BodyDataStream::new(body);
        let posted = pier_s3::post_form::post(
            &self.inner.store,
            &self.inner.access,
            bucket,
            (header(header::CONTENT_TYPE), stream),
            facts,
            keys_allowed,
        )
        .await;
        match posted {
            Ok(p) => {
                let mut resp = Response::builder()
                    .status(StatusCode::from_u16(p.status).unwrap_or(StatusCode::NO_CONTENT));
                for (name, value) in p.headers {
                    resp = resp.header(name, value);
                }
                resp.body(Body::from(Bytes::from(p.body)))
                    .unwrap_or_else(|_| internal_error(Api::S3))
            }
            Err(e) => {
                let status = e.status_code().unwrap_or(StatusCode::BAD_REQUEST);
                if status.is_server_error() {
                    tracing::error!(error = ?e, "form upload failed");
                }
                pier_s3::fault::s3s_error_response(&e)
            }
        }
    }

    /// A browser opening `/` with no credentials (S3 clients always sign, and never ask for
    /// HTML) while a dashboard is served.
    /// Why `req` may not read the metrics, if it may not.
    fn metrics_refusal<B>(&self, req: &Request<B>) -> Option<&'static str> {
        match &self.inner.metrics_access {
            MetricsAccess::Public => None,
            MetricsAccess::Closed => Some(
                "metrics are off: start pier with --metrics-token TOKEN (then send \
                 Authorization: Bearer TOKEN) or --metrics-public",
            ),
            MetricsAccess::Token(token) => {
                let sent = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match sent {
                    Some(s) if pier_edge::secret_eq(s.trim().as_bytes(), token.as_bytes()) => None,
                    _ => Some("metrics need Authorization: Bearer with the metrics token"),
                }
            }
        }
    }

    fn is_browser_at_root<B>(&self, req: &Request<B>) -> bool {
        self.inner.dashboard_port.is_some()
            && req.method() == Method::GET
            && req.uri().path() == "/"
            && req.uri().query().is_none()
            && !req.headers().contains_key(header::AUTHORIZATION)
            && req
                .headers()
                .get(header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
    }

    fn pier_route<B>(&self, req: &Request<B>) -> Response<Body> {
        let text = |body: String, content_type: &'static str| {
            Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::from(Bytes::from(body)))
                .expect("static response parts are valid")
        };
        if let Some(port) = self
            .inner
            .dashboard_port
            .filter(|_| self.is_browser_at_root(req))
        {
            let host = pier_edge::request_host(req.headers(), req.uri()).unwrap_or("127.0.0.1");
            // Only a name of the server's own: never a Host reflected into a redirect.
            let name = strip_port(host);
            let name = if self
                .inner
                .own_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                name
            } else {
                "127.0.0.1"
            };
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, format!("http://{name}:{port}/"))
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::empty())
                .expect("a host name makes a valid location");
        }
        match (req.method(), req.uri().path()) {
            (&Method::GET | &Method::HEAD, "/_pier/health") => text("ok\n".into(), "text/plain"),
            (&Method::GET, "/_pier/metrics") => match self.metrics_refusal(req) {
                None => text(
                    self.inner
                        .metrics
                        .render(&self.inner.store.stats(), self.inner.events.as_deref()),
                    "text/plain; version=0.0.4",
                ),
                Some(why) => {
                    let mut resp = text(format!("{why}\n"), "text/plain");
                    *resp.status_mut() = StatusCode::FORBIDDEN;
                    resp
                }
            },
            _ => S3Fault::new(S3ErrorKind::NotFound, "No such pier endpoint.").into_response(),
        }
    }
}

/// A 500 in the API's own format (the cause is logged by the caller).
fn internal_error(api: Api) -> Response<Body> {
    if api == Api::B2 {
        pier_b2::B2Error::new(pier_b2::B2ErrorKind::InternalError, "internal error").into_response()
    } else {
        S3Fault::new(
            S3ErrorKind::InternalError,
            "We encountered an internal error. Please try again.",
        )
        .into_response()
    }
}

impl hyper::service::Service<Request<Incoming>> for Front {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

/// `host` without its `:port` (an IPv6 literal keeps its brackets).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.find(']') {
            Some(i) => &host[..i + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, _)) if !name.contains(':') => name,
        _ => host,
    }
}
