//! The store as the dispatcher's outbox (`pier_events::Outbox`): due events, their buckets'
//! rules, and what delivery did to them. With a shared database one node delivers at a time,
//! the holder of the `events` lease.

use crate::{now_millis, Store};
use pier_events::dispatch::{Expired, Outbox, OutboxError};
use pier_events::{BucketFacts, Event, NotificationRule};

/// The lease the delivering node holds, and for how long a claim lasts unrenewed.
const EVENTS_LEASE: &str = "events";
const LEASE_MILLIS: i64 = 10_000;

fn text(e: crate::StoreError) -> OutboxError {
    e.to_string()
}

impl Store {
    /// How many events wait for delivery, and when the oldest was recorded.
    pub fn event_backlog(&self) -> crate::Result<(u64, Option<crate::Millis>)> {
        self.meta().events_backlog()
    }
}

impl Outbox for Store {
    fn may_deliver(&self) -> Result<bool, OutboxError> {
        let now = now_millis();
        self.meta()
            .claim_lease(EVENTS_LEASE, self.node_id(), now, now + LEASE_MILLIS)
            .map_err(text)
    }

    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<(Event, u32)>, OutboxError> {
        self.meta().events_due(now_ms, limit).map_err(text)
    }

    fn bucket(
        &self,
        bucket_id: &str,
    ) -> Result<Option<(BucketFacts, Vec<NotificationRule>)>, OutboxError> {
        match self.meta().bucket_by_id(bucket_id) {
            Ok(Some(b)) => Ok(Some((
                BucketFacts {
                    name: b.name,
                    account_id: b.owner,
                },
                b.notifications,
            ))),
            Ok(None) => Ok(None),
            Err(e) => Err(text(e)),
        }
    }

    fn remove(&self, ids: &[String]) -> Result<(), OutboxError> {
        self.meta().events_remove(ids).map_err(text)
    }

    fn postpone(
        &self,
        bucket_id: &str,
        rule: &str,
        ids: &[String],
        next_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.meta()
            .events_postpone(bucket_id, rule, ids, next_ms, error)
            .map_err(text)
    }

    fn expire(&self, cutoff_ms: i64) -> Result<Vec<Expired>, OutboxError> {
        self.meta().events_expire(cutoff_ms).map_err(text)
    }

    fn suspend(&self, bucket_id: &str, rule: &str, reason: &str) -> Result<(), OutboxError> {
        self.meta()
            .suspend_rule(bucket_id, rule, reason)
            .map_err(text)?;
        if let Ok(Some(b)) = self.meta().bucket_by_id(bucket_id) {
            self.inner.caches.buckets.invalidate(&b.name);
        }
        Ok(())
    }
}
