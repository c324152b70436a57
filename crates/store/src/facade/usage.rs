//! The store's usage counters and caps (`docs/design.md`, "Usage and caps"): reading them,
//! setting caps, and counting requests against a daily transaction cap.

use crate::usage::TransactionCaps;
use crate::{
    Acting, Bucket, CapExceeded, CapKind, CapScope, Caps, RequestError, StorageError, Store, Usage,
};
use std::sync::Arc;

super::acting::unattributed! {
    fn set_caps(&self, scope: &CapScope, caps: Caps) -> Result<(), StorageError>;
}

impl Store {
    /// What a bucket holds, from its counters (no scan).
    pub fn usage(&self, bucket_id: &str) -> Result<Usage, StorageError> {
        self.meta().usage(bucket_id).map_err(StorageError::of)
    }

    /// What an account holds: the sum of its buckets' counters.
    pub fn account_usage(&self, account: &str) -> Result<Usage, StorageError> {
        self.meta().account_usage(account).map_err(StorageError::of)
    }

    /// Every bucket's counters, by bucket id (a bucket that never held anything may be absent:
    /// it holds nothing).
    pub fn all_usage(&self) -> Result<Vec<(String, Usage)>, StorageError> {
        self.meta().all_usage().map_err(StorageError::of)
    }

    /// Folds the counters' recorded changes into their totals now (the janitor does it every
    /// round); returns how many it folded. Readings are the same before and after.
    pub fn compact_usage(&self) -> Result<u64, StorageError> {
        self.meta().compact_usage().map_err(StorageError::of)
    }

    /// A bucket's usage counted afresh from its rows, without the counters: what the counters
    /// must equal (tests and `pier caps show --recount` compare them).
    pub fn recount_usage(&self, bucket_id: &str) -> Result<Usage, StorageError> {
        self.meta()
            .recount_usage(bucket_id)
            .map_err(StorageError::of)
    }

    /// A scope's caps (all `None` when it has none).
    pub fn caps(&self, scope: &CapScope) -> Result<Caps, StorageError> {
        self.meta().caps(scope).map_err(StorageError::of)
    }

    /// Every scope with caps, in scope order.
    pub fn all_caps(&self) -> Result<Vec<(CapScope, Caps)>, StorageError> {
        self.meta().all_caps().map_err(StorageError::of)
    }

    /// Requests counted today (UTC) against a scope's transaction cap.
    pub fn transactions_today(&self, scope: &CapScope) -> Result<u64, StorageError> {
        self.meta()
            .transactions(scope, today())
            .map_err(StorageError::of)
    }

    /// Counts one request to `bucket` against the daily transaction caps of the bucket and of
    /// its owner, when they have one: `CapExceeded` when a cap is reached (the request is
    /// refused and not counted). Without such a cap it costs two map lookups: the caps are read
    /// at most once a [`crate::CACHE_TTL`], for every bucket at once.
    pub fn count_request(&self, bucket: &Bucket) -> Result<(), RequestError> {
        let caps = self.transaction_caps()?;
        self.count_against(&caps, bucket)
    }

    /// [`Store::count_request`] for a bucket by name; nothing is counted for a bucket that does
    /// not exist. When no transaction cap is set anywhere (the usual case) the bucket is not
    /// even looked up.
    pub fn count_request_to(&self, bucket: &str) -> Result<(), RequestError> {
        let caps = self.transaction_caps()?;
        if caps.is_empty() {
            return Ok(());
        }
        match self.bucket(bucket) {
            Ok(bucket) => self.count_against(&caps, &bucket),
            Err(crate::BucketError::NoSuchBucket) => Ok(()),
            Err(e) => Err(RequestError::narrow(e.into())),
        }
    }

    /// Every transaction cap, through the cache.
    fn transaction_caps(&self) -> Result<Arc<TransactionCaps>, RequestError> {
        self.inner
            .caches
            .transaction_caps
            .get_or_load(&(), || {
                self.meta()
                    .all_caps()
                    .map(|all| Arc::new(TransactionCaps::of(all)))
            })
            .map_err(RequestError::narrow)
    }

    fn count_against(&self, caps: &TransactionCaps, bucket: &Bucket) -> Result<(), RequestError> {
        let capped = [
            caps.bucket(&bucket.id)
                .map(|limit| (CapScope::Bucket(bucket.id.clone()), &bucket.name, limit)),
            caps.account(&bucket.owner).map(|limit| {
                (
                    CapScope::Account(bucket.owner.clone()),
                    &bucket.owner,
                    limit,
                )
            }),
        ];
        for (scope, name, limit) in capped.into_iter().flatten() {
            let fits = self
                .meta()
                .count_transaction(&scope, today(), limit)
                .map_err(RequestError::narrow)?;
            if !fits {
                return Err(RequestError::CapExceeded(CapExceeded {
                    kind: CapKind::Transactions,
                    scope,
                    name: name.clone(),
                    limit,
                }));
            }
        }
        Ok(())
    }
}

impl Acting<'_> {
    /// Sets a scope's caps; all `None` removes them. Storage and object caps hold for the next
    /// write on every node; a transaction cap within [`crate::CACHE_TTL`].
    pub fn set_caps(&self, scope: &CapScope, caps: Caps) -> Result<(), StorageError> {
        let result = self
            .store
            .meta()
            .set_caps(scope, caps, &self.actor)
            .map_err(StorageError::of);
        self.store.inner.caches.transaction_caps.invalidate(&());
        result
    }
}

/// Days since the epoch, UTC: the day a transaction cap counts in.
fn today() -> i64 {
    crate::now_millis().div_euclid(86_400_000)
}
