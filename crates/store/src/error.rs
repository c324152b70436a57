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
    /// A body went past the length its request declared.
    #[error("the body is longer than the {0} bytes its request declared")]
    LongerThanDeclared(u64),
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
    /// The write would pass a storage or object cap, or the request a transaction cap.
    #[error("{0}")]
    CapExceeded(crate::usage::CapExceeded),
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

impl StoreError {
    /// True when the write that failed so may still have been committed: the database could
    /// not be reached or went away mid-commit. Its new bytes must then be left to the orphan
    /// sweep, never removed at once (the committed row would name bytes that are gone).
    pub(crate) fn may_have_committed(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
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
    /// a broken invariant, [`StorageError::Corrupt`] naming what was found, never passed on as
    /// a request's fault.
    pub fn of(e: StoreError) -> StorageError {
        match e {
            StoreError::Io(e) => StorageError::Io(e),
            StoreError::Database(m) => StorageError::Database(m),
            StoreError::Corrupt(m) => StorageError::Corrupt(m),
            StoreError::Unavailable(m) => StorageError::Unavailable(m),
            other => {
                StorageError::Corrupt(format!("an outcome the operation cannot have: {other:?}"))
            }
        }
    }
}

/// Declares the error of one kind of store operation: the request's faults it can end in
/// (each a [`StoreError`] variant of the same name: unit variants in `faults`, variants with a
/// value in `faults_with`) and `Storage`, a failure of the machine. The enum folds into
/// [`StoreError`] (`From`), and [`StoreError`]s from below narrow into it (`narrow`): any
/// outcome not listed is a broken invariant and becomes [`StorageError::Corrupt`] naming it.
macro_rules! operation_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            faults { $( $(#[$umeta:meta])* $unit:ident ),* $(,)? }
            faults_with { $( $(#[$wmeta:meta])* $with:ident($ty:ty) ),* $(,)? }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$umeta])* $unit, )*
            $( $(#[$wmeta])* $with($ty), )*
            /// A failure of the machine (the disk, the database, a row that does not decode).
            Storage(StorageError),
        }

        impl $name {
            /// The operation's reading of an error from below; an outcome it cannot have is
            /// [`StorageError::Corrupt`].
            pub(crate) fn narrow(e: StoreError) -> $name {
                match e {
                    $( StoreError::$unit => $name::$unit, )*
                    $( StoreError::$with(v) => $name::$with(v), )*
                    other => $name::Storage(StorageError::of(other)),
                }
            }
        }

        impl From<$name> for StoreError {
            fn from(e: $name) -> StoreError {
                match e {
                    $( $name::$unit => StoreError::$unit, )*
                    $( $name::$with(v) => StoreError::$with(v), )*
                    $name::Storage(s) => s.into(),
                }
            }
        }

        impl From<StorageError> for $name {
            fn from(e: StorageError) -> $name {
                $name::Storage(e)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( $name::$unit => StoreError::$unit.fmt(f), )*
                    $( $name::$with(v) => StoreError::$with(v.clone()).fmt(f), )*
                    $name::Storage(s) => s.fmt(f),
                }
            }
        }

        impl std::error::Error for $name {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                match self {
                    $name::Storage(s) => Some(s),
                    _ => None,
                }
            }
        }
    };
}

operation_error! {
    /// Why looking a bucket up (by name or id) failed.
    pub enum BucketError {
        faults {
            /// No bucket of that name or id.
            NoSuchBucket,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why creating a bucket failed.
    pub enum CreateBucketError {
        faults {
            /// The name is taken (by any account).
            BucketExists,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why changing a bucket's settings failed.
    pub enum UpdateBucketError {
        faults {
            /// No bucket of that name.
            NoSuchBucket,
            /// The revision the change was based on is not the bucket's any more.
            PreconditionFailed,
            /// Versioning cannot go back to unversioned.
            InvalidVersioning,
        }
        faults_with {
            /// The bucket's state forbids the change (what and why).
            InvalidBucketState(String),
        }
    }
}

operation_error! {
    /// Why deleting a bucket failed.
    pub enum DeleteBucketError {
        faults {
            /// No bucket of that name.
            NoSuchBucket,
            /// It still holds versions or markers.
            BucketNotEmpty,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why finding an entry (the current version, a version by id, a B2 file id) failed.
    pub enum FindError {
        faults {
            /// No current version under the key (or no entry of that file id).
            NoSuchKey,
            /// The key has no version of that id.
            NoSuchVersion,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why opening an entry to read it failed.
    pub enum ReadError {
        faults {
            /// No current version under the key (or no entry of that file id).
            NoSuchKey,
            /// The key has no version of that id.
            NoSuchVersion,
            /// The entry is encrypted and the server has no master key.
            NoMasterKey,
            /// The entry went away while its bytes were read (read it again).
            Reclaimed,
        }
        faults_with {
            /// The entry's key ring key is gone.
            NoSuchKmsKey(String),
            /// The master key is not the one the entry needs.
            MasterKey(String),
        }
    }
}

operation_error! {
    /// Why an object's data key could not be unwrapped from its envelope.
    pub enum EnvelopeError {
        faults {
            /// The object is encrypted with a customer's key and none was given.
            KeyRequired,
            /// The customer's key given is not the object's.
            WrongKey,
            /// The server has no master key.
            NoMasterKey,
        }
        faults_with {
            /// The key ring has no key of the envelope's id.
            NoSuchKmsKey(String),
            /// The master key is not the one the key ring's key needs.
            MasterKey(String),
        }
    }
}

operation_error! {
    /// Why changing one version's settings (tags, ACL, retention, legal hold) failed.
    pub enum ChangeError {
        faults {
            /// The bucket is gone.
            NoSuchBucket,
            /// No current version under the key.
            NoSuchKey,
            /// The key has no version of that id, or it is a marker.
            NoSuchVersion,
            /// Retention or legal hold for a bucket without object lock.
            LockNotEnabled,
        }
        faults_with {
            /// Object lock refuses the retention change.
            ObjectLocked(crate::lock::LockRefusal),
        }
    }
}

operation_error! {
    /// Why deleting an entry (making a marker, or removing a version) failed.
    pub enum DeleteError {
        faults {
            /// The bucket is gone.
            NoSuchBucket,
            /// No entry under the key.
            NoSuchKey,
            /// The key has no version of that id.
            NoSuchVersion,
            /// Object lock named for a bucket without it.
            LockNotEnabled,
        }
        faults_with {
            /// Object lock refuses the deletion.
            ObjectLocked(crate::lock::LockRefusal),
        }
    }
}

operation_error! {
    /// Why starting a multipart upload failed.
    pub enum NewUploadError {
        faults {
            /// The bucket is gone.
            NoSuchBucket,
        }
        faults_with {
            /// The key is one the store never keeps.
            InvalidName(NameError),
        }
    }
}

operation_error! {
    /// Why an operation on one multipart upload (find, list parts, abort) failed.
    pub enum UploadError {
        faults {
            /// The upload is gone (completed or aborted) or never existed.
            NoSuchUpload,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why a request may not go on: a daily transaction cap is reached.
    pub enum RequestError {
        faults {}
        faults_with {
            /// The cap reached.
            CapExceeded(crate::usage::CapExceeded),
        }
    }
}

operation_error! {
    /// Why deleting an access key failed.
    pub enum KeyError {
        faults {
            /// No access key with that id.
            NoSuchKeyId,
        }
        faults_with {}
    }
}

operation_error! {
    /// Why a key ring or data key operation failed.
    pub enum KmsError {
        faults {
            /// The server has no master key.
            NoMasterKey,
        }
        faults_with {
            /// The key ring has no key of this id.
            NoSuchKmsKey(String),
            /// The key ring has a key of this id already.
            KmsKeyExists(String),
            /// Not a key ring id.
            InvalidKmsKeyId(String),
            /// The master key is not the one the key ring needs.
            MasterKey(String),
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
    /// The write would pass a storage or object cap.
    #[error("{0}")]
    CapExceeded(crate::usage::CapExceeded),
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
    /// The part would pass a storage cap.
    #[error("{0}")]
    CapExceeded(crate::usage::CapExceeded),
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
    /// The completed object would pass a storage or object cap.
    #[error("{0}")]
    CapExceeded(crate::usage::CapExceeded),
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
            PutError::CapExceeded(c) => StoreError::CapExceeded(c),
            PutError::Storage(s) => s.into(),
        }
    }
}

impl From<PartError> for StoreError {
    fn from(e: PartError) -> StoreError {
        match e {
            PartError::NoSuchUpload => StoreError::NoSuchUpload,
            PartError::CapExceeded(c) => StoreError::CapExceeded(c),
            PartError::Storage(s) => s.into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_keeps_the_faults_it_lists() {
        assert!(matches!(
            DeleteBucketError::narrow(StoreError::BucketNotEmpty),
            DeleteBucketError::BucketNotEmpty
        ));
        assert!(matches!(
            UpdateBucketError::narrow(StoreError::InvalidBucketState("why".into())),
            UpdateBucketError::InvalidBucketState(why) if why == "why"
        ));
    }

    #[test]
    fn an_outcome_an_operation_cannot_have_is_corrupt_and_named() {
        match FindError::narrow(StoreError::BucketNotEmpty) {
            FindError::Storage(StorageError::Corrupt(found)) => {
                assert!(found.contains("BucketNotEmpty"), "{found}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_storage_failure_stays_one_through_an_operation() {
        let e = ReadError::narrow(StoreError::Unavailable("failing over".into()));
        assert!(matches!(
            StoreError::from(e),
            StoreError::Unavailable(why) if why == "failing over"
        ));
    }

    #[test]
    fn an_operation_error_reads_as_the_store_error_it_folds_into() {
        assert_eq!(
            ChangeError::LockNotEnabled.to_string(),
            StoreError::LockNotEnabled.to_string()
        );
    }
}
