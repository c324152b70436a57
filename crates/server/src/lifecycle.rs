//! The lifecycle task: applies every bucket's lifecycle rules once at start and then every
//! interval, on a blocking thread so requests never wait for it (the store bounds each write
//! batch; see `docs/design.md`, "Lifecycle").

use pier_store::lifecycle::DAY;
use pier_store::Store;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The running task; [`LifecycleTask::stop`] ends it after the pass under way.
pub struct LifecycleTask {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

/// Starts the task. `clock_offset_days` is added to the clock rules are judged by (a test aid).
pub fn spawn(store: Store, interval: Duration, clock_offset_days: i64) -> LifecycleTask {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let handle = tokio::spawn(async move {
        loop {
            let pass_store = store.clone();
            let now = pier_store::now_millis() + clock_offset_days.saturating_mul(DAY);
            match tokio::task::spawn_blocking(move || pass_store.run_lifecycle(now)).await {
                Ok(Ok(report)) => {
                    if report != pier_store::LifecycleReport::default() {
                        tracing::info!(
                            expired = report.expired,
                            deleted = report.deleted,
                            markers_removed = report.markers,
                            uploads_aborted = report.aborted,
                            "lifecycle pass applied rules"
                        );
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "lifecycle pass failed"),
                Err(e) => tracing::error!(error = %e, "lifecycle pass panicked"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    });
    LifecycleTask { cancel, handle }
}

impl LifecycleTask {
    /// Stops the task and waits for the pass under way to finish.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.handle.await;
    }
}
