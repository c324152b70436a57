//! The metadata seam: everything the store keeps besides object bytes, behind one trait so a
//! distributed SQL backend can replace SQLite without touching the API layers. Every method is
//! one atomic operation; writes that make blobs unreferenced record them as garbage in the same
//! transaction and return them, so the caller can delete the files after the commit.

use crate::error::Result;
use crate::types::{AccessKey, Bucket, BucketUpdate, Object, Part, Upload, WriteCondition};
use std::collections::HashSet;

/// How a multipart upload is completed: the parts the client listed, checked inside the same
/// transaction as the write.
#[derive(Clone, Debug)]
pub struct Completion {
    /// `(part number, ETag without quotes)` in the order the client listed them.
    pub parts: Vec<(u32, String)>,
    /// The smallest size every part but the last must have.
    pub min_part_size: u64,
    /// Condition on the key being written.
    pub condition: WriteCondition,
    /// Version id of the finished object.
    pub version_id: String,
    /// Completion time.
    pub created: crate::Millis,
}

/// The metadata operations pier needs. Implementations must make each call atomic and durable
/// before returning.
pub trait MetaStore: Send + Sync + 'static {
    /// Creates a bucket; `BucketExists` if the name is taken.
    fn create_bucket(&self, bucket: Bucket) -> Result<Bucket>;
    /// A bucket by name.
    fn bucket(&self, name: &str) -> Result<Option<Bucket>>;
    /// A bucket by id.
    fn bucket_by_id(&self, id: &str) -> Result<Option<Bucket>>;
    /// All buckets, by name.
    fn buckets(&self) -> Result<Vec<Bucket>>;
    /// Changes settings (bumping the revision); `PreconditionFailed` on a revision mismatch.
    fn update_bucket(&self, name: &str, update: BucketUpdate) -> Result<Bucket>;
    /// Deletes an empty bucket; `BucketNotEmpty` if objects or uploads remain.
    fn delete_bucket(&self, name: &str) -> Result<Bucket>;

    /// The current object under a key.
    fn object(&self, bucket_id: &str, key: &str) -> Result<Option<Object>>;
    /// An object by version id.
    fn object_by_version(&self, version_id: &str) -> Result<Option<Object>>;
    /// Writes an object (replacing the current one) if `condition` holds, with its bytes when
    /// they are stored inline; returns the blobs that became garbage.
    fn put_object(
        &self,
        object: Object,
        condition: WriteCondition,
        inline: Option<Vec<u8>>,
    ) -> Result<Vec<String>>;
    /// The bytes of an object stored inline.
    fn inline_data(&self, version_id: &str) -> Result<Option<Vec<u8>>>;
    /// Deletes the current object under a key; returns it (its blobs are now garbage).
    fn delete_object(&self, bucket_id: &str, key: &str) -> Result<Option<Object>>;
    /// Objects with `key > after` (or `>=` when `inclusive`) and `key < end`, in byte order.
    fn scan(
        &self,
        bucket_id: &str,
        after: &[u8],
        inclusive: bool,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>>;

    /// Starts a multipart upload.
    fn create_upload(&self, upload: Upload) -> Result<()>;
    /// An upload by id.
    fn upload(&self, upload_id: &str) -> Result<Option<Upload>>;
    /// Records a part (replacing one with the same number); returns the garbage blobs.
    fn put_part(&self, upload_id: &str, part: Part) -> Result<Vec<String>>;
    /// Parts with number > `after`, ascending.
    fn parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<Part>>;
    /// Uploads of a bucket whose key starts with `prefix`, after `(key, upload id)`, ordered.
    fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>>;
    /// Completes an upload into an object; returns it and the garbage blobs.
    fn complete_upload(
        &self,
        upload_id: &str,
        completion: Completion,
    ) -> Result<(Object, Vec<String>)>;
    /// Abandons an upload; returns the garbage blobs.
    fn abort_upload(&self, upload_id: &str) -> Result<Vec<String>>;

    /// Stores an access key.
    fn create_key(&self, key: AccessKey) -> Result<()>;
    /// An access key by id.
    fn key(&self, access_key: &str) -> Result<Option<AccessKey>>;
    /// All access keys.
    fn keys(&self) -> Result<Vec<AccessKey>>;
    /// Removes an access key; `NoSuchKeyId` if absent.
    fn delete_key(&self, access_key: &str) -> Result<()>;

    /// Blobs recorded as garbage and not yet forgotten.
    fn garbage(&self, limit: usize) -> Result<Vec<String>>;
    /// Forgets garbage whose files were deleted.
    fn forget_garbage(&self, blobs: &[String]) -> Result<()>;
    /// Every blob referenced by an object or a part.
    fn referenced_blobs(&self) -> Result<HashSet<String>>;
}
