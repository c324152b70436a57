//! pier's HTTP front: it owns the listener and decides, for every request, who answers.
//!
//! # Overview
//! - [`run`] serves an already-bound listener until a shutdown future resolves, then lets
//!   in-flight requests finish (mini-redis style: tests bind `127.0.0.1:0` and run it).
//! - [`front`]: the sequence every request goes through (route, preflight, detached dispatch,
//!   edge fixes, CORS decoration, accounting).
//! - [`limits`]: the connection cap and the head, body-stall and HTTP/2 stream limits.
//! - [`cors`]: the CORS layer; [`fixes`]: corrections around s3s 0.14.1 and clients;
//!   [`multi_range`]: several ranges served whole, as S3 serves them; [`region`]: the region
//!   SigV4 requests must name.
//! - [`metrics`] (`/_pier/metrics`) and [`access_log`] (JSON lines); [`operation`] names
//!   what each request does for both.

pub mod access_log;
pub mod config;
pub mod cors;
pub mod fixes;
pub mod front;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod multi_range;
pub mod operation;
pub mod region;
pub mod website;

pub use config::Config;
pub use front::{Front, FrontOptions, MetricsAccess};
pub use limits::Limits;

use bytes::Bytes;
use http::{header, Request, Response};
use hyper::body::Incoming;
use pier_edge::listen::ConnLimits;
use pier_s3::fault::{S3ErrorKind, S3Fault};
use s3s::Body;
use std::future::Future;
use std::time::Duration;

/// Serves `front` on `listener` until `shutdown` resolves; then stops accepting and waits (up to
/// `grace`) for in-flight requests, including detached handlers, to finish.
///
/// At most `connection_cap` connections are served; a connection beyond that gets one answer
/// (`/_pier/health` as usual, anything else `503` with `Retry-After`) and is closed, and beyond
/// that and [`pier_edge::listen::OVERFLOW_SLOTS`] more it is closed at once. A connection that
/// sends nothing is closed when the head timeout, counted from its accept, runs out.
pub async fn run(
    listener: impl Into<pier_edge::listen::Listening>,
    front: Front,
    connection_cap: usize,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let limits = front.limits().clone();
    let drain = front.clone();
    pier_edge::listen::serve(
        listener,
        ApiSite(front),
        ConnLimits {
            cap: connection_cap,
            head_timeout: limits.header_timeout(),
            http2_max_streams: limits.http2_max_streams,
        },
        shutdown,
        async move { drain.drain().await },
        grace,
    )
    .await;
    Ok(())
}

/// The API listener's site: the front, its connection counters, and the over-cap answer.
struct ApiSite(Front);

impl pier_edge::listen::Site for ApiSite {
    type Service = Front;
    type Body = Body;
    type Open = metrics::ConnectionGuard;

    fn service(&self, peer: std::net::SocketAddr, secure: bool) -> Self::Service {
        self.0.for_client(peer.ip(), secure)
    }

    /// Health checks are answered; everything else is told to retry (S3 `SlowDown`, B2
    /// `service_unavailable`).
    fn over_cap(&self, req: &Request<Incoming>) -> Response<Body> {
        let path = req.uri().path();
        if path == "/_pier/health" {
            Response::builder()
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(Bytes::from_static(b"ok\n")))
                .expect("static response parts are valid")
        } else if pier_b2::is_b2_path(path) {
            pier_b2::B2Error::new(
                pier_b2::B2ErrorKind::ServiceUnavailable,
                "too many connections; retry",
            )
            .into_response()
        } else {
            S3Fault::new(S3ErrorKind::SlowDown, "Please reduce your request rate.").into_response()
        }
    }

    fn opened(&self) -> Self::Open {
        self.0.metrics().connection()
    }

    fn refused(&self) {
        self.0.metrics().refused_connection();
    }
}
