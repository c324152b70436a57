//! The dispatcher: reads due events from the outbox, POSTs them to each rule's webhook, and
//! forgets them only once the target answered 2xx (`docs/design.md`, "Events"). A failed
//! delivery postpones every pending event of its rule, so a rule's events arrive in order; what
//! outlives the retry window is dropped, counted, and its rule suspended.

use crate::payload::{b2_body, s3_body, signature, BucketFacts, Event, SIGNATURE_HEADER};
use crate::rule::NotificationRule;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A failure of the outbox (the store), as text for the log.
pub type OutboxError = String;

/// Events due, each with its attempts so far.
pub type Due = Vec<(Event, u32)>;

/// A rule, by its bucket's id and its name.
type RuleKey = (String, String);

/// A failed delivery: events of one rule, what went wrong, and when the rule is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Postponed {
    /// The bucket's id.
    pub bucket_id: String,
    /// The rule.
    pub rule: String,
    /// The events the delivery carried (each gets one more attempt counted).
    pub ids: Vec<String>,
    /// When the rule's events may be sent again (milliseconds since the Unix epoch).
    pub next_ms: i64,
    /// What went wrong, as the rule's readers see it.
    pub error: String,
}

/// Events dropped unsent for one rule, because they outlived the retry window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    /// The bucket's id.
    pub bucket_id: String,
    /// The rule.
    pub rule: String,
    /// How many events were dropped.
    pub count: u64,
    /// The last delivery error recorded for them.
    pub last_error: String,
    /// The rule no longer exists (its events had nowhere to go): nothing to suspend.
    pub rule_gone: bool,
}

/// What the dispatcher needs of the store. Every method may block (the dispatcher calls them
/// off the async runtime's workers).
pub trait Outbox: Send + Sync + 'static {
    /// Whether this process delivers now (with a shared database, one node does: this takes or
    /// renews its lease).
    fn may_deliver(&self) -> Result<bool, OutboxError>;
    /// Up to `limit` events due at `now_ms`, oldest first, each with its attempts so far.
    fn due(&self, now_ms: i64, limit: usize) -> Result<Due, OutboxError>;
    /// The bucket's facts and its rules as they are now; `None` if the bucket is gone.
    fn bucket(
        &self,
        bucket_id: &str,
    ) -> Result<Option<(BucketFacts, Vec<NotificationRule>)>, OutboxError>;
    /// Forgets events (delivered, or dropped).
    fn remove(&self, ids: &[String]) -> Result<(), OutboxError>;
    /// Counts an attempt on the postponed events, records the error, and makes every pending
    /// event of the rule wait until `next_ms`.
    fn postpone(&self, postponed: &Postponed) -> Result<(), OutboxError>;
    /// Drops the events recorded before `cutoff_ms`, per rule.
    fn expire(&self, cutoff_ms: i64) -> Result<Vec<Expired>, OutboxError>;
    /// Suspends a rule, with the reason its readers see.
    fn suspend(&self, bucket_id: &str, rule: &str, reason: &str) -> Result<(), OutboxError>;
}

/// How the dispatcher delivers.
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// Plain `http` and loopback or private targets are allowed (`--webhook-allow-private`).
    pub allow_private: bool,
    /// How long an event is retried before it is dropped and its rule suspended.
    pub retry_window: Duration,
    /// The longest a target may take to answer one delivery.
    pub timeout: Duration,
    /// Most deliveries in flight at once (one per rule at a time).
    pub concurrency: usize,
    /// How often the outbox is read when there was nothing to do.
    pub poll: Duration,
    /// The region S3 event records name (`awsRegion`).
    pub region: String,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            allow_private: false,
            retry_window: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            poll: Duration::from_millis(100),
            region: "us-east-1".into(),
        }
    }
}

/// Counters for the server's metrics.
#[derive(Debug, Default)]
pub struct DispatchStats {
    /// Events delivered (acknowledged 2xx by their target).
    pub delivered: AtomicU64,
    /// Event deliveries that failed and were postponed.
    pub retried: AtomicU64,
    /// Events dropped unsent (retry window passed, rule removed or disabled, target refused).
    pub dropped: AtomicU64,
    /// Events due when the last pass began.
    pub backlog: AtomicU64,
    /// Age in milliseconds of the oldest event due when the last pass began.
    pub oldest_ms: AtomicU64,
    /// The last [`RECENT_DELIVERIES`] delivery attempts, oldest first.
    recent: std::sync::Mutex<std::collections::VecDeque<DeliveryRecord>>,
}

/// How many delivery attempts [`DispatchStats::recent`] keeps.
pub const RECENT_DELIVERIES: usize = 100;

/// One delivery attempt (one POST), as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// When it was sent, in Unix milliseconds.
    pub at_ms: i64,
    /// The bucket's id.
    pub bucket_id: String,
    /// The rule.
    pub rule: String,
    /// How many events it carried.
    pub events: usize,
    /// The target's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed (empty when the target answered 2xx).
    pub error: String,
    /// How long the target took, in milliseconds.
    pub latency_ms: u64,
}

impl DispatchStats {
    /// The delivery attempts this process made most recently (at most [`RECENT_DELIVERIES`]),
    /// newest first.
    pub fn recent(&self) -> Vec<DeliveryRecord> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().rev().cloned().collect()
    }

    fn record(&self, delivery: DeliveryRecord) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT_DELIVERIES {
            recent.pop_front();
        }
        recent.push_back(delivery);
    }
}

/// Delivers the outbox's events.
pub struct Dispatcher {
    outbox: Arc<dyn Outbox>,
    client: reqwest::Client,
    config: DispatchConfig,
    stats: Arc<DispatchStats>,
    /// When the outbox last said whether this process delivers, and what it said.
    lease: tokio::sync::Mutex<Option<(std::time::Instant, bool)>>,
    /// When expired events were last looked for.
    last_expiry: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// The longest a failing rule waits between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Most events read from the outbox per pass.
const PASS_LIMIT: usize = 5000;
/// How often the dispatcher asks whether it may deliver (the outbox's lease outlasts this).
pub const LEASE_CHECK: Duration = Duration::from_secs(2);
/// How often events past the retry window are looked for.
const EXPIRY_CHECK: Duration = Duration::from_secs(30);
/// How many delivered events are forgotten in one outbox transaction.
const REMOVE_EVERY: usize = 500;
/// The pause after a pass that found fewer events than it could take.
const GATHER: Duration = Duration::from_millis(20);

/// Runs `f` on the outbox off the async runtime's workers (outbox calls may block).
async fn off_runtime<T: Send + 'static>(
    outbox: &Arc<dyn Outbox>,
    f: impl FnOnce(&dyn Outbox) -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    let outbox = Arc::clone(outbox);
    tokio::task::spawn_blocking(move || f(outbox.as_ref()))
        .await
        .map_err(|e| format!("outbox task failed: {e}"))?
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The wait before attempt `attempts + 1`: one second doubling to ten minutes, less up to a
/// quarter at random so failing rules do not retry in step.
pub fn backoff(attempts: u32) -> Duration {
    let full = Duration::from_secs(1u64 << attempts.min(10)).min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    full - full / 4 * u32::from(byte[0]) / 255
}

impl Dispatcher {
    /// A dispatcher over `outbox`.
    pub fn new(outbox: Arc<dyn Outbox>, config: DispatchConfig) -> Dispatcher {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(crate::target::CheckedResolver {
                allow_private: config.allow_private,
            }))
            .user_agent(concat!("pier/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Dispatcher {
            outbox,
            client,
            config,
            stats: Arc::default(),
            lease: tokio::sync::Mutex::new(None),
            last_expiry: tokio::sync::Mutex::new(None),
        }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<DispatchStats> {
        Arc::clone(&self.stats)
    }

    /// Delivers until `stop` completes: a pass, then (when it found nothing) a pause.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %e, "event delivery pass failed");
            }
            // A full pass goes on at once; a partial one lets events gather into batches (fewer
            // outbox transactions beside the writes); an empty one waits for the poll.
            let pause = match self.stats.backlog.load(Ordering::Relaxed) as usize {
                0 => self.config.poll,
                n if n >= PASS_LIMIT => Duration::ZERO,
                _ => GATHER,
            };
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Outbox) -> Result<T, OutboxError> + Send + 'static,
    ) -> Result<T, OutboxError> {
        off_runtime(&self.outbox, f).await
    }

    /// Whether this process delivers, asking the outbox at most once per [`LEASE_CHECK`].
    async fn may_deliver(&self) -> Result<bool, OutboxError> {
        let mut last = self.lease.lock().await;
        if let Some((at, answer)) = *last {
            if at.elapsed() < LEASE_CHECK {
                return Ok(answer);
            }
        }
        let answer = self.blocking(|o| o.may_deliver()).await?;
        *last = Some((std::time::Instant::now(), answer));
        Ok(answer)
    }

    /// One pass over the outbox; returns how many events were delivered.
    pub async fn pass(&self) -> Result<usize, OutboxError> {
        if !self.may_deliver().await? {
            return Ok(0);
        }
        let now = now_ms();
        let cutoff = now - self.config.retry_window.as_millis() as i64;
        let expire_now = {
            let mut last = self.last_expiry.lock().await;
            let due = last.is_none_or(|at| at.elapsed() >= EXPIRY_CHECK);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        let expired = if expire_now {
            self.blocking(move |o| o.expire(cutoff)).await?
        } else {
            Vec::new()
        };
        for gone in expired {
            self.stats.dropped.fetch_add(gone.count, Ordering::Relaxed);
            if gone.rule_gone {
                continue;
            }
            let reason = format!(
                "{} events could not be delivered within the retry window; last error: {}",
                gone.count, gone.last_error
            );
            tracing::warn!(bucket = %gone.bucket_id, rule = %gone.rule, %reason, "rule suspended");
            let (b, r) = (gone.bucket_id.clone(), gone.rule.clone());
            self.blocking(move |o| o.suspend(&b, &r, &reason)).await?;
        }
        let due = self.blocking(move |o| o.due(now, PASS_LIMIT)).await?;
        self.stats
            .backlog
            .store(due.len() as u64, Ordering::Relaxed);
        let oldest = due.iter().map(|(e, _)| e.at_ms).min().unwrap_or(now);
        self.stats
            .oldest_ms
            .store(now.saturating_sub(oldest).max(0) as u64, Ordering::Relaxed);
        // Group by (bucket, rule), each group in the outbox's order.
        let mut groups: Vec<(RuleKey, Due)> = Vec::new();
        let mut index: HashMap<RuleKey, usize> = HashMap::new();
        for (event, attempts) in due {
            let key = (event.bucket_id.clone(), event.rule.clone());
            let at = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push((event, attempts));
        }
        let mut buckets: HashMap<String, Option<(BucketFacts, Vec<NotificationRule>)>> =
            HashMap::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let mut work = tokio::task::JoinSet::new();
        for ((bucket_id, rule_name), events) in groups {
            if !buckets.contains_key(&bucket_id) {
                let id = bucket_id.clone();
                let found = self.blocking(move |o| o.bucket(&id)).await?;
                buckets.insert(bucket_id.clone(), found);
            }
            let found = buckets[&bucket_id].as_ref().and_then(|(facts, rules)| {
                rules
                    .iter()
                    .find(|r| r.name == rule_name)
                    .map(|r| (facts.clone(), r.clone()))
            });
            let group = Group {
                outbox: Arc::clone(&self.outbox),
                client: self.client.clone(),
                stats: Arc::clone(&self.stats),
                allow_private: self.config.allow_private,
                region: self.config.region.clone(),
                bucket_id,
                rule_name,
                events,
            };
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            work.spawn(async move {
                let sent = group.deliver(found).await;
                drop(permit);
                sent
            });
        }
        let mut sent = 0;
        while let Some(done) = work.join_next().await {
            match done {
                Ok(Ok(n)) => sent += n,
                Ok(Err(e)) => tracing::warn!(error = %e, "event delivery failed in the outbox"),
                Err(e) => tracing::warn!(error = %e, "event delivery task failed"),
            }
        }
        Ok(sent)
    }
}

/// The due events of one rule, delivered in order.
struct Group {
    outbox: Arc<dyn Outbox>,
    client: reqwest::Client,
    stats: Arc<DispatchStats>,
    allow_private: bool,
    region: String,
    bucket_id: String,
    rule_name: String,
    events: Vec<(Event, u32)>,
}

impl Group {
    async fn outbox<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Outbox) -> Result<T, OutboxError> + Send + 'static,
    ) -> Result<T, OutboxError> {
        off_runtime(&self.outbox, f).await
    }

    fn ids(events: &[(Event, u32)]) -> Vec<String> {
        events.iter().map(|(e, _)| e.id.clone()).collect()
    }

    /// Sends the group's batches in order, stopping at the first failure.
    async fn deliver(
        self,
        found: Option<(BucketFacts, NotificationRule)>,
    ) -> Result<usize, OutboxError> {
        let Some((facts, rule)) = found.filter(|(_, r)| r.is_enabled) else {
            // The rule was removed or disabled (or its bucket deleted): nothing to send to.
            let ids = Self::ids(&self.events);
            self.stats
                .dropped
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
            self.outbox(move |o| o.remove(&ids)).await?;
            return Ok(0);
        };
        let target = &rule.target_configuration;
        if let Err(why) = crate::target::check(&target.url, self.allow_private).await {
            let ids = Self::ids(&self.events);
            self.stats
                .dropped
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
            let reason = format!("the target is refused: {why}");
            tracing::warn!(bucket = %self.bucket_id, rule = %self.rule_name, %reason, "rule suspended");
            let (b, r) = (self.bucket_id.clone(), self.rule_name.clone());
            self.outbox(move |o| {
                o.remove(&ids)?;
                o.suspend(&b, &r, &reason)
            })
            .await?;
            return Ok(0);
        }
        let mut sent = 0;
        // Delivered events are forgotten a few batches at a time, not one transaction per
        // batch (at-least-once either way: a crash before the removal sends them again).
        let mut delivered: Vec<String> = Vec::new();
        for batch in self.events.chunks(rule.batch_size()) {
            let events: Vec<Event> = batch.iter().map(|(e, _)| e.clone()).collect();
            let body = match rule.s3 {
                Some(_) => s3_body(&facts, &self.region, &events),
                None => b2_body(&facts, &events),
            };
            let mut request = self
                .client
                .post(&target.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json");
            for h in target.custom_headers.as_deref().unwrap_or_default() {
                request = request.header(h.name.as_str(), h.value.as_str());
            }
            if let Some(secret) = &target.hmac_sha256_signing_secret {
                request = request.header(SIGNATURE_HEADER, signature(secret, &body));
            }
            let sent_at = std::time::Instant::now();
            let (status, outcome) = match request.body(body).send().await {
                Ok(resp) if resp.status().is_success() => (Some(resp.status().as_u16()), Ok(())),
                Ok(resp) => (
                    Some(resp.status().as_u16()),
                    Err(format!("the target answered {}", resp.status())),
                ),
                Err(e) => (None, Err(format!("the target could not be reached: {e}"))),
            };
            self.stats.record(DeliveryRecord {
                at_ms: now_ms(),
                bucket_id: self.bucket_id.clone(),
                rule: self.rule_name.clone(),
                events: batch.len(),
                status,
                error: outcome.clone().err().unwrap_or_default(),
                latency_ms: sent_at.elapsed().as_millis() as u64,
            });
            let ids = Self::ids(batch);
            match outcome {
                Ok(()) => {
                    self.stats
                        .delivered
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    sent += ids.len();
                    delivered.extend(ids);
                    if delivered.len() >= REMOVE_EVERY {
                        let ids = std::mem::take(&mut delivered);
                        self.outbox(move |o| o.remove(&ids)).await?;
                    }
                }
                Err(error) => {
                    if !delivered.is_empty() {
                        let ids = std::mem::take(&mut delivered);
                        self.outbox(move |o| o.remove(&ids)).await?;
                    }
                    self.stats
                        .retried
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    let attempts = batch.iter().map(|(_, a)| *a).max().unwrap_or(0);
                    let next = now_ms() + backoff(attempts).as_millis() as i64;
                    tracing::info!(bucket = %self.bucket_id, rule = %self.rule_name, %error, attempts = attempts + 1, "event delivery postponed");
                    let postponed = Postponed {
                        bucket_id: self.bucket_id.clone(),
                        rule: self.rule_name.clone(),
                        ids,
                        next_ms: next,
                        error,
                    };
                    self.outbox(move |o| o.postpone(&postponed)).await?;
                    break;
                }
            }
        }
        if !delivered.is_empty() {
            self.outbox(move |o| o.remove(&delivered)).await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_ten_minutes_with_jitter() {
        let first = backoff(0);
        assert!(first <= Duration::from_secs(1) && first >= Duration::from_millis(750));
        let fourth = backoff(3);
        assert!(fourth <= Duration::from_secs(8) && fourth >= Duration::from_secs(6));
        assert!(backoff(40) <= MAX_BACKOFF);
        assert!(backoff(40) >= MAX_BACKOFF * 3 / 4);
    }
}
