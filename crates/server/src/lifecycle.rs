//! The maintenance task: once at start and then every interval, on a blocking thread so requests
//! never wait for it, applies every bucket's lifecycle rules and (with a shared blob store)
//! sweeps orphan blobs — on the one node holding the maintenance lease (the store bounds each
//! write batch; see `docs/design.md`, "Lifecycle", and `docs/scale.md`).

use pier_store::lifecycle::DAY;
use pier_store::{LifecycleClock, Store};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The running task; [`LifecycleTask::stop`] ends it after the pass under way.
pub struct LifecycleTask {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

/// Starts the task. Two test aids: `clock_offset_days` is added to the clock rules are judged
/// by, and `day` (when given) is how long a rule's day is, with a pass every half day (as
/// RGW's `rgw_lc_debug_interval`, which ceph's s3-tests expect).
pub fn spawn(
    store: Store,
    interval: Duration,
    clock_offset_days: i64,
    day: Option<Duration>,
) -> LifecycleTask {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let day_ms = day.map_or(DAY, |d| i64::try_from(d.as_millis()).unwrap_or(DAY).max(1));
    let interval = match day {
        Some(d) => interval.min((d / 2).max(Duration::from_millis(500))),
        None => interval,
    };
    let handle = tokio::spawn(async move {
        loop {
            let pass_store = store.clone();
            let now = LifecycleClock {
                now: pier_store::now_millis() + clock_offset_days.saturating_mul(day_ms),
                day: day_ms,
            };
            // The lease outlasts two intervals, so the node holding it keeps it while it runs,
            // and another takes over within two intervals if it stops.
            let lease = interval.saturating_mul(2);
            match tokio::task::spawn_blocking(move || pass_store.run_maintenance(now, lease)).await
            {
                Ok(Ok(Some(report))) => {
                    if report != pier_store::LifecycleReport::default() {
                        tracing::info!(
                            expired = report.expired,
                            deleted = report.deleted,
                            markers_removed = report.markers,
                            uploads_aborted = report.aborted,
                            orphans_removed = report.orphans,
                            "maintenance pass applied lifecycle rules and swept blobs"
                        );
                    }
                }
                Ok(Ok(None)) => {
                    tracing::debug!("another node holds the maintenance lease");
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
