//! pier's storage engine: buckets, objects and multipart uploads, with no HTTP in sight.
//!
//! # Overview
//! - [`Store`] is the facade the API layers use. Object bytes are immutable blobs in files
//!   ([`blob`]); metadata lives behind the [`MetaStore`] trait, implemented once in SQL
//!   ([`sql`]) over embedded SQLite (the default) or PostgreSQL ([`MetaBackend`]).
//! - A write is acknowledged only when durable: the blob is written to `tmp/`, fsynced, renamed
//!   into `blobs/`, its directory fsynced, and then the metadata commit (group-committed with
//!   other writers) makes it visible. A crash at any point leaves either the old object or the
//!   new one, never a partial one.
//! - Every key has a history of versions and markers (S3 delete markers = B2 hide markers); a
//!   bucket's [`Versioning`] state decides whether a write adds a version or replaces the `null`
//!   one. Listing current keys never reads history ([`Store::list`]); [`Store::list_versions`]
//!   reads it all. Whole-object copies share blobs ([`Store::copy_object`]).
//! - Lifecycle rules are applied by [`Store::run_lifecycle`] in bounded, re-checked batches.
//! - Blobs no entry references any more are recorded as garbage in the same transaction and
//!   unlinked after it. At every start, the garbage list is finished, `tmp/` is emptied, and
//!   blobs that no metadata references are removed.
//! - A large blob's MD5 (its ETag) is computed on one hashing thread for the whole process,
//!   which hashes the blobs being written side by side in SIMD lanes ([`md5_lanes`]).
//!
//! - Errors are sized to operations where callers must tell outcomes apart: a put fails with
//!   [`PutError`], a part with [`PartError`], a completion with [`CompleteError`], each
//!   listing only what can happen plus [`StorageError`] (the machine's fault). Everything else
//!   returns [`StoreError`], into which they all convert but [`CompleteError`] (whose faults
//!   are the completion's own).
//!
//! See `docs/design.md` for the on-disk layout and the write protocol.

mod audit;
mod backend;
pub mod blob;
mod cache;
mod error;
mod facade;
mod janitor;
pub mod lifecycle;
mod list;
pub mod lock;
pub mod md5_lanes;
pub mod meta;
mod payload;
mod read;
mod sealed;
mod segments;
pub mod sql;
mod stats;
mod stream;
mod time;
mod types;
mod usage;

pub use audit::{Actor, AuditEntry, AuditQuery};
pub use backend::{Backends, BlobBackend, MetaBackend, GARBAGE_GRACE, ORPHAN_AGE};
pub use blob::{
    BlobSink, BlobSource, BlobStore, BlobWriter, Blobs, BodyCheck, FileBlobs, S3Location,
    StoredBlob, WrittenBlob,
};
pub use cache::TTL as CACHE_TTL;
pub use error::{
    BucketError, ChangeError, CompleteError, CreateBucketError, DeleteBucketError, DeleteError,
    EnvelopeError, FindError, KeyError, KmsError, NameError, NewUploadError, PartError, PutError,
    ReadError, RequestError, Result, StorageError, StoreError, UpdateBucketError, UploadError,
};
pub use facade::{same_encryption, Acting, Encrypt, DEFAULT_KMS_KEY};
pub use lifecycle::{LifecycleClock, LifecycleReport};
pub use list::{prefix_end, ListPage, ListQuery, VersionPage, VersionQuery, VersionStart};
pub use lock::{
    DefaultRetention, LockMode, LockPeriod, LockRefusal, ObjectLock, Retention, VersionLock,
};
pub use meta::{
    Completion, LifecycleAction, MetaChange, MetaRewrite, MetaStore, NewBytes, PartsChecksum,
    Removal, VersionCursor,
};
pub use payload::{Payload, PayloadWriter, INLINE_MAX};
pub use read::{Readable, READ_ATTEMPTS};
pub use segments::SegmentReader;
pub use sql::meta::{multipart_etag, SqlMeta};
pub use stats::{StatsSnapshot, StoreStats};
pub use stream::ObjectStream;
pub use types::{is_account_id, new_account_id, DEFAULT_ACCOUNT};
pub use types::{
    now_millis, AccessKey, Bucket, BucketUpdate, DashboardSession, DefaultEncryption,
    KeyRestrictions, LifecycleRule, Millis, Object, ObjectMeta, Part, PublicBlock, Segment, Upload,
    VersionRef, Versioning, Visibility, WriteCondition, INLINE_BLOB,
};
pub use usage::{CapExceeded, CapKind, CapScope, Caps, Usage};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// The longest object key, in bytes (S3's and B2's limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// The store's own rule for object keys, checked on every path that creates a name (both APIs'
/// stricter rules come first, at their edges): not empty, at most [`MAX_KEY_BYTES`] bytes, no
/// NUL. An empty name would be invisible to listings yet keep its bucket from being deleted.
pub fn check_key(key: &str) -> Result<()> {
    let refused = if key.is_empty() {
        NameError::Empty
    } else if key.len() > MAX_KEY_BYTES {
        NameError::TooLong(key.len())
    } else if key.contains('\0') {
        NameError::Nul
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidName(refused))
}

/// The lease the node doing shared maintenance holds (`Store::run_maintenance`).
pub(crate) const MAINTENANCE_LEASE: &str = "maintenance";

/// This data directory's node id, kept in `NODE` (made at first start), so a restarted node
/// takes back the leases it held.
fn node_id(root: &Path) -> Result<String> {
    let path = root.join("NODE");
    match fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        Ok(_) => {
            let id = new_id();
            fs::write(&path, &id)?;
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = new_id();
            fs::write(&path, &id)?;
            Ok(id)
        }
        Err(e) => Err(e.into()),
    }
}

/// A fresh id (time-ordered, 32 hex digits) for a bucket, version, marker or upload.
fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// S3's minimum size for every part of a multipart upload but the last.
pub const S3_MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The storage engine. Cheap to clone; all clones share one database and blob directory.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    meta: Arc<dyn MetaStore>,
    blobs: Blobs,
    /// This process's name among the nodes sharing the metadata (for leases).
    node: String,
    /// See [`Backends::orphan_age`].
    orphan_age: std::time::Duration,
    /// See [`Backends::garbage_grace`].
    garbage_grace: std::time::Duration,
    /// True when other processes may read this metadata's blobs (a shared database): garbage
    /// then waits out its grace period even at start.
    shared_meta: bool,
    /// The server's exclusive lock on the data directory; `None` for admin handles.
    lock: Option<fs::File>,
    /// Written at a clean close, removed at open: its absence at open means the last run
    /// stopped uncleanly and orphaned blobs may exist.
    clean_marker: PathBuf,
    /// What is read on every request, kept in front of the metadata for [`CACHE_TTL`].
    caches: Caches,
    /// The janitor thread (which removes garbage past its grace period, off the request path)
    /// and what wakes it when a write released blobs.
    janitor: JanitorHandle,
    /// Counters for the server's metrics, shared with the metadata writer and the blob files.
    stats: Arc<StoreStats>,
    /// The master key SSE-S3 data keys are wrapped with (`Store::set_master_key`).
    master: std::sync::OnceLock<pier_crypto::MasterKey>,
    /// The master key's id is recorded in the metadata (done by the first SSE-S3 write).
    master_recorded: std::sync::atomic::AtomicBool,
}

/// The caches in front of the metadata.
#[derive(Default)]
struct Caches {
    /// Buckets by name, read on every request (shared, not cloned: a bucket carries its CORS
    /// rules).
    buckets: cache::TtlCache<String, Option<Arc<Bucket>>>,
    /// Bucket names by id (B2 addresses buckets by id). Ids are never reused and buckets are
    /// never renamed; a name re-used by a newer bucket is caught by comparing ids.
    bucket_names: cache::TtlCache<String, Option<String>>,
    /// Access keys by id, read on every signed request.
    keys: cache::TtlCache<String, Option<Arc<AccessKey>>>,
    /// Every daily transaction cap, read on every request to a bucket (to know whether to
    /// count it): one read of the caps a [`CACHE_TTL`], however many buckets are asked about.
    transaction_caps: cache::TtlCache<(), Arc<usage::TransactionCaps>>,
}

/// The janitor thread, once started, and its wake-up channel.
#[derive(Default)]
struct JanitorHandle {
    wake: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating) a store in `root` with embedded metadata, recovering from an unclean
    /// stop if needed.
    pub fn open(root: &Path) -> Result<Store> {
        Store::open_with(root, &Backends::default())
    }

    /// Opens (creating) a store whose blobs are in `root` and whose metadata is in `backend`,
    /// recovering from an unclean stop if needed.
    pub fn open_with(root: &Path, backends: &Backends) -> Result<Store> {
        Store::open_parts(root, backends, None)
    }

    /// [`Store::open_with`] with the blobs in `blobs` instead of `backends.blobs` (an embedder's
    /// own blob store, or a test's that injects faults or records what a crash would leave).
    pub fn open_with_blob_store(
        root: &Path,
        backends: &Backends,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<Store> {
        Store::open_parts(root, backends, Some(blobs))
    }

    fn open_parts(
        root: &Path,
        backends: &Backends,
        blobs: Option<Arc<dyn BlobStore>>,
    ) -> Result<Store> {
        fs::create_dir_all(root)?;
        // A shared database may hold metadata already: sweep orphans there at every start.
        let existed = backends.meta != MetaBackend::Embedded || root.join("meta.sqlite").exists();
        let clean_marker = root.join("CLEAN");
        let was_clean = clean_marker.exists();
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("LOCK"))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked(root.display().to_string()));
        }
        let stats = Arc::new(StoreStats::default());
        let blobs = match blobs {
            Some(blobs) => Blobs::new(blobs),
            None => backends.blobs.open(root, &stats, true)?,
        };
        let meta = backends.meta.open(root, &stats)?;
        let store = Store {
            inner: Arc::new(Inner {
                meta,
                blobs,
                node: node_id(root)?,
                orphan_age: backends.orphan_age,
                garbage_grace: backends.garbage_grace,
                shared_meta: backends.meta != MetaBackend::Embedded,
                lock: Some(lock),
                clean_marker,
                caches: Caches::default(),
                janitor: JanitorHandle::default(),
                stats,
                master: Default::default(),
                master_recorded: Default::default(),
            }),
        };
        if was_clean {
            fs::remove_file(&store.inner.clean_marker)?;
        }
        store.collect_garbage()?;
        if existed {
            // Every start, not only after an unclean stop: a blob made durable whose commit
            // never happened (its writer failed or vanished) is unreferenced after any stop.
            store.remove_orphans(was_clean)?;
        }
        store.start_janitor()?;
        Ok(store)
    }

    /// Opens a store's metadata for administration (keys, buckets) next to a running server:
    /// no lock, no recovery, no blob housekeeping.
    pub fn open_admin(root: &Path) -> Result<Store> {
        Store::open_admin_with(root, &MetaBackend::Embedded)
    }

    /// [`Store::open_admin`] with the metadata in `backend`.
    pub fn open_admin_with(root: &Path, backend: &MetaBackend) -> Result<Store> {
        fs::create_dir_all(root)?;
        let stats = Arc::new(StoreStats::default());
        let meta = backend.open(root, &stats)?;
        Ok(Store {
            inner: Arc::new(Inner {
                node: new_id(),
                orphan_age: ORPHAN_AGE,
                garbage_grace: GARBAGE_GRACE,
                shared_meta: true,
                meta,
                blobs: BlobBackend::Files.open(root, &stats, false)?,
                lock: None,
                clean_marker: root.join("CLEAN"),
                caches: Caches::default(),
                janitor: JanitorHandle::default(),
                stats,
                master: Default::default(),
                master_recorded: Default::default(),
            }),
        })
    }

    /// Stops the metadata writer after queued writes and, for a server's handle, marks the stop
    /// as clean and releases the lock.
    pub fn close(&self) -> Result<()> {
        self.inner.janitor.wake.lock().expect("janitor lock").take();
        if let Some(handle) = self
            .inner
            .janitor
            .thread
            .lock()
            .expect("janitor lock")
            .take()
        {
            let _ = handle.join();
        }
        if self.inner.lock.is_some() {
            // Hands the maintenance lease on at once if this node held it (a lapsed lease is
            // taken by the next node to ask).
            if let Err(e) =
                self.meta()
                    .claim_lease(MAINTENANCE_LEASE, &self.inner.node, now_millis(), 0)
            {
                tracing::warn!(error = %e, "releasing the maintenance lease failed");
            }
        }
        self.inner.meta.close();
        if let Some(lock) = &self.inner.lock {
            fs::write(&self.inner.clean_marker, b"")?;
            lock.unlock()?;
        }
        Ok(())
    }

    /// The store's work counters (commits, fsyncs, janitor backlog).
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The metadata backend.
    pub fn meta(&self) -> &dyn MetaStore {
        &*self.inner.meta
    }

    /// This store's node id (leases name their holder by it).
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// True when other nodes write into the same blob store.
    pub fn blobs_shared(&self) -> bool {
        self.inner.blobs.shared()
    }

    /// Every blob present in the blob store, referenced or not (for checks and administration).
    pub fn blob_ids(&self) -> Result<Vec<String>, StorageError> {
        Ok(self
            .inner
            .blobs
            .list()
            .map_err(StorageError::of)?
            .into_iter()
            .map(|b| b.id)
            .collect())
    }

    /// Starts writing a new blob (object or part bytes).
    pub fn new_blob(&self) -> Result<BlobWriter, StorageError> {
        self.inner.blobs.create().map_err(StorageError::of)
    }
}
