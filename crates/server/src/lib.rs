//! pier's HTTP front: it owns the listener and decides, for every request, who answers.
//!
//! # Overview
//! - [`run`] serves an already-bound listener until a shutdown future resolves, then lets
//!   in-flight requests finish (mini-redis style: tests bind `127.0.0.1:0` and run it).
//! - [`front`]: the sequence every request goes through (route, preflight, detached dispatch,
//!   edge fixes, CORS decoration, accounting).
//! - [`limits`]: the connection cap and the head, body-stall and HTTP/2 stream limits.
//! - [`cors`]: the CORS layer; [`fixes`]: corrections around s3s 0.14.1 and clients.
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
pub mod operation;

pub use config::Config;
pub use front::{Front, FrontOptions};
pub use limits::Limits;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::Body;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections over the cap served at once, each for a single request: enough to answer
/// health checks and tell clients to back off while the cap is reached.
const OVERFLOW_SLOTS: usize = 256;
/// How long an over-the-cap connection has to send its request head (short: a flood must open
/// more than `OVERFLOW_SLOTS` connections a second to keep every slot busy).
const OVERFLOW_HEAD_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `front` on `listener` until `shutdown` resolves; then stops accepting and waits (up to
/// `grace`) for in-flight requests, including detached handlers, to finish.
///
/// At most `connection_cap` connections are served; a connection beyond that gets one answer
/// (`/_pier/health` as usual, anything else `503` with `Retry-After`) and is closed, and beyond
/// that and [`OVERFLOW_SLOTS`] more it is closed at once.
pub async fn run(
    listener: TcpListener,
    front: Front,
    connection_cap: usize,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let limits = front.limits().clone();
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        // A client that half-closes after sending its whole request still gets its answer.
        .half_close(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_streams)
        .keep_alive_interval(Some(limits.header_timeout()))
        .keep_alive_timeout(Duration::from_secs(20));
    let slots = Arc::new(Semaphore::new(connection_cap));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_SLOTS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                };
                // Small responses must not wait for delayed ACKs (Nagle).
                let _ = stream.set_nodelay(true);
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    front.metrics().refused_connection();
                    if let Ok(permit) = Arc::clone(&overflow).try_acquire_owned() {
                        tokio::spawn(async move {
                            answer_over_cap(stream).await;
                            drop(permit);
                        });
                    }
                    continue;
                };
                let counted = front.metrics().connection();
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), front.for_client(peer.ip()));
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(counted);
                    drop(permit);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = async { graceful.shutdown().await; front.drain().await } => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    Ok(())
}

/// Serves one request on a connection over the cap: health checks are answered, everything
/// else is told to retry (S3 `SlowDown`, B2 `service_unavailable`); then the connection closes.
async fn answer_over_cap(stream: TcpStream) {
    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        let path = req.uri().path();
        let mut resp = if path == "/_pier/health" {
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
            fixes::xml_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            )
        };
        resp.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        fixes::close_connection(&mut resp);
        Ok::<_, std::convert::Infallible>(resp)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(OVERFLOW_HEAD_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(OVERFLOW_HEAD_TIMEOUT * 2, conn).await;
}
