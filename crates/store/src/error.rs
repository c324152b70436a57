//! Storage errors: what can go wrong, in terms the API layers map to their own error codes.

use std::io;

/// An error from the store. Each variant is a condition an API reports distinctly; `Io` and
/// `Database` are internal failures (HTTP 500), `Unavailable` a passing one (HTTP 503: the
/// client should retry).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No bucket of that name or id.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// A bucket of that name exists already.
    #[error("the bucket name is already taken")]
    BucketExists,
    /// The bucket still holds versions or markers.
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    /// No object under that key (or version id).
    #[error("the object does not exist")]
    NoSuchKey,
    /// The key has no version with that id (or no null version).
    #[error("the version does not exist")]
    NoSuchVersion,
    /// A versioning change the state machine does not allow (back to unversioned).
    #[error("versioning cannot return to unversioned once enabled")]
    InvalidVersioning,
    /// The bucket's state forbids the change (object lock without enabled versioning,
    /// suspending versioning under object lock).
    #[error("{0}")]
    InvalidBucketState(String),
    /// Object lock refuses the deletion or retention change.
    #[error("{0}")]
    ObjectLocked(crate::lock::LockRefusal),
    /// Retention or legal hold named for a bucket without object lock.
    #[error("the bucket does not have object lock enabled")]
    LockNotEnabled,
    /// No multipart upload with that id (in that bucket and key).
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// A part listed for completion was never uploaded, or its ETag differs.
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    /// Parts listed for completion are not in ascending order.
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than the minimum part size.
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
    /// A conditional write's condition (If-Match, If-None-Match, revision) did not hold.
    #[error("the precondition did not hold")]
    PreconditionFailed,
    /// A name the store never keeps.
    #[error("{0}")]
    InvalidName(NameError),
    /// No access key with that id.
    #[error("no such access key")]
    NoSuchKeyId,
    /// Another process (a running server) holds the data directory.
    #[error("the data directory {0} is in use by another pier server")]
    Locked(String),
    /// The bytes a read's entry named were reclaimed after the entry was read (a read that
    /// took longer than the garbage grace period to open them): read the metadata again.
    #[error("the object changed while it was being read")]
    Reclaimed,
    /// The object is encrypted with a customer's key (SSE-C) and the request gave none.
    #[error("the object is encrypted with a customer's key, which the request did not give")]
    KeyRequired,
    /// The customer's key given is not the one the object was encrypted with.
    #[error("the key given is not the key the object was encrypted with")]
    WrongKey,
    /// A customer's key was given for an object not encrypted with one.
    #[error("the object is not encrypted with a customer's key")]
    NotCustomerEncrypted,
    /// Encryption was asked for and the server has no master key.
    #[error("the server has no master key for server-side encryption")]
    NoMasterKey,
    /// The master key given is not the one the stored objects need.
    #[error("{0}")]
    MasterKey(String),
    /// The key ring has no key of this id.
    #[error("the key ring has no key {0:?}")]
    NoSuchKmsKey(String),
    /// The key ring has a key of this id already.
    #[error("the key ring has a key {0:?} already")]
    KmsKeyExists(String),
    /// A key ring id that is empty, too long or has characters outside letters, digits and
    /// `-_/:.`.
    #[error("a key id is 1 to 256 letters, digits and -_/:. characters, not {0:?}")]
    InvalidKmsKeyId(String),
    /// Reading the object's bytes failed (a blob file is missing or unreadable).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// A stored row does not decode (or contradicts itself): corruption, never a shorter object.
    #[error("corrupt metadata: {0}")]
    Corrupt(String),
    /// The metadata database failed.
    #[error("metadata database error: {0}")]
    Database(String),
    /// The metadata database cannot be reached right now (a network database restarting or
    /// failing over); nothing was changed, or the outcome of the last commit is unknown.
    #[error("metadata database unavailable: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// A failure of the machine, not of the request: the disk, the database, or a stored row
/// that does not decode. Every operation can fail this way; the APIs answer 500 and log it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Reading or writing a file failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The metadata database failed.
    #[error("metadata database error: {0}")]
    Database(String),
    /// A stored row does not decode.
    #[error("corrupt metadata: {0}")]
    Corrupt(String),
    /// The metadata database cannot be reached right now (HTTP 503).
    #[error("metadata database unavailable: {0}")]
    Unavailable(String),
}

impl StorageError {
    /// The storage failure of `e`; any other error where only storage failures can happen is
    /// itself one (a broken invariant), never passed on as a request's fault.
    pub fn of(e: StoreError) -> StorageError {
        match e {
            StoreError::Io(e) => StorageError::Io(e),
            StoreError::Database(m) => StorageError::Database(m),
            StoreError::Corrupt(m) => StorageError::Corrupt(m),
            StoreError::Unavailable(m) => StorageError::Unavailable(m),
            other => StorageError::Database(format!("unexpected outcome: {other}")),
        }
    }
}

/// Why writing an object (PUT, copy, B2 upload) failed: the only outcomes an API must tell
/// apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PutError {
    /// The name is one the store never keeps.
    #[error("{0}")]
    InvalidName(NameError),
    /// `If-Match` / `If-None-Match` did not hold.
    #[error("the precondition did not hold")]
    PreconditionFailed,
    /// `If-Match` named a key that has no current version (S3 answers 404, not 412).
    #[error("the object does not exist")]
    NoSuchKey,
    /// The bucket was deleted before the write committed.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// The copy source was deleted before the copy committed.
    #[error("the copy source does not exist any more")]
    SourceGone,
    /// Retention or legal hold named for a bucket without object lock.
    #[error("the bucket does not have object lock enabled")]
    LockNotEnabled,
    /// A storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why recording an uploaded part failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartError {
    /// The upload is gone (completed or aborted meanwhile) or never existed.
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// A storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why completing a multipart upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompleteError {
    /// The upload is gone or never existed.
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// A listed part was never uploaded, or its ETag differs.
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    /// Parts are not listed in ascending order.
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is below the minimum size.
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
    /// A condition on the key did not hold.
    #[error("the precondition did not hold")]
    PreconditionFailed,
    /// `If-Match` named a key that has no current version.
    #[error("the object does not exist")]
    NoSuchKey,
    /// A storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<PutError> for StoreError {
    fn from(e: PutError) -> StoreError {
        match e {
            PutError::InvalidName(n) => StoreError::InvalidName(n),
            PutError::PreconditionFailed => StoreError::PreconditionFailed,
            PutError::NoSuchKey => StoreError::NoSuchKey,
            PutError::NoSuchBucket => StoreError::NoSuchBucket,
            PutError::SourceGone => StoreError::NoSuchKey,
            PutError::LockNotEnabled => StoreError::LockNotEnabled,
            PutError::Storage(s) => s.into(),
        }
    }
}

impl From<StorageError> for StoreError {
    fn from(e: StorageError) -> StoreError {
        match e {
            StorageError::Io(e) => StoreError::Io(e),
            StorageError::Database(m) => StoreError::Database(m),
            StorageError::Corrupt(m) => StoreError::Corrupt(m),
            StorageError::Unavailable(m) => StoreError::Unavailable(m),
        }
    }
}

/// Why the store refuses an object name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("an object name must not be empty")]
    Empty,
    /// The name is longer than 1024 bytes (its length).
    #[error("an object name is at most 1024 bytes, not {0}")]
    TooLong(usize),
    /// The name contains NUL.
    #[error("an object name must not contain NUL")]
    Nul,
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
