//! The store's multipart uploads: create, parts, listing, completion and abort.

use crate::{
    check_key, new_id, now_millis, CompleteError, Completion, NewUploadError, Object, ObjectMeta,
    Part, PartError, PartsChecksum, Result, StorageError, Store, StoreError, Upload, UploadError,
    WriteCondition, WrittenBlob,
};

impl Store {
    /// Starts a multipart upload.
    pub fn create_upload(
        &self,
        bucket_id: &str,
        key: &str,
        meta: ObjectMeta,
    ) -> Result<Upload, NewUploadError> {
        check_key(key).map_err(NewUploadError::narrow)?;
        let upload = Upload {
            upload_id: new_id(),
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            created: now_millis(),
            meta,
        };
        self.meta()
            .create_upload(upload.clone())
            .map_err(NewUploadError::narrow)?;
        Ok(upload)
    }

    /// An upload by id; `NoSuchUpload` if absent.
    pub fn upload(&self, upload_id: &str) -> Result<Upload, UploadError> {
        self.meta()
            .upload(upload_id)
            .map_err(UploadError::narrow)?
            .ok_or(UploadError::NoSuchUpload)
    }

    /// Records a written blob as part `part_number` of an upload.
    pub fn put_part(
        &self,
        upload_id: &str,
        part_number: u32,
        blob: WrittenBlob,
        checksum: Option<String>,
    ) -> std::result::Result<Part, PartError> {
        let storage = |e: StoreError| PartError::Storage(StorageError::of(e));
        let part = Part {
            part_number,
            size: blob.size,
            etag: blob.md5.clone(),
            sha1: blob.sha1.clone(),
            blob: blob.blob.clone(),
            created: now_millis(),
            checksum,
        };
        match self.meta().put_part(upload_id, part.clone()) {
            Ok(garbage) => {
                self.discard(garbage).map_err(storage)?;
                Ok(part)
            }
            Err(e) => {
                // A commit whose outcome is unknown may name the blob: the sweep decides.
                if !e.may_have_committed() {
                    self.inner.blobs.remove(&[blob.blob]).map_err(storage)?;
                }
                Err(match e {
                    StoreError::NoSuchUpload => PartError::NoSuchUpload,
                    StoreError::CapExceeded(c) => PartError::CapExceeded(c),
                    other => storage(other),
                })
            }
        }
    }

    /// Parts of an upload numbered above `after`.
    pub fn parts(
        &self,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<Part>, StorageError> {
        self.meta()
            .parts(upload_id, after, limit)
            .map_err(StorageError::of)
    }

    /// Uploads in progress in a bucket.
    pub fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>, StorageError> {
        self.meta()
            .uploads(bucket_id, prefix, after, limit)
            .map_err(StorageError::of)
    }

    /// The version an upload completed into, if it completed within the last day (a client
    /// completing again gets the same answer).
    pub fn completed_upload(&self, upload_id: &str) -> Result<Option<Object>, StorageError> {
        let found = match self.meta().completed_upload(upload_id) {
            Ok(Some(id)) => self.meta().object_by_version(&id),
            other => other.map(|_| None),
        };
        found.map_err(StorageError::of)
    }

    /// Completes an upload from the listed `(part number, ETag)` pairs; an upload completed
    /// within the last day answers with the version it made.
    pub fn complete_upload(
        &self,
        upload_id: &str,
        parts: Vec<(u32, String)>,
        min_part_size: u64,
        condition: WriteCondition,
        checksum: Option<PartsChecksum>,
    ) -> std::result::Result<Object, CompleteError> {
        let storage = |e: StoreError| CompleteError::Storage(StorageError::of(e));
        let completed = self.meta().complete_upload(
            upload_id,
            Completion {
                parts,
                min_part_size,
                condition,
                version_id: new_id(),
                created: now_millis(),
                checksum,
            },
        );
        let (object, garbage) = match completed {
            Err(StoreError::NoSuchUpload) => {
                // Completed already (a client retrying): answer with what it made, as S3 does.
                return match self.completed_upload(upload_id)? {
                    Some(object) => Ok(object),
                    None => Err(CompleteError::NoSuchUpload),
                };
            }
            other => other,
        }
        .map_err(|e| match e {
            StoreError::NoSuchUpload => CompleteError::NoSuchUpload,
            StoreError::InvalidPart(n) => CompleteError::InvalidPart(n),
            StoreError::InvalidPartOrder => CompleteError::InvalidPartOrder,
            StoreError::EntityTooSmall(n) => CompleteError::EntityTooSmall(n),
            StoreError::PreconditionFailed => CompleteError::PreconditionFailed,
            StoreError::NoSuchKey => CompleteError::NoSuchKey,
            StoreError::CapExceeded(c) => CompleteError::CapExceeded(c),
            other => storage(other),
        })?;
        self.discard(garbage).map_err(storage)?;
        Ok(object)
    }

    /// Abandons an upload and its parts.
    pub fn abort_upload(&self, upload_id: &str) -> Result<(), UploadError> {
        let garbage = self
            .meta()
            .abort_upload(upload_id)
            .map_err(UploadError::narrow)?;
        self.discard(garbage).map_err(UploadError::narrow)
    }
}
