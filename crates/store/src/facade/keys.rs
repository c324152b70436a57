//! The store's access keys: create, import, look up through the cache, list and delete. Changes
//! are made by an [`Acting`] store (recorded in the audit log with who made them); the [`Store`]
//! methods of the same names record no one in particular.

use crate::{
    now_millis, AccessKey, Acting, KeyError, KeyRestrictions, Result, StorageError, Store,
    DEFAULT_ACCOUNT,
};
use std::sync::Arc;

super::acting::unattributed! {
    fn create_key(&self, account: &str, description: &str, scope: KeyRestrictions)
        -> Result<AccessKey, StorageError>;
    fn import_key(&self, access_key: &str, secret: &str, description: &str)
        -> Result<AccessKey, StorageError>;
    fn delete_key(&self, access_key: &str) -> Result<(), KeyError>;
}

impl Store {
    /// An access key by id (cached like buckets: a key deleted by another process stops
    /// working within [`crate::CACHE_TTL`]).
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
}

impl Acting<'_> {
    /// Creates an access key pair of `account` with a random id and secret, limited by `scope`.
    pub fn create_key(
        &self,
        account: &str,
        description: &str,
        scope: KeyRestrictions,
    ) -> Result<AccessKey, StorageError> {
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
        self.store
            .meta()
            .create_key(key.clone(), &self.actor)
            .map_err(StorageError::of)?;
        self.store.inner.caches.keys.invalidate(&key.access_key);
        Ok(key)
    }

    /// Stores a given access key pair (from configuration), unrestricted, in the default
    /// account.
    pub fn import_key(
        &self,
        access_key: &str,
        secret: &str,
        description: &str,
    ) -> Result<AccessKey, StorageError> {
        let key = AccessKey {
            access_key: access_key.to_owned(),
            secret: secret.to_owned(),
            created: now_millis(),
            description: description.to_owned(),
            account: DEFAULT_ACCOUNT.to_owned(),
            scope: KeyRestrictions::default(),
        };
        self.store
            .meta()
            .create_key(key.clone(), &self.actor)
            .map_err(StorageError::of)?;
        self.store
            .inner
            .caches
            .keys
            .invalidate(&access_key.to_owned());
        Ok(key)
    }

    /// Deletes an access key; `NoSuchKeyId` when there is none of that id.
    pub fn delete_key(&self, access_key: &str) -> Result<(), KeyError> {
        let result = self.store.meta().delete_key(access_key, &self.actor);
        self.store
            .inner
            .caches
            .keys
            .invalidate(&access_key.to_owned());
        result.map_err(KeyError::narrow)
    }
}
