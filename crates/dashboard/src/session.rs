//! Sign-in sessions kept with the metadata: a fresh random id per sign-in (a cookie set before
//! sign-in is never adopted, so a session cannot be fixed), idle and absolute timeouts, a CSRF
//! token per session, and a limit on failed sign-ins per client address.

use pier_store::{now_millis, DashboardSession, Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "pier_session";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// Failed sign-ins allowed per client address (an IPv6 /64) per [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
/// The window failed sign-ins are counted in.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

/// One signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// The access key it signed in with.
    pub key_id: String,
    /// The token every state-changing request must carry.
    pub csrf: String,
}

/// The sessions, kept with the metadata so that every node sharing it knows them (a browser
/// behind a load balancer stays signed in whichever node answers). The cookie is a random
/// token; the store keeps only its SHA-256, so reading the database does not hand out live
/// sessions.
#[derive(Debug)]
pub struct Sessions {
    store: Store,
}

/// The stored id of the session whose cookie is `cookie`.
fn stored_id(cookie: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(cookie.as_bytes()))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A session's last use is written at most this often (each request would otherwise write).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl Sessions {
    /// The sessions kept in `store`.
    pub fn new(store: Store) -> Sessions {
        Sessions { store }
    }

    /// Starts a session for `key_id`; returns its cookie value. Sessions past their timeouts
    /// are forgotten first.
    pub fn start(&self, key_id: &str) -> Result<String, StoreError> {
        let now = now_millis();
        let meta = self.store.meta();
        meta.expire_sessions(now - millis(IDLE), now - millis(ABSOLUTE))?;
        let cookie = random_token();
        meta.put_session(DashboardSession {
            id: stored_id(&cookie),
            key_id: key_id.to_owned(),
            csrf: random_token(),
            created: now,
            last_seen: now,
        })?;
        Ok(cookie)
    }

    /// The live session of this cookie, marked as seen now.
    pub fn get(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        let now = now_millis();
        let id = stored_id(cookie);
        let meta = self.store.meta();
        let Some(s) = meta.session(&id)? else {
            return Ok(None);
        };
        if now - s.last_seen >= millis(IDLE) || now - s.created >= millis(ABSOLUTE) {
            meta.end_session(&id)?;
            return Ok(None);
        }
        if now - s.last_seen >= millis(TOUCH_EVERY) {
            meta.touch_session(&id, now)?;
        }
        Ok(Some(Session {
            key_id: s.key_id,
            csrf: s.csrf,
        }))
    }

    /// Ends a session.
    pub fn end(&self, cookie: &str) -> Result<(), StoreError> {
        self.store.meta().end_session(&stored_id(cookie))
    }

    /// Ends every session of a key (it was deleted).
    pub fn end_key(&self, key_id: &str) -> Result<(), StoreError> {
        self.store.meta().end_sessions_of_key(key_id)
    }
}

/// Failed sign-ins allowed per access key id per [`LOGIN_WINDOW`], from any address (a guesser
/// spread over many addresses or behind a shared proxy still meets this one).
pub const LOGIN_ATTEMPTS_PER_KEY: usize = 20;

/// What failed sign-ins are counted by.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Source {
    /// An IPv4 address.
    V4(std::net::Ipv4Addr),
    /// An IPv6 /64: one host usually holds a whole /64, so its addresses count as one.
    V6Net(u64),
    /// The access key id tried.
    Key(String),
}

impl Source {
    fn of(addr: IpAddr) -> Source {
        match addr {
            IpAddr::V4(a) => Source::V4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4),
                None => Source::V6Net((u128::from(a) >> 64) as u64),
            },
        }
    }

    /// A key id as tried (bounded: a form field may be long).
    fn key(id: &str) -> Source {
        Source::Key(id.chars().take(64).collect())
    }

    fn limit(&self) -> usize {
        match self {
            Source::Key(_) => LOGIN_ATTEMPTS_PER_KEY,
            _ => LOGIN_ATTEMPTS,
        }
    }
}

/// Counts failed sign-ins per client address (an IPv6 /64 as one) and per access key id tried.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Source, Vec<Instant>>>,
}

impl LoginLimiter {
    /// False when `addr` (its /64 for IPv6) failed [`LOGIN_ATTEMPTS`] times within the window,
    /// or `key_id` was tried and failed [`LOGIN_ATTEMPTS_PER_KEY`] times.
    pub fn may_try(&self, addr: IpAddr, key_id: &str) -> bool {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("limiter lock");
        [Source::of(addr), Source::key(key_id)]
            .into_iter()
            .all(|source| {
                let limit = source.limit();
                let list = map.entry(source).or_default();
                list.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
                list.len() < limit
            })
    }

    /// Records a failed sign-in from `addr` with `key_id`.
    pub fn failed(&self, addr: IpAddr, key_id: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 100_000 {
            map.clear();
        }
        let now = Instant::now();
        for source in [Source::of(addr), Source::key(key_id)] {
            map.entry(source).or_default().push(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_have_fresh_ids_and_tokens() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let s = Sessions::new(store.clone());
        let a = s.start("K").unwrap();
        let b = s.start("K").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            s.get(&a).unwrap().unwrap().csrf,
            s.get(&b).unwrap().unwrap().csrf
        );
        assert!(
            store.meta().session(&a).unwrap().is_none(),
            "the store keeps a digest, not the cookie"
        );
        s.end(&a).unwrap();
        assert!(s.get(&a).unwrap().is_none());
        s.end_key("K").unwrap();
        assert!(s.get(&b).unwrap().is_none());
    }

    #[test]
    fn the_limiter_stops_the_sixth_failure() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for n in 0..LOGIN_ATTEMPTS {
            assert!(l.may_try(ip, &format!("K{n}")));
            l.failed(ip, &format!("K{n}"));
        }
        assert!(!l.may_try(ip, "K9"));
        assert!(l.may_try("127.0.0.2".parse().unwrap(), "K9"));
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_address() {
        let l = LoginLimiter::default();
        for n in 0..LOGIN_ATTEMPTS {
            let ip: IpAddr = format!("2001:db8:1:2::{n:x}").parse().unwrap();
            l.failed(ip, &format!("K{n}"));
        }
        assert!(!l.may_try("2001:db8:1:2:ffff::1".parse().unwrap(), "K9"));
        assert!(l.may_try("2001:db8:1:3::1".parse().unwrap(), "K9"));
    }

    #[test]
    fn a_key_guessed_from_many_addresses_is_limited_too() {
        let l = LoginLimiter::default();
        for n in 0..LOGIN_ATTEMPTS_PER_KEY {
            let ip: IpAddr = format!("10.0.{}.{}", n / 200, n % 200).parse().unwrap();
            assert!(l.may_try(ip, "PIERKEY"));
            l.failed(ip, "PIERKEY");
        }
        assert!(!l.may_try("10.9.9.9".parse().unwrap(), "PIERKEY"));
        assert!(l.may_try("10.9.9.9".parse().unwrap(), "OTHERKEY"));
    }
}
