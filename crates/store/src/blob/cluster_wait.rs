//! Waiting on the blob cluster's client, which is async and runs on a small runtime of its own,
//! from the store's synchronous callers on any thread; and what a failed write to the cluster
//! means to a client. Shared by the cluster's sinks ([`super::s3`], [`super::streamed_put`]).

use crate::error::StoreError;
use std::future::Future;
use std::io;
use std::sync::mpsc::sync_channel;

/// Runs `fut` on `runtime` and waits for its output on this thread, whatever thread it is: the
/// wait is on a channel, so no runtime is entered or nested.
pub(super) fn wait_on<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    fut: impl Future<Output = T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| io::Error::other("the blob backend's runtime stopped"))
}

/// A failed write to the cluster: passing (a node restarting, a replica being replaced), so the
/// client is told to retry (503) rather than that the server broke.
pub(super) fn unavailable(e: io::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
