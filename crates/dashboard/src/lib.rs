//! pier's web dashboard, served by the same binary on its own listener (so bucket names never
//! collide with its routes, and content served by the API port never runs as its origin).
//!
//! # Overview
//! - Sign-in with an access key id and secret starts a server-side [`session`]; every page and
//!   action is then decided by the access engine as that key ([`auth`]), so a restricted key
//!   sees only its buckets and prefixes.
//! - [`guard`] puts security headers on every answer (a CSP without inline script,
//!   `frame-ancestors 'none'`, `nosniff`, `no-store`), refuses unknown `Host`s, checks the CSRF
//!   token and `Origin` of every state-changing request, and never sends `Access-Control-*`.
//! - Pages are server-rendered from compile-time-checked templates (askama, auto-escaped);
//!   `assets/app.js` adds uploads with progress (large files in parts) and nothing else needs
//!   script. Assets are embedded in the binary.
//! - Object bytes never render on the dashboard's origin: downloads and share links are
//!   presigned URLs on the API port.
//! - A bucket's pages are tabs: objects, [`settings`], report-only access changes
//!   ([`access_changes`]), CORS, events, website, and its audit log and traffic.

mod access_changes;
mod accounts;
mod audit;
pub mod auth;
mod buckets;
mod charts;
mod cors;
mod events;
mod extract;
pub mod guard;
mod keys;
mod objects;
pub mod session;
mod settings;
mod versions;
mod views;
mod website;

use axum::routing::{get, post, put};
use axum::Router;
use pier_edge::access::Access;
use pier_edge::cors_watch::CorsWatch;
use pier_store::Store;
use std::sync::Arc;

/// How the dashboard is reached and what it links to.
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    /// `Host` values the dashboard answers (others get 421): its own address by default.
    pub hosts: Vec<String>,
    /// The API port, for presigned links (same host name as the dashboard's).
    pub api_port: u16,
    /// That port speaks HTTPS (the API listens on HTTPS only).
    pub api_tls: bool,
    /// Cookies carry `Secure` (the dashboard is served over TLS by a proxy in front).
    pub secure_cookies: bool,
    /// The region share links are signed for (the API's).
    pub region: String,
    /// Webhooks may use plain `http` and private addresses (`--webhook-allow-private`).
    pub webhook_allow_private: bool,
    /// The API's traffic over the last hour and day, for the charts (`None`: no charts).
    pub traffic: Option<Arc<pier_edge::traffic::Traffic>>,
    /// The event dispatcher's record of its recent deliveries, shown on a bucket's events page.
    pub deliveries: Option<Arc<pier_events::DispatchStats>>,
    /// Domains whose `BUCKET.DOMAIN` serves a bucket's website on the API port (the
    /// `--website-domain`s and `s3-website.D` for each S3 domain), shown on a website page.
    pub website_domains: Vec<String>,
    /// The website listener (`--website-listen`), where a custom domain named as the bucket
    /// serves its site.
    pub website_listen: Option<String>,
}

impl DashboardConfig {
    /// `https` when the API port speaks TLS, else `http`.
    pub fn api_scheme(&self) -> &'static str {
        if self.api_tls {
            "https"
        } else {
            "http"
        }
    }
}

/// The dashboard's shared state.
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    access: Access,
    watch: CorsWatch,
    config: DashboardConfig,
    sessions: session::Sessions,
    limiter: session::LoginLimiter,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// A dashboard over `store`, deciding access with `access`, showing what the CORS layer
    /// records in `watch` (and staging report-only rules there).
    pub fn new(
        store: Store,
        access: Access,
        watch: CorsWatch,
        config: DashboardConfig,
    ) -> Dashboard {
        Dashboard {
            inner: Arc::new(Inner {
                sessions: session::Sessions::new(store.clone()),
                store,
                access,
                watch,
                config,
                limiter: session::LoginLimiter::default(),
            }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn access(&self) -> &Access {
        &self.inner.access
    }

    pub(crate) fn watch(&self) -> &CorsWatch {
        &self.inner.watch
    }

    pub(crate) fn config(&self) -> &DashboardConfig {
        &self.inner.config
    }

    pub(crate) fn sessions(&self) -> &session::Sessions {
        &self.inner.sessions
    }

    pub(crate) fn limiter(&self) -> &session::LoginLimiter {
        &self.inner.limiter
    }

    /// Every route, behind the guard.
    pub fn router(self) -> Router {
        Router::new()
            .route("/login", get(auth::login_page).post(auth::login))
            .route("/logout", post(auth::logout))
            .route("/", get(buckets::list).post(buckets::create))
            .route("/b/{bucket}", get(objects::browse))
            .route(
                "/b/{bucket}/settings",
                get(settings::page).post(settings::save),
            )
            .route("/b/{bucket}/access", get(access_changes::page))
            .route("/b/{bucket}/access/stage", post(access_changes::stage))
            .route(
                "/b/{bucket}/access/staged",
                post(access_changes::staged_action),
            )
            .route("/b/{bucket}/delete", post(buckets::delete))
            .route("/b/{bucket}/object", get(objects::details))
            .route("/b/{bucket}/share", post(objects::share))
            .route("/b/{bucket}/version", post(versions::action))
            .route("/b/{bucket}/delete-objects", post(objects::delete))
            .route("/api/b/{bucket}/object", put(objects::upload))
            .route("/api/b/{bucket}/uploads", post(objects::start_upload))
            .route(
                "/api/b/{bucket}/uploads/{upload}/{part}",
                put(objects::upload_part),
            )
            .route(
                "/api/b/{bucket}/uploads/{upload}/complete",
                post(objects::complete_upload),
            )
            .route("/keys", get(keys::list).post(keys::create))
            .route("/accounts", get(accounts::list).post(accounts::create))
            .route("/accounts/caps", post(accounts::set_caps))
            .route("/audit", get(audit::page))
            .route("/traffic", get(charts::page))
            .route("/audit.jsonl", get(audit::download))
            .route("/accounts/{id}/delete", post(accounts::delete))
            .route("/keys/{id}/delete", post(keys::delete))
            .route("/keys/explain", get(keys::explain))
            .route("/b/{bucket}/cors", get(cors::page).post(cors::preview))
            .route("/b/{bucket}/cors/save", post(cors::save))
            .route("/b/{bucket}/cors/simulate", get(cors::simulate))
            .route("/b/{bucket}/cors/stage", post(cors::stage))
            .route("/b/{bucket}/cors/staged", post(cors::staged_action))
            .route("/b/{bucket}/events", get(events::page))
            .route("/b/{bucket}/events/save", post(events::save))
            .route("/b/{bucket}/events/rule", post(events::rule_action))
            .route(
                "/b/{bucket}/website",
                get(website::page).post(website::save),
            )
            .route("/b/{bucket}/website/remove", post(website::remove))
            .route("/assets/app.js", get(views::script))
            .route("/assets/app.css", get(views::style))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                guard::guard,
            ))
            .with_state(self)
    }
}

/// Serves the dashboard on `listener` until `shutdown` completes, under `limits` (the same
/// rules as the API's listener: a cap of its own, a head timeout from accept, backed-off
/// `accept` failures), then lets open connections finish for up to `grace`.
pub async fn serve(
    listener: impl Into<pier_edge::listen::Listening>,
    dashboard: Dashboard,
    limits: pier_edge::listen::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) {
    let site = Site {
        router: dashboard.router(),
    };
    pier_edge::listen::serve(listener, site, limits, shutdown, async {}, grace).await;
}

/// The dashboard's listener: every connection gets the router, with its peer's address as
/// axum's `ConnectInfo`.
struct Site {
    router: Router,
}

impl pier_edge::listen::Site for Site {
    type Service = WithPeer;
    type Body = axum::body::Body;
    type Open = ();

    fn service(&self, peer: std::net::SocketAddr, secure: bool) -> WithPeer {
        WithPeer {
            router: self.router.clone(),
            peer,
            secure,
        }
    }

    fn over_cap(&self, _: &http::Request<hyper::body::Incoming>) -> http::Response<Self::Body> {
        http::Response::builder()
            .status(http::StatusCode::SERVICE_UNAVAILABLE)
            .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(axum::body::Body::from(
                "The dashboard is serving as many connections as it may; retry in a moment.\n",
            ))
            .expect("static response parts are valid")
    }

    fn opened(&self) {}
}

/// The router, for one connection from `peer`.
struct WithPeer {
    router: Router,
    peer: std::net::SocketAddr,
    /// The connection came over TLS (cookies get `Secure`, answers HSTS).
    secure: bool,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for WithPeer {
    type Response = http::Response<axum::body::Body>;
    type Error = std::convert::Infallible;
    type Future = tower::util::Oneshot<Router, http::Request<hyper::body::Incoming>>;

    fn call(&self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        use tower::ServiceExt as _;
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        if self.secure {
            req.extensions_mut().insert(pier_edge::listen::OverTls);
        }
        self.router.clone().oneshot(req)
    }
}
