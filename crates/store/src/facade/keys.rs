//! The store's access keys: create, import, look up through the cache, list and delete.

use crate::{
    now_millis, AccessKey, KeyError, KeyRestrictions, Result, StorageError, Store, DEFAULT_ACCOUNT,
};
use std::sync::Arc;

impl Store {
    /// Creates an access key pair of `account` with a random id and secret, limited by `scope`.
    pub fn create_key(
        &self,
        account: &str,
        description: &str,
        scope: KeyRestrictions,
    ) -> Result<AccessKey> {
        let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let key = AccessKey {
            access_key: format!("PIER{}", &id[..16]),
            secret,
            created: now_millis(),
            description: description.to_owned(),
            account: account.to_owned(),
            scope,
        };
        self.meta().create_key(key.clone())?;
        self.inner.caches.keys.invalidate(&key.access_key);
        Ok(key)
    }

    /// Stores a given access key pair (from configuration), unrestricted, in the default
    /// account.
    pub fn import_key(
        &self,
        access_key: &str,
        secret: &str,
        description: &str,
    ) -> Result<AccessKey> {
        let key = AccessKey {
            access_key: access_key.to_owned(),
            secret: secret.to_owned(),
            created: now_millis(),
            description: description.to_owned(),
            account: DEFAULT_ACCOUNT.to_owned(),
            scope: KeyRestrictions::default(),
        };
        self.meta().create_key(key.clone())?;
        self.inner.caches.keys.invalidate(&access_key.to_owned());
        Ok(key)
    }

    /// An access key by id (cached like buckets: a key deleted by another process stops
    /// working within [`cache::TTL`]).
    pub fn key(&self, access_key: &str) -> Result<Option<Arc<AccessKey>>, StorageError> {
        self.inner
            .caches
            .keys
            .get_or_load(&access_key.to_owned(), || {
                self.meta().key(access_key).map(|k| k.map(Arc::new))
            })
            .map_err(StorageError::of)
    }

    /// All access keys.
    pub fn keys(&self) -> Result<Vec<AccessKey>, StorageError> {
        self.meta().keys().map_err(StorageError::of)
    }

    /// Deletes an access key.
    pub fn delete_key(&self, access_key: &str) -> Result<(), KeyError> {
        let result = self.meta().delete_key(access_key);
        self.inner.caches.keys.invalidate(&access_key.to_owned());
        result.map_err(KeyError::narrow)
    }
}
