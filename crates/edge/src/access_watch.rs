//! **Report-only access changes**: a bucket policy and a public setting (the bucket's ACL, B2's
//! bucket type) staged for a bucket without taking effect. Every request the APIs decide for
//! that bucket is also decided under the staged version ([`crate::access::Access::report`]),
//! and the requests whose verdict would change are kept here, with counts, for the console:
//! who (key), what (action), on which object, how often, when last, and the staged version's
//! trace. The change is then promoted (saved as the bucket's settings) or discarded.
//!
//! As CORS report-only ([`crate::cors_watch`]): everything is in memory, per server process,
//! and bounded: at most [`MAX_FLIPS`] distinct changed requests per staged change, each field
//! cut to [`MAX_FIELD`](crate::cors_watch::MAX_FIELD) bytes. A staged change lasts until it is
//! promoted, discarded, or the server restarts. While nothing is staged anywhere, a request
//! pays one atomic load for it.

use crate::cors_watch::clip;
use pier_access::Policy;
use pier_store::{Millis, Visibility};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Distinct requests whose verdict would change, kept per staged change.
pub const MAX_FLIPS: usize = 64;

/// What a staged change replaces: the bucket's policy and its public setting, as they would be.
#[derive(Clone, Debug)]
pub struct StagedSettings {
    /// The policy as written (`None`: no policy).
    pub policy_text: Option<String>,
    /// That policy, parsed.
    pub policy: Option<Arc<Policy>>,
    /// The public setting.
    pub public: Visibility,
}

/// One request (key, action, object) whose verdict the staged change would turn around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessFlip {
    /// The access key id (`None`: anonymous).
    pub key: Option<String>,
    /// The action, as IAM names it (`s3:PutObject`).
    pub action: &'static str,
    /// The object's name (empty for bucket actions).
    pub object: String,
    /// True when the staged change would allow what is refused today (else it would refuse
    /// what is allowed today).
    pub newly_allowed: bool,
    /// How many times it was seen.
    pub count: u64,
    /// When it was last seen.
    pub last_seen: Millis,
    /// The staged version's decision, in a sentence.
    pub reason: String,
    /// The staged version's trace (every check made), recorded when first seen.
    pub trace: Vec<String>,
}

/// A staged change on report-only duty, and what it would have changed so far.
#[derive(Debug)]
pub struct StagedAccess {
    /// What it would set.
    pub settings: StagedSettings,
    /// When it was staged.
    pub since: Millis,
    /// The key that staged it.
    pub staged_by: String,
    same: AtomicU64,
    newly_allowed: AtomicU64,
    newly_refused: AtomicU64,
    flips: Mutex<Vec<AccessFlip>>,
}

/// A staged change's tally so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessReport {
    /// Requests decided alike by the live and the staged settings.
    pub same: u64,
    /// Requests refused today that the staged settings would allow.
    pub newly_allowed: u64,
    /// Requests allowed today that the staged settings would refuse.
    pub newly_refused: u64,
    /// The distinct requests that would change, most recently seen first.
    pub flips: Vec<AccessFlip>,
}

impl StagedAccess {
    /// The tally so far.
    pub fn report(&self) -> AccessReport {
        let mut flips = self.flips.lock().expect("flips lock").clone();
        flips.sort_by_key(|f| std::cmp::Reverse(f.last_seen));
        AccessReport {
            same: self.same.load(Ordering::Relaxed),
            newly_allowed: self.newly_allowed.load(Ordering::Relaxed),
            newly_refused: self.newly_refused.load(Ordering::Relaxed),
            flips,
        }
    }

    /// Counts one request decided `live` today and `staged` under this change. A changed
    /// verdict is kept (within [`MAX_FLIPS`] distinct ones): `explain` gives the staged
    /// decision's reason and trace, and is called (without the lock held) only while the
    /// request is not listed yet.
    pub fn count(
        &self,
        (key, action, object): (Option<&str>, &'static str, Option<&str>),
        live: bool,
        staged: bool,
        explain: impl FnOnce() -> (String, Vec<String>),
    ) {
        if live == staged {
            self.same.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let counter = if staged {
            &self.newly_allowed
        } else {
            &self.newly_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let key = key.map(clip);
        let object = clip(object.unwrap_or(""));
        let now = pier_store::now_millis();
        // Counts a repeat; false when the request is not listed yet.
        let repeat = |flips: &mut Vec<AccessFlip>| {
            let known = flips.iter_mut().find(|f| {
                f.key.as_deref() == key
                    && f.action == action
                    && f.object == object
                    && f.newly_allowed == staged
            });
            known.map(|f| {
                f.count += 1;
                f.last_seen = now;
            })
        };
        {
            let mut flips = self.flips.lock().expect("flips lock");
            // Full: counted above, not listed.
            if repeat(&mut flips).is_some() || flips.len() >= MAX_FLIPS {
                return;
            }
        }
        // Explaining may read the store (an object's tags): never with the lock held.
        let (reason, trace) = explain();
        let mut flips = self.flips.lock().expect("flips lock");
        if repeat(&mut flips).is_some() || flips.len() >= MAX_FLIPS {
            return;
        }
        flips.push(AccessFlip {
            key: key.map(str::to_owned),
            action,
            object: object.to_owned(),
            newly_allowed: staged,
            count: 1,
            last_seen: now,
            reason,
            trace,
        });
    }
}

/// The staged access changes of every bucket, shared by the APIs' access door and the console.
/// Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct AccessWatch {
    staged: Arc<RwLock<HashMap<String, Arc<StagedAccess>>>>,
    /// How many buckets have a staged change (read first, so nothing else is touched while
    /// there are none).
    count: Arc<AtomicUsize>,
}

impl AccessWatch {
    /// Puts `settings` on report-only duty for the bucket with id `bucket_id`, staged by the
    /// key `by` (replacing any change staged there, and its tally).
    pub fn stage(&self, bucket_id: &str, settings: StagedSettings, by: &str) {
        let staged = Arc::new(StagedAccess {
            settings,
            since: pier_store::now_millis(),
            staged_by: by.to_owned(),
            same: AtomicU64::new(0),
            newly_allowed: AtomicU64::new(0),
            newly_refused: AtomicU64::new(0),
            flips: Mutex::new(Vec::new()),
        });
        let mut map = self.staged.write().expect("staged lock");
        map.insert(bucket_id.to_owned(), staged);
        self.count.store(map.len(), Ordering::Release);
    }

    /// The change staged for the bucket with id `bucket_id`, if any.
    pub fn staged(&self, bucket_id: &str) -> Option<Arc<StagedAccess>> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.staged
            .read()
            .expect("staged lock")
            .get(bucket_id)
            .cloned()
    }

    /// True when no bucket has a staged change.
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Takes the bucket's staged change off duty (to discard or promote it).
    pub fn unstage(&self, bucket_id: &str) -> Option<Arc<StagedAccess>> {
        let mut map = self.staged.write().expect("staged lock");
        let taken = map.remove(bucket_id);
        self.count.store(map.len(), Ordering::Release);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors_watch::MAX_FIELD;

    fn settings() -> StagedSettings {
        StagedSettings {
            policy_text: None,
            policy: None,
            public: Visibility::Private,
        }
    }

    fn explained() -> (String, Vec<String>) {
        ("why".into(), vec!["step".into()])
    }

    #[test]
    fn nothing_staged_is_seen_as_empty() {
        let w = AccessWatch::default();
        assert!(w.is_empty() && w.staged("b").is_none());
        w.stage("b", settings(), "K");
        assert!(!w.is_empty() && w.staged("b").is_some() && w.staged("c").is_none());
        assert!(w.unstage("b").is_some());
        assert!(w.is_empty() && w.staged("b").is_none());
    }

    #[test]
    fn changed_verdicts_are_kept_once_each_with_counts() {
        let w = AccessWatch::default();
        w.stage("b", settings(), "K");
        let s = w.staged("b").unwrap();
        let put = (Some("K1"), "s3:PutObject", Some("a.txt"));
        s.count(put, true, false, explained);
        s.count(put, true, false, || panic!("explained again"));
        s.count(
            (None, "s3:GetObject", Some("a.txt")),
            false,
            true,
            explained,
        );
        s.count(
            (Some("K1"), "s3:GetObject", Some("a.txt")),
            true,
            true,
            explained,
        );
        let r = s.report();
        assert_eq!((r.same, r.newly_allowed, r.newly_refused), (1, 1, 2));
        assert_eq!(r.flips.len(), 2);
        let refused = r.flips.iter().find(|f| !f.newly_allowed).unwrap();
        assert_eq!(
            (
                refused.key.as_deref(),
                refused.count,
                refused.reason.as_str()
            ),
            (Some("K1"), 2, "why")
        );
        assert_eq!(refused.trace, vec!["step".to_owned()]);
    }

    #[test]
    fn memory_is_bounded() {
        let w = AccessWatch::default();
        w.stage("b", settings(), "K");
        let s = w.staged("b").unwrap();
        for i in 0..(MAX_FLIPS + 10) {
            let object = format!("{i}-{}", "é".repeat(500));
            s.count(
                (None, "s3:GetObject", Some(&object)),
                true,
                false,
                explained,
            );
        }
        let r = s.report();
        assert_eq!(r.newly_refused, (MAX_FLIPS + 10) as u64);
        assert_eq!(r.flips.len(), MAX_FLIPS);
        assert!(r.flips.iter().all(|f| f.object.len() <= MAX_FIELD));
    }

    #[test]
    fn staging_again_starts_a_new_tally() {
        let w = AccessWatch::default();
        w.stage("b", settings(), "K");
        w.staged("b")
            .unwrap()
            .count((None, "s3:GetObject", None), true, false, explained);
        w.stage("b", settings(), "K2");
        let s = w.staged("b").unwrap();
        assert_eq!((s.report().newly_refused, s.staged_by.as_str()), (0, "K2"));
    }
}
