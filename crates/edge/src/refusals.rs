//! Logging refusals without a line per refused request. A refused CORS request or access
//! decision is explained (a full trace) and logged the first time it is seen, within a budget of
//! [`EXPLAINED_PER_WINDOW`] a [`WINDOW`]; every other refusal is only counted, and the counts are
//! logged as one summary line per window. So a flood of refused requests, the cheapest load a
//! client can send, costs a counter, never an explanation and a log line each.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a summary covers.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Distinct refusals explained and logged per window at most (beyond: counted).
pub const EXPLAINED_PER_WINDOW: u32 = 100;
/// Distinct refusals remembered as already logged (beyond: the memory starts over).
const REMEMBERED: usize = 4096;

/// The log of one kind of refusal (`what`, as the summary names it).
#[derive(Debug)]
pub struct RefusalLog {
    what: &'static str,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Fingerprints of the refusals logged in full.
    logged: HashSet<u64>,
    window_start: Instant,
    explained: u32,
    /// Refusals only counted in this window: repeats, and new ones over the budget.
    repeats: u64,
    unexplained: u64,
}

impl RefusalLog {
    /// A log for refusals of one kind, e.g. "CORS" or "access".
    pub fn new(what: &'static str) -> RefusalLog {
        RefusalLog {
            what,
            state: Mutex::new(State {
                logged: HashSet::new(),
                window_start: Instant::now(),
                explained: 0,
                repeats: 0,
                unexplained: 0,
            }),
        }
    }

    /// The fingerprint of a refusal: what makes two refusals the same one (bucket, rules or
    /// policy revision, origin or key, action, ...).
    pub fn fingerprint(parts: impl Hash) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        parts.hash(&mut h);
        h.finish()
    }

    /// Counts a refusal, and says whether to explain and log it in full: the first time its
    /// fingerprint is seen, within the window's budget. Writes the previous window's summary
    /// line when a window has passed.
    pub fn should_explain(&self, fingerprint: u64) -> bool {
        let mut s = self.state.lock().expect("refusal log lock");
        if s.window_start.elapsed() >= WINDOW {
            if s.repeats + s.unexplained > 0 {
                tracing::info!(
                    refusals = self.what,
                    repeated = s.repeats,
                    new_not_explained = s.unexplained,
                    explained = s.explained,
                    window_secs = WINDOW.as_secs(),
                    "refusals counted without a line each (the first of each was logged)"
                );
            }
            s.window_start = Instant::now();
            s.explained = 0;
            s.repeats = 0;
            s.unexplained = 0;
        }
        if s.logged.contains(&fingerprint) {
            s.repeats += 1;
            return false;
        }
        if s.explained >= EXPLAINED_PER_WINDOW {
            s.unexplained += 1;
            return false;
        }
        if s.logged.len() >= REMEMBERED {
            s.logged.clear();
        }
        s.logged.insert(fingerprint);
        s.explained += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_is_explained_once_and_floods_are_counted() {
        let log = RefusalLog::new("test");
        let a = RefusalLog::fingerprint(("bucket", 1, "https://a.example"));
        let b = RefusalLog::fingerprint(("bucket", 2, "https://a.example"));
        assert!(log.should_explain(a));
        assert!(!log.should_explain(a), "a repeat is only counted");
        assert!(log.should_explain(b), "another revision is another refusal");
        // Distinct refusals past the budget are counted, not explained.
        let explained = (0..1000u32)
            .filter(|n| log.should_explain(RefusalLog::fingerprint(n)))
            .count();
        assert_eq!(explained, EXPLAINED_PER_WINDOW as usize - 2);
        let s = log.state.lock().unwrap();
        assert_eq!(s.repeats, 1);
        assert_eq!(s.unexplained, 1000 - explained as u64);
    }
}
