//! pier's schema on PostgreSQL: the embedded one with PostgreSQL's type names (`BIGINT`,
//! `BYTEA`, text in the `"C"` collation so text sorts bytewise as in SQLite), one migration per
//! entry, applied in order under a `schema_version` row (`docs/design.md`).

use super::conn::{database_error, Conn};
use super::MAX_ATTEMPTS;
use crate::error::{Result, StoreError};
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
        fill = crate::sql::usage::recount_select(),
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

/// The `objects` and `versions` triggers append to `usage_deltas` themselves, not through
/// `usage_change` (one executor fewer per row written: a new key's PUT cost 27 us less of
/// PostgreSQL's time), and an `objects` row written over in place (an overwrite of the null
/// version) appends its net change, one row, or none when the size stayed; it appended a
/// removal and an addition.
const NET_OVERWRITE_MIGRATION: &str =
    "CREATE OR REPLACE FUNCTION usage_of_objects() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.bucket_id = NEW.bucket_id THEN
        IF OLD.size <> NEW.size THEN
            INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                                      part_bytes)
            VALUES (NEW.bucket_id, 0, NEW.size - OLD.size, 0, NEW.size - OLD.size, 0, 0);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                                  part_bytes)
        VALUES (OLD.bucket_id, -1, -OLD.size, -1, -OLD.size, 0, 0);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                                  part_bytes)
        VALUES (NEW.bucket_id, 1, NEW.size, 1, NEW.size, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION usage_of_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.marker = 0 THEN
        INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                                  part_bytes)
        VALUES (OLD.bucket_id, 0, 0, -1, -OLD.size, 0, 0);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.marker = 0 THEN
        INSERT INTO usage_deltas (bucket_id, objects, bytes, versions, version_bytes, uploads,
                                  part_bytes)
        VALUES (NEW.bucket_id, 0, 0, 1, NEW.size, 0, 0);
    END IF;
    RETURN NULL;
END $$;";

/// Every migration, in order.
pub(super) fn migrations() -> Vec<String> {
    let mut all: Vec<String> = MIGRATIONS.iter().map(|m| (*m).to_owned()).collect();
    all.push(usage_migration());
    all.push(AUDIT_MIGRATION.to_owned());
    all.push(NET_OVERWRITE_MIGRATION.to_owned());
    all
}

/// Creates or migrates the schema to this build's version, in one `SERIALIZABLE` transaction
/// per attempt (nodes starting together race for it; the losers try again and find the work
/// done). Fails if the schema is newer than this build knows.
pub(super) fn migrate(conn: &Conn) -> Result<()> {
    let migrations = migrations();
    let known = migrations.len() as i64;
    for attempt in 1.. {
        let result = migrate_once(conn, &migrations, known);
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt < MAX_ATTEMPTS => {
                let _ = conn.batch("ROLLBACK");
                tracing::debug!(error = %e, attempt, "schema migration retried");
                thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
            }
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    unreachable!("the loop returns")
}

/// One attempt of [`migrate`].
fn migrate_once(conn: &Conn, migrations: &[String], known: i64) -> Result<()> {
    let failed = |e: tokio_postgres::Error| database_error(&e);
    // Concurrent starts may race to create the table; the loser retries and finds it.
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
    )
    .map_err(failed)?;
    conn.batch(
        "BEGIN ISOLATION LEVEL SERIALIZABLE;
         INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    )
    .map_err(failed)?;
    let rows = conn
        .query(
            "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE",
            &[],
        )
        .map_err(failed)?;
    let version: i64 = rows
        .first()
        .ok_or_else(|| StoreError::Database("schema_version has no row".into()))?
        .try_get(0)
        .map_err(failed)?;
    if version > known {
        return Err(StoreError::Database(format!(
            "the PostgreSQL schema is at version {version}, newer than this pier knows ({known})"
        )));
    }
    for (n, sql) in migrations.iter().enumerate().skip(version as usize) {
        conn.batch(&format!(
            "{sql};\nUPDATE schema_version SET version = {} WHERE id = 1",
            n + 1
        ))
        .map_err(failed)?;
    }
    conn.batch("COMMIT").map_err(failed)
}
