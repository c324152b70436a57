//! Serving a listener under limits, for every listener pier has (the API and the dashboard), so
//! none of them can be filled by clients that connect and never send, nor spin when the process
//! runs out of file descriptors.
//!
//! - At most [`ConnLimits::cap`] connections are served at once. One beyond that gets a single
//!   answer from the site's `over_cap` (told to retry; a health check answered) within
//!   [`OVERFLOW_HEAD_TIMEOUT`], and is closed; beyond [`OVERFLOW_SLOTS`] more, it is closed at
//!   once.
//! - The head timeout runs from the moment a connection is accepted: one that sends nothing is
//!   closed when it expires (hyper-util's protocol detection reads the first bytes with no timer
//!   of its own, hyperium/hyper#3756), and after its first request hyper's own head timeout
//!   bounds each next head and the idle time between requests.
//! - Over TLS ([`Listening::tls`]), the handshake is part of the head: it must complete within
//!   what is left of the head timeout.
//! - A failing `accept` (out of file descriptors, say) backs off, doubling its pause up to a
//!   second, and is logged at most once a second with how many failed meanwhile.

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections over the cap served at once, each for a single request: enough to answer
/// health checks and tell clients to back off while the cap is reached.
pub const OVERFLOW_SLOTS: usize = 256;
/// How long an over-the-cap connection has to send its request head (short: a flood must open
/// more than [`OVERFLOW_SLOTS`] connections a second to keep every slot busy).
pub const OVERFLOW_HEAD_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest pause after failed `accept`s.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The listen backlog pier asks for (the kernel caps it at `net.core.somaxconn`): deep enough
/// that a burst of connections waits in the accept queue, where the head timeout soon reaches
/// it, rather than in SYN-RECV, where the server cannot see it (tokio's default is 1,024).
pub const BACKLOG: u32 = 4096;

/// Binds a listener on `addr` (`host:port`; port 0 picks one) with a [`BACKLOG`]-deep accept
/// queue.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std and tokio do for listeners: a restarted server can bind at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

/// How many connections a listener serves, and how long each may stay silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Most connections served at once.
    pub cap: usize,
    /// Time a connection has to deliver a complete request head, from its accept and then from
    /// the end of each exchange (so also the idle keep-alive timeout).
    pub head_timeout: Duration,
    /// Most concurrent streams one HTTP/2 connection may open.
    pub http2_max_streams: u32,
}

/// What a listener serves, and how it counts its connections.
pub trait Site: Send + Sync + 'static {
    /// The service a connection from `peer` gets.
    type Service: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Self::Body>,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Send
        + 'static;
    /// The response body of both the service and the over-cap answer.
    type Body: http_body::Body<Data = bytes::Bytes, Error: Into<BoxError>> + Send + 'static;
    /// A value held while a connection is open (a gauge's guard, say).
    type Open: Send + 'static;

    /// The service for a connection from `peer`; `secure` when it came over TLS.
    fn service(&self, peer: SocketAddr, secure: bool) -> Self::Service;
    /// The one answer a connection over the cap gets (it is closed after it).
    fn over_cap(&self, request: &Request<Incoming>) -> Response<Self::Body>;
    /// Called when a connection is served; what it returns is dropped when it closes.
    fn opened(&self) -> Self::Open;
    /// Called when a connection is refused for being over the cap.
    fn refused(&self) {}
}

/// Any error a body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Put in a request's extensions by the edges when its connection came over TLS: URLs handed
/// out say `https`, cookies are `Secure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverTls;

/// Put in a request's extensions by the HTTP front when the request may carry a customer's
/// encryption key (SSE-C): it came over TLS, or the operator allowed keys over plain HTTP
/// (`--allow-sse-c-over-http`). Without it both APIs refuse SSE-C headers, as AWS does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerKeysAllowed;

/// A bound listener, and the TLS it speaks, if any.
pub struct Listening {
    /// The socket.
    pub tcp: TcpListener,
    /// Its TLS (a handshake before the first request), or plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl From<TcpListener> for Listening {
    fn from(tcp: TcpListener) -> Listening {
        Listening { tcp, tls: None }
    }
}

/// Serves `site` on `listener` until `shutdown` resolves; then stops accepting and waits, up to
/// `grace`, for open connections to finish and then for `drain` (work the site runs beyond its
/// connections).
pub async fn serve<T: Site>(
    listener: impl Into<Listening>,
    site: T,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    drain: impl Future<Output = ()>,
    grace: Duration,
) {
    let Listening { tcp: listener, tls } = listener.into();
    let site = Arc::new(site);
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        // A client that half-closes after sending its whole request still gets its answer.
        .half_close(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_streams)
        .keep_alive_interval(Some(limits.head_timeout))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.cap));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_SLOTS));
    let graceful = Arc::new(GracefulShutdown::new());
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => {
                    backoff.succeeded();
                    s
                }
                Err(e) => {
                    tokio::time::sleep(backoff.failed(&e)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses must not wait for delayed ACKs (Nagle).
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            site.refused();
            if let Ok(permit) = Arc::clone(&overflow).try_acquire_owned() {
                let site = Arc::clone(&site);
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => answer_over_cap(stream, &*site).await,
                        Some(tls) => {
                            let shake =
                                tokio::time::timeout(OVERFLOW_HEAD_TIMEOUT, tls.accept(stream));
                            if let Ok(Ok(stream)) = shake.await {
                                answer_over_cap(stream, &*site).await;
                            }
                        }
                    }
                    drop(permit);
                });
            }
            continue;
        };
        let (site, builder, graceful) = (
            Arc::clone(&site),
            Arc::clone(&builder),
            Arc::clone(&graceful),
        );
        let head_timeout = limits.head_timeout;
        let tls = tls.clone();
        tokio::spawn(async move {
            let accepted = Instant::now();
            if !first_byte_within(&stream, head_timeout).await {
                drop(permit);
                return;
            }
            let open = site.opened();
            let ended = match tls {
                None => {
                    let conn = builder
                        .serve_connection_with_upgrades(
                            TokioIo::new(stream),
                            site.service(peer, false),
                        )
                        .into_owned();
                    graceful.watch(conn).await
                }
                Some(tls) => {
                    let left = head_timeout.saturating_sub(accepted.elapsed());
                    match tokio::time::timeout(left, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let conn = builder
                                .serve_connection_with_upgrades(
                                    TokioIo::new(stream),
                                    site.service(peer, true),
                                )
                                .into_owned();
                            graceful.watch(conn).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake not done within the head timeout");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    let graceful = Arc::try_unwrap(graceful).unwrap_or_else(|_| GracefulShutdown::new());
    tokio::select! {
        () = async { graceful.shutdown().await; drain.await } => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}

/// Waits until `stream` has a byte to read, at most `timeout`: false for a connection that
/// sent nothing in time, closed, or failed.
async fn first_byte_within(stream: &TcpStream, timeout: Duration) -> bool {
    let mut probe = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut probe)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// Serves one request on a connection over the cap with the site's `over_cap` answer; then the
/// connection closes.
async fn answer_over_cap<T: Site, S>(stream: S, site: &T)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(|req: Request<Incoming>| {
        let mut resp = site.over_cap(&req);
        resp.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        );
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        std::future::ready(Ok::<_, std::convert::Infallible>(resp))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(OVERFLOW_HEAD_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(OVERFLOW_HEAD_TIMEOUT * 2, conn).await;
}

/// The pause after failed `accept`s, and when they were last logged.
#[derive(Debug, Default)]
struct AcceptBackoff {
    /// Failures in a row.
    failures: u32,
    /// Failures since the last log line.
    unlogged: u64,
    logged: Option<Instant>,
}

impl AcceptBackoff {
    fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Counts a failure and returns how long to pause: 5 ms, doubling per failure in a row, at
    /// most [`ACCEPT_BACKOFF_MAX`]. Logs at most once a second.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.unlogged += 1;
        if self
            .logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(error = %e, failed = self.unlogged, "accept failed; backing off");
            self.unlogged = 0;
            self.logged = Some(Instant::now());
        }
        let pause = Duration::from_millis(5).saturating_mul(1 << self.failures.min(10));
        pause.min(ACCEPT_BACKOFF_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_to_a_second_and_recover() {
        let mut b = AcceptBackoff::default();
        let e = std::io::Error::other("too many open files");
        let pauses: Vec<Duration> = (0..12).map(|_| b.failed(&e)).collect();
        assert_eq!(pauses[0], Duration::from_millis(10));
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().unwrap(), ACCEPT_BACKOFF_MAX);
        // Only the first failure of this second was logged; the rest wait for the next line.
        assert_eq!(b.unlogged, 11);
        b.succeeded();
        assert_eq!(b.failed(&e), Duration::from_millis(10));
    }
}
