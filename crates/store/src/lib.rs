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
//!
//! - Errors are sized to operations where callers must tell outcomes apart: a put fails with
//!   [`PutError`], a part with [`PartError`], a completion with [`CompleteError`], each
//!   listing only what can happen plus [`StorageError`] (the machine's fault). Everything else
//!   returns [`StoreError`], into which they all convert.
//!
//! See `docs/design.md` for the on-disk layout and the write protocol.

pub mod blob;
mod cache;
mod error;
pub mod lifecycle;
mod list;
pub mod lock;
pub mod meta;
mod read;
pub mod sql;
mod stats;
mod stream;
mod time;
mod types;

pub use blob::{
    BlobSink, BlobSource, BlobStore, BlobWriter, Blobs, FileBlobs, Payload, PayloadWriter, S3Blobs,
    S3Location, SegmentReader, StoredBlob, WrittenBlob, INLINE_MAX,
};
pub use cache::TTL as CACHE_TTL;
pub use error::{CompleteError, NameError, PartError, PutError, Result, StorageError, StoreError};
pub use lifecycle::{LifecycleClock, LifecycleReport};
pub use list::{prefix_end, ListPage, ListQuery, VersionPage, VersionQuery, VersionStart};
pub use lock::{
    DefaultRetention, LockMode, LockPeriod, LockRefusal, ObjectLock, Retention, VersionLock,
};
pub use meta::{
    Completion, LifecycleAction, MetaChange, MetaStore, NewBytes, PartsChecksum, Removal,
    VersionCursor,
};
pub use read::Readable;
pub use sql::meta::{multipart_etag, SqlMeta};
pub use stats::{StatsSnapshot, StoreStats};
pub use stream::ObjectStream;
pub use types::{is_account_id, new_account_id, DEFAULT_ACCOUNT};
pub use types::{
    now_millis, AccessKey, Bucket, BucketUpdate, DashboardSession, KeyRestrictions, LifecycleRule,
    Millis, Object, ObjectMeta, Part, PublicBlock, Segment, Upload, VersionRef, Versioning,
    Visibility, WriteCondition, INLINE_BLOB,
};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// Where the metadata lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MetaBackend {
    /// SQLite in the data directory (`meta.sqlite`), the default.
    #[default]
    Embedded,
    /// A PostgreSQL database, by its `postgres://USER:PASS@HOST:PORT/DB` address.
    Postgres(String),
}

/// Where the blobs live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobBackend {
    /// Files in the data directory, the default.
    #[default]
    Files,
    /// An S3-compatible cluster, with the access key and secret pier signs with there.
    S3 {
        /// The bucket, prefix and endpoint.
        location: S3Location,
        /// The access key id.
        access_key: String,
        /// Its secret.
        secret_key: String,
    },
}

impl BlobBackend {
    /// Reads a backend from configuration: `files` (or empty) for the data directory, an
    /// `s3://BUCKET[/PREFIX]?endpoint=URL&region=R` location with these credentials for a
    /// cluster.
    pub fn parse(
        text: &str,
        access_key: Option<String>,
        secret_key: Option<String>,
    ) -> std::result::Result<BlobBackend, String> {
        let text = text.trim();
        if text.is_empty() || text == "files" {
            return Ok(BlobBackend::Files);
        }
        let location = S3Location::parse(text)?;
        match (access_key, secret_key) {
            (Some(access_key), Some(secret_key)) => Ok(BlobBackend::S3 {
                location,
                access_key,
                secret_key,
            }),
            _ => Err(
                "blobs in S3 need PIER_BLOBS_ACCESS_KEY_ID and PIER_BLOBS_SECRET_ACCESS_KEY".into(),
            ),
        }
    }

    /// How logs name it (no secret).
    pub fn describe(&self) -> String {
        match self {
            BlobBackend::Files => "files".into(),
            BlobBackend::S3 { location, .. } => format!(
                "s3://{}/{} at {}",
                location.bucket,
                location.prefix,
                location.endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }

    fn open(&self, root: &Path, stats: &Arc<StoreStats>, prepare: bool) -> Result<Blobs> {
        Ok(Blobs::new(match self {
            BlobBackend::Files if prepare => Arc::new(FileBlobs::open(root, Arc::clone(stats))?),
            BlobBackend::Files => Arc::new(FileBlobs::at(root, Arc::clone(stats))),
            BlobBackend::S3 {
                location,
                access_key,
                secret_key,
            } => Arc::new(S3Blobs::open(location, access_key, secret_key)?),
        }))
    }
}

/// Where a store keeps its metadata and its blobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backends {
    /// The metadata.
    pub meta: MetaBackend,
    /// The blobs.
    pub blobs: BlobBackend,
    /// How old a blob no metadata references must be before a shared blob store's sweep
    /// removes it: longer than any node may take between writing a blob and committing it.
    pub orphan_age: std::time::Duration,
    /// How long a blob a write released stays readable before the janitor removes it: longer
    /// than a read may take between reading the metadata and opening its last segment
    /// (`docs/design.md`, "Reading").
    pub garbage_grace: std::time::Duration,
}

impl Default for Backends {
    fn default() -> Backends {
        Backends {
            meta: MetaBackend::default(),
            blobs: BlobBackend::default(),
            orphan_age: ORPHAN_AGE,
            garbage_grace: GARBAGE_GRACE,
        }
    }
}

/// By default, a blob no metadata references is removed only once this old when blobs are
/// shared with other nodes (one may still be about to commit it); see [`BlobStore::shared`].
pub const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// By default, a blob a write released stays readable this long before it is removed; see
/// [`Backends::garbage_grace`].
pub const GARBAGE_GRACE: std::time::Duration = std::time::Duration::from_secs(900);

/// The longest the janitor waits between looks for garbage past its grace period.
const JANITOR_TICK_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a read whose bytes were reclaimed under it reads the metadata again before giving
/// up (`StoreError::Reclaimed`); the API layers loop at most this many times.
pub const READ_ATTEMPTS: usize = 3;

/// PostgreSQL connections per store (one worker thread each).
pub const POSTGRES_CONNECTIONS: usize = 16;

impl MetaBackend {
    /// Reads a backend from configuration: `sqlite` (or empty) for the embedded one, a
    /// `postgres://` or `postgresql://` address for PostgreSQL.
    pub fn parse(text: &str) -> std::result::Result<MetaBackend, String> {
        let text = text.trim();
        if text.is_empty() || text == "sqlite" {
            Ok(MetaBackend::Embedded)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(MetaBackend::Postgres(text.to_owned()))
        } else {
            Err(format!(
                "unknown metadata backend {text:?}: use \"sqlite\" or a postgres:// address"
            ))
        }
    }

    /// The address with its password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            MetaBackend::Embedded => "sqlite".into(),
            MetaBackend::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let userinfo = &url[scheme + 3..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }

    fn open(&self, root: &Path, stats: &Arc<StoreStats>) -> Result<Arc<dyn MetaStore>> {
        Ok(match self {
            MetaBackend::Embedded => Arc::new(SqlMeta::new(sql::sqlite::Sqlite::open(
                &root.join("meta.sqlite"),
                Arc::clone(stats),
            )?)),
            MetaBackend::Postgres(url) => Arc::new(SqlMeta::new(sql::postgres::Postgres::open(
                url,
                POSTGRES_CONNECTIONS,
            )?)),
        })
    }
}

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

/// The newest release time whose garbage is past a grace period of `grace` now.
fn grace_cutoff(grace: std::time::Duration) -> Millis {
    now_millis().saturating_sub(i64::try_from(grace.as_millis()).unwrap_or(Millis::MAX))
}

/// Removes the blobs of every garbage row released at or before `released_by`, then forgets the
/// rows, a thousand at a time; returns how many.
fn sweep_garbage(meta: &dyn MetaStore, blobs: &Blobs, released_by: Millis) -> Result<usize> {
    const BATCH: usize = 1000;
    let mut removed = 0;
    loop {
        let batch = meta.garbage(released_by, BATCH)?;
        if batch.is_empty() {
            return Ok(removed);
        }
        blobs.remove(&batch)?;
        meta.forget_garbage(&batch)?;
        removed += batch.len();
        if batch.len() < BATCH {
            return Ok(removed);
        }
    }
}

/// How a put's metadata failure reads as a [`PutError`].
fn put_error(e: StoreError) -> PutError {
    match e {
        StoreError::PreconditionFailed => PutError::PreconditionFailed,
        StoreError::NoSuchKey => PutError::NoSuchKey,
        StoreError::NoSuchBucket => PutError::NoSuchBucket,
        StoreError::LockNotEnabled => PutError::LockNotEnabled,
        other => PutError::Storage(StorageError::of(other)),
    }
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
    /// Buckets by name, read on every request (shared, not cloned: a bucket carries its CORS
    /// rules).
    buckets: cache::TtlCache<String, Option<Arc<Bucket>>>,
    /// Bucket names by id (B2 addresses buckets by id). Ids are never reused and buckets are
    /// never renamed; a name re-used by a newer bucket is caught by comparing ids.
    bucket_names: cache::TtlCache<String, Option<String>>,
    /// Access keys by id, read on every signed request.
    keys: cache::TtlCache<String, Option<Arc<AccessKey>>>,
    /// Wakes the janitor thread (which removes garbage past its grace period, off the request
    /// path) when a write released blobs.
    janitor: Mutex<Option<mpsc::Sender<()>>>,
    janitor_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Counters for the server's metrics, shared with the metadata writer and the blob files.
    stats: Arc<StoreStats>,
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
        let blobs = backends.blobs.open(root, &stats, true)?;
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
                buckets: cache::TtlCache::new(),
                bucket_names: cache::TtlCache::new(),
                keys: cache::TtlCache::new(),
                janitor: Mutex::new(None),
                janitor_thread: Mutex::new(None),
                stats,
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
                buckets: cache::TtlCache::new(),
                bucket_names: cache::TtlCache::new(),
                keys: cache::TtlCache::new(),
                janitor: Mutex::new(None),
                janitor_thread: Mutex::new(None),
                stats,
            }),
        })
    }

    /// Stops the metadata writer after queued writes and, for a server's handle, marks the stop
    /// as clean and releases the lock.
    pub fn close(&self) -> Result<()> {
        self.inner.janitor.lock().expect("janitor lock").take();
        if let Some(handle) = self
            .inner
            .janitor_thread
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

    /// See [`Backends::orphan_age`].
    pub fn orphan_age(&self) -> std::time::Duration {
        self.inner.orphan_age
    }

    /// Removes the blobs no metadata references that are at least `min_age` old; returns how
    /// many. The blobs are listed before the metadata is read, so a blob committed in between
    /// counts as referenced.
    pub fn sweep_orphans(&self, min_age: std::time::Duration) -> Result<usize> {
        let present = self.inner.blobs.list()?;
        let referenced = self.meta().referenced_blobs()?;
        let now = std::time::SystemTime::now();
        let orphans: Vec<String> = present
            .into_iter()
            .filter(|b| !referenced.contains(&b.id))
            .filter(|b| now.duration_since(b.modified).unwrap_or_default() >= min_age)
            .map(|b| b.id)
            .collect();
        self.inner.blobs.remove(&orphans)?;
        Ok(orphans.len())
    }

    fn remove_orphans(&self, was_clean: bool) -> Result<()> {
        let min_age = if self.inner.blobs.shared() {
            self.inner.orphan_age
        } else {
            std::time::Duration::ZERO
        };
        let removed = self.sweep_orphans(min_age)?;
        if removed > 0 {
            tracing::info!(
                count = removed,
                after_clean_stop = was_clean,
                "removed blobs no metadata references"
            );
        }
        Ok(())
    }

    /// At start: removes the garbage no reader can still need: all of it with the embedded
    /// metadata (nothing reads before the server listens), only what is past its grace period
    /// when other nodes share the metadata.
    fn collect_garbage(&self) -> Result<()> {
        let released_by = if self.inner.shared_meta {
            grace_cutoff(self.inner.garbage_grace)
        } else {
            Millis::MAX
        };
        sweep_garbage(self.meta(), &self.inner.blobs, released_by)?;
        self.inner
            .stats
            .garbage_queued(self.meta().garbage_count()? as usize);
        Ok(())
    }

    /// Starts the thread that removes garbage blobs once past their grace period, and forgets
    /// them, in batches: woken by writes that released blobs, and at least every tenth of the
    /// grace period (at most [`JANITOR_TICK_MAX`]). A write is answered without waiting for it.
    fn start_janitor(&self) -> Result<()> {
        let (tx, rx) = mpsc::channel::<()>();
        let meta = Arc::clone(&self.inner.meta);
        let blobs = self.inner.blobs.clone();
        let stats = Arc::clone(&self.inner.stats);
        let grace = self.inner.garbage_grace;
        let tick = (grace / 10).clamp(std::time::Duration::from_millis(50), JANITOR_TICK_MAX);
        let handle = std::thread::Builder::new()
            .name("pier-janitor".into())
            .spawn(move || loop {
                match rx.recv_timeout(tick) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                while rx.try_recv().is_ok() {}
                // Failures leave the rows in `garbage`; the next look retries them.
                match sweep_garbage(&*meta, &blobs, grace_cutoff(grace)) {
                    Ok(n) => stats.garbage_done(n),
                    Err(e) => tracing::warn!(error = %e, "removing garbage blobs failed"),
                }
            })?;
        *self.inner.janitor.lock().expect("janitor lock") = Some(tx);
        *self.inner.janitor_thread.lock().expect("janitor lock") = Some(handle);
        Ok(())
    }

    /// Takes note of blobs a committed write recorded as garbage: the janitor removes them once
    /// past the grace period. Without a janitor (an admin handle), a grace of zero removes them
    /// here; otherwise the server's janitor (or the next start) does.
    fn discard(&self, blobs: Vec<String>) -> Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.inner.stats.garbage_queued(blobs.len());
        if let Some(janitor) = &*self.inner.janitor.lock().expect("janitor lock") {
            if self.inner.garbage_grace.is_zero() {
                let _ = janitor.send(());
            }
            return Ok(());
        }
        if self.inner.garbage_grace.is_zero() {
            self.inner.blobs.remove(&blobs)?;
            self.meta().forget_garbage(&blobs)?;
            self.inner.stats.garbage_done(blobs.len());
        }
        Ok(())
    }

    /// Every blob present in the blob store, referenced or not (for checks and administration).
    pub fn blob_ids(&self) -> Result<Vec<String>> {
        Ok(self.inner.blobs.list()?.into_iter().map(|b| b.id).collect())
    }

    /// Starts writing a new blob (object or part bytes).
    pub fn new_blob(&self) -> Result<BlobWriter> {
        self.inner.blobs.create()
    }

    /// Creates a bucket owned by account `owner` (S3 buckets start unversioned, B2 buckets
    /// enabled). A name taken by any account is `BucketExists`.
    pub fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        public: Visibility,
        versioning: Versioning,
    ) -> Result<Bucket> {
        self.inner.buckets.invalidate(&name.to_owned());
        self.meta().create_bucket(Bucket {
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
            object_lock: None,
            ownership: None,
        })
    }

    /// Creates a bucket owned by account `owner` with object lock on (and so versioning
    /// enabled).
    pub fn create_locked_bucket(
        &self,
        name: &str,
        owner: &str,
        public: Visibility,
        lock: ObjectLock,
    ) -> Result<Bucket> {
        self.inner.buckets.invalidate(&name.to_owned());
        self.meta().create_bucket(Bucket {
            name: name.to_owned(),
            id: new_id(),
            owner: owner.to_owned(),
            created: now_millis(),
            public,
            cors: None,
            info: None,
            revision: 1,
            policy: None,
            versioning: Versioning::Enabled,
            lifecycle: Vec::new(),
            tags: Default::default(),
            public_block: 0,
            object_lock: Some(lock),
            ownership: None,
        })
    }

    /// A bucket by name; `NoSuchBucket` if absent. Served from a cache at most
    /// [`cache::TTL`] old for changes made by other processes.
    pub fn bucket(&self, name: &str) -> Result<Arc<Bucket>> {
        self.inner
            .buckets
            .get_or_load(&name.to_owned(), || {
                self.meta().bucket(name).map(|b| b.map(Arc::new))
            })?
            .ok_or(StoreError::NoSuchBucket)
    }

    /// A bucket by id (B2's `bucketId`); `NoSuchBucket` if absent. Served from the caches
    /// like [`Store::bucket`].
    pub fn bucket_by_id(&self, id: &str) -> Result<Arc<Bucket>> {
        let name = self
            .inner
            .bucket_names
            .get_or_load(&id.to_owned(), || {
                self.meta().bucket_by_id(id).map(|b| b.map(|b| b.name))
            })?
            .ok_or(StoreError::NoSuchBucket)?;
        let bucket = self.bucket(&name)?;
        if bucket.id != id {
            // The bucket was deleted and its name taken by a newer one.
            return Err(StoreError::NoSuchBucket);
        }
        Ok(bucket)
    }

    /// All buckets.
    pub fn buckets(&self) -> Result<Vec<Bucket>> {
        self.meta().buckets()
    }

    /// Changes a bucket's settings.
    pub fn update_bucket(&self, name: &str, update: BucketUpdate) -> Result<Bucket> {
        let result = self.meta().update_bucket(name, update);
        self.inner.buckets.invalidate(&name.to_owned());
        result
    }

    /// Deletes a bucket with no versions or markers left, aborting its unfinished uploads.
    pub fn delete_bucket(&self, name: &str) -> Result<Bucket> {
        let result = self.meta().delete_bucket(name);
        self.inner.buckets.invalidate(&name.to_owned());
        let (bucket, garbage) = result?;
        self.discard(garbage)?;
        Ok(bucket)
    }

    /// Starts collecting an object's bytes; `expected` (the declared length) decides whether
    /// they are kept inline.
    pub fn new_payload(&self, expected: Option<u64>) -> Result<PayloadWriter> {
        PayloadWriter::new(&self.inner.blobs, expected)
    }

    /// Starts writing an S3 part: a blob with its MD5 (the part's ETag) but no SHA-1, which only
    /// B2 asks for ([`Store::part_sha1`] computes it then).
    pub fn new_part_payload(&self) -> Result<PayloadWriter> {
        Ok(PayloadWriter::Blob(Box::new(
            self.inner.blobs.create_hashing(false)?,
        )))
    }

    /// A part's SHA-1: as stored, or read back and computed for a part written without one
    /// (an S3 part listed or finished through B2).
    pub fn part_sha1(&self, part: &Part) -> Result<String> {
        if let Some(sha1) = &part.sha1 {
            return Ok(sha1.clone());
        }
        use sha1::Digest as _;
        let mut source = self.inner.blobs.open(&part.blob, 0, part.size)?;
        let mut h = sha1::Sha1::new();
        while let Some(chunk) = source.next(1024 * 1024)? {
            h.update(&chunk);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Makes `payload` the object under `key` (if `condition` holds).
    pub fn put_object(
        &self,
        bucket_id: &str,
        key: &str,
        payload: Payload,
        meta: ObjectMeta,
        condition: WriteCondition,
    ) -> std::result::Result<Object, PutError> {
        let storage = |e: StoreError| PutError::Storage(StorageError::of(e));
        if let Err(e) = check_key(key) {
            self.discard_payload(payload).map_err(storage)?;
            return Err(match e {
                StoreError::InvalidName(n) => PutError::InvalidName(n),
                other => storage(other),
            });
        }
        let (segment, inline, blob) = match payload {
            Payload::Inline { data, md5, sha1 } => (
                Segment {
                    blob: INLINE_BLOB.to_owned(),
                    size: data.len() as u64,
                },
                Some((data, md5, sha1)),
                None,
            ),
            Payload::Blob(b) => (
                Segment {
                    blob: b.blob.clone(),
                    size: b.size,
                },
                None,
                Some(b),
            ),
        };
        let (md5, sha1) = match (&inline, &blob) {
            (Some((_, md5, sha1)), _) => (md5.clone(), Some(sha1.clone())),
            (_, Some(b)) => (b.md5.clone(), b.sha1.clone()),
            _ => unreachable!("a payload is inline or a blob"),
        };
        let object = Object {
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            version_id: new_id(),
            size: segment.size,
            etag: md5,
            sha1,
            created: now_millis(),
            meta,
            segments: vec![segment],
            ..Object::default()
        };
        let bytes = match inline {
            Some((data, _, _)) => NewBytes::Inline(data),
            None => NewBytes::Blob,
        };
        match self.meta().put_object(object, condition, bytes) {
            Ok((object, garbage)) => {
                self.discard(garbage).map_err(storage)?;
                Ok(object)
            }
            Err(e) => {
                if let Some(b) = blob {
                    self.inner.blobs.remove(&[b.blob]).map_err(storage)?;
                }
                Err(put_error(e))
            }
        }
    }

    /// Makes a new version of `key` with the bytes of `source` (any version of any key),
    /// sharing its blobs rather than copying them.
    pub fn copy_object(
        &self,
        source: &Object,
        bucket_id: &str,
        key: &str,
        meta: ObjectMeta,
        condition: WriteCondition,
    ) -> std::result::Result<Object, PutError> {
        let storage = |e: StoreError| PutError::Storage(StorageError::of(e));
        check_key(key).map_err(|e| match e {
            StoreError::InvalidName(n) => PutError::InvalidName(n),
            other => storage(other),
        })?;
        if source.marker {
            return Err(PutError::SourceGone);
        }
        let object = Object {
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            version_id: new_id(),
            size: source.size,
            etag: source.etag.clone(),
            sha1: source.sha1.clone(),
            created: now_millis(),
            meta,
            segments: source.segments.clone(),
            ..Object::default()
        };
        let (object, garbage) = self
            .meta()
            .put_object(
                object,
                condition,
                NewBytes::SharedWith(source.version_id.clone()),
            )
            .map_err(|e| match e {
                StoreError::NoSuchKey => PutError::SourceGone,
                other => put_error(other),
            })?;
        self.discard(garbage).map_err(storage)?;
        Ok(object)
    }

    /// Discards a payload that will not be used (a failed checksum, say).
    pub fn discard_payload(&self, payload: Payload) -> Result<()> {
        match payload {
            Payload::Blob(b) => self.inner.blobs.remove(&[b.blob]),
            Payload::Inline { .. } => Ok(()),
        }
    }

    /// The current version under `key`; `NoSuchKey` if absent (or a marker is on top).
    pub fn object(&self, bucket_id: &str, key: &str) -> Result<Object> {
        self.meta()
            .object(bucket_id, key)?
            .ok_or(StoreError::NoSuchKey)
    }

    /// The key's current entry, version or marker; `None` if it has no history.
    pub fn top(&self, bucket_id: &str, key: &str) -> Result<Option<Object>> {
        self.meta().top(bucket_id, key)
    }

    /// One entry of `key` by id or the null one; `NoSuchVersion` if absent.
    pub fn version(&self, bucket_id: &str, key: &str, which: &VersionRef) -> Result<Object> {
        self.meta()
            .version(bucket_id, key, which)?
            .ok_or(StoreError::NoSuchVersion)
    }

    /// Replaces the tags of the current version of `key`, or of the version named; returns the
    /// entry as it was found (its version id). A marker has no tags: `NoSuchKey` for the
    /// current one, `NoSuchVersion` for one named.
    pub fn set_tags(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<Object> {
        let change: MetaChange = Box::new(move |entry, _| {
            let mut meta = entry.meta.clone();
            meta.tags = tags.clone();
            Ok(meta)
        });
        self.meta().update_meta(bucket_id, key, which, change)
    }

    /// Replaces the canned ACL of the current version of `key`, or of the version named;
    /// returns the entry as it was found (markers as for [`Store::set_tags`]).
    pub fn set_acl(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        acl: Option<String>,
    ) -> Result<Object> {
        let change: MetaChange = Box::new(move |entry, _| {
            let mut meta = entry.meta.clone();
            meta.acl = acl.clone();
            Ok(meta)
        });
        self.meta().update_meta(bucket_id, key, which, change)
    }

    /// Sets (or with `None` removes) the retention of the current version of `key`, or of the
    /// version named, as object lock allows at this moment ([`lock::check_retention_change`]):
    /// `ObjectLocked` when it does not, `LockNotEnabled` for a bucket without lock. Returns the
    /// entry as it was found.
    pub fn set_retention(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<Object> {
        let change: MetaChange = Box::new(move |entry, lock| {
            if lock.is_none() {
                return Err(StoreError::LockNotEnabled);
            }
            let old = entry.meta.retention;
            lock::check_retention_change(old, retention, now_millis(), bypass_governance)
                .map_err(StoreError::ObjectLocked)?;
            let mut meta = entry.meta.clone();
            meta.retention = retention;
            Ok(meta)
        });
        self.meta().update_meta(bucket_id, key, which, change)
    }

    /// Turns the legal hold of the current version of `key`, or of the version named, on or
    /// off; `LockNotEnabled` for a bucket without lock. Returns the entry as it was found.
    pub fn set_legal_hold(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        on: bool,
    ) -> Result<Object> {
        let change: MetaChange = Box::new(move |entry, lock| {
            if lock.is_none() {
                return Err(StoreError::LockNotEnabled);
            }
            let mut meta = entry.meta.clone();
            meta.legal_hold = on;
            Ok(meta)
        });
        self.meta().update_meta(bucket_id, key, which, change)
    }

    /// Any entry by version id (B2 `fileId`); `NoSuchKey` if absent.
    pub fn object_by_version(&self, version_id: &str) -> Result<Object> {
        self.meta()
            .object_by_version(version_id)?
            .ok_or(StoreError::NoSuchKey)
    }

    /// The current version under `key`, ready to read (its inline bytes from the same
    /// snapshot); `NoSuchKey` if absent (or a marker is on top).
    pub fn read_object(&self, bucket_id: &str, key: &str) -> Result<Readable> {
        self.meta()
            .read(bucket_id, key, None)?
            .ok_or(StoreError::NoSuchKey)
    }

    /// One entry of `key` by id or the null one, ready to read (a marker too: the caller
    /// decides what reading one means); `NoSuchVersion` if absent.
    pub fn read_version(&self, bucket_id: &str, key: &str, which: &VersionRef) -> Result<Readable> {
        self.meta()
            .read(bucket_id, key, Some(which))?
            .ok_or(StoreError::NoSuchVersion)
    }

    /// Any entry by version id (B2 `fileId`), ready to read; `NoSuchKey` if absent.
    pub fn read_by_version(&self, version_id: &str) -> Result<Readable> {
        self.meta()
            .read_by_version(version_id)?
            .ok_or(StoreError::NoSuchKey)
    }

    /// A reader of `len` bytes of `entry` from `start`, from what its snapshot named.
    pub fn reader(&self, entry: &Readable, start: u64, len: u64) -> SegmentReader {
        match &entry.inline {
            Some(data) => {
                SegmentReader::from_memory(self.inner.blobs.clone(), data.clone(), start, len)
            }
            None => SegmentReader::new(
                self.inner.blobs.clone(),
                entry.object.segments.clone(),
                start,
                len,
            ),
        }
    }

    /// What a failure to read `entry`'s bytes means: a blob missing because the entry is gone
    /// since it was read (its bytes reclaimed after the grace period) is
    /// [`StoreError::Reclaimed`], so the caller reads the metadata again; a blob missing while
    /// its entry still exists is an error of the machine.
    pub(crate) fn read_failure(&self, entry: &Readable, e: std::io::Error) -> StoreError {
        if e.kind() == std::io::ErrorKind::NotFound {
            match self.meta().read_by_version(&entry.object.version_id) {
                Ok(None) => return StoreError::Reclaimed,
                Ok(Some(_)) => {}
                Err(other) => return other,
            }
        }
        StoreError::Io(e)
    }

    /// Copies `len` bytes of `entry` from `start` into a new durable blob (blocking).
    /// `Reclaimed` when the entry went away and its bytes with it: read it again.
    pub fn copy_bytes(&self, entry: &Readable, start: u64, len: u64) -> Result<WrittenBlob> {
        let mut reader = self.reader(entry, start, len);
        let mut writer = self.new_blob()?;
        loop {
            let chunk = reader
                .next_chunk(1024 * 1024)
                .map_err(|e| self.read_failure(entry, e))?;
            if chunk.is_empty() {
                break;
            }
            writer.write(&chunk)?;
        }
        writer.finish()
    }

    /// Deletes the current entry of `key` as the bucket's versioning state says (S3 DELETE
    /// without a version id, B2 hide): removed for good when unversioned, a marker on top
    /// otherwise.
    pub fn delete_object(&self, bucket_id: &str, key: &str) -> Result<Removal> {
        let (removal, garbage) =
            self.meta()
                .delete_current(bucket_id, key, new_id(), now_millis())?;
        self.discard(garbage)?;
        Ok(removal)
    }

    /// Deletes one entry of `key` for good; returns it if it existed. If it was current, the
    /// newest remaining entry becomes current. `ObjectLocked` while its retention or legal hold
    /// holds (a governance retention yields to `bypass_governance`).
    pub fn delete_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: VersionRef,
        bypass_governance: bool,
    ) -> Result<Option<Object>> {
        let (removed, garbage) =
            self.meta()
                .delete_version(bucket_id, key, which, bypass_governance)?;
        self.discard(garbage)?;
        Ok(removed)
    }

    /// One page of a version listing (every entry, markers too).
    pub fn list_versions(&self, bucket_id: &str, query: &VersionQuery) -> Result<VersionPage> {
        list::list_versions(self.meta(), bucket_id, query)
    }

    /// How many current objects a bucket holds and their total size (one pass over its
    /// current versions; for dashboards, not hot paths).
    pub fn usage(&self, bucket_id: &str) -> Result<(u64, u64)> {
        self.meta().usage(bucket_id)
    }

    /// One page of a listing.
    pub fn list(&self, bucket_id: &str, query: &ListQuery) -> Result<ListPage> {
        list::list(self.meta(), bucket_id, query)
    }

    /// Starts a multipart upload.
    pub fn create_upload(&self, bucket_id: &str, key: &str, meta: ObjectMeta) -> Result<Upload> {
        check_key(key)?;
        let upload = Upload {
            upload_id: new_id(),
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            created: now_millis(),
            meta,
        };
        self.meta().create_upload(upload.clone())?;
        Ok(upload)
    }

    /// An upload by id; `NoSuchUpload` if absent.
    pub fn upload(&self, upload_id: &str) -> Result<Upload> {
        self.meta()
            .upload(upload_id)?
            .ok_or(StoreError::NoSuchUpload)
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
                self.inner.blobs.remove(&[blob.blob]).map_err(storage)?;
                Err(match e {
                    StoreError::NoSuchUpload => PartError::NoSuchUpload,
                    other => storage(other),
                })
            }
        }
    }

    /// Parts of an upload numbered above `after`.
    pub fn parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<Part>> {
        self.meta().parts(upload_id, after, limit)
    }

    /// Uploads in progress in a bucket.
    pub fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>> {
        self.meta().uploads(bucket_id, prefix, after, limit)
    }

    /// The version an upload completed into, if it completed within the last day (a client
    /// completing again gets the same answer).
    pub fn completed_upload(&self, upload_id: &str) -> Result<Option<Object>> {
        match self.meta().completed_upload(upload_id)? {
            Some(id) => Ok(self.meta().object_by_version(&id)?),
            None => Ok(None),
        }
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
                return match self.completed_upload(upload_id).map_err(storage)? {
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
            other => storage(other),
        })?;
        self.discard(garbage).map_err(storage)?;
        Ok(object)
    }

    /// Abandons an upload and its parts.
    pub fn abort_upload(&self, upload_id: &str) -> Result<()> {
        let garbage = self.meta().abort_upload(upload_id)?;
        self.discard(garbage)
    }

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
        self.inner.keys.invalidate(&key.access_key);
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
        self.inner.keys.invalidate(&access_key.to_owned());
        Ok(key)
    }

    /// An access key by id (cached like buckets: a key deleted by another process stops
    /// working within [`cache::TTL`]).
    pub fn key(&self, access_key: &str) -> Result<Option<Arc<AccessKey>>> {
        self.inner.keys.get_or_load(&access_key.to_owned(), || {
            self.meta().key(access_key).map(|k| k.map(Arc::new))
        })
    }

    /// All access keys.
    pub fn keys(&self) -> Result<Vec<AccessKey>> {
        self.meta().keys()
    }

    /// Deletes an access key.
    pub fn delete_key(&self, access_key: &str) -> Result<()> {
        let result = self.meta().delete_key(access_key);
        self.inner.keys.invalidate(&access_key.to_owned());
        result
    }
}
