//! Garbage and orphans: blobs released by a commit are removed after their grace period by a
//! background thread, and blobs no metadata references (a crash between a blob's rename and its
//! commit) are swept at start or on demand.

use crate::{now_millis, Blobs, MetaStore, Millis, Result, Store};
use std::sync::mpsc;
use std::sync::Arc;

/// The longest the janitor waits between looks for garbage past its grace period.
const JANITOR_TICK_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// The newest release time whose garbage is past a grace period of `grace` now.
fn grace_cutoff(grace: std::time::Duration) -> Millis {
    now_millis().saturating_sub(i64::try_from(grace.as_millis()).unwrap_or(Millis::MAX))
}

/// Removes the blobs of every garbage row released at or before `released_by`, then forgets the
/// rows, a thousand at a time; returns how many.
fn sweep_garbage(meta: &dyn MetaStore, blobs: &Blobs, released_by: Millis) -> Result<usize> {
    const BATCH: usize = 1000;
    let mut removed = 0;
    loop {
        let batch = meta.garbage(released_by, BATCH)?;
        if batch.is_empty() {
            return Ok(removed);
        }
        blobs.remove(&batch)?;
        meta.forget_garbage(&batch)?;
        removed += batch.len();
        if batch.len() < BATCH {
            return Ok(removed);
        }
    }
}

impl Store {
    /// See [`Backends::orphan_age`].
    pub fn orphan_age(&self) -> std::time::Duration {
        self.inner.orphan_age
    }

    /// Removes the blobs no metadata references that are at least `min_age` old; returns how
    /// many. The blobs are listed before the metadata is read, so a blob committed in between
    /// counts as referenced.
    pub fn sweep_orphans(&self, min_age: std::time::Duration) -> Result<usize> {
        let present = self.inner.blobs.list()?;
        let referenced = self.meta().referenced_blobs()?;
        let now = std::time::SystemTime::now();
        let orphans: Vec<String> = present
            .into_iter()
            .filter(|b| !referenced.contains(&b.id))
            .filter(|b| now.duration_since(b.modified).unwrap_or_default() >= min_age)
            .map(|b| b.id)
            .collect();
        self.inner.blobs.remove(&orphans)?;
        Ok(orphans.len())
    }

    pub(crate) fn remove_orphans(&self, was_clean: bool) -> Result<()> {
        let min_age = if self.inner.blobs.shared() {
            self.inner.orphan_age
        } else {
            std::time::Duration::ZERO
        };
        let removed = self.sweep_orphans(min_age)?;
        if removed > 0 {
            tracing::info!(
                count = removed,
                after_clean_stop = was_clean,
                "removed blobs no metadata references"
            );
        }
        Ok(())
    }

    /// At start: removes the garbage no reader can still need: all of it with the embedded
    /// metadata (nothing reads before the server listens), only what is past its grace period
    /// when other nodes share the metadata.
    pub(crate) fn collect_garbage(&self) -> Result<()> {
        let released_by = if self.inner.shared_meta {
            grace_cutoff(self.inner.garbage_grace)
        } else {
            Millis::MAX
        };
        sweep_garbage(self.meta(), &self.inner.blobs, released_by)?;
        self.inner
            .stats
            .garbage_queued(self.meta().garbage_count()? as usize);
        Ok(())
    }

    /// Starts the thread that removes garbage blobs once past their grace period, and forgets
    /// them, in batches: woken by writes that released blobs, and at least every tenth of the
    /// grace period (at most [`JANITOR_TICK_MAX`]). A write is answered without waiting for it.
    pub(crate) fn start_janitor(&self) -> Result<()> {
        let (tx, rx) = mpsc::channel::<()>();
        let meta = Arc::clone(&self.inner.meta);
        let blobs = self.inner.blobs.clone();
        let stats = Arc::clone(&self.inner.stats);
        let grace = self.inner.garbage_grace;
        let tick = (grace / 10).clamp(std::time::Duration::from_millis(50), JANITOR_TICK_MAX);
        let handle = std::thread::Builder::new()
            .name("pier-janitor".into())
            .spawn(move || loop {
                match rx.recv_timeout(tick) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                while rx.try_recv().is_ok() {}
                // Failures leave the rows in `garbage`; the next look retries them.
                match sweep_garbage(&*meta, &blobs, grace_cutoff(grace)) {
                    Ok(n) => stats.garbage_done(n),
                    Err(e) => tracing::warn!(error = %e, "removing garbage blobs failed"),
                }
                // Counter changes folded into their totals; a failure leaves them to the next.
                if let Err(e) = meta.compact_usage() {
                    tracing::warn!(error = %e, "compacting the usage counters failed");
                }
            })?;
        *self.inner.janitor.wake.lock().expect("janitor lock") = Some(tx);
        *self.inner.janitor.thread.lock().expect("janitor lock") = Some(handle);
        Ok(())
    }

    /// Takes note of blobs a committed write recorded as garbage: the janitor removes them once
    /// past the grace period. Without a janitor (an admin handle), a grace of zero removes them
    /// here; otherwise the server's janitor (or the next start) does.
    pub(crate) fn discard(&self, blobs: Vec<String>) -> Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.inner.stats.garbage_queued(blobs.len());
        if let Some(janitor) = &*self.inner.janitor.wake.lock().expect("janitor lock") {
            if self.inner.garbage_grace.is_zero() {
                let _ = janitor.send(());
            }
            return Ok(());
        }
        if self.inner.garbage_grace.is_zero() {
            self.inner.blobs.remove(&blobs)?;
            self.meta().forget_garbage(&blobs)?;
            self.inner.stats.garbage_done(blobs.len());
        }
        Ok(())
    }
}
