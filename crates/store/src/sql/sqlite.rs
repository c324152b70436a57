//! The embedded engine: SQLite in WAL mode with `synchronous=FULL`.
//!
//! Writes go to one writer thread that **group-commits**: it takes every write job waiting,
//! runs each in its own savepoint (a failed job rolls back alone), and commits them in one
//! transaction — one WAL fsync for the whole batch — before answering any of them. Reads use a
//! small pool of read connections, each read in its own snapshot, and never wait for the writer.

use super::{Engine, Row, Sql, Value};
use crate::error::{Result, StoreError};
use crate::stats::StoreStats;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;
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
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS events (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    bucket_id TEXT NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    sequencer INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_rule ON events (bucket_id, rule, n);
CREATE TABLE IF NOT EXISTS event_pauses (
    bucket_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    until_ms INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, rule)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS master_keys (
    id TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    n INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    key_id TEXT,
    account TEXT,
    action TEXT NOT NULL,
    remote_addr TEXT,
    target TEXT NOT NULL,
    bucket TEXT,
    owner TEXT,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_by_bucket ON audit (bucket, n);
CREATE INDEX IF NOT EXISTS audit_by_account ON audit (account, n);
CREATE INDEX IF NOT EXISTS audit_by_owner ON audit (owner, n);
CREATE TABLE IF NOT EXISTS kms_keys (
    id TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL,
    master_key TEXT NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// Columns added after the first schema, as `(table, column, definition)`: added at open where
/// missing, so data directories of every earlier version open unchanged.
const ADDED_COLUMNS: [(&str, &str, &str); 20] = [
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
    // Keys and buckets made before accounts existed belong to the default account.
    ("access_keys", "account", "TEXT NOT NULL DEFAULT 'pier'"),
    ("buckets", "owner", "TEXT NOT NULL DEFAULT 'pier'"),
    // Garbage waits out a grace period; rows from before were released long ago.
    ("garbage", "since_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("buckets", "website", "TEXT"),
    ("buckets", "notifications", "TEXT"),
    ("buckets", "encryption", "TEXT"),
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
    // Indexes on added columns, made once the columns exist.
    conn.execute_batch("CREATE INDEX IF NOT EXISTS garbage_by_age ON garbage (since_ms)")?;
    add_usage_counters(conn)
}

/// One change to the counters, added to the bucket's `bucket_usage` row in place: `deltas` are
/// the six counters' increments, in their column order, for `bucket`, when `when` holds.
fn usage_change(bucket: &str, deltas: [&str; 6], when: &str) -> String {
    let [o, b, v, vb, u, pb] = deltas;
    format!(
        "INSERT INTO bucket_usage
           (bucket_id, objects, bytes, versions, version_bytes, uploads, part_bytes)
         SELECT {bucket}, {o}, {b}, {v}, {vb}, {u}, {pb} WHERE {when}
         ON CONFLICT (bucket_id) DO UPDATE SET
           objects = objects + excluded.objects, bytes = bytes + excluded.bytes,
           versions = versions + excluded.versions,
           version_bytes = version_bytes + excluded.version_bytes,
           uploads = uploads + excluded.uploads, part_bytes = part_bytes + excluded.part_bytes;"
    )
}

/// `bucket_usage` (the counters, kept by [`usage_triggers`]), `usage_deltas` (changes appended by
/// older builds' triggers, still folded),
/// `caps` and `transaction_counts` (`docs/design.md`, "Usage and caps"). A data directory from
/// before counters existed is counted once, in the transaction that creates them.
fn add_usage_counters(conn: &Connection) -> Result<()> {
    let exists = |conn: &Connection| -> Result<bool> {
        Ok(conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_deltas'")?
            .exists([])?)
    };
    if exists(conn)? {
        return upgrade_usage_triggers(conn);
    }
    // Checked again under the write lock: another process may have counted meanwhile.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    if exists(conn)? {
        conn.execute_batch("COMMIT")?;
        return upgrade_usage_triggers(conn);
    }
    let mut sql = String::from(
        "CREATE TABLE bucket_usage (
             bucket_id TEXT PRIMARY KEY,
             objects INTEGER NOT NULL,
             bytes INTEGER NOT NULL,
             versions INTEGER NOT NULL,
             version_bytes INTEGER NOT NULL,
             uploads INTEGER NOT NULL,
             part_bytes INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE usage_deltas (
             n INTEGER PRIMARY KEY,
             bucket_id TEXT NOT NULL,
             objects INTEGER NOT NULL,
             bytes INTEGER NOT NULL,
             versions INTEGER NOT NULL,
             version_bytes INTEGER NOT NULL,
             uploads INTEGER NOT NULL,
             part_bytes INTEGER NOT NULL
         ) STRICT;
         CREATE INDEX usage_deltas_by_bucket ON usage_deltas (bucket_id);
         CREATE TABLE IF NOT EXISTS caps (
             scope TEXT PRIMARY KEY,
             storage INTEGER,
             objects INTEGER,
             transactions INTEGER
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS transaction_counts (
             scope TEXT NOT NULL,
             day INTEGER NOT NULL,
             n INTEGER NOT NULL,
             PRIMARY KEY (scope, day)
         ) STRICT, WITHOUT ROWID;\n",
    );
    sql += &usage_triggers();
    sql += &format!(
        "INSERT INTO bucket_usage
           (bucket_id, objects, bytes, versions, version_bytes, uploads, part_bytes)
         {};
         COMMIT;",
        super::usage::recount_select()
    );
    if let Err(e) = conn.execute_batch(&sql) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

/// The triggers that keep `bucket_usage` in each write's transaction (`docs/design.md`, "Usage
/// and caps"): on insert and delete of `objects`, `versions`, `uploads` and `parts`, and on an
/// update of the columns counted.
fn usage_triggers() -> String {
    let part_bucket = "(SELECT bucket_id FROM uploads WHERE upload_id = {R}.upload_id)";
    let part_known = "EXISTS (SELECT 1 FROM uploads WHERE upload_id = {R}.upload_id)";
    let on = |r: &str, s: &str| s.replace("{R}", r);
    let trigger = |name: &str, event: &str, table: &str, body: String| {
        format!("CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END;\n")
    };
    // An update counts only when a counted column changed (an overwrite in place of the same
    // size changes no counter).
    let changed = |columns: &str| {
        columns
            .split(", ")
            .map(|c| format!("OLD.{c} IS NOT NEW.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let mut sql = String::new();
    let signed = |r: &str, what: &str| {
        if r == "NEW" {
            format!("{r}.{what}")
        } else {
            format!("-{r}.{what}")
        }
    };
    let one = |r: &str| if r == "NEW" { "1" } else { "-1" };
    let object_in = |r: &str| {
        let s = signed(r, "size");
        usage_change(
            &format!("{r}.bucket_id"),
            [one(r), &s, one(r), &s, "0", "0"],
            "1",
        )
    };
    let version_in = |r: &str| {
        usage_change(
            &format!("{r}.bucket_id"),
            ["0", "0", one(r), &signed(r, "size"), "0", "0"],
            &format!("{r}.marker = 0"),
        )
    };
    let upload_in = |r: &str| {
        usage_change(
            &format!("{r}.bucket_id"),
            ["0", "0", "0", "0", one(r), "0"],
            "1",
        )
    };
    let part_in = |r: &str| {
        usage_change(
            &on(r, part_bucket),
            ["0", "0", "0", "0", "0", &signed(r, "size")],
            &on(r, part_known),
        )
    };
    // Each table's rows count on insert and delete, and on an update of the columns named
    // (as the old row out and the new one in); uploads change none of theirs.
    type RowIn<'a> = &'a dyn Fn(&str) -> String;
    let counted: [(&str, Option<&str>, RowIn<'_>); 4] = [
        ("objects", Some("bucket_id, size"), &object_in),
        ("versions", Some("bucket_id, size, marker"), &version_in),
        ("uploads", None, &upload_in),
        ("parts", Some("upload_id, size"), &part_in),
    ];
    for (table, updated, row_in) in counted {
        sql += &trigger(
            &format!("usage_{table}_insert"),
            "INSERT",
            table,
            row_in("NEW"),
        );
        sql += &trigger(
            &format!("usage_{table}_delete"),
            "DELETE",
            table,
            row_in("OLD"),
        );
        if let Some(columns) = updated {
            sql += &trigger(
                &format!("usage_{table}_update"),
                &format!("UPDATE OF {columns}"),
                &format!("{table} WHEN {}", changed(columns)),
                row_in("OLD") + &row_in("NEW"),
            );
        }
    }
    sql
}

/// Replaces the triggers of a data directory made by a build whose triggers appended each change
/// to `usage_deltas` (what they appended is still folded by the janitor) with ones that add in
/// place, in one transaction. Nothing to do once they do.
fn upgrade_usage_triggers(conn: &Connection) -> Result<()> {
    let appending = |conn: &Connection| -> Result<bool> {
        Ok(conn
            .prepare(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger'
                   AND name = 'usage_objects_insert' AND sql LIKE '%INSERT INTO usage_deltas%'",
            )?
            .exists([])?)
    };
    if !appending(conn)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let replaced = (|| -> Result<()> {
        if !appending(conn)? {
            return Ok(());
        }
        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name GLOB 'usage_*'",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for name in names {
            conn.execute_batch(&format!("DROP TRIGGER {name}"))?;
        }
        conn.execute_batch(&usage_triggers())?;
        Ok(())
    })();
    match replaced {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn column(value: ValueRef<'_>) -> Result<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Text(v) => Value::Text(
            String::from_utf8(v.to_vec())
                .map_err(|_| StoreError::Corrupt("a text column is not UTF-8".into()))?,
        ),
        ValueRef::Blob(v) => Value::Bytes(v.to_vec()),
        ValueRef::Real(v) => {
            return Err(StoreError::Corrupt(format!(
                "a column holds the real number {v}"
            )))
        }
    })
}

impl Sql for Connection {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..width)
                .map(|i| column(row.get_ref(i)?))
                .collect::<Result<Vec<_>>>()?;
            out.push(Row::new(values));
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))? as u64)
    }
}

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<()>) + Send>;
/// A write job: run inside the batch's transaction (or, given `None`, told that the batch could
/// not begin), it returns what to do once the batch's outcome is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Finish + Send>;

/// The SQLite engine: one group-committing writer thread and a pool of readers.
pub struct Sqlite {
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

impl Sqlite {
    /// Opens (creating and migrating) the database at `path` and starts the writer thread,
    /// which counts group commits in `stats`.
    pub fn open(path: &Path, stats: Arc<StoreStats>) -> Result<Sqlite> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        let (tx, rx) = mpsc::sync_channel::<Job>(4 * MAX_BATCH);
        let writer = thread::Builder::new()
            .name("pier-meta-writer".into())
            .spawn(move || writer_loop(conn, rx, &stats))
            .map_err(StoreError::Io)?;
        Ok(Sqlite {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
            path: path.to_owned(),
        })
    }
}

impl Engine for Sqlite {
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.readers.lock().expect("reader pool lock").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        // One snapshot for every statement of the read (a deferred transaction takes no lock).
        conn.execute_batch("BEGIN")?;
        let result = f(&conn);
        let ended = conn.execute_batch("COMMIT");
        if ended.is_ok() {
            let mut pool = self.readers.lock().expect("reader pool lock");
            if pool.len() < 16 {
                pool.push(conn);
            }
        }
        let value = result?;
        ended?;
        Ok(value)
    }

    fn read_one<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
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

    fn write<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&dyn Sql) -> Result<T> + Send + 'static,
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

    fn close(&self) {
        self.jobs.lock().expect("writer channel lock").take();
        if let Some(handle) = self.writer.lock().expect("writer handle lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Sqlite {
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
