//! What the CORS layer saw, kept for people: per bucket, the distinct cross-origin requests
//! recently decided (origin, method, headers, allowed or why refused, count, last seen), and
//! **report-only** candidate rules evaluated beside the live ones on real traffic without
//! changing any answer, with counts of how often they would decide differently.
//!
//! Everything is in memory and bounded: at most [`MAX_SEEN`] distinct requests per bucket (the
//! least recently seen go first) and [`MAX_BUCKETS`] buckets. Only requests carrying `Origin`
//! are recorded, so S3 and B2 clients outside browsers cost nothing here. Staged rules last until
//! promoted, discarded, or the server restarts.

use pier_cors::{CorsConfig, CorsRequest, Decision, Endpoint};
use pier_store::Millis;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Distinct requests remembered per bucket.
pub const MAX_SEEN: usize = 64;
/// Buckets remembered (beyond this the memory starts over).
pub const MAX_BUCKETS: usize = 10_000;
/// Example requests kept per staged rule list, of each kind of difference.
const MAX_FLIPS: usize = 16;
/// Bytes of an origin, method or header list kept (a hostile client's huge headers would
/// otherwise be held, 64 times per bucket).
pub const MAX_FIELD: usize = 256;

/// `text` cut to at most [`MAX_FIELD`] bytes, at a character boundary.
pub(crate) fn clip(text: &str) -> &str {
    if text.len() <= MAX_FIELD {
        return text;
    }
    let mut end = MAX_FIELD;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One distinct cross-origin request, as last decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// `Origin`.
    pub origin: String,
    /// The method asked for (`Access-Control-Request-Method` of a preflight, else the method).
    pub method: String,
    /// `Access-Control-Request-Headers` of a preflight, as sent.
    pub headers: String,
    /// A preflight (else an actual request).
    pub preflight: bool,
    /// Where it arrived.
    pub endpoint: Endpoint,
    /// The last decision.
    pub allowed: bool,
    /// The bucket's rules revision it was decided under.
    pub revision: i64,
    /// Why it was refused (the engine's summary); empty when allowed.
    pub reason: String,
    /// How many times it was seen.
    pub count: u64,
    /// When it was last seen.
    pub last_seen: Millis,
}

/// A candidate rule list on report-only duty, and what it would have changed.
#[derive(Debug)]
pub struct Staged {
    /// The candidate rules.
    pub config: CorsConfig,
    /// The candidate as it was written.
    pub text: String,
    /// When it was staged.
    pub since: Millis,
    same: AtomicU64,
    newly_allowed: AtomicU64,
    newly_refused: AtomicU64,
    flips: Mutex<Vec<Seen>>,
}

/// A staged rule list's tally so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedReport {
    /// Requests both lists decided alike.
    pub same: u64,
    /// Requests the live rules refused and the candidate would allow.
    pub newly_allowed: u64,
    /// Requests the live rules allowed and the candidate would refuse.
    pub newly_refused: u64,
    /// Examples of each difference (`allowed` is the candidate's decision).
    pub examples: Vec<Seen>,
}

impl Staged {
    /// The tally so far.
    pub fn report(&self) -> StagedReport {
        StagedReport {
            same: self.same.load(Ordering::Relaxed),
            newly_allowed: self.newly_allowed.load(Ordering::Relaxed),
            newly_refused: self.newly_refused.load(Ordering::Relaxed),
            examples: self.flips.lock().expect("flips lock").clone(),
        }
    }
}

#[derive(Debug, Default)]
struct BucketWatch {
    seen: Mutex<Vec<Seen>>,
    staged: RwLock<Option<Arc<Staged>>>,
}

/// The CORS layer's memory, shared with the dashboard and the signed API routes. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CorsWatch {
    buckets: Arc<RwLock<HashMap<String, Arc<BucketWatch>>>>,
}

fn allowed(decision: &Decision<'_>) -> bool {
    matches!(decision, Decision::Allowed { .. })
}

impl CorsWatch {
    fn bucket(&self, bucket_id: &str) -> Arc<BucketWatch> {
        if let Some(b) = self.buckets.read().expect("watch lock").get(bucket_id) {
            return Arc::clone(b);
        }
        let mut map = self.buckets.write().expect("watch lock");
        if map.len() >= MAX_BUCKETS {
            map.clear();
        }
        Arc::clone(map.entry(bucket_id.to_owned()).or_default())
    }

    fn existing(&self, bucket_id: &str) -> Option<Arc<BucketWatch>> {
        self.buckets
            .read()
            .expect("watch lock")
            .get(bucket_id)
            .cloned()
    }

    /// Records a decided cross-origin request (`reason` is asked only for a refusal not seen
    /// before, so the hot path does no extra explaining), and runs the bucket's staged rules
    /// beside the live decision.
    pub fn record(
        &self,
        bucket_id: &str,
        revision: i64,
        request: &CorsRequest<'_>,
        was_allowed: bool,
        reason: impl FnOnce() -> String,
    ) {
        let Some(origin) = request.origin.map(clip) else {
            return;
        };
        let watch = self.bucket(bucket_id);
        let now = pier_store::now_millis();
        let headers = clip(request.request_headers.unwrap_or(""));
        let method = clip(request.request_method.unwrap_or(request.method));
        {
            let mut seen = watch.seen.lock().expect("seen lock");
            let found = seen.iter_mut().find(|s| {
                s.origin == origin
                    && s.method == method
                    && s.headers == headers
                    && s.preflight == request.preflight
                    && s.endpoint == request.endpoint
            });
            match found {
                Some(s) => {
                    s.count += 1;
                    s.last_seen = now;
                    if s.allowed != was_allowed || s.revision != revision {
                        s.allowed = was_allowed;
                        s.revision = revision;
                        s.reason = if was_allowed { String::new() } else { reason() };
                    }
                }
                None => {
                    if seen.len() >= MAX_SEEN {
                        if let Some(oldest) = seen
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, s)| s.last_seen)
                            .map(|(i, _)| i)
                        {
                            seen.swap_remove(oldest);
                        }
                    }
                    seen.push(Seen {
                        origin: origin.to_owned(),
                        method: method.to_owned(),
                        headers: headers.to_owned(),
                        preflight: request.preflight,
                        endpoint: request.endpoint,
                        allowed: was_allowed,
                        revision,
                        reason: if was_allowed { String::new() } else { reason() },
                        count: 1,
                        last_seen: now,
                    });
                }
            }
        }
        let staged = watch.staged.read().expect("staged lock").clone();
        if let Some(staged) = staged {
            let candidate = allowed(&staged.config.evaluate(request));
            let counter = match (was_allowed, candidate) {
                (a, b) if a == b => &staged.same,
                (false, true) => &staged.newly_allowed,
                _ => &staged.newly_refused,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if candidate != was_allowed {
                let mut flips = staged.flips.lock().expect("flips lock");
                let known = flips
                    .iter()
                    .position(|f| f.origin == origin && f.method == method && f.headers == headers);
                match known {
                    Some(i) => {
                        flips[i].count += 1;
                        flips[i].last_seen = now;
                    }
                    None if flips.len() < MAX_FLIPS => flips.push(Seen {
                        origin: origin.to_owned(),
                        method: method.to_owned(),
                        headers: headers.to_owned(),
                        preflight: request.preflight,
                        endpoint: request.endpoint,
                        allowed: candidate,
                        revision,
                        reason: String::new(),
                        count: 1,
                        last_seen: now,
                    }),
                    None => {}
                }
            }
        }
    }

    /// The distinct cross-origin requests recently decided for a bucket, most recent first.
    pub fn seen(&self, bucket_id: &str) -> Vec<Seen> {
        let mut out = self
            .existing(bucket_id)
            .map(|w| w.seen.lock().expect("seen lock").clone())
            .unwrap_or_default();
        out.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        out
    }

    /// The recently refused ones.
    pub fn refused(&self, bucket_id: &str) -> Vec<Seen> {
        self.seen(bucket_id)
            .into_iter()
            .filter(|s| !s.allowed)
            .collect()
    }

    /// Puts `config` on report-only duty for a bucket (replacing any staged list).
    pub fn stage(&self, bucket_id: &str, config: CorsConfig, text: String) {
        let staged = Staged {
            config,
            text,
            since: pier_store::now_millis(),
            same: AtomicU64::new(0),
            newly_allowed: AtomicU64::new(0),
            newly_refused: AtomicU64::new(0),
            flips: Mutex::new(Vec::new()),
        };
        *self.bucket(bucket_id).staged.write().expect("staged lock") = Some(Arc::new(staged));
    }

    /// The bucket's staged rule list, if any.
    pub fn staged(&self, bucket_id: &str) -> Option<Arc<Staged>> {
        self.existing(bucket_id)
            .and_then(|w| w.staged.read().expect("staged lock").clone())
    }

    /// Takes the bucket's staged list off duty (to discard or promote it).
    pub fn unstage(&self, bucket_id: &str) -> Option<Arc<Staged>> {
        self.existing(bucket_id)
            .and_then(|w| w.staged.write().expect("staged lock").take())
    }

    /// Which recently seen requests `config` would decide differently from how they were
    /// decided: `(request, allowed under config)`.
    pub fn flips(&self, bucket_id: &str, config: Option<&CorsConfig>) -> Vec<(Seen, bool)> {
        self.seen(bucket_id)
            .into_iter()
            .filter_map(|s| {
                let now = config.is_some_and(|c| {
                    let request = CorsRequest {
                        endpoint: s.endpoint,
                        method: if s.preflight { "OPTIONS" } else { &s.method },
                        origin: Some(&s.origin),
                        request_method: s.preflight.then_some(s.method.as_str()),
                        request_headers: (!s.headers.is_empty()).then_some(s.headers.as_str()),
                        preflight: s.preflight,
                    };
                    allowed(&c.evaluate(&request))
                });
                (now != s.allowed).then_some((s, now))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pier_cors::{parse, Format};

    fn preflight<'a>(origin: &'a str, method: &'a str) -> CorsRequest<'a> {
        CorsRequest {
            endpoint: Endpoint::S3,
            method: "OPTIONS",
            origin: Some(origin),
            request_method: Some(method),
            request_headers: None,
            preflight: true,
        }
    }

    fn rules(origin: &str, op: &str) -> CorsConfig {
        parse(
            &format!(r#"[{{"corsRuleName":"staged","allowedOrigins":["{origin}"],"allowedOperations":["{op}"],"maxAgeSeconds":60}}]"#),
            Format::B2Json,
        )
        .unwrap()
    }

    #[test]
    fn repeats_are_counted_and_memory_is_bounded() {
        let w = CorsWatch::default();
        for _ in 0..3 {
            w.record(
                "b",
                1,
                &preflight("https://a.example", "PUT"),
                false,
                || "no rule".into(),
            );
        }
        let refused = w.refused("b");
        assert_eq!(refused.len(), 1);
        assert_eq!(
            (refused[0].count, refused[0].reason.as_str()),
            (3, "no rule")
        );
        for i in 0..(MAX_SEEN + 10) {
            let origin = format!("https://{i}.example");
            w.record("b", 1, &preflight(&origin, "GET"), true, String::new);
        }
        assert_eq!(w.seen("b").len(), MAX_SEEN);
        let huge = format!("https://{}.example", "é".repeat(1000));
        w.record("c", 1, &preflight(&huge, "GET"), false, || "no".into());
        w.record("c", 1, &preflight(&huge, "GET"), false, || "no".into());
        let kept = w.seen("c");
        assert_eq!((kept.len(), kept[0].count), (1, 2));
        assert!(kept[0].origin.len() <= MAX_FIELD);
    }

    #[test]
    fn staged_rules_count_what_they_would_change() {
        let w = CorsWatch::default();
        w.stage("b", rules("https://a.example", "s3_put"), "text".into());
        w.record(
            "b",
            1,
            &preflight("https://a.example", "PUT"),
            false,
            || "no".into(),
        );
        w.record(
            "b",
            1,
            &preflight("https://a.example", "PUT"),
            false,
            || "no".into(),
        );
        w.record(
            "b",
            1,
            &preflight("https://z.example", "PUT"),
            false,
            || "no".into(),
        );
        let report = w.staged("b").unwrap().report();
        assert_eq!(
            (report.newly_allowed, report.same, report.newly_refused),
            (2, 1, 0)
        );
        assert_eq!(report.examples.len(), 1);
        assert!(w.unstage("b").is_some() && w.staged("b").is_none());
    }

    #[test]
    fn flips_name_the_seen_requests_new_rules_would_change() {
        let w = CorsWatch::default();
        w.record(
            "b",
            1,
            &preflight("https://a.example", "GET"),
            false,
            || "no".into(),
        );
        w.record(
            "b",
            1,
            &preflight("https://z.example", "GET"),
            false,
            || "no".into(),
        );
        let flips = w.flips("b", Some(&rules("https://a.example", "s3_get")));
        assert_eq!(flips.len(), 1);
        assert_eq!(
            (flips[0].0.origin.as_str(), flips[0].1),
            ("https://a.example", true)
        );
    }
}
