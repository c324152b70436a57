//! The store's bucket operations: create (plain or with object lock), look up by name or id
//! through the caches, list, update and delete. Changes are made by an [`Acting`] store, which
//! records who made them in the audit log; the [`Store`] methods of the same names record no one
//! in particular (`store`).

use crate::{
    new_id, now_millis, Acting, Bucket, BucketError, BucketUpdate, CreateBucketError,
    DeleteBucketError, ObjectLock, Result, StorageError, Store, UpdateBucketError, Versioning,
    Visibility,
};
use std::sync::Arc;

super::acting::unattributed! {
    fn create_bucket(&self, name: &str, owner: &str, public: Visibility, versioning: Versioning)
        -> Result<Bucket, CreateBucketError>;
    fn create_locked_bucket(&self, name: &str, owner: &str, public: Visibility, lock: ObjectLock)
        -> Result<Bucket, CreateBucketError>;
    fn update_bucket(&self, name: &str, update: BucketUpdate) -> Result<Bucket, UpdateBucketError>;
    fn delete_bucket(&self, name: &str) -> Result<Bucket, DeleteBucketError>;
}

impl Store {
    /// A bucket by name; `NoSuchBucket` if absent. Served from a cache at most
    /// [`cache::TTL`] old for changes made by other processes.
    pub fn bucket(&self, name: &str) -> Result<Arc<Bucket>, BucketError> {
        self.inner
            .caches
            .buckets
            .get_or_load(&name.to_owned(), || {
                self.meta().bucket(name).map(|b| b.map(Arc::new))
            })
            .map_err(BucketError::narrow)?
            .ok_or(BucketError::NoSuchBucket)
    }

    /// A bucket by id (B2's `bucketId`); `NoSuchBucket` if absent. Served from the caches
    /// like [`Store::bucket`].
    pub fn bucket_by_id(&self, id: &str) -> Result<Arc<Bucket>, BucketError> {
        let name = self
            .inner
            .caches
            .bucket_names
            .get_or_load(&id.to_owned(), || {
                self.meta().bucket_by_id(id).map(|b| b.map(|b| b.name))
            })
            .map_err(BucketError::narrow)?
            .ok_or(BucketError::NoSuchBucket)?;
        let bucket = self.bucket(&name)?;
        if bucket.id != id {
            // The bucket was deleted and its name taken by a newer one.
            return Err(BucketError::NoSuchBucket);
        }
        Ok(bucket)
    }

    /// All buckets.
    pub fn buckets(&self) -> Result<Vec<Bucket>, StorageError> {
        self.meta().buckets().map_err(StorageError::of)
    }
}

impl Acting<'_> {
    /// Creates a bucket owned by account `owner` (S3 buckets start unversioned, B2 buckets
    /// enabled). A name taken by any account is `BucketExists`.
    pub fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        public: Visibility,
        versioning: Versioning,
    ) -> Result<Bucket, CreateBucketError> {
        self.new_bucket(name, owner, public, versioning, None)
    }

    /// Creates a bucket owned by account `owner` with object lock on (and so versioning
    /// enabled).
    pub fn create_locked_bucket(
        &self,
        name: &str,
        owner: &str,
        public: Visibility,
        lock: ObjectLock,
    ) -> Result<Bucket, CreateBucketError> {
        self.new_bucket(name, owner, public, Versioning::Enabled, Some(lock))
    }

    fn new_bucket(
        &self,
        name: &str,
        owner: &str,
        public: Visibility,
        versioning: Versioning,
        object_lock: Option<ObjectLock>,
    ) -> Result<Bucket, CreateBucketError> {
        self.store.inner.caches.buckets.invalidate(&name.to_owned());
        let bucket = Bucket {
            name: name.to_owned(),
            id: new_id(),
            owner: owner.to_owned(),
            created: now_millis(),
            public,
            cors: None,
            info: None,
            revision: 1,
            policy: None,
            versioning,
            lifecycle: Vec::new(),
            tags: Default::default(),
            public_block: 0,
            object_lock,
            ownership: None,
            notifications: Vec::new(),
            website: None,
            encryption: None,
        };
        self.store
            .meta()
            .create_bucket(bucket, &self.actor)
            .map_err(CreateBucketError::narrow)
    }

    /// Changes a bucket's settings.
    pub fn update_bucket(
        &self,
        name: &str,
        update: BucketUpdate,
    ) -> Result<Bucket, UpdateBucketError> {
        let result = self
            .store
            .meta()
            .update_bucket(name, update, &self.actor)
            .map_err(UpdateBucketError::narrow);
        self.store.inner.caches.buckets.invalidate(&name.to_owned());
        result
    }

    /// Deletes a bucket with no versions or markers left, aborting its unfinished uploads.
    pub fn delete_bucket(&self, name: &str) -> Result<Bucket, DeleteBucketError> {
        let result = self.store.meta().delete_bucket(name, &self.actor);
        self.store.inner.caches.buckets.invalidate(&name.to_owned());
        let (bucket, garbage) = result.map_err(DeleteBucketError::narrow)?;
        self.store
            .discard(garbage)
            .map_err(DeleteBucketError::narrow)?;
        Ok(bucket)
    }
}
