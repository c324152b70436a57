//! A small time-bounded cache for hot metadata read on every request (buckets, access keys).
//! Changes made through this process invalidate at once; changes made by another process (the
//! `pier` admin commands) are seen within [`TTL`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(1);

/// Entries kept before the cache is cleared (bounds memory under many distinct misses).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Hash + Eq + Clone, V: Clone> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub(crate) fn new() -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached value, or `load`'s (cached when `Ok`).
    pub(crate) fn get_or_load<E>(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some((at, v)) = self.entries.read().expect("cache lock").get(key) {
            if at.elapsed() < TTL {
                return Ok(v.clone());
            }
        }
        let value = load()?;
        let mut entries = self.entries.write().expect("cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.clone(), (Instant::now(), value.clone()));
        Ok(value)
    }

    /// Forgets one entry.
    pub(crate) fn invalidate(&self, key: &K) {
        self.entries.write().expect("cache lock").remove(key);
    }
}
