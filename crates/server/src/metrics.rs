//! Prometheus metrics, served at `/_pier/metrics` in the text exposition format: requests and
//! their latency by API and operation, bytes in and out, connections, CORS verdicts by bucket,
//! and the store's own counters (group commits, blob fsyncs, janitor backlog).

use pier_edge::exchange::{CorsVerdict, Exchange};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: &'static str,
    operation: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    api: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CorsLabels {
    bucket: String,
    verdict: &'static str,
}

/// The server's metrics. Recording is a few atomic operations; rendering happens per scrape.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    bytes_in: Counter,
    bytes_out: Counter,
    open_connections: Gauge,
    refused_connections: Counter,
    cors: Family<CorsLabels, Counter>,
    store: StoreGauges,
}

/// The store's counters, copied in at each scrape.
#[derive(Default)]
struct StoreGauges {
    commits: Gauge,
    committed_jobs: Gauge,
    commit_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    blob_syncs: Gauge,
    blob_sync_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    janitor_backlog: Gauge,
    write_retries: Gauge,
    events_delivered: Gauge,
    events_retried: Gauge,
    events_dropped: Gauge,
    events_backlog: Gauge,
    events_oldest_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric under the `pier_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pier");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by API, operation and status",
            requests.clone(),
        );
        let latency: Family<OperationLabels, Histogram> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "Time to the response head, by API and operation",
            latency.clone(),
        );
        let bytes_in = Counter::default();
        registry.register(
            "received_bytes",
            "Request body bytes declared",
            bytes_in.clone(),
        );
        let bytes_out = Counter::default();
        registry.register("sent_bytes", "Response body bytes", bytes_out.clone());
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Connections being served",
            open_connections.clone(),
        );
        let refused_connections = Counter::default();
        registry.register(
            "refused_connections",
            "Connections over the cap, answered 503 or closed",
            refused_connections.clone(),
        );
        let cors = Family::<CorsLabels, Counter>::default();
        registry.register(
            "cors_decisions",
            "Cross-origin requests and preflights, by bucket and verdict",
            cors.clone(),
        );
        let store = StoreGauges::default();
        for (name, help, gauge) in [
            ("store_commits", "Metadata group commits", &store.commits),
            (
                "store_committed_jobs",
                "Write jobs in those commits (mean batch size = jobs / commits)",
                &store.committed_jobs,
            ),
            (
                "store_blob_syncs",
                "Blob files made durable (fsync, rename, directory fsync)",
                &store.blob_syncs,
            ),
            (
                "store_janitor_backlog",
                "Garbage blobs waiting for deletion",
                &store.janitor_backlog,
            ),
            (
                "store_write_retries",
                "Metadata writes rolled back after a conflict with another write and run again",
                &store.write_retries,
            ),
            (
                "events_delivered",
                "Events a webhook acknowledged",
                &store.events_delivered,
            ),
            (
                "events_retried",
                "Event deliveries that failed and were postponed",
                &store.events_retried,
            ),
            (
                "events_dropped",
                "Events dropped unsent (retry window passed, rule removed, target refused)",
                &store.events_dropped,
            ),
            (
                "events_backlog",
                "Events due for delivery at the last pass",
                &store.events_backlog,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        for (name, help, seconds) in [
            (
                "store_commit_seconds",
                "Time spent in group commits, WAL fsync included",
                &store.commit_seconds,
            ),
            (
                "store_blob_sync_seconds",
                "Time spent making blob files durable",
                &store.blob_sync_seconds,
            ),
            (
                "events_oldest_age_seconds",
                "Age of the oldest event due at the last pass",
                &store.events_oldest_seconds,
            ),
        ] {
            registry.register(name, help, seconds.clone());
        }
        Metrics {
            registry,
            requests,
            latency,
            bytes_in,
            bytes_out,
            open_connections,
            refused_connections,
            cors,
            store,
        }
    }

    /// Records one answered request.
    pub fn record(&self, x: &Exchange<'_>) {
        self.requests
            .get_or_create(&RequestLabels {
                api: x.api,
                operation: x.operation,
                status: x.status,
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels {
                api: x.api,
                operation: x.operation,
            })
            .observe(x.duration.as_secs_f64());
        self.bytes_in.inc_by(x.bytes_in);
        self.bytes_out.inc_by(x.bytes_out);
        if x.cors != CorsVerdict::NotCors {
            self.cors
                .get_or_create(&CorsLabels {
                    bucket: x.bucket.unwrap_or("").to_owned(),
                    verdict: x.cors.as_str(),
                })
                .inc();
        }
    }

    /// A connection started being served; the guard counts it until dropped.
    pub fn connection(&self) -> ConnectionGuard {
        self.open_connections.inc();
        ConnectionGuard(self.open_connections.clone())
    }

    /// A connection over the cap.
    pub fn refused_connection(&self) {
        self.refused_connections.inc();
    }

    /// The text exposition, with the store's and the event dispatcher's counters as of now.
    pub fn render(
        &self,
        store: &pier_store::StatsSnapshot,
        events: Option<&pier_events::DispatchStats>,
    ) -> String {
        let g = &self.store;
        g.commits.set(store.commits as i64);
        g.committed_jobs.set(store.committed_jobs as i64);
        g.commit_seconds.set(store.commit_micros as f64 / 1e6);
        g.blob_syncs.set(store.blob_syncs as i64);
        g.blob_sync_seconds.set(store.blob_sync_micros as f64 / 1e6);
        g.janitor_backlog.set(store.janitor_backlog as i64);
        g.write_retries.set(store.write_retries as i64);
        if let Some(e) = events {
            let read = |c: &std::sync::atomic::AtomicU64| {
                c.load(std::sync::atomic::Ordering::Relaxed) as i64
            };
            g.events_delivered.set(read(&e.delivered));
            g.events_retried.set(read(&e.retried));
            g.events_dropped.set(read(&e.dropped));
            g.events_backlog.set(read(&e.backlog));
            g.events_oldest_seconds.set(read(&e.oldest_ms) as f64 / 1e3);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Counts an open connection while it lives.
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Latency buckets from 0.5 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_what_was_recorded() {
        let m = Metrics::new();
        m.record(&Exchange {
            api: "s3",
            operation: "GetObject",
            bucket: Some("photos"),
            status: 200,
            bytes_in: 0,
            bytes_out: 42,
            duration: Duration::from_millis(3),
            cors: CorsVerdict::Refused,
        });
        let _c = m.connection();
        let events = pier_events::DispatchStats::default();
        events
            .delivered
            .store(7, std::sync::atomic::Ordering::Relaxed);
        let text = m.render(
            &pier_store::StatsSnapshot {
                commits: 2,
                committed_jobs: 5,
                ..Default::default()
            },
            Some(&events),
        );
        assert!(text.contains("pier_events_delivered 7"), "{text}");
        assert!(
            text.contains(r#"pier_requests_total{api="s3",operation="GetObject",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains("pier_sent_bytes_total 42"), "{text}");
        assert!(text.contains("pier_open_connections 1"), "{text}");
        assert!(
            text.contains(r#"pier_cors_decisions_total{bucket="photos",verdict="refused"} 1"#),
            "{text}"
        );
        assert!(text.contains("pier_store_committed_jobs 5"), "{text}");
        assert!(
            text.contains("pier_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
