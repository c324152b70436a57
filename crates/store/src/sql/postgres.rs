//! The PostgreSQL engine, for pier nodes that share their metadata (`docs/scale.md`).
//!
//! A fixed set of worker threads each own one connection; a caller hands its transaction to
//! the next free worker and waits for the answer, so the store stays synchronous and no async
//! runtime is nested. Every write runs at `SERIALIZABLE` and is retried, from the start, when
//! the database reports a serialization failure, a deadlock or a unique violation (SQLSTATE
//! 40001, 40P01, 23505: a race lost to a concurrent insert): the same
//! code is then correct on PostgreSQL, CockroachDB and YugabyteDB. Reads run in one
//! `REPEATABLE READ READ ONLY` snapshot. A connection found broken when a transaction begins is
//! replaced (once) before the job runs; a server out of reach is `StoreError::Unavailable`,
//! which the APIs answer with 503.
//!
//! The schema is the embedded one with PostgreSQL's type names (`BIGINT`, `BYTEA`, text in the
//! `"C"` collation so text sorts bytewise as in SQLite), created and migrated at open under a
//! `schema_version` row.

use super::{Engine, Row, Sql, Value};
use crate::error::{Result, StoreError};
use crate::stats::StoreStats;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The schema, one migration per entry; `schema_version` records how many ran.
const MIGRATIONS: [&str; 8] = [
    "
CREATE TABLE buckets (
    name TEXT COLLATE \"C\" PRIMARY KEY,
    id TEXT COLLATE \"C\" NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    public BIGINT NOT NULL,
    cors TEXT,
    info TEXT,
    revision BIGINT NOT NULL,
    policy TEXT,
    versioning BIGINT NOT NULL DEFAULT 0,
    lifecycle TEXT,
    tags TEXT,
    public_block BIGINT NOT NULL DEFAULT 0,
    object_lock TEXT,
    ownership TEXT
);
CREATE TABLE objects (
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    key BYTEA NOT NULL,
    version_id TEXT COLLATE \"C\" NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT,
    created_ms BIGINT NOT NULL,
    meta TEXT NOT NULL,
    segments TEXT NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0,
    is_null BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (bucket_id, key)
);
CREATE TABLE uploads (
    upload_id TEXT COLLATE \"C\" PRIMARY KEY,
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    key BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket_id, key, upload_id);
CREATE TABLE parts (
    upload_id TEXT COLLATE \"C\" NOT NULL,
    part_number BIGINT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    blob TEXT COLLATE \"C\" NOT NULL,
    created_ms BIGINT NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE access_keys (
    access_key TEXT COLLATE \"C\" PRIMARY KEY,
    secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    description TEXT NOT NULL,
    capabilities TEXT,
    buckets TEXT,
    name_prefix TEXT,
    expires_ms BIGINT
);
CREATE TABLE garbage (
    blob TEXT COLLATE \"C\" PRIMARY KEY
);
CREATE TABLE versions (
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    key BYTEA NOT NULL,
    version_id TEXT COLLATE \"C\" NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    sha1 TEXT,
    created_ms BIGINT NOT NULL,
    meta TEXT NOT NULL,
    segments TEXT NOT NULL,
    seq BIGINT NOT NULL,
    is_null BIGINT NOT NULL,
    marker BIGINT NOT NULL,
    superseded_ms BIGINT,
    PRIMARY KEY (bucket_id, key, seq)
);
CREATE INDEX versions_newest_first ON versions (bucket_id, key, seq DESC);
CREATE TABLE completed_uploads (
    upload_id TEXT COLLATE \"C\" PRIMARY KEY,
    version_id TEXT NOT NULL,
    completed_ms BIGINT NOT NULL
);
CREATE TABLE blob_refs (
    blob TEXT COLLATE \"C\" PRIMARY KEY,
    refs BIGINT NOT NULL
);
CREATE TABLE inline_data (
    version_id TEXT COLLATE \"C\" PRIMARY KEY,
    data BYTEA NOT NULL
);
",
    "
CREATE TABLE leases (
    name TEXT COLLATE \"C\" PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
",
    "
CREATE TABLE sessions (
    id TEXT COLLATE \"C\" PRIMARY KEY,
    key_id TEXT COLLATE \"C\" NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL
);
",
    // Accounts: keys and buckets made before them belong to the default account.
    "
ALTER TABLE access_keys ADD COLUMN account TEXT COLLATE \"C\" NOT NULL DEFAULT 'pier';
ALTER TABLE buckets ADD COLUMN owner TEXT COLLATE \"C\" NOT NULL DEFAULT 'pier';
",
    // Garbage waits out a grace period before its blobs are removed (rows from before were
    // released long ago: 0).
    "
ALTER TABLE garbage ADD COLUMN since_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX garbage_by_age ON garbage (since_ms);
",
    // Event notifications: rules on the bucket, the outbox beside the history.
    "
ALTER TABLE buckets ADD COLUMN notifications TEXT;
CREATE TABLE events (
    n BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE \"C\" NOT NULL UNIQUE,
    rule TEXT COLLATE \"C\" NOT NULL,
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    key TEXT COLLATE \"C\" NOT NULL,
    version_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    sequencer BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX events_by_rule ON events (bucket_id, rule, n);
CREATE TABLE event_pauses (
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    rule TEXT COLLATE \"C\" NOT NULL,
    until_ms BIGINT NOT NULL,
    PRIMARY KEY (bucket_id, rule)
);
CREATE TABLE topics (
    account_id TEXT COLLATE \"C\" NOT NULL,
    name TEXT COLLATE \"C\" NOT NULL,
    attributes TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);
",
    // Static websites: a bucket's website configuration.
    "ALTER TABLE buckets ADD COLUMN website TEXT;",
    // Encryption at rest: a bucket's default, and the master keys that wrapped data keys.
    "ALTER TABLE buckets ADD COLUMN encryption TEXT;
CREATE TABLE master_keys (
    id TEXT COLLATE \"C\" PRIMARY KEY,
    since_ms BIGINT NOT NULL
);
CREATE TABLE kms_keys (
    id TEXT COLLATE \"C\" PRIMARY KEY,
    wrapped TEXT NOT NULL,
    master_key TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);",
];

/// How often a write is tried before a serialization failure is reported.
const MAX_ATTEMPTS: u32 = 20;

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound as {ty}").into()),
            },
            Value::Text(v) => match *ty {
                Type::BYTEA => v.as_bytes().to_sql(ty, out),
                _ => v.as_str().to_sql(ty, out),
            },
            Value::Bytes(v) => match *ty {
                Type::BYTEA => v.as_slice().to_sql(ty, out),
                _ => Err(format!("bytes cannot be bound as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// The address without pier's own `pool_max_conns=N` parameter (pgx's name for it; the
/// PostgreSQL client refuses parameters it does not know), and N.
fn pool_size(url: &str) -> Result<(String, Option<usize>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut pool = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let Some(text) = pair.strip_prefix("pool_max_conns=") else {
            kept.push(pair);
            continue;
        };
        let n = text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1024).contains(n));
        pool = Some(n.ok_or_else(|| {
            StoreError::Database(format!(
                "the PostgreSQL address: pool_max_conns={text} is not a number from 1 to 1024"
            ))
        })?);
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pool))
}

/// Rewrites `?N` placeholders as PostgreSQL's `$N` (pier's SQL has no `?` in literals).
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn column(row: &postgres::Row, i: usize) -> std::result::Result<Value, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Bytes),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
    })
}

/// One worker's connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// A connection inside one transaction.
struct Tx<'a> {
    conn: RefCell<&'a mut Conn>,
    /// A statement failed for a reason that trying the transaction again may cure.
    conflict: Cell<bool>,
}

impl<'a> Tx<'a> {
    /// `conn` inside a transaction with no conflict seen yet.
    fn new(conn: &'a mut Conn) -> Tx<'a> {
        Tx {
            conn: RefCell::new(conn),
            conflict: Cell::new(false),
        }
    }

    fn failed(&self, e: postgres::Error) -> StoreError {
        // A unique violation is a race lost to a concurrent insert (PostgreSQL reports most
        // such races as serialization failures, but not all); tried again, the write sees the
        // winner's row and answers as it would have.
        if matches!(
            e.code(),
            Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                | Some(&SqlState::T_R_DEADLOCK_DETECTED)
                | Some(&SqlState::UNIQUE_VIOLATION)
        ) {
            self.conflict.set(true);
        }
        database_error(&e)
    }

    /// The prepared statement for `sql`, prepared once per connection.
    fn prepared(&self, conn: &mut Conn, sql: &str) -> Result<Statement> {
        if let Some(s) = conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = conn
            .client
            .prepare(&placeholders(sql))
            .map_err(|e| self.failed(e))?;
        conn.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn bound(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Sql for Tx<'_> {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut conn = self.conn.borrow_mut();
        let statement = self.prepared(&mut conn, sql)?;
        let rows = conn
            .client
            .query(&statement, &bound(params))
            .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| column(row, i).map_err(|e| database_error(&e)))
                    .collect::<Result<Vec<_>>>()
                    .map(Row::new)
            })
            .collect()
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut conn = self.conn.borrow_mut();
        let statement = self.prepared(&mut conn, sql)?;
        conn.client
            .execute(&statement, &bound(params))
            .map_err(|e| self.failed(e))
    }
}

/// True when `e` means the server is out of reach (the connection broke, the server is shutting
/// down or starting, or refuses connections), not that the statement failed.
fn is_unreachable(e: &postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            // Class 08: connection exceptions; 57P01-57P03: shutdown, crash, starting up.
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
    }
}

/// The store's error for `e`: `Unavailable` when the server is out of reach.
fn database_error(e: &postgres::Error) -> StoreError {
    if is_unreachable(e) {
        return StoreError::Unavailable(format!("PostgreSQL: {e}"));
    }
    match e.as_db_error() {
        Some(db) => {
            StoreError::Database(format!("PostgreSQL {}: {}", db.code().code(), db.message()))
        }
        None => StoreError::Database(format!("PostgreSQL: {e}")),
    }
}

type Job = Box<dyn FnOnce(&mut Option<Conn>, &postgres::Config) + Send>;

/// The PostgreSQL engine: worker threads with one connection each.
pub struct Postgres {
    jobs: Mutex<Option<Sender<Job>>>,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
    stats: Arc<StoreStats>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

fn connect(config: &postgres::Config) -> Result<Conn> {
    let client = config
        .connect(NoTls)
        .map_err(|e| StoreError::Unavailable(format!("connecting to PostgreSQL: {e}")))?;
    Ok(Conn {
        client,
        statements: HashMap::new(),
    })
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://USER:PASS@HOST:PORT/DB`), creates or
    /// migrates the schema, and starts `connections` workers, or as many as the address's
    /// `pool_max_conns=N` says; commits and retries are counted in `stats`. Fails if the address
    /// does not read, the database cannot be reached or its schema is newer than this build
    /// knows.
    pub fn open(url: &str, connections: usize, stats: Arc<StoreStats>) -> Result<Postgres> {
        let (url, pool) = pool_size(url)?;
        let connections = pool.unwrap_or(connections);
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the PostgreSQL address: {e}")))?;
        // On a thread of its own: the synchronous client must not run on an async runtime's
        // thread, and the caller may be one.
        let first = thread::scope(|scope| {
            scope
                .spawn(|| {
                    let mut first = connect(&config)?;
                    migrate(&mut first)?;
                    Ok::<_, StoreError>(first)
                })
                .join()
                .map_err(|_| StoreError::Database("connecting to PostgreSQL panicked".into()))?
        })?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::new();
        let mut first = Some(first);
        for n in 0..connections.max(1) {
            let rx = Arc::clone(&rx);
            let config = config.clone();
            let conn = first.take();
            workers.push(
                thread::Builder::new()
                    .name(format!("pier-pg-{n}"))
                    .spawn(move || worker(conn, &config, &rx))
                    .map_err(StoreError::Io)?,
            );
        }
        Ok(Postgres {
            jobs: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
            stats,
        })
    }

    /// Runs `job` on the next free worker's connection, inside a transaction begun with
    /// `begin`, and waits for its answer. A connection found broken when the transaction
    /// begins (the server restarted since its last use) is replaced once before giving up.
    fn in_transaction<T: Send + 'static>(
        &self,
        begin: &'static str,
        job: impl FnOnce(&mut Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.on_worker(move |slot, config| {
            for _ in 0..2 {
                let conn = connected(slot, config)?;
                match conn.client.batch_execute(begin) {
                    Ok(()) => return job(conn),
                    Err(e) if is_unreachable(&e) => *slot = None,
                    Err(e) => return Err(database_error(&e)),
                }
            }
            Err(StoreError::Unavailable(
                "PostgreSQL closed a new connection".into(),
            ))
        })
    }

    /// Runs `job` on the next free worker's connection slot (connecting is the job's) and
    /// waits for its answer.
    fn on_worker<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Option<Conn>, &postgres::Config) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |slot: &mut Option<Conn>, config: &postgres::Config| {
            let _ = reply.send(job(slot, config));
        });
        let sender = self
            .jobs
            .lock()
            .expect("job channel lock")
            .clone()
            .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Database("the PostgreSQL workers stopped".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Database("a PostgreSQL worker stopped".into()))?
    }
}

/// The worker's connection, made anew when it has none or it closed.
fn connected<'a>(slot: &'a mut Option<Conn>, config: &postgres::Config) -> Result<&'a mut Conn> {
    if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
        *slot = Some(connect(config)?);
    }
    Ok(slot.as_mut().expect("connected above"))
}

/// A worker: runs jobs on its connection (made and remade by the jobs) until the channel
/// closes.
fn worker(mut conn: Option<Conn>, config: &postgres::Config, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock().expect("job queue lock").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        job(&mut conn, config);
    }
}

/// `f`'s answer and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = std::time::Instant::now();
    (f(), start.elapsed())
}

/// Ends a transaction that failed; a connection that cannot even roll back is dropped.
fn roll_back(conn: &mut Conn) -> bool {
    conn.client.batch_execute("ROLLBACK").is_ok()
}

/// Usage counters and caps (`docs/design.md`, "Usage and caps"): the tables, the triggers that
/// keep `bucket_usage`, and the counters of what was stored before, counted once.
fn usage_migration() -> String {
    format!(
        "CREATE TABLE bucket_usage (
    bucket_id TEXT COLLATE \"C\" PRIMARY KEY,
    objects BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    versions BIGINT NOT NULL,
    version_bytes BIGINT NOT NULL,
    uploads BIGINT NOT NULL,
    part_bytes BIGINT NOT NULL
);
CREATE TABLE usage_deltas (
    n BIGSERIAL PRIMARY KEY,
    bucket_id TEXT COLLATE \"C\" NOT NULL,
    objects BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    versions BIGINT NOT NULL,
    version_bytes BIGINT NOT NULL,
    uploads BIGINT NOT NULL,
    part_bytes BIGINT NOT NULL
);
CREATE INDEX usage_deltas_by_bucket ON usage_deltas (bucket_id);
CREATE TABLE caps (
    scope TEXT COLLATE \"C\" PRIMARY KEY,
    storage BIGINT,
    objects BIGINT,
    transactions BIGINT
);
CREATE TABLE transaction_counts (
    scope TEXT COLLATE \"C\" NOT NULL,
    day BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, day)
);
CREATE FUNCTION usage_change(b TEXT, o BIGINT, ob BIGINT, v BIGINT, vb BIGINT, u BIGINT,
                             pb BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                              part_bytes)
    VALUES (b, o, ob, v, vb, u, pb)
$$;
CREATE FUNCTION usage_of_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM usage_change(OLD.bucket_id, -1, -OLD.size, -1, -OLD.size, 0, 0);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM usage_change(NEW.bucket_id, 1, NEW.size, 1, NEW.size, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION usage_of_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.marker = 0 THEN
        PERFORM usage_change(OLD.bucket_id, 0, 0, -1, -OLD.size, 0, 0);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.marker = 0 THEN
        PERFORM usage_change(NEW.bucket_id, 0, 0, 1, NEW.size, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION usage_of_uploads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM usage_change(OLD.bucket_id, 0, 0, 0, 0, -1, 0);
    ELSE
        PERFORM usage_change(NEW.bucket_id, 0, 0, 0, 0, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION usage_of_parts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE b TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT bucket_id INTO b FROM uploads WHERE upload_id = OLD.upload_id;
        IF b IS NOT NULL THEN
            PERFORM usage_change(b, 0, 0, 0, 0, 0, -OLD.size);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT bucket_id INTO b FROM uploads WHERE upload_id = NEW.upload_id;
        IF b IS NOT NULL THEN
            PERFORM usage_change(b, 0, 0, 0, 0, 0, NEW.size);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER usage_objects AFTER INSERT OR DELETE OR UPDATE OF bucket_id, size
    ON objects FOR EACH ROW EXECUTE FUNCTION usage_of_objects();
CREATE TRIGGER usage_versions AFTER INSERT OR DELETE OR UPDATE OF bucket_id, size, marker
    ON versions FOR EACH ROW EXECUTE FUNCTION usage_of_versions();
CREATE TRIGGER usage_uploads AFTER INSERT OR DELETE ON uploads
    FOR EACH ROW EXECUTE FUNCTION usage_of_uploads();
CREATE TRIGGER usage_parts AFTER INSERT OR DELETE OR UPDATE OF upload_id, size ON parts
    FOR EACH ROW EXECUTE FUNCTION usage_of_parts();
INSERT INTO bucket_usage
    (bucket_id, objects, bytes, versions, version_bytes, uploads, part_bytes)
{fill};",
        fill = super::usage::recount_select(),
    )
}

/// The audit log (`docs/design.md`, "Audit log").
const AUDIT_MIGRATION: &str = "CREATE TABLE audit (
    n BIGSERIAL PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    key_id TEXT COLLATE \"C\",
    account TEXT COLLATE \"C\",
    action TEXT NOT NULL,
    remote_addr TEXT,
    target TEXT NOT NULL,
    bucket TEXT COLLATE \"C\",
    owner TEXT COLLATE \"C\",
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX audit_by_bucket ON audit (bucket, n);
CREATE INDEX audit_by_account ON audit (account, n);
CREATE INDEX audit_by_owner ON audit (owner, n);";

/// Every migration, in order.
fn migrations() -> Vec<String> {
    let mut all: Vec<String> = MIGRATIONS.iter().map(|m| (*m).to_owned()).collect();
    all.push(usage_migration());
    all.push(AUDIT_MIGRATION.to_owned());
    all
}

fn migrate(conn: &mut Conn) -> Result<()> {
    let migrations = migrations();
    let known = migrations.len() as i64;
    for attempt in 1.. {
        // Concurrent starts may race to create the table; the loser retries and finds it.
        let created = conn.client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
        );
        let result = created.map_err(|e| database_error(&e)).and_then(|()| {
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::Serializable)
                .start()
                .map_err(|e| database_error(&e))?;
            tx.execute(
                "INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
                &[],
            )
            .map_err(|e| database_error(&e))?;
            let version: i64 = tx
                .query_one("SELECT version FROM schema_version WHERE id = 1 FOR UPDATE", &[])
                .map_err(|e| database_error(&e))?
                .get(0);
            if version > known {
                return Err(StoreError::Database(format!(
                    "the PostgreSQL schema is at version {version}, newer than this pier knows ({known})"
                )));
            }
            for (n, sql) in migrations.iter().enumerate().skip(version as usize) {
                tx.batch_execute(sql).map_err(|e| database_error(&e))?;
                tx.execute(
                    "UPDATE schema_version SET version = $1 WHERE id = 1",
                    &[&(n as i64 + 1)],
                )
                .map_err(|e| database_error(&e))?;
            }
            tx.commit().map_err(|e| database_error(&e))
        });
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "schema migration retried");
                thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

impl Engine for Postgres {
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.in_transaction(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            move |conn| {
                let tx = Tx::new(conn);
                let result = f(&tx);
                let conn = tx.conn.into_inner();
                match result {
                    Ok(v) => {
                        conn.client
                            .batch_execute("COMMIT")
                            .map_err(|e| database_error(&e))?;
                        Ok(v)
                    }
                    Err(e) => {
                        roll_back(conn);
                        Err(e)
                    }
                }
            },
        )
    }

    fn read_one<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // One statement is its own snapshot: no BEGIN and COMMIT round trips. A connection
        // broken since its last use fails the statement; it is replaced and tried once more.
        self.on_worker(move |slot, config| {
            for attempt in 0..2 {
                let conn = connected(slot, config)?;
                let tx = Tx::new(conn);
                match f(&tx) {
                    Err(StoreError::Unavailable(_)) if attempt == 0 => *slot = None,
                    done => return done,
                }
            }
            unreachable!("the second attempt returns")
        })
    }

    fn write<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        const BEGIN: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
        let stats = Arc::clone(&self.stats);
        self.in_transaction(BEGIN, move |conn| {
            let mut attempt = 0;
            loop {
                attempt += 1;
                if attempt > 1 {
                    conn.client
                        .batch_execute(BEGIN)
                        .map_err(|e| database_error(&e))?;
                }
                let tx = Tx::new(&mut *conn);
                let result = f(&tx);
                let mut conflict = tx.conflict.get();
                let result = match result {
                    Ok(v) => match timed(|| conn.client.batch_execute("COMMIT")) {
                        (Ok(()), took) => {
                            stats.commit(1, took);
                            return Ok(v);
                        }
                        (Err(e), _) => {
                            let tx = Tx::new(&mut *conn);
                            let err = tx.failed(e);
                            conflict = tx.conflict.get();
                            Err(err)
                        }
                    },
                    Err(e) => {
                        roll_back(conn);
                        Err(e)
                    }
                };
                if conflict && attempt < MAX_ATTEMPTS {
                    stats.write_retried();
                    // Back off a little, more each time, so racing writers spread out.
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
                    thread::sleep(Duration::from_millis(1 + u64::from(attempt) * jitter));
                    continue;
                }
                if conflict {
                    // Still conflicting after every attempt: contention, which passes; the
                    // client is told to slow down and retry (503), not that the server broke.
                    return Err(StoreError::Unavailable(format!(
                        "write conflicts persisted through {MAX_ATTEMPTS} attempts: {}",
                        result.err().map(|e| e.to_string()).unwrap_or_default()
                    )));
                }
                return result;
            }
        })
    }

    fn close(&self) {
        self.jobs.lock().expect("job channel lock").take();
        for handle in self.workers.lock().expect("worker list lock").drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::{placeholders, pool_size};

    #[test]
    fn pool_max_conns_is_taken_out_of_the_address() {
        let (url, pool) =
            pool_size("postgres://u@h1,h2/db?target_session_attrs=read-write&pool_max_conns=6")
                .unwrap();
        assert_eq!(url, "postgres://u@h1,h2/db?target_session_attrs=read-write");
        assert_eq!(pool, Some(6));
        assert_eq!(
            pool_size("postgres://u@h/db?pool_max_conns=2").unwrap(),
            ("postgres://u@h/db".to_owned(), Some(2))
        );
        assert_eq!(
            pool_size("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_owned(), None)
        );
    }

    #[test]
    fn a_pool_size_that_is_not_a_count_is_refused() {
        for bad in ["0", "many", "", "100000"] {
            let url = format!("postgres://u@h/db?pool_max_conns={bad}");
            assert!(pool_size(&url).is_err(), "{url}");
        }
    }

    #[test]
    fn placeholders_become_dollar_numbers() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c > ?12 LIMIT ?3"),
            "SELECT a FROM t WHERE b = $1 AND c > $12 LIMIT $3"
        );
    }

    #[test]
    fn a_lone_question_mark_stays() {
        assert_eq!(placeholders("SELECT '?' , ?x"), "SELECT '?' , ?x");
    }
}
