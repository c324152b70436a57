//! What every answer gets and every request must pass: a `Host` allowlist (421 otherwise, so a
//! DNS-rebinding page cannot talk to the dashboard), a same-origin rule for state-changing
//! requests (a foreign `Origin` is refused before any handler runs; the CSRF token is checked as
//! a form is extracted, or by the upload API's handlers), no `OPTIONS` (405, and never an
//! `Access-Control-*` header on any answer), and the security headers below.

use crate::Dashboard;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};

/// The Content-Security-Policy of every answer: no inline script or style, nothing from other
/// origins, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The origin a browser sends for a page of this dashboard at `host`.
fn own_origins(host: &str) -> [String; 2] {
    [format!("http://{host}"), format!("https://{host}")]
}

/// The guard, as axum middleware.
pub async fn guard(State(d): State<Dashboard>, req: Request, next: Next) -> Response {
    let over_tls = req
        .extensions()
        .get::<pier_edge::listen::OverTls>()
        .is_some();
    // HTTP/2 carries the host in the URI (`:authority`), HTTP/1.1 in `Host`.
    let host = pier_edge::request_host(req.headers(), req.uri())
        .unwrap_or("")
        .to_owned();
    let mut response = if !d
        .config()
        .hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host))
    {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "This dashboard does not answer for that host name.",
        )
            .into_response()
    } else if req.method() == Method::OPTIONS {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "OPTIONS is not served here.",
        )
            .into_response()
    } else if !matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|o| !own_origins(&host).iter().any(|own| own == o))
    {
        (
            StatusCode::FORBIDDEN,
            "Cross-origin requests cannot change anything here.",
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    if over_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let stale: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in stale {
        headers.remove(name);
    }
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` on
        // form posts, which the same-origin check must refuse.
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
