//! Applying lifecycle rules: a pass over each bucket's rules that finds what is due at a given
//! time and applies it in bounded batches (`docs/design.md`, "Lifecycle").
//!
//! A pass reads pages of at most 1,000 entries and writes batches of at most 100 changes, each batch one transaction that re-checks every change, so requests are never
//! blocked for long and a change a client made in between wins. A pass keeps no state of its
//! own: one cut short by a stop is redone by the next.

use crate::error::Result;
use crate::list::prefix_end;
use crate::meta::{LifecycleAction, VersionCursor};
use crate::types::{Bucket, LifecycleRule, Millis};
use crate::Store;

pub use crate::time::DAY;
/// Entries read per page.
const PAGE: usize = 1000;
/// Changes written per transaction.
const BATCH: usize = 100;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Current versions expired (deleted, or hidden behind a marker).
    pub expired: usize,
    /// Noncurrent versions and markers deleted for good.
    pub deleted: usize,
    /// Lone current markers removed.
    pub markers: usize,
    /// Multipart uploads aborted.
    pub aborted: usize,
    /// Blobs no metadata references, removed from a shared blob store.
    pub orphans: usize,
}

/// The clock a pass judges rules by: the time, and how long a rule's "day" is (a real day,
/// except as a test aid: ceph's s3-tests and RGW's `rgw_lc_debug_interval` make it seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifecycleClock {
    /// The time rules are judged at.
    pub now: Millis,
    /// The length of a rule's day, in milliseconds.
    pub day: Millis,
}

impl From<Millis> for LifecycleClock {
    /// `now`, with real days.
    fn from(now: Millis) -> LifecycleClock {
        LifecycleClock { now, day: DAY }
    }
}

impl LifecycleClock {
    /// When `days` rule days after `start` is.
    fn after(self, start: Millis, days: u32) -> Millis {
        start.saturating_add(Millis::from(days).saturating_mul(self.day))
    }
}

/// Collects actions and applies them a batch at a time.
struct Batcher<'a> {
    store: &'a Store,
    bucket_id: &'a str,
    pending: Vec<LifecycleAction>,
    report: LifecycleReport,
}

impl Batcher<'_> {
    fn push(&mut self, action: LifecycleAction) -> Result<()> {
        self.pending.push(action);
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let actions = std::mem::take(&mut self.pending);
        let counted = actions.clone();
        let (applied, garbage) = self.store.meta().apply_lifecycle(self.bucket_id, actions)?;
        self.store.discard(garbage)?;
        for (action, done) in counted.iter().zip(applied) {
            let counter = match action {
                LifecycleAction::ExpireCurrent { .. } => &mut self.report.expired,
                LifecycleAction::DeleteNoncurrent { .. } => &mut self.report.deleted,
                LifecycleAction::RemoveLoneMarker { .. } => &mut self.report.markers,
                LifecycleAction::AbortUpload { .. } => &mut self.report.aborted,
            };
            *counter += usize::from(done);
        }
        Ok(())
    }
}

impl Store {
    /// The shared maintenance pass, run by at most one node at a time: if this store's node
    /// takes (or renews) the `maintenance` lease for `lease` from now, applies every bucket's
    /// lifecycle rules by `clock` and, when blobs are shared with other nodes, removes blobs
    /// no metadata references that are older than the store's orphan age. `None` when another
    /// node holds the lease.
    pub fn run_maintenance(
        &self,
        clock: impl Into<LifecycleClock>,
        lease: std::time::Duration,
    ) -> Result<Option<LifecycleReport>> {
        let real_now = crate::now_millis();
        let until = real_now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        if !self
            .meta()
            .claim_lease(crate::MAINTENANCE_LEASE, self.node_id(), real_now, until)?
        {
            return Ok(None);
        }
        let mut report = self.run_lifecycle(clock)?;
        if self.blobs_shared() {
            report.orphans = self.sweep_orphans(self.orphan_age())?;
        }
        Ok(Some(report))
    }

    /// Applies every bucket's enabled lifecycle rules by `clock` (a time, which tests advance,
    /// and the length of a rule's day), whatever other nodes do, and reports what changed.
    pub fn run_lifecycle(&self, clock: impl Into<LifecycleClock>) -> Result<LifecycleReport> {
        let clock = clock.into();
        let mut total = LifecycleReport::default();
        for bucket in self.buckets()? {
            if bucket.lifecycle.iter().any(|r| r.enabled) {
                let r = self.run_bucket_lifecycle(&bucket, clock)?;
                total.expired += r.expired;
                total.deleted += r.deleted;
                total.markers += r.markers;
                total.aborted += r.aborted;
            }
        }
        Ok(total)
    }

    fn run_bucket_lifecycle(
        &self,
        bucket: &Bucket,
        clock: LifecycleClock,
    ) -> Result<LifecycleReport> {
        let mut batcher = Batcher {
            store: self,
            bucket_id: &bucket.id,
            pending: Vec::new(),
            report: LifecycleReport::default(),
        };
        for rule in bucket.lifecycle.iter().filter(|r| r.enabled) {
            if let Some(days) = rule.abort_uploads_days {
                self.due_uploads(&mut batcher, bucket, rule, days, clock)?;
            }
            let touches_versions = rule.expire_days.is_some()
                || rule.expire_at.is_some()
                || rule.expired_markers
                || rule.noncurrent_days.is_some();
            if touches_versions {
                self.due_versions(&mut batcher, bucket, rule, clock)?;
            }
        }
        batcher.flush()?;
        Ok(batcher.report)
    }

    fn due_uploads(
        &self,
        batcher: &mut Batcher<'_>,
        bucket: &Bucket,
        rule: &LifecycleRule,
        days: u32,
        clock: LifecycleClock,
    ) -> Result<()> {
        let (mut key, mut id) = (String::new(), String::new());
        loop {
            let uploads = self.uploads(&bucket.id, &rule.prefix, (&key, &id), PAGE)?;
            let Some(last) = uploads.last() else {
                return Ok(());
            };
            (key, id) = (last.key.clone(), last.upload_id.clone());
            let full = uploads.len() == PAGE;
            for upload in uploads {
                if clock.after(upload.created, days) <= clock.now {
                    batcher.push(LifecycleAction::AbortUpload {
                        upload_id: upload.upload_id,
                    })?;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn due_versions(
        &self,
        batcher: &mut Batcher<'_>,
        bucket: &Bucket,
        rule: &LifecycleRule,
        clock: LifecycleClock,
    ) -> Result<()> {
        let now = clock.now;
        let end = if rule.prefix.is_empty() {
            None
        } else {
            prefix_end(rule.prefix.as_bytes())
        };
        let mut cursor = VersionCursor {
            key: rule.prefix.as_bytes().to_vec(),
            seq: None,
            inclusive: true,
        };
        // Noncurrent entries seen so far of the key being read (newest first).
        let mut key_seen: Option<String> = None;
        let mut noncurrent_seen = 0u32;
        loop {
            let page = self
                .meta()
                .scan_versions(&bucket.id, &cursor, end.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for entry in page {
                if key_seen.as_deref() != Some(entry.key.as_str()) {
                    key_seen = Some(entry.key.clone());
                    noncurrent_seen = 0;
                }
                cursor = VersionCursor {
                    key: entry.key.as_bytes().to_vec(),
                    seq: Some(entry.seq),
                    inclusive: false,
                };
                if entry.is_current() {
                    if entry.marker {
                        // A marker with nothing behind it is removed by a rule asking for it,
                        // and by an `Expiration: Days` rule once that old, as S3 does (the
                        // removal re-checks that it is still alone).
                        let by_days = rule
                            .expire_days
                            .is_some_and(|d| clock.after(entry.created, d) <= now);
                        if (rule.expired_markers || by_days) && rule.takes(&entry) {
                            batcher.push(LifecycleAction::RemoveLoneMarker {
                                key: entry.key,
                                version_id: entry.version_id,
                            })?;
                        }
                        continue;
                    }
                    let by_days = rule
                        .expire_days
                        .is_some_and(|d| clock.after(entry.created, d) <= now);
                    let by_date = rule.expire_at.is_some_and(|at| at <= now);
                    if (by_days || by_date) && rule.takes(&entry) {
                        batcher.push(LifecycleAction::ExpireCurrent {
                            key: entry.key,
                            version_id: entry.version_id,
                            marker_id: uuid::Uuid::now_v7().simple().to_string(),
                        })?;
                    }
                    continue;
                }
                // Newer noncurrent versions are counted among those the filters take.
                if !rule.takes(&entry) {
                    continue;
                }
                noncurrent_seen += 1;
                let Some(days) = rule.noncurrent_days else {
                    continue;
                };
                let kept = rule.keep_noncurrent.is_some_and(|k| noncurrent_seen <= k);
                let since = entry.superseded.unwrap_or(entry.created);
                if !kept && clock.after(since, days) <= now {
                    batcher.push(LifecycleAction::DeleteNoncurrent {
                        key: entry.key,
                        version_id: entry.version_id,
                    })?;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}
