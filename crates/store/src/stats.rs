//! Counters the store keeps about its own work, for the server's metrics: group commits and
//! their sizes and durations, blob fsyncs and their durations, the janitor's backlog, and the
//! writes tried again after a conflict.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Live counters, shared by the store's parts. Relaxed atomics: each value is exact, their
/// combination is a near-instant snapshot.
#[derive(Debug, Default)]
pub struct StoreStats {
    commits: AtomicU64,
    committed_jobs: AtomicU64,
    commit_micros: AtomicU64,
    blob_syncs: AtomicU64,
    blob_sync_micros: AtomicU64,
    janitor_backlog: AtomicU64,
    write_retries: AtomicU64,
}

/// A snapshot of [`StoreStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Metadata group commits.
    pub commits: u64,
    /// Write jobs in them (the mean batch size is `committed_jobs / commits`).
    pub committed_jobs: u64,
    /// Time spent committing (including the WAL fsync), in microseconds.
    pub commit_micros: u64,
    /// Blob files made durable (file fsync, rename, directory fsync).
    pub blob_syncs: u64,
    /// Time spent doing so, in microseconds.
    pub blob_sync_micros: u64,
    /// Garbage blobs handed to the janitor and not yet deleted.
    pub janitor_backlog: u64,
    /// Write transactions rolled back after a conflict with another write and run again
    /// (PostgreSQL's serialization failures; SQLite's one writer never conflicts).
    pub write_retries: u64,
}

impl StoreStats {
    pub(crate) fn commit(&self, jobs: usize, took: Duration) {
        self.commits.fetch_add(1, Relaxed);
        self.committed_jobs.fetch_add(jobs as u64, Relaxed);
        self.commit_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    pub(crate) fn blob_sync(&self, took: Duration) {
        self.blob_syncs.fetch_add(1, Relaxed);
        self.blob_sync_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    pub(crate) fn write_retried(&self) {
        self.write_retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn garbage_queued(&self, n: usize) {
        self.janitor_backlog.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn garbage_done(&self, n: usize) {
        let _ = self
            .janitor_backlog
            .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(n as u64)));
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            commits: self.commits.load(Relaxed),
            committed_jobs: self.committed_jobs.load(Relaxed),
            commit_micros: self.commit_micros.load(Relaxed),
            blob_syncs: self.blob_syncs.load(Relaxed),
            blob_sync_micros: self.blob_sync_micros.load(Relaxed),
            janitor_backlog: self.janitor_backlog.load(Relaxed),
            write_retries: self.write_retries.load(Relaxed),
        }
    }
}
