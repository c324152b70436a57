//! The dispatcher against an in-memory outbox and a real HTTP receiver on loopback: order,
//! batches and signatures, postponement of a failing rule, expiry and suspension, dropped
//! events of removed rules, and refused targets.

use pier_events::dispatch::{Due, Expired, Outbox, OutboxError, Postponed};
use pier_events::rule::{Header, Target};
use pier_events::{BucketFacts, DispatchConfig, Dispatcher, Event, EventKind, NotificationRule};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: serde_json::Value,
    raw: Vec<u8>,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn event_ids(&self) -> Vec<String> {
        self.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventId"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A webhook on loopback answering each POST with the next scripted status (200 when none).
#[derive(Clone, Default)]
struct Receiver {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.statuses.lock().unwrap().extend(statuses);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = receiver.clone();
        tokio::spawn(async move {
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                let r = r.clone();
                tokio::spawn(async move { r.serve(conn).await });
            }
        });
        (receiver, url)
    }

    async fn serve(&self, mut conn: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        loop {
            let head_end = loop {
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at;
                }
                let mut chunk = [0u8; 4096];
                match conn.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < head_end + 4 + len {
                let mut chunk = [0u8; 4096];
                match conn.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let raw = buf[head_end + 4..head_end + 4 + len].to_vec();
            buf.drain(..head_end + 4 + len);
            let status = self.statuses.lock().unwrap().pop_front().unwrap_or(200);
            self.got.lock().unwrap().push(Delivery {
                headers,
                body: serde_json::from_slice(&raw).unwrap_or_default(),
                raw,
            });
            let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
            if conn.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }
}

/// The outbox as the store keeps it, in memory.
#[derive(Default)]
struct Memory {
    rows: Mutex<Vec<Row>>,
    rules: Mutex<Vec<NotificationRule>>,
    suspended: Mutex<Vec<(String, String)>>,
}

#[derive(Clone)]
struct Row {
    event: Event,
    attempts: u32,
    next_ms: i64,
    error: String,
}

impl Outbox for Memory {
    fn may_deliver(&self) -> Result<bool, OutboxError> {
        Ok(true)
    }

    fn due(&self, now_ms: i64, limit: usize) -> Result<Due, OutboxError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.next_ms <= now_ms)
            .take(limit)
            .map(|r| (r.event.clone(), r.attempts))
            .collect())
    }

    fn bucket(
        &self,
        bucket_id: &str,
    ) -> Result<Option<(BucketFacts, Vec<NotificationRule>)>, OutboxError> {
        Ok((bucket_id == "b1").then(|| {
            (
                BucketFacts {
                    name: "photos".into(),
                    account_id: "acct".into(),
                },
                self.rules.lock().unwrap().clone(),
            )
        }))
    }

    fn remove(&self, ids: &[String]) -> Result<(), OutboxError> {
        self.rows
            .lock()
            .unwrap()
            .retain(|r| !ids.contains(&r.event.id));
        Ok(())
    }

    fn postpone(&self, p: &Postponed) -> Result<(), OutboxError> {
        for r in self.rows.lock().unwrap().iter_mut() {
            if p.ids.contains(&r.event.id) {
                r.attempts += 1;
                r.error = p.error.clone();
            }
            if r.event.bucket_id == p.bucket_id && r.event.rule == p.rule {
                r.next_ms = r.next_ms.max(p.next_ms);
            }
        }
        Ok(())
    }

    fn expire(&self, cutoff_ms: i64) -> Result<Vec<Expired>, OutboxError> {
        let mut rows = self.rows.lock().unwrap();
        let mut gone: Vec<Expired> = Vec::new();
        for r in rows.iter().filter(|r| r.event.at_ms < cutoff_ms) {
            match gone.iter_mut().find(|g| g.rule == r.event.rule) {
                Some(g) => g.count += 1,
                None => gone.push(Expired {
                    bucket_id: r.event.bucket_id.clone(),
                    rule: r.event.rule.clone(),
                    count: 1,
                    last_error: r.error.clone(),
                    rule_gone: false,
                }),
            }
        }
        rows.retain(|r| r.event.at_ms >= cutoff_ms);
        Ok(gone)
    }

    fn suspend(&self, bucket_id: &str, rule: &str, _reason: &str) -> Result<(), OutboxError> {
        self.suspended
            .lock()
            .unwrap()
            .push((bucket_id.to_owned(), rule.to_owned()));
        Ok(())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rule(name: &str, url: &str, batch: u32) -> NotificationRule {
    let target = Target {
        target_type: "webhook".into(),
        url: url.into(),
        custom_headers: Some(vec![Header {
            name: "X-Tenant".into(),
            value: "blue".into(),
        }]),
        hmac_sha256_signing_secret: Some("0123456789abcdefABCDEF0123456789".into()),
        max_events_per_batch: Some(batch),
    };
    NotificationRule::new(name, vec!["b2:ObjectCreated:*".into()], "", target)
}

fn outbox(rules: Vec<NotificationRule>, events: usize, rule_name: &str, at_ms: i64) -> Arc<Memory> {
    let memory = Memory::default();
    *memory.rules.lock().unwrap() = rules;
    for i in 0..events {
        memory.rows.lock().unwrap().push(Row {
            event: Event {
                id: format!("ev{i:04}"),
                bucket_id: "b1".into(),
                rule: rule_name.into(),
                key: format!("k{}", i % 3),
                version_id: format!("v{i}"),
                kind: EventKind::Upload,
                size: i as u64,
                etag: format!("etag{i}"),
                sequencer: i as i64,
                at_ms,
            },
            attempts: 0,
            next_ms: 0,
            error: String::new(),
        });
    }
    Arc::new(memory)
}

fn dispatcher(outbox: &Arc<Memory>, allow_private: bool) -> Dispatcher {
    Dispatcher::new(
        Arc::clone(outbox) as Arc<dyn Outbox>,
        DispatchConfig {
            allow_private,
            retry_window: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn events_arrive_in_order_in_batches_signed_with_the_rules_headers() {
    let (receiver, url) = Receiver::start(&[]).await;
    let memory = outbox(vec![rule("uploads", &url, 4)], 10, "uploads", now_ms());
    let d = dispatcher(&memory, true);
    assert_eq!(d.pass().await.unwrap(), 10);
    let got = receiver.deliveries();
    assert_eq!(got.len(), 3, "batches of 4, 4 and 2");
    let ids: Vec<String> = got.iter().flat_map(Delivery::event_ids).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("ev{i:04}")).collect();
    assert_eq!(ids, expected);
    for d in &got {
        assert_eq!(d.header("content-type"), Some("application/json"));
        assert_eq!(d.header("x-tenant"), Some("blue"));
        assert_eq!(
            d.header("x-bz-event-notification-signature").unwrap(),
            pier_events::payload::signature("0123456789abcdefABCDEF0123456789", &d.raw)
        );
        assert_eq!(d.body["events"][0]["bucketName"], "photos");
    }
    assert!(memory.rows.lock().unwrap().is_empty());
    assert_eq!(
        d.stats()
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed),
        10
    );
}

#[tokio::test]
async fn each_attempt_is_listed_newest_first_with_its_status_or_error() {
    let (_receiver, url) = Receiver::start(&[503]).await;
    let memory = outbox(vec![rule("uploads", &url, 4)], 6, "uploads", now_ms());
    let d = dispatcher(&memory, true);
    d.pass().await.unwrap();
    for r in memory.rows.lock().unwrap().iter_mut() {
        r.next_ms = 0;
    }
    d.pass().await.unwrap();
    let recent = d.stats().recent();
    let statuses: Vec<(Option<u16>, usize)> = recent.iter().map(|r| (r.status, r.events)).collect();
    assert_eq!(statuses, [(Some(200), 2), (Some(200), 4), (Some(503), 4)]);
    assert!(recent[2].error.contains("503"), "{:?}", recent[2]);
    assert!(recent[0].error.is_empty());
    assert!(recent
        .iter()
        .all(|r| r.rule == "uploads" && r.bucket_id == "b1"));
}

#[tokio::test]
async fn a_failing_target_holds_back_the_whole_rule_and_keeps_every_event() {
    let (receiver, url) = Receiver::start(&[503]).await;
    let memory = outbox(vec![rule("uploads", &url, 2)], 6, "uploads", now_ms());
    let d = dispatcher(&memory, true);
    assert_eq!(d.pass().await.unwrap(), 0, "the first batch failed");
    assert_eq!(receiver.deliveries().len(), 1, "nothing after the failure");
    {
        let rows = memory.rows.lock().unwrap();
        assert_eq!(rows.len(), 6, "no event lost");
        assert!(rows.iter().all(|r| r.next_ms > now_ms()), "the rule waits");
        assert_eq!(rows[0].attempts, 1);
        assert!(rows[0].error.contains("503"), "{}", rows[0].error);
        assert_eq!(rows[2].attempts, 0);
    }
    // Once due again, everything goes, in order.
    for r in memory.rows.lock().unwrap().iter_mut() {
        r.next_ms = 0;
    }
    assert_eq!(d.pass().await.unwrap(), 6);
    let ids: Vec<String> = receiver.deliveries()[1..]
        .iter()
        .flat_map(Delivery::event_ids)
        .collect();
    assert_eq!(ids, (0..6).map(|i| format!("ev{i:04}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn events_past_the_retry_window_are_dropped_and_their_rule_suspended() {
    let (receiver, url) = Receiver::start(&[]).await;
    let memory = outbox(
        vec![rule("uploads", &url, 1)],
        3,
        "uploads",
        now_ms() - 2 * 3600 * 1000,
    );
    let d = dispatcher(&memory, true);
    assert_eq!(d.pass().await.unwrap(), 0);
    assert!(receiver.deliveries().is_empty());
    assert!(memory.rows.lock().unwrap().is_empty());
    assert_eq!(
        *memory.suspended.lock().unwrap(),
        vec![("b1".to_owned(), "uploads".to_owned())]
    );
    assert_eq!(
        d.stats().dropped.load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

#[tokio::test]
async fn events_of_a_removed_or_disabled_rule_are_dropped_unsent() {
    let (receiver, url) = Receiver::start(&[]).await;
    let memory = outbox(vec![rule("uploads", &url, 1)], 2, "gone-rule", now_ms());
    let d = dispatcher(&memory, true);
    d.pass().await.unwrap();
    let mut disabled = rule("uploads", &url, 1);
    disabled.is_enabled = false;
    let memory2 = outbox(vec![disabled], 2, "uploads", now_ms());
    dispatcher(&memory2, true).pass().await.unwrap();
    assert!(receiver.deliveries().is_empty());
    assert!(memory.rows.lock().unwrap().is_empty());
    assert!(memory2.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_loopback_target_without_the_operators_leave_is_refused_and_suspended() {
    let (receiver, url) = Receiver::start(&[]).await;
    let memory = outbox(vec![rule("uploads", &url, 1)], 2, "uploads", now_ms());
    dispatcher(&memory, false).pass().await.unwrap();
    assert!(receiver.deliveries().is_empty(), "nothing sent to loopback");
    assert_eq!(memory.suspended.lock().unwrap().len(), 1);
}
