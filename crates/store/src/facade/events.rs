//! The store as the dispatcher's outbox (`pier_events::Outbox`): due events, their buckets'
//! rules, and what delivery did to them. With a shared database one node delivers at a time,
//! the holder of the `events` lease. Also the topics S3 notification rules publish to.

use crate::{now_millis, Store};
use pier_events::dispatch::{Expired, Outbox, OutboxError, Postponed};
use pier_events::{BucketFacts, Event, NotificationRule, Topic};

/// The lease the delivering node holds, and for how long a claim lasts unrenewed.
const EVENTS_LEASE: &str = "events";
const LEASE_MILLIS: i64 = 10_000;

fn text(e: crate::StoreError) -> OutboxError {
    e.to_string()
}

impl Store {
    /// How many events wait for delivery, and when the oldest was recorded.
    pub fn event_backlog(
        &self,
    ) -> crate::Result<(u64, Option<crate::Millis>), crate::StorageError> {
        self.meta()
            .events_backlog()
            .map_err(crate::StorageError::of)
    }

    /// Queues a test event for the bucket's rule `rule` (the dashboard's "send a test event");
    /// false if the bucket has no such rule, or it is disabled or suspended.
    pub fn send_test_event(
        &self,
        bucket_id: &str,
        rule: &str,
    ) -> crate::Result<bool, crate::StorageError> {
        self.meta()
            .queue_test_event(bucket_id, rule)
            .map_err(crate::StorageError::of)
    }

    /// Creates a topic, or replaces the attributes of the account's topic of that name (the
    /// caller has checked them: `pier_events::topic::check_attributes`).
    pub fn put_topic(&self, topic: &Topic) -> crate::Result<(), crate::StorageError> {
        self.meta()
            .put_topic(topic)
            .map_err(crate::StorageError::of)
    }

    /// The account's topic of that name, if any.
    pub fn topic(
        &self,
        account: &str,
        name: &str,
    ) -> crate::Result<Option<Topic>, crate::StorageError> {
        self.meta()
            .topic(account, name)
            .map_err(crate::StorageError::of)
    }

    /// The account's topics, by name.
    pub fn topics(&self, account: &str) -> crate::Result<Vec<Topic>, crate::StorageError> {
        self.meta().topics(account).map_err(crate::StorageError::of)
    }

    /// Deletes the account's topic of that name; true if it existed. Rules publishing to it
    /// stay, and their events are dropped when they come due, as S3 drops them.
    pub fn delete_topic(
        &self,
        account: &str,
        name: &str,
    ) -> crate::Result<bool, crate::StorageError> {
        self.meta()
            .delete_topic(account, name)
            .map_err(crate::StorageError::of)
    }

    /// A bucket's rules as the dispatcher delivers them: an S3 rule's target is its topic's
    /// push endpoint now, and an S3 rule whose topic is gone (or has no endpoint) is left out,
    /// so its events are dropped.
    fn deliverable(&self, rules: Vec<NotificationRule>) -> crate::Result<Vec<NotificationRule>> {
        let mut out = Vec::with_capacity(rules.len());
        for mut rule in rules {
            if let Some(s3) = &rule.s3 {
                let Some((account, name)) = pier_events::topic::parse_arn(&s3.topic_arn) else {
                    continue;
                };
                let Some(topic) = self.meta().topic(account, name)? else {
                    continue;
                };
                let Some(url) = topic.push_endpoint() else {
                    continue;
                };
                rule.target_configuration.url = url.to_owned();
            }
            out.push(rule);
        }
        Ok(out)
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
                self.deliverable(b.notifications).map_err(text)?,
            ))),
            Ok(None) => Ok(None),
            Err(e) => Err(text(e)),
        }
    }

    fn remove(&self, ids: &[String]) -> Result<(), OutboxError> {
        self.meta().events_remove(ids).map_err(text)
    }

    fn postpone(&self, postponed: &Postponed) -> Result<(), OutboxError> {
        self.meta().events_postpone(postponed).map_err(text)
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
