//! pier's HTTP front: it owns the listener and decides, for every request, who answers.
//!
//! # Overview
//! - [`run`] serves an already-bound listener until a shutdown future resolves, then lets
//!   in-flight requests finish (mini-redis style: tests bind `127.0.0.1:0` and run it in-process).
//! - [`front`] routes: `/_pier/...` (health) is ours; everything else is S3, through s3s.
//! - [`fixes`] adjusts what s3s 0.14.1 gets wrong at the edge: no body on HEAD or 304 answers,
//!   and presigned URLs limited to seven days.

pub mod config;
pub mod cors;
pub mod fixes;
pub mod front;

pub use config::Config;
pub use front::Front;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves `front` on `listener` until `shutdown` resolves; then stops accepting and waits (up to
/// `grace`) for in-flight requests to finish.
pub async fn run(
    listener: TcpListener,
    front: Front,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let builder = ConnBuilder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Small responses must not wait for delayed ACKs (Nagle).
                let _ = stream.set_nodelay(true);
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), front.clone());
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    Ok(())
}
