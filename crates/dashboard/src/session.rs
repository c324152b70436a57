//! Sign-in sessions kept on the server: a fresh random id per sign-in (a cookie set before
//! sign-in is never adopted, so a session cannot be fixed), idle and absolute timeouts, a CSRF
//! token per session, and a limit on failed sign-ins per client address.

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
/// Failed sign-ins allowed per client address per [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
/// The window failed sign-ins are counted in.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Most sessions kept at once (the oldest go first).
const MAX_SESSIONS: usize = 10_000;

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
    created: Instant,
    last_seen: Instant,
}

/// The sessions of this server.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `key_id`; returns its id (the cookie value).
    pub fn start(&self, key_id: &str) -> String {
        let now = Instant::now();
        let id = random_token();
        let mut map = self.by_id.lock().expect("sessions lock");
        map.retain(|_, s| live(s, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            id.clone(),
            Session {
                key_id: key_id.to_owned(),
                csrf: random_token(),
                created: now,
                last_seen: now,
            },
        );
        id
    }

    /// The live session with this id, marked as seen now.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.by_id.lock().expect("sessions lock");
        let session = map.get_mut(id)?;
        if !live(session, now) {
            map.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        self.by_id.lock().expect("sessions lock").remove(id);
    }

    /// Ends every session of a key (it was deleted).
    pub fn end_key(&self, key_id: &str) {
        self.by_id
            .lock()
            .expect("sessions lock")
            .retain(|_, s| s.key_id != key_id);
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last_seen) < IDLE && now.duration_since(s.created) < ABSOLUTE
}

/// Counts failed sign-ins per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

impl LoginLimiter {
    /// False when `addr` failed [`LOGIN_ATTEMPTS`] times within the window.
    pub fn may_try(&self, addr: IpAddr) -> bool {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("limiter lock");
        let list = map.entry(addr).or_default();
        list.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
        list.len() < LOGIN_ATTEMPTS
    }

    /// Records a failed sign-in.
    pub fn failed(&self, addr: IpAddr) {
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 100_000 {
            map.clear();
        }
        map.entry(addr).or_default().push(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_have_fresh_ids_and_tokens() {
        let s = Sessions::default();
        let a = s.start("K");
        let b = s.start("K");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(s.get(&a).unwrap().csrf, s.get(&b).unwrap().csrf);
        s.end(&a);
        assert!(s.get(&a).is_none());
        s.end_key("K");
        assert!(s.get(&b).is_none());
    }

    #[test]
    fn the_limiter_stops_the_sixth_failure() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..LOGIN_ATTEMPTS {
            assert!(l.may_try(ip));
            l.failed(ip);
        }
        assert!(!l.may_try(ip));
        assert!(l.may_try("127.0.0.2".parse().unwrap()));
    }
}
