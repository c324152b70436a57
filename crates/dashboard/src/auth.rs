//! Signing in and out, and who a request is: [`Signed`] extracts the session's key and its
//! engine scope, and every handler asks [`Signed::allow`] before acting, so the dashboard can
//! never show or do more than the key could through the APIs.

use crate::session::{Session, COOKIE};
use crate::views::{render, ErrorPage, LoginPage};
use crate::Dashboard;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use pier_access::{Action, KeyScope};
use pier_edge::access::{Ask, RequestFacts};
use serde::Deserialize;
use std::net::SocketAddr;

/// An error answered as a page (or, for the upload API, as text) with its status.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, shown to the user.
    pub message: String,
    /// Send the browser to sign in instead.
    pub sign_in: bool,
}

impl Page {
    /// An error with `status` saying `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Page {
        Page {
            status,
            message: message.into(),
            sign_in: false,
        }
    }

    /// A store failure: logged with its cause, shown as a 500 without internals.
    pub fn internal(e: impl std::fmt::Display) -> Page {
        tracing::error!(error = %e, "dashboard: internal error");
        Page::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server; the error is in its log.",
        )
    }

    /// A store error in the user's words.
    pub fn store(e: impl Into<pier_store::StoreError>) -> Page {
        use pier_store::StoreError as E;
        match e.into() {
            E::NoSuchBucket => Page::new(StatusCode::NOT_FOUND, "No such bucket."),
            E::NoSuchKey | E::NoSuchVersion => Page::new(StatusCode::NOT_FOUND, "No such object."),
            E::BucketExists => Page::new(StatusCode::CONFLICT, "That bucket name is taken."),
            E::BucketNotEmpty => Page::new(
                StatusCode::CONFLICT,
                "The bucket still holds objects or versions; delete them first.",
            ),
            E::NoSuchUpload => Page::new(StatusCode::NOT_FOUND, "No such upload."),
            E::InvalidName(why) => Page::new(StatusCode::BAD_REQUEST, why.to_string()),
            E::CapExceeded(cap) => Page::new(StatusCode::FORBIDDEN, format!("Refused: {cap}.")),
            why @ E::LongerThanDeclared(_) => Page::new(StatusCode::BAD_REQUEST, why.to_string()),
            E::Unavailable(why) => {
                tracing::warn!(cause = %why, "dashboard: storage unavailable");
                Page::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The storage is unavailable for a moment; try again.",
                )
            }
            other => Page::internal(other),
        }
    }

    fn sign_in() -> Page {
        Page {
            status: StatusCode::UNAUTHORIZED,
            message: "Sign in first.".into(),
            sign_in: true,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        if self.sign_in {
            return Redirect::to("/login").into_response();
        }
        let body = render(&ErrorPage {
            status: self.status.as_u16(),
            message: &self.message,
        });
        (self.status, body).into_response()
    }
}

/// The signed-in caller: its session and its key's scope in the access engine.
#[derive(Debug)]
pub struct Signed {
    /// The session.
    pub session: Session,
    /// What the key may do.
    pub scope: KeyScope,
    /// The request's facts policy conditions test (`aws:SourceIp`, `aws:Referer`,
    /// `aws:UserAgent`), so a dashboard action is decided as the same action through the API.
    facts: Facts,
}

/// What the dashboard knows of a request for policy conditions.
#[derive(Clone, Debug, Default)]
struct Facts {
    source_ip: Option<std::net::IpAddr>,
    referer: Option<String>,
    user_agent: Option<String>,
}

/// The session cookie's value, if the request carries one.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

impl FromRequestParts<Dashboard> for Signed {
    type Rejection = Page;

    async fn from_request_parts(parts: &mut Parts, d: &Dashboard) -> Result<Signed, Page> {
        let id = cookie(&parts.headers).ok_or_else(Page::sign_in)?;
        let session = d
            .sessions()
            .get(id)
            .map_err(Page::store)?
            .ok_or_else(Page::sign_in)?;
        let key = match d.store().key(&session.key_id).map_err(Page::store)? {
            Some(k) => k,
            None => {
                d.sessions().end_key(&session.key_id).map_err(Page::store)?;
                return Err(Page::sign_in());
            }
        };
        let scope = d.access().scope(&key);
        if scope.expires.is_some_and(|t| t <= pier_store::now_millis()) {
            d.sessions().end(id).map_err(Page::store)?;
            return Err(Page::sign_in());
        }
        let header = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let facts = Facts {
            source_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            referer: header(header::REFERER),
            user_agent: header(header::USER_AGENT),
        };
        Ok(Signed {
            session,
            scope,
            facts,
        })
    }
}

impl Signed {
    /// Asks the access engine whether the key may do `action`; a refusal is a 403 page with
    /// the engine's reason.
    pub fn allow(
        &self,
        d: &Dashboard,
        action: Action,
        bucket: Option<&str>,
        key: Option<&str>,
        prefix: Option<&str>,
    ) -> Result<(), Page> {
        let decision = d
            .access()
            .decide(
                Some(&self.scope),
                Ask {
                    action,
                    bucket,
                    key,
                    prefix,
                },
                RequestFacts {
                    source_ip: self.facts.source_ip,
                    secure_transport: false,
                    referer: self.facts.referer.as_deref(),
                    user_agent: self.facts.user_agent.as_deref(),
                    headers: None,
                },
            )
            .map_err(Page::store)?;
        if decision.allowed {
            Ok(())
        } else {
            Err(Page::new(
                StatusCode::FORBIDDEN,
                format!("Your key may not do this: {}", decision.reason),
            ))
        }
    }

    /// The bucket named `name`, once the engine allows the key `action` on it: a refusal is a
    /// 403 page, a bucket that does not exist a 404.
    pub fn bucket(
        &self,
        d: &Dashboard,
        action: Action,
        name: &str,
    ) -> Result<std::sync::Arc<pier_store::Bucket>, Page> {
        self.allow(d, action, Some(name), None, None)?;
        d.store().bucket(name).map_err(Page::store)
    }

    /// True when the key may do `action` (for showing or hiding a control).
    pub fn may(&self, d: &Dashboard, action: Action, bucket: Option<&str>) -> bool {
        self.allow(d, action, bucket, None, None).is_ok()
    }

    /// True when this key manages accounts: a key of the default account that may list keys
    /// (the accounts page, the whole server's traffic and audit log).
    pub fn manages_accounts(&self, d: &Dashboard) -> bool {
        self.scope.account == pier_store::DEFAULT_ACCOUNT && self.may(d, Action::ListKeys, None)
    }

    /// Who a console action acts as, for the audit log: the signed-in key and its account, the
    /// action (`console:ACTION`), the client's address.
    pub fn actor(&self, action: &str) -> pier_store::Actor {
        pier_store::Actor::new(format!("console:{action}"))
            .by(self.session.key_id.clone(), self.scope.account.clone())
            .from_addr(self.facts.source_ip)
    }

    /// Checks the CSRF token of a state-changing request.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), Page> {
        check_csrf(&self.session, token)
    }
}

/// Refuses a state-changing request whose token is not the session's (constant-time compare).
pub fn check_csrf(session: &Session, token: Option<&str>) -> Result<(), Page> {
    match token {
        Some(t) if pier_edge::secret_eq(t.as_bytes(), session.csrf.as_bytes()) => Ok(()),
        _ => Err(Page::new(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this dashboard; reload the page and try again.",
        )),
    }
}

/// The token sent by script in the `x-csrf-token` header.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

pub(crate) async fn login_page() -> Response {
    render(&LoginPage { error: None }).into_response()
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    access_key: String,
    secret: String,
}

pub(crate) async fn login(
    State(d): State<Dashboard>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    tls: Option<axum::Extension<pier_edge::listen::OverTls>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = addr.ip();
    let tried = form.access_key.trim();
    if !d.limiter().may_try(ip, tried) {
        let page = render(&LoginPage {
            error: Some(
                "Too many failed sign-ins from your address or for this key; wait a minute.",
            ),
        });
        return (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    }
    let key = match d.store().key(form.access_key.trim()) {
        Ok(k) => k,
        Err(e) => return Page::store(e).into_response(),
    };
    let good = key.as_ref().is_some_and(|k| {
        pier_edge::secret_eq(k.secret.as_bytes(), form.secret.as_bytes())
            && k.scope.expires.is_none_or(|t| t > pier_store::now_millis())
    });
    let Some(key) = key.filter(|_| good) else {
        d.limiter().failed(ip, tried);
        let page = render(&LoginPage {
            error: Some("That access key id and secret do not match a key here."),
        });
        return (StatusCode::UNAUTHORIZED, page).into_response();
    };
    let id = match d.sessions().start(&key.access_key) {
        Ok(id) => id,
        Err(e) => return Page::store(e).into_response(),
    };
    let secure = if d.config().secure_cookies || tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::session::ABSOLUTE.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a hex id makes a valid header"),
    );
    response
}

/// A [`crate::extract::Posted`] form with no fields of its own: a button (its CSRF token is
/// checked on extraction).
#[derive(Deserialize)]
pub(crate) struct Button {}

/// The sign-out form: its CSRF token, checked against the session it ends (sign-out needs no
/// valid key, so it is not a `Posted` form).
#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    csrf: Option<String>,
}

/// A form that names one action (`promote`, `discard`, ...).
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    pub(crate) action: String,
}

pub(crate) async fn logout(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Page> {
    if let Some(id) = cookie(&headers) {
        if let Some(session) = d.sessions().get(id).map_err(Page::store)? {
            check_csrf(&session, form.csrf.as_deref())?;
            d.sessions().end(id).map_err(Page::store)?;
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("pier_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
