//! The embedded [`MetaStore`]: SQLite in WAL mode with `synchronous=FULL`.
//!
//! Writes go to one writer thread that **group-commits**: it takes every write job waiting,
//! runs each in its own savepoint (a failed job rolls back alone), and commits them in one
//! transaction — one WAL fsync for the whole batch — before answering any of them. Reads use a
//! small pool of read connections and never wait for the writer.
//!
//! The SQL stays portable to PostgreSQL: STRICT tables, keys as BLOB (byte order), integer
//! timestamps, application-generated ids, `ON CONFLICT ... DO UPDATE`, no SQLite-only functions.

use crate::error::{Result, StoreError};
use crate::meta::{Completion, LifecycleAction, MetaStore, NewBytes, Removal, VersionCursor};
use crate::stats::StoreStats;
use crate::types::{
    AccessKey, Bucket, BucketUpdate, KeyRestrictions, LifecycleRule, Millis, Object, ObjectMeta,
    Part, Segment, Upload, VersionRef, Versioning, Visibility, WriteCondition,
};
use history::OBJECT_SELECT;

mod history;
use md5::{Digest as _, Md5};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    public INTEGER NOT NULL,
    cors TEXT,
    info TEXT,
    revision INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS objects (
    bucket_id TEXT NOT NULL,
    key BLOB NOT NULL,
    version_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT,
    created_ms INTEGER NOT NULL,
    meta TEXT NOT NULL,
    segments TEXT NOT NULL,
    PRIMARY KEY (bucket_id, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL,
    key BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    meta TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket_id, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    blob TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_keys (
    access_key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    description TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS garbage (
    blob TEXT PRIMARY KEY
) STRICT;
CREATE TABLE IF NOT EXISTS versions (
    bucket_id TEXT NOT NULL,
    key BLOB NOT NULL,
    version_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT,
    created_ms INTEGER NOT NULL,
    meta TEXT NOT NULL,
    segments TEXT NOT NULL,
    seq INTEGER NOT NULL,
    is_null INTEGER NOT NULL,
    marker INTEGER NOT NULL,
    superseded_ms INTEGER,
    PRIMARY KEY (bucket_id, key, seq DESC)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS completed_uploads (
    upload_id TEXT PRIMARY KEY,
    version_id TEXT NOT NULL,
    completed_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS blob_refs (
    blob TEXT PRIMARY KEY,
    refs INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS inline_data (
    version_id TEXT PRIMARY KEY,
    data BLOB NOT NULL
) STRICT;
";

/// Columns added after the first schema, as `(table, column, definition)`: added at open where
/// missing, so data directories of every earlier version open unchanged.
const ADDED_COLUMNS: [(&str, &str, &str); 14] = [
    ("buckets", "policy", "TEXT"),
    ("buckets", "versioning", "INTEGER NOT NULL DEFAULT 0"),
    ("buckets", "lifecycle", "TEXT"),
    ("buckets", "tags", "TEXT"),
    ("buckets", "public_block", "INTEGER NOT NULL DEFAULT 0"),
    ("buckets", "object_lock", "TEXT"),
    ("parts", "checksum", "TEXT"),
    ("buckets", "ownership", "TEXT"),
    // Objects written before versions existed are their key's null version.
    ("objects", "seq", "INTEGER NOT NULL DEFAULT 0"),
    ("objects", "is_null", "INTEGER NOT NULL DEFAULT 1"),
    ("access_keys", "capabilities", "TEXT"),
    ("access_keys", "buckets", "TEXT"),
    ("access_keys", "name_prefix", "TEXT"),
    ("access_keys", "expires_ms", "INTEGER"),
];

fn migrate(conn: &Connection) -> Result<()> {
    for (table, column, definition) in ADDED_COLUMNS {
        let exists: bool = conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        if !exists {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            ))?;
        }
    }
    Ok(())
}

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<()>) + Send>;
/// A write job: run inside the batch's transaction (or, given `None`, told that the batch could
/// not begin), it returns what to do once the batch's outcome is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Finish + Send>;

/// SQLite metadata store.
pub struct SqliteMeta {
    jobs: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    )?;
    Ok(conn)
}

impl SqliteMeta {
    /// Opens (creating) the database at `path` and starts the writer thread.
    /// Its writer counts group commits in `stats`.
    pub fn open(path: &Path, stats: Arc<StoreStats>) -> Result<SqliteMeta> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        let (tx, rx) = mpsc::sync_channel::<Job>(4 * MAX_BATCH);
        let writer_stats = Arc::clone(&stats);
        let writer = thread::Builder::new()
            .name("pier-meta-writer".into())
            .spawn(move || writer_loop(conn, rx, &writer_stats))
            .map_err(StoreError::Io)?;
        Ok(SqliteMeta {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
            path: path.to_owned(),
        })
    }

    /// Runs `f` on a read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().expect("reader pool lock").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let result = f(&conn);
        let mut pool = self.readers.lock().expect("reader pool lock");
        if pool.len() < 16 {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` in the writer's next group commit; returns once it is durable.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let Some(conn) = conn else {
                // The batch did not begin: the commit result carries why.
                return Box::new(move |committed: Result<()>| {
                    let _ = reply.send(committed.and_then(|()| {
                        Err(StoreError::Database("the write batch did not begin".into()))
                    }));
                });
            };
            let outcome = (|| {
                conn.execute_batch("SAVEPOINT job")?;
                match f(conn) {
                    Ok(v) => {
                        conn.execute_batch("RELEASE job")?;
                        Ok(v)
                    }
                    Err(e) => {
                        conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
                        Err(e)
                    }
                }
            })();
            Box::new(move |committed: Result<()>| {
                let _ = reply.send(committed.and(outcome));
            })
        });
        let sender = self
            .jobs
            .lock()
            .expect("writer channel lock")
            .clone()
            .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Database("the metadata writer stopped".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Database("the metadata writer stopped".into()))?
    }

    /// Stops the writer after the jobs already queued (called on shutdown and drop).
    pub fn close(&self) {
        self.jobs.lock().expect("writer channel lock").take();
        if let Some(handle) = self.writer.lock().expect("writer handle lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteMeta {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(conn: Connection, jobs: Receiver<Job>, stats: &StoreStats) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let jobs_in_batch = batch.len();
        let begun = conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(StoreError::from);
        let finishers: Vec<Finish> = match &begun {
            Ok(()) => batch.into_iter().map(|job| job(Some(&conn))).collect(),
            Err(_) => batch.into_iter().map(|job| job(None)).collect(),
        };
        let committed = begun.and_then(|()| conn.execute_batch("COMMIT").map_err(StoreError::from));
        if committed.is_ok() {
            stats.commit(jobs_in_batch, started.elapsed());
        } else if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = jobs_in_batch, "metadata group commit failed");
        }
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for finish in finishers {
            let result = match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Database(e.to_string())),
            };
            finish(result);
        }
    }
}

pub(crate) fn encode_segments(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| format!("{}:{}", s.blob, s.size))
        .collect::<Vec<_>>()
        .join(";")
}

/// Decodes a stored segment list; a list that does not decode is corruption, never a shorter
/// object.
pub(crate) fn decode_segments(text: &str) -> Result<Vec<Segment>> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (blob, size) = s
                .split_once(':')
                .filter(|(blob, _)| !blob.is_empty())
                .ok_or_else(|| StoreError::Corrupt(format!("segment {s:?} has no size")))?;
            let size = size
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("segment {s:?} has a bad size")))?;
            Ok(Segment {
                blob: blob.to_owned(),
                size,
            })
        })
        .collect()
}

pub(crate) fn meta_json(meta: &ObjectMeta) -> String {
    serde_json::to_string(meta).expect("object metadata serializes")
}

pub(crate) fn parse_meta(text: &str) -> Result<ObjectMeta> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("object metadata: {e}")))
}

fn bucket_from_row(row: &Row<'_>) -> rusqlite::Result<Bucket> {
    let code: i64 = row.get(3)?;
    Ok(Bucket {
        name: row.get(0)?,
        id: row.get(1)?,
        created: row.get(2)?,
        public: Visibility::from_code(code).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Integer,
                format!("unknown bucket visibility {code}").into(),
            )
        })?,
        cors: row.get(4)?,
        info: row.get(5)?,
        revision: row.get(6)?,
        policy: row.get(7)?,
        versioning: {
            let code: i64 = row.get(8)?;
            Versioning::from_code(code).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    8,
                    rusqlite::types::Type::Integer,
                    format!("unknown bucket versioning {code}").into(),
                )
            })?
        },
        lifecycle: match row.get::<_, Option<String>>(9)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    9,
                    rusqlite::types::Type::Text,
                    format!("bucket lifecycle rules: {e}").into(),
                )
            })?,
        },
        tags: match row.get::<_, Option<String>>(10)? {
            None => Default::default(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    10,
                    rusqlite::types::Type::Text,
                    format!("bucket tags: {e}").into(),
                )
            })?,
        },
        public_block: u8::try_from(row.get::<_, i64>(11)?).unwrap_or(0),
        object_lock: match row.get::<_, Option<String>>(12)? {
            None => None,
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    12,
                    rusqlite::types::Type::Text,
                    format!("bucket object lock: {e}").into(),
                )
            })?),
        },
        ownership: row.get(13)?,
    })
}

const BUCKET_COLUMNS: &str =
    "name, id, created_ms, public, cors, info, revision, policy, versioning, lifecycle, tags, \
     public_block, object_lock, ownership";

/// The stored text of a bucket's tags (`NULL` when none).
fn tags_json(tags: &std::collections::BTreeMap<String, String>) -> Option<String> {
    (!tags.is_empty()).then(|| serde_json::to_string(tags).expect("tags serialize"))
}

/// The stored text of a bucket's object lock (`NULL` when off).
fn lock_json(lock: Option<&crate::lock::ObjectLock>) -> Option<String> {
    lock.map(|l| serde_json::to_string(l).expect("object lock serializes"))
}

/// The stored text of a lifecycle rule list (`NULL` when empty).
fn lifecycle_json(rules: &[LifecycleRule]) -> Option<String> {
    (!rules.is_empty()).then(|| serde_json::to_string(rules).expect("rules serialize"))
}

fn query_bucket(conn: &Connection, column: &str, value: &str) -> Result<Option<Bucket>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {BUCKET_COLUMNS} FROM buckets WHERE {column} = ?1"
    ))?;
    Ok(stmt.query_row([value], bucket_from_row).optional()?)
}

const KEY_COLUMNS: &str = "access_key, secret, created_ms, description, capabilities, buckets, \
     name_prefix, expires_ms";

/// A key row with its lists still JSON text, decoded by [`finish_key`].
type KeyRow = (AccessKey, Option<String>, Option<String>);

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        AccessKey {
            access_key: r.get(0)?,
            secret: r.get(1)?,
            created: r.get(2)?,
            description: r.get(3)?,
            scope: KeyRestrictions {
                capabilities: None,
                buckets: None,
                name_prefix: r.get(6)?,
                expires: r.get(7)?,
            },
        },
        r.get(4)?,
        r.get(5)?,
    ))
}

fn finish_key((mut key, capabilities, buckets): KeyRow) -> Result<AccessKey> {
    let list = |text: Option<String>, what: &str| -> Result<Option<Vec<String>>> {
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("key {} {what}: {e}", key.access_key)))
        })
        .transpose()
    };
    key.scope.capabilities = list(capabilities, "capabilities")?;
    key.scope.buckets = list(buckets, "buckets")?;
    Ok(key)
}

pub(crate) fn add_garbage(conn: &Connection, blobs: &[String]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("INSERT INTO garbage (blob) VALUES (?1) ON CONFLICT (blob) DO NOTHING")?;
    for blob in blobs {
        stmt.execute([blob])?;
    }
    Ok(())
}

fn part_from_row(row: &Row<'_>) -> rusqlite::Result<Part> {
    Ok(Part {
        part_number: row.get::<_, i64>(0)? as u32,
        size: row.get::<_, i64>(1)? as u64,
        etag: row.get(2)?,
        // The column is NOT NULL: a part written without a SHA-1 keeps an empty one.
        sha1: Some(row.get::<_, String>(3)?).filter(|s| !s.is_empty()),
        blob: row.get(4)?,
        created: row.get(5)?,
        checksum: row.get(6)?,
    })
}

fn upload_from_row(row: &Row<'_>) -> rusqlite::Result<(Upload, String)> {
    let key: Vec<u8> = row.get(2)?;
    Ok((
        Upload {
            upload_id: row.get(0)?,
            bucket_id: row.get(1)?,
            key: String::from_utf8_lossy(&key).into_owned(),
            created: row.get(3)?,
            meta: ObjectMeta::default(),
        },
        row.get(4)?,
    ))
}

fn query_upload(conn: &Connection, upload_id: &str) -> Result<Option<Upload>> {
    let mut stmt = conn.prepare_cached(
        "SELECT upload_id, bucket_id, key, created_ms, meta FROM uploads WHERE upload_id = ?1",
    )?;
    stmt.query_row([upload_id], upload_from_row)
        .optional()?
        .map(|(mut u, meta)| {
            u.meta = parse_meta(&meta)?;
            Ok(u)
        })
        .transpose()
}

fn all_parts(conn: &Connection, upload_id: &str) -> Result<Vec<Part>> {
    let mut stmt = conn.prepare_cached(
        "SELECT part_number, size, etag, sha1, blob, created_ms, checksum FROM parts
         WHERE upload_id = ?1 ORDER BY part_number",
    )?;
    let rows = stmt.query_map([upload_id], part_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes an upload and its parts; returns the parts' blobs, recorded as garbage.
fn abort(conn: &Connection, upload_id: &str) -> Result<Vec<String>> {
    let blobs: Vec<String> = all_parts(conn, upload_id)?
        .into_iter()
        .map(|p| p.blob)
        .collect();
    add_garbage(conn, &blobs)?;
    conn.execute("DELETE FROM parts WHERE upload_id = ?1", [upload_id])?;
    conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [upload_id])?;
    Ok(blobs)
}

/// The S3 ETag of a multipart object: MD5 of the parts' binary MD5s, then `-N`.
pub fn multipart_etag<'a>(part_etags: impl ExactSizeIterator<Item = &'a str>) -> String {
    let count = part_etags.len();
    let mut md5 = Md5::new();
    for etag in part_etags {
        md5.update(hex::decode(etag).unwrap_or_default());
    }
    format!("{}-{count}", hex::encode(md5.finalize()))
}

impl MetaStore for SqliteMeta {
    fn create_bucket(&self, bucket: Bucket) -> Result<Bucket> {
        self.write(move |conn| {
            if query_bucket(conn, "name", &bucket.name)?.is_some() {
                return Err(StoreError::BucketExists);
            }
            conn.execute(
                &format!(
                    "INSERT INTO buckets ({BUCKET_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ),
                params![
                    bucket.name,
                    bucket.id,
                    bucket.created,
                    bucket.public.code(),
                    bucket.cors,
                    bucket.info,
                    bucket.revision,
                    bucket.policy,
                    bucket.versioning.code(),
                    lifecycle_json(&bucket.lifecycle),
                    tags_json(&bucket.tags),
                    bucket.public_block,
                    lock_json(bucket.object_lock.as_ref()),
                    bucket.ownership
                ],
            )?;
            Ok(bucket)
        })
    }

    fn bucket(&self, name: &str) -> Result<Option<Bucket>> {
        self.read(|conn| query_bucket(conn, "name", name))
    }

    fn bucket_by_id(&self, id: &str) -> Result<Option<Bucket>> {
        self.read(|conn| query_bucket(conn, "id", id))
    }

    fn buckets(&self) -> Result<Vec<Bucket>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {BUCKET_COLUMNS} FROM buckets ORDER BY name"
            ))?;
            let rows = stmt.query_map([], bucket_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn update_bucket(&self, name: &str, update: BucketUpdate) -> Result<Bucket> {
        let name = name.to_owned();
        self.write(move |conn| {
            let mut bucket = query_bucket(conn, "name", &name)?.ok_or(StoreError::NoSuchBucket)?;
            if update.if_revision.is_some_and(|r| r != bucket.revision) {
                return Err(StoreError::PreconditionFailed);
            }
            if let Some(public) = update.public {
                bucket.public = public;
            }
            if let Some(cors) = update.cors {
                bucket.cors = cors;
            }
            if let Some(info) = update.info {
                bucket.info = info;
            }
            if let Some(policy) = update.policy {
                bucket.policy = policy;
            }
            if let Some(versioning) = update.versioning {
                if versioning == Versioning::Unversioned
                    && bucket.versioning != Versioning::Unversioned
                {
                    return Err(StoreError::InvalidVersioning);
                }
                if versioning != Versioning::Enabled && bucket.object_lock.is_some() {
                    return Err(StoreError::InvalidBucketState(
                        "versioning cannot be suspended on a bucket with object lock".into(),
                    ));
                }
                bucket.versioning = versioning;
            }
            if let Some(lock) = update.object_lock {
                if bucket.versioning != Versioning::Enabled {
                    return Err(StoreError::InvalidBucketState(
                        "object lock needs versioning enabled on the bucket".into(),
                    ));
                }
                bucket.object_lock = Some(lock);
            }
            if let Some(rules) = update.lifecycle {
                bucket.lifecycle = rules;
            }
            if let Some(tags) = update.tags {
                bucket.tags = tags;
            }
            if let Some(bits) = update.public_block {
                bucket.public_block = bits;
            }
            if let Some(ownership) = update.ownership {
                bucket.ownership = ownership;
            }
            bucket.revision += 1;
            conn.execute(
                "UPDATE buckets SET public = ?2, cors = ?3, info = ?4, revision = ?5, policy = ?6,
                   versioning = ?7, lifecycle = ?8, tags = ?9, public_block = ?10, object_lock = ?11,
                   ownership = ?12
                 WHERE name = ?1",
                params![
                    bucket.name,
                    bucket.public.code(),
                    bucket.cors,
                    bucket.info,
                    bucket.revision,
                    bucket.policy,
                    bucket.versioning.code(),
                    lifecycle_json(&bucket.lifecycle),
                    tags_json(&bucket.tags),
                    bucket.public_block,
                    lock_json(bucket.object_lock.as_ref()),
                    bucket.ownership
                ],
            )?;
            Ok(bucket)
        })
    }

    fn delete_bucket(&self, name: &str) -> Result<(Bucket, Vec<String>)> {
        let name = name.to_owned();
        self.write(move |conn| {
            let bucket = query_bucket(conn, "name", &name)?.ok_or(StoreError::NoSuchBucket)?;
            let busy: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM objects WHERE bucket_id = ?1 UNION ALL
                     SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1",
                    [&bucket.id],
                    |r| r.get(0),
                )
                .optional()?;
            if busy.is_some() {
                return Err(StoreError::BucketNotEmpty);
            }
            // S3 aborts what is still uploading (B2 refuses earlier, at its edge).
            let mut garbage = Vec::new();
            let uploads: Vec<String> = conn
                .prepare("SELECT upload_id FROM uploads WHERE bucket_id = ?1")?
                .query_map([&bucket.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for upload_id in uploads {
                garbage.extend(abort(conn, &upload_id)?);
            }
            conn.execute("DELETE FROM buckets WHERE name = ?1", [&name])?;
            Ok((bucket, garbage))
        })
    }

    fn object(&self, bucket_id: &str, key: &str) -> Result<Option<Object>> {
        self.read(|conn| history::current(conn, bucket_id, key))
    }

    fn top(&self, bucket_id: &str, key: &str) -> Result<Option<Object>> {
        self.read(|conn| history::top(conn, bucket_id, key))
    }

    fn version(&self, bucket_id: &str, key: &str, which: &VersionRef) -> Result<Option<Object>> {
        self.read(|conn| history::entry(conn, bucket_id, key, which))
    }

    fn object_by_version(&self, version_id: &str) -> Result<Option<Object>> {
        self.read(|conn| history::by_id(conn, version_id))
    }

    fn put_object(
        &self,
        object: Object,
        condition: WriteCondition,
        bytes: NewBytes,
    ) -> Result<(Object, Vec<String>)> {
        self.write(move |conn| history::put(conn, object, &condition, bytes))
    }

    fn update_meta(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        change: crate::meta::MetaChange,
    ) -> Result<Object> {
        let (bucket_id, key, which) = (bucket_id.to_owned(), key.to_owned(), which.cloned());
        self.write(move |conn| history::update_meta(conn, &bucket_id, &key, which.as_ref(), change))
    }

    fn inline_data(&self, version_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT data FROM inline_data WHERE version_id = ?1")?;
            Ok(stmt.query_row([version_id], |r| r.get(0)).optional()?)
        })
    }

    fn delete_current(
        &self,
        bucket_id: &str,
        key: &str,
        marker_id: String,
        at: Millis,
    ) -> Result<(Removal, Vec<String>)> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.write(move |conn| history::delete_current(conn, &bucket_id, &key, &marker_id, at))
    }

    fn delete_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: VersionRef,
        bypass_governance: bool,
    ) -> Result<(Option<Object>, Vec<String>)> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.write(move |conn| {
            let now = crate::now_millis();
            history::delete_version(conn, &bucket_id, &key, &which, now, bypass_governance)
        })
    }

    fn scan_versions(
        &self,
        bucket_id: &str,
        cursor: &VersionCursor,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>> {
        self.read(|conn| history::scan_versions(conn, bucket_id, cursor, end, limit))
    }

    fn apply_lifecycle(
        &self,
        bucket_id: &str,
        actions: Vec<LifecycleAction>,
    ) -> Result<(Vec<bool>, Vec<String>)> {
        let bucket_id = bucket_id.to_owned();
        self.write(move |conn| {
            let mut applied = Vec::with_capacity(actions.len());
            let mut garbage = Vec::new();
            for action in &actions {
                let done = match action {
                    LifecycleAction::ExpireCurrent {
                        key,
                        version_id,
                        marker_id,
                    } => {
                        let still = history::current(conn, &bucket_id, key)?
                            .is_some_and(|c| &c.version_id == version_id);
                        if still {
                            let at = crate::now_millis();
                            let (_, g) =
                                history::delete_current(conn, &bucket_id, key, marker_id, at)?;
                            garbage.extend(g);
                        }
                        still
                    }
                    LifecycleAction::DeleteNoncurrent { key, version_id } => {
                        let which = VersionRef::Id(version_id.clone());
                        let found = history::entry(conn, &bucket_id, key, &which)?;
                        // A version held by object lock is skipped until it is free.
                        let now = crate::now_millis();
                        let due = found.is_some_and(|e| {
                            !e.is_current()
                                && crate::lock::check_delete(&e.meta, now, false).is_ok()
                        });
                        if due {
                            let (_, g) =
                                history::delete_version(conn, &bucket_id, key, &which, now, false)?;
                            garbage.extend(g);
                        }
                        due
                    }
                    LifecycleAction::RemoveLoneMarker { key, version_id } => {
                        history::remove_lone_marker(conn, &bucket_id, key, version_id)?
                    }
                    LifecycleAction::AbortUpload { upload_id } => {
                        let exists = query_upload(conn, upload_id)?.is_some();
                        if exists {
                            garbage.extend(abort(conn, upload_id)?);
                        }
                        exists
                    }
                };
                applied.push(done);
            }
            Ok((applied, garbage))
        })
    }

    fn usage(&self, bucket_id: &str) -> Result<(u64, u64)> {
        self.read(|conn| {
            let (count, bytes): (i64, i64) = conn
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket_id = ?1",
                )?
                .query_row([bucket_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok((count as u64, bytes as u64))
        })
    }

    fn scan(
        &self,
        bucket_id: &str,
        after: &[u8],
        inclusive: bool,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>> {
        self.read(|conn| {
            let op = if inclusive { ">=" } else { ">" };
            let rows: Vec<history::EntryRow> = match end {
                Some(end) => {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key {op} ?2
                         AND key < ?3 ORDER BY key LIMIT ?4"
                    ))?;
                    let rows = stmt.query_map(
                        params![bucket_id, after, end, limit as i64],
                        history::entry_from_row,
                    )?;
                    rows.collect::<rusqlite::Result<_>>()?
                }
                None => {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key {op} ?2
                         ORDER BY key LIMIT ?3"
                    ))?;
                    let rows = stmt.query_map(
                        params![bucket_id, after, limit as i64],
                        history::entry_from_row,
                    )?;
                    rows.collect::<rusqlite::Result<_>>()?
                }
            };
            rows.into_iter().map(history::finish_entry).collect()
        })
    }

    fn create_upload(&self, upload: Upload) -> Result<()> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO uploads (upload_id, bucket_id, key, created_ms, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    upload.upload_id,
                    upload.bucket_id,
                    upload.key.as_bytes(),
                    upload.created,
                    meta_json(&upload.meta)
                ],
            )?;
            Ok(())
        })
    }

    fn upload(&self, upload_id: &str) -> Result<Option<Upload>> {
        self.read(|conn| query_upload(conn, upload_id))
    }

    fn put_part(&self, upload_id: &str, part: Part) -> Result<Vec<String>> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            if query_upload(conn, &upload_id)?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            let old: Option<String> = conn
                .query_row(
                    "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                    params![upload_id, part.part_number],
                    |r| r.get(0),
                )
                .optional()?;
            conn.execute(
                "INSERT INTO parts (upload_id, part_number, size, etag, sha1, blob, created_ms,
                   checksum)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size,
                   etag = excluded.etag, sha1 = excluded.sha1, blob = excluded.blob,
                   created_ms = excluded.created_ms, checksum = excluded.checksum",
                params![
                    upload_id,
                    part.part_number,
                    part.size as i64,
                    part.etag,
                    part.sha1.as_deref().unwrap_or_default(),
                    part.blob,
                    part.created,
                    part.checksum
                ],
            )?;
            let garbage: Vec<String> = old.into_iter().collect();
            add_garbage(conn, &garbage)?;
            Ok(garbage)
        })
    }

    fn parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<Part>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT part_number, size, etag, sha1, blob, created_ms, checksum FROM parts
                 WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![upload_id, after, limit as i64], part_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT upload_id, bucket_id, key, created_ms, meta FROM uploads
                 WHERE bucket_id = ?1 AND (key > ?2 OR (key = ?2 AND upload_id > ?3))
                 ORDER BY key, upload_id",
            )?;
            let rows = stmt.query_map(
                params![bucket_id, after.0.as_bytes(), after.1],
                upload_from_row,
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (mut upload, meta) = row?;
                if !upload.key.starts_with(prefix) {
                    if upload.key.as_str() > prefix {
                        break;
                    }
                    continue;
                }
                upload.meta = parse_meta(&meta)?;
                out.push(upload);
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    fn complete_upload(
        &self,
        upload_id: &str,
        completion: Completion,
    ) -> Result<(Object, Vec<String>)> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            let upload = query_upload(conn, &upload_id)?.ok_or(StoreError::NoSuchUpload)?;
            let parts = all_parts(conn, &upload_id)?;
            let mut chosen: Vec<&Part> = Vec::with_capacity(completion.parts.len());
            let mut last = 0u32;
            for (number, etag) in &completion.parts {
                if *number <= last {
                    return Err(StoreError::InvalidPartOrder);
                }
                last = *number;
                let part = parts
                    .iter()
                    .find(|p| p.part_number == *number && p.etag == etag.trim_matches('"'))
                    .ok_or(StoreError::InvalidPart(*number))?;
                chosen.push(part);
            }
            if chosen.is_empty() {
                return Err(StoreError::InvalidPart(0));
            }
            for part in &chosen[..chosen.len() - 1] {
                if part.size < completion.min_part_size {
                    return Err(StoreError::EntityTooSmall(part.part_number));
                }
            }
            let mut meta = upload.meta.clone();
            if let Some(c) = &completion.checksum {
                for (part, expected) in chosen.iter().zip(&c.parts) {
                    if part.checksum.as_ref() != Some(expected) {
                        return Err(StoreError::InvalidPart(part.part_number));
                    }
                }
                meta.checksums = [(c.algorithm.clone(), c.value.clone())].into();
                meta.part_checksums = c.parts.clone();
            }
            let object = Object {
                bucket_id: upload.bucket_id.clone(),
                key: upload.key.clone(),
                version_id: completion.version_id.clone(),
                size: chosen.iter().map(|p| p.size).sum(),
                etag: multipart_etag(chosen.iter().map(|p| p.etag.as_str())),
                sha1: None,
                created: completion.created,
                meta,
                segments: chosen
                    .iter()
                    .map(|p| Segment {
                        blob: p.blob.clone(),
                        size: p.size,
                    })
                    .collect(),
                ..Object::default()
            };
            let (object, mut garbage) =
                history::put(conn, object, &completion.condition, NewBytes::Blob)?;
            let unused: Vec<String> = parts
                .iter()
                .filter(|p| !chosen.iter().any(|c| c.part_number == p.part_number))
                .map(|p| p.blob.clone())
                .collect();
            add_garbage(conn, &unused)?;
            garbage.extend(unused);
            conn.execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
            conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
            // Remembered for a day, so completing again answers as the first time did.
            conn.execute(
                "DELETE FROM completed_uploads WHERE completed_ms < ?1",
                [completion.created - 86_400_000],
            )?;
            conn.execute(
                "INSERT INTO completed_uploads (upload_id, version_id, completed_ms)
                 VALUES (?1, ?2, ?3)",
                params![upload_id, object.version_id, completion.created],
            )?;
            Ok((object, garbage))
        })
    }

    fn completed_upload(&self, upload_id: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT version_id FROM completed_uploads WHERE upload_id = ?1")?
                .query_row([upload_id], |r| r.get(0))
                .optional()?)
        })
    }

    fn abort_upload(&self, upload_id: &str) -> Result<Vec<String>> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            if query_upload(conn, &upload_id)?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            abort(conn, &upload_id)
        })
    }

    fn create_key(&self, key: AccessKey) -> Result<()> {
        self.write(move |conn| {
            let list = |v: &Option<Vec<String>>| {
                v.as_ref()
                    .map(|v| serde_json::to_string(v).expect("strings serialize"))
            };
            conn.execute(
                &format!("INSERT INTO access_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    key.access_key,
                    key.secret,
                    key.created,
                    key.description,
                    list(&key.scope.capabilities),
                    list(&key.scope.buckets),
                    key.scope.name_prefix,
                    key.scope.expires
                ],
            )?;
            Ok(())
        })
    }

    fn key(&self, access_key: &str) -> Result<Option<AccessKey>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key = ?1"
            ))?;
            stmt.query_row([access_key], key_from_row)
                .optional()?
                .map(finish_key)
                .transpose()
        })
    }

    fn keys(&self) -> Result<Vec<AccessKey>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM access_keys ORDER BY created_ms, access_key"
            ))?;
            let rows = stmt.query_map([], key_from_row)?;
            rows.map(|r| finish_key(r?)).collect()
        })
    }

    fn delete_key(&self, access_key: &str) -> Result<()> {
        let access_key = access_key.to_owned();
        self.write(move |conn| {
            let n = conn.execute(
                "DELETE FROM access_keys WHERE access_key = ?1",
                [&access_key],
            )?;
            if n == 0 {
                return Err(StoreError::NoSuchKeyId);
            }
            Ok(())
        })
    }

    fn garbage(&self, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT blob FROM garbage LIMIT ?1")?;
            let rows = stmt.query_map([limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn forget_garbage(&self, blobs: &[String]) -> Result<()> {
        let blobs = blobs.to_vec();
        self.write(move |conn| {
            let mut stmt = conn.prepare_cached("DELETE FROM garbage WHERE blob = ?1")?;
            for blob in &blobs {
                stmt.execute([blob])?;
            }
            Ok(())
        })
    }

    fn referenced_blobs(&self) -> Result<HashSet<String>> {
        self.read(|conn| {
            let mut set = HashSet::new();
            history::referenced_blobs(conn, &mut set)?;
            let mut stmt = conn.prepare("SELECT blob FROM parts")?;
            for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
                set.insert(row?);
            }
            Ok(set)
        })
    }
}
