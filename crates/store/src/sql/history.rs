//! A key's history in SQL: the current version in `objects`, every other entry (noncurrent
//! versions, markers) in `versions`, and the writes that move entries between them
//! (`docs/design.md`, "Versions"). Every function runs inside the caller's transaction.

use super::rows::{add_garbage, decode_segments, encode_segments, meta_json, parse_meta};
use super::write_state::{self, WriteState};
use super::{values, Row, Sql, Value};
use crate::error::{Result, StoreError};
use crate::lock::check_delete;
use crate::meta::{NewBytes, Removal, VersionCursor};
use crate::types::{Millis, Object, VersionRef, Versioning, WriteCondition, INLINE_BLOB};

/// Columns of an entry, in the order [`entry_from_row`] reads them. `objects` rows are never
/// markers and always current, so they select constants for the last two.
pub(super) const OBJECT_SELECT: &str = "bucket_id, key, version_id, size, etag, sha1, created_ms, \
     meta, segments, seq, is_null, 0, NULL";
const VERSION_SELECT: &str = "bucket_id, key, version_id, size, etag, sha1, created_ms, meta, \
     segments, seq, is_null, marker, superseded_ms";
const OBJECT_INSERT: &str = "bucket_id, key, version_id, size, etag, sha1, created_ms, meta, \
     segments, seq, is_null";

/// The current version with its inline bytes (NULL for a blob object) as a 14th column, in one
/// statement: a read's one snapshot (`docs/design.md`, "Reading").
fn current_read_sql() -> String {
    format!(
        "SELECT {OBJECT_SELECT},
                (SELECT data FROM inline_data WHERE inline_data.version_id = objects.version_id)
         FROM objects WHERE bucket_id = ?1 AND key = ?2"
    )
}

/// The key's current version with its inline bytes, in one statement.
pub(super) fn read_current(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
) -> Result<Option<crate::read::Readable>> {
    let Some(mut row) = conn.first(&current_read_sql(), values![bucket_id, key.as_bytes()])? else {
        return Ok(None);
    };
    let data = row.opt_bytes(13)?;
    crate::read::Readable::new(entry_from_row(row)?, data).map(Some)
}

/// `found` with its inline bytes, read inside the caller's transaction (so from the snapshot
/// that found it).
pub(super) fn with_bytes(
    conn: &dyn Sql,
    found: Option<Object>,
) -> Result<Option<crate::read::Readable>> {
    let Some(object) = found else {
        return Ok(None);
    };
    let data = if object.is_inline() {
        conn.first(
            "SELECT data FROM inline_data WHERE version_id = ?1",
            values![&object.version_id],
        )?
        .map(|mut r| r.bytes(0))
        .transpose()?
    } else {
        None
    };
    crate::read::Readable::new(object, data).map(Some)
}

/// Decodes an entry row (columns as [`OBJECT_SELECT`] and [`VERSION_SELECT`] name them); a
/// row whose key, metadata or segments do not decode, or whose segments do not add up to its
/// size, is `Corrupt`.
pub(super) fn entry_from_row(mut row: Row) -> Result<Object> {
    let version_id = row.text(2)?;
    let key = String::from_utf8(row.bytes(1)?)
        .map_err(|_| StoreError::Corrupt(format!("object {version_id} has a non-UTF-8 key")))?;
    let object = Object {
        bucket_id: row.text(0)?,
        key,
        size: row.int(3)? as u64,
        etag: row.text(4)?,
        sha1: row.opt_text(5)?,
        created: row.int(6)?,
        meta: parse_meta(&row.text(7)?)?,
        segments: decode_segments(&row.text(8)?)?,
        seq: row.int(9)?,
        null_version: row.int(10)? != 0,
        marker: row.int(11)? != 0,
        superseded: row.opt_int(12)?,
        version_id,
    };
    let total: u64 = object.segments.iter().map(|s| s.size).sum();
    if total != object.size {
        return Err(StoreError::Corrupt(format!(
            "object {} has {total} bytes in segments but size {}",
            object.version_id, object.size
        )));
    }
    Ok(object)
}

fn one(conn: &dyn Sql, sql: &str, params: &[super::Value]) -> Result<Option<Object>> {
    conn.first(sql, params)?.map(entry_from_row).transpose()
}

fn many(conn: &dyn Sql, sql: &str, params: &[super::Value]) -> Result<Vec<Object>> {
    conn.query(sql, params)?
        .into_iter()
        .map(entry_from_row)
        .collect()
}

/// The key's current version (its `objects` row).
pub(super) fn current(conn: &dyn Sql, bucket_id: &str, key: &str) -> Result<Option<Object>> {
    one(
        conn,
        &format!("SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key = ?2"),
        values![bucket_id, key.as_bytes()],
    )
}

/// The key's newest `versions` row.
fn newest_other(conn: &dyn Sql, bucket_id: &str, key: &str) -> Result<Option<Object>> {
    one(conn, &NEWEST_SQL, values![bucket_id, key.as_bytes()])
}

/// The key's newest `versions` row (`?1` the bucket's id, `?2` the key's bytes): built once,
/// as writes run it on every call.
static NEWEST_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {VERSION_SELECT} FROM versions WHERE bucket_id = ?1 AND key = ?2
         ORDER BY seq DESC LIMIT 1"
    )
});

/// The key's current entry, version or marker, in one statement (the `objects` row and the
/// newest `versions` row; the current one of those is the entry).
pub(super) fn top(conn: &dyn Sql, bucket_id: &str, key: &str) -> Result<Option<Object>> {
    let rows = many(
        conn,
        &format!(
            "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key = ?2
             UNION ALL
             SELECT * FROM (SELECT {VERSION_SELECT} FROM versions WHERE bucket_id = ?1 AND key = ?2
                            ORDER BY seq DESC LIMIT 1) AS newest"
        ),
        values![bucket_id, key.as_bytes()],
    )?;
    // An `objects` row is current and never a marker; a current `versions` row is a marker.
    let (versions, markers): (Vec<Object>, Vec<Object>) = rows
        .into_iter()
        .filter(|o| o.is_current())
        .partition(|o| !o.marker);
    Ok(versions.into_iter().next().or(markers.into_iter().next()))
}

/// An entry of the key by id or the null one.
pub(super) fn entry(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
    which: &VersionRef,
) -> Result<Option<Object>> {
    let k = key.as_bytes();
    match which {
        VersionRef::Id(id) => {
            let found = one(
                conn,
                &format!("SELECT {OBJECT_SELECT} FROM objects WHERE version_id = ?1"),
                values![id],
            )?;
            let found = match found {
                Some(o) => Some(o),
                None => one(
                    conn,
                    &format!("SELECT {VERSION_SELECT} FROM versions WHERE version_id = ?1"),
                    values![id],
                )?,
            };
            Ok(found.filter(|o| o.bucket_id == bucket_id && o.key == key))
        }
        VersionRef::Null => {
            if let Some(o) = one(
                conn,
                &format!(
                    "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key = ?2
                     AND is_null = 1"
                ),
                values![bucket_id, k],
            )? {
                return Ok(Some(o));
            }
            one(
                conn,
                &format!(
                    "SELECT {VERSION_SELECT} FROM versions WHERE bucket_id = ?1 AND key = ?2
                     AND is_null = 1"
                ),
                values![bucket_id, k],
            )
        }
    }
}

/// Any entry by version id, in any bucket.
pub(super) fn by_id(conn: &dyn Sql, version_id: &str) -> Result<Option<Object>> {
    if let Some(o) = one(
        conn,
        &format!("SELECT {OBJECT_SELECT} FROM objects WHERE version_id = ?1"),
        values![version_id],
    )? {
        return Ok(Some(o));
    }
    one(
        conn,
        &format!("SELECT {VERSION_SELECT} FROM versions WHERE version_id = ?1"),
        values![version_id],
    )
}

/// What a write of one key reads before it changes anything: the bucket's state and the key's
/// newest `versions` row (`NoSuchBucket` if the bucket is gone), in two statements that
/// PostgreSQL gets in one round trip ([`Sql::query_both`]). One statement joining the two was
/// slower on SQLite, by a sixth of an overwrite's rate.
pub(super) fn put_state(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
) -> Result<(WriteState, Option<Object>)> {
    let (state, newest) = conn.query_both(
        (write_state::SQL, &write_state::params(bucket_id)),
        (&NEWEST_SQL, values![bucket_id, key.as_bytes()]),
    )?;
    let state = write_state::from_rows(state, bucket_id)?;
    let newest = newest.into_iter().next().map(entry_from_row).transpose()?;
    Ok((state, newest))
}

/// True when the key has no entry besides `except`.
fn only_entry(conn: &dyn Sql, bucket_id: &str, key: &str, except: &str) -> Result<bool> {
    let other = conn.first(
        "SELECT 1 FROM objects WHERE bucket_id = ?1 AND key = ?2 AND version_id <> ?3
         UNION ALL
         SELECT 1 FROM versions WHERE bucket_id = ?1 AND key = ?2 AND version_id <> ?3
         LIMIT 1",
        values![bucket_id, key.as_bytes(), except],
    )?;
    Ok(other.is_none())
}

/// Checks a write's condition against the current version: `If-Match` on a key with none is
/// `NoSuchKey` (as S3 answers), any other miss `PreconditionFailed`.
fn check_condition(current: Option<&Object>, condition: &WriteCondition) -> Result<()> {
    if matches!(condition, WriteCondition::IfEtag(_)) && current.is_none() {
        return Err(StoreError::NoSuchKey);
    }
    let ok = match condition {
        WriteCondition::None => true,
        WriteCondition::IfAbsent => current.is_none(),
        WriteCondition::IfEtag(etag) => {
            current.is_some_and(|c| etag == "*" || c.etag == etag.trim_matches('"'))
        }
        WriteCondition::IfNotEtag(etag) => current.is_none_or(|c| c.etag != etag.trim_matches('"')),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::PreconditionFailed)
    }
}

/// The columns an `objects` row and a `versions` row share, in `OBJECT_INSERT`'s order.
fn entry_values(o: &Object) -> Vec<Value> {
    values![
        &o.bucket_id,
        o.key.as_bytes(),
        &o.version_id,
        o.size as i64,
        &o.etag,
        &o.sha1,
        o.created,
        meta_json(&o.meta),
        encode_segments(&o.segments),
        o.seq,
        o.null_version,
    ]
    .to_vec()
}

fn insert_version_row(conn: &dyn Sql, o: &Object) -> Result<()> {
    let mut values = entry_values(o);
    values.extend_from_slice(values![o.marker, o.superseded]);
    conn.defer(
        &format!(
            "INSERT INTO versions ({VERSION_SELECT}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
             ?10, ?11, ?12, ?13)"
        ),
        &values,
    )?;
    Ok(())
}

fn insert_object_row(conn: &dyn Sql, o: &Object) -> Result<()> {
    conn.defer(
        &format!(
            "INSERT INTO objects ({OBJECT_INSERT})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        &entry_values(o),
    )?;
    Ok(())
}

/// Inserts `o` as the key's current version unless the key has one; true when it was
/// inserted. The uniqueness check reads no index page under the transaction's snapshot, so on
/// PostgreSQL it takes no predicate lock: two writes of different new keys that share an index
/// page do not conflict, as they would after reading that page for their keys
/// (`docs/design.md`, "Writing a new key").
fn insert_object_row_if_absent(conn: &dyn Sql, o: &Object) -> Result<bool> {
    let inserted = conn.execute(
        &format!(
            "INSERT INTO objects ({OBJECT_INSERT})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (bucket_id, key) DO NOTHING"
        ),
        &entry_values(o),
    )?;
    Ok(inserted == 1)
}

/// Writes `o` over the key's row in `objects` in place (an overwrite of the current null
/// version): one row changed, where a delete and an insert would change two and count both.
fn replace_object_row(conn: &dyn Sql, o: &Object) -> Result<()> {
    conn.defer(
        "UPDATE objects SET version_id = ?3, size = ?4, etag = ?5, sha1 = ?6, created_ms = ?7,
           meta = ?8, segments = ?9, seq = ?10, is_null = ?11
         WHERE bucket_id = ?1 AND key = ?2",
        &entry_values(o),
    )?;
    Ok(())
}

fn delete_row(conn: &dyn Sql, o: &Object, in_objects: bool) -> Result<()> {
    let sql = if in_objects {
        "DELETE FROM objects WHERE version_id = ?1"
    } else {
        "DELETE FROM versions WHERE version_id = ?1"
    };
    conn.defer(sql, values![&o.version_id])?;
    Ok(())
}

/// Moves the current version from `objects` to `versions`, noncurrent from `at`.
fn demote(conn: &dyn Sql, current: &Object, at: Millis) -> Result<()> {
    delete_row(conn, current, true)?;
    let mut old = current.clone();
    old.superseded = Some(at);
    insert_version_row(conn, &old)
}

/// Marks a current marker noncurrent from `at`.
fn supersede_marker(conn: &dyn Sql, marker: &Object, at: Millis) -> Result<()> {
    conn.defer(
        "UPDATE versions SET superseded_ms = ?2 WHERE version_id = ?1",
        values![&marker.version_id, at],
    )?;
    Ok(())
}

/// Drops what a removed entry holds: its inline bytes go with it; each blob loses one
/// reference, and blobs that lost their last are recorded as garbage and returned.
fn release(conn: &dyn Sql, entry: &Object) -> Result<Vec<String>> {
    if entry.is_inline() {
        conn.defer(
            "DELETE FROM inline_data WHERE version_id = ?1",
            values![&entry.version_id],
        )?;
    }
    let mut garbage = Vec::new();
    for segment in entry.segments.iter().filter(|s| s.blob != INLINE_BLOB) {
        let refs = match conn.first(
            "SELECT refs FROM blob_refs WHERE blob = ?1",
            values![&segment.blob],
        )? {
            Some(mut row) => Some(row.int(0)?),
            None => None,
        };
        match refs {
            Some(n) if n > 2 => {
                conn.defer(
                    "UPDATE blob_refs SET refs = ?2 WHERE blob = ?1",
                    values![&segment.blob, n - 1],
                )?;
            }
            Some(_) => {
                conn.defer(
                    "DELETE FROM blob_refs WHERE blob = ?1",
                    values![&segment.blob],
                )?;
            }
            None => garbage.push(segment.blob.clone()),
        }
    }
    add_garbage(conn, &garbage)?;
    Ok(garbage)
}

/// Adds one reference to each blob of `entry` (a copy now shares them).
fn share(conn: &dyn Sql, entry: &Object) -> Result<()> {
    for segment in entry.segments.iter().filter(|s| s.blob != INLINE_BLOB) {
        conn.defer(
            "INSERT INTO blob_refs (blob, refs) VALUES (?1, 2)
             ON CONFLICT (blob) DO UPDATE SET refs = blob_refs.refs + 1",
            values![&segment.blob],
        )?;
    }
    Ok(())
}

/// Removes an entry (from whichever table holds it) and releases what it holds.
fn remove(conn: &dyn Sql, entry: &Object) -> Result<Vec<String>> {
    let in_objects = !entry.marker && entry.is_current();
    delete_row(conn, entry, in_objects)?;
    release(conn, entry)
}

/// After the current entry was removed: the newest remaining entry becomes current.
fn promote(conn: &dyn Sql, bucket_id: &str, key: &str) -> Result<()> {
    let Some(mut next) = newest_other(conn, bucket_id, key)? else {
        return Ok(());
    };
    if next.marker {
        conn.defer(
            "UPDATE versions SET superseded_ms = NULL WHERE version_id = ?1",
            values![&next.version_id],
        )?;
    } else {
        delete_row(conn, &next, false)?;
        next.superseded = None;
        insert_object_row(conn, &next)?;
    }
    Ok(())
}

/// The history before a write: the current entry (version or marker) and the next seq.
struct Before {
    current: Option<Object>,
    marker_on_top: Option<Object>,
    /// The key has `versions` rows (noncurrent entries or a marker).
    has_history: bool,
    next_seq: i64,
}

fn before(conn: &dyn Sql, bucket_id: &str, key: &str) -> Result<Before> {
    // The `objects` row and the newest `versions` row in one statement (one round trip).
    let rows = conn.query(
        &format!(
            "SELECT {OBJECT_SELECT}, 0 FROM objects WHERE bucket_id = ?1 AND key = ?2
             UNION ALL
             SELECT * FROM (SELECT {VERSION_SELECT}, 1 FROM versions
                            WHERE bucket_id = ?1 AND key = ?2
                            ORDER BY seq DESC LIMIT 1) AS newest"
        ),
        values![bucket_id, key.as_bytes()],
    )?;
    let (mut current, mut newest) = (None, None);
    for mut row in rows {
        // The 14th column says which table the row is from.
        let from_versions = row.int(13)? != 0;
        let entry = entry_from_row(row)?;
        if from_versions {
            newest = Some(entry);
        } else {
            current = Some(entry);
        }
    }
    Ok(Before::of(current, newest))
}

impl Before {
    /// The history from the key's `objects` row and its newest `versions` row.
    fn of(current: Option<Object>, newest: Option<Object>) -> Before {
        let highest = current
            .iter()
            .chain(newest.iter())
            .map(|o| o.seq)
            .max()
            .unwrap_or(0);
        Before {
            has_history: newest.is_some(),
            marker_on_top: newest.filter(|o| o.is_current() && current.is_none()),
            current,
            next_seq: highest + 1,
        }
    }
}

/// Removes the key's null entry (unversioned and suspended writes replace it), wherever it is in
/// the history; returns its garbage and whether it was the current version.
fn drop_null(conn: &dyn Sql, b: &mut Before, bucket_id: &str, key: &str) -> Result<Vec<String>> {
    if let Some(c) = b.current.as_ref().filter(|c| c.null_version) {
        let garbage = remove(conn, c)?;
        b.current = None;
        return Ok(garbage);
    }
    if let Some(m) = b.marker_on_top.as_ref().filter(|m| m.null_version) {
        let garbage = remove(conn, m)?;
        b.marker_on_top = None;
        return Ok(garbage);
    }
    if !b.has_history {
        return Ok(Vec::new());
    }
    match entry(conn, bucket_id, key, &VersionRef::Null)? {
        Some(n) => remove(conn, &n),
        None => Ok(Vec::new()),
    }
}

/// Writes a new version of `object.key` as the bucket's versioning state says, if `condition`
/// holds against the current version; `bucket` and `newest` are what [`put_state`] read in this
/// transaction. Fills in the stored `seq` and `null_version`; returns the version as stored and
/// the blobs that became garbage.
pub(super) fn put(
    conn: &dyn Sql,
    bucket: &WriteState,
    newest: Option<Object>,
    mut object: Object,
    condition: &WriteCondition,
    bytes: &NewBytes,
) -> Result<(Object, Vec<String>)> {
    let state = bucket.versioning;
    match &bucket.lock {
        Some(lock) => {
            object.meta.retention = lock.with_default(object.meta.retention, object.created)
        }
        None if object.meta.retention.is_some() || object.meta.legal_hold => {
            return Err(StoreError::LockNotEnabled)
        }
        None => {}
    }
    let (bucket_id, key) = (object.bucket_id.clone(), object.key.clone());
    // The source's bytes are taken before any row changes (a copy may replace its own source).
    if let NewBytes::SharedWith(source) = bytes {
        let source = by_id(conn, source)?.ok_or(StoreError::NoSuchKey)?;
        if source.marker {
            return Err(StoreError::NoSuchKey);
        }
        if source.is_inline() {
            conn.defer(
                "INSERT INTO inline_data (version_id, data)
                 SELECT ?1, data FROM inline_data WHERE version_id = ?2",
                values![&object.version_id, &source.version_id],
            )?;
        } else {
            share(conn, &source)?;
        }
    }
    object.null_version = state != Versioning::Enabled;
    object.marker = false;
    object.superseded = None;
    let mut garbage = Vec::new();
    // A key with no history (the common case: a new key, or any key of a bucket never
    // versioned) and a condition a missing key meets: insert first, and only if the key turns
    // out to have a current version read it.
    object.seq = 1;
    let inserted = newest.is_none()
        && !matches!(condition, WriteCondition::IfEtag(_))
        && insert_object_row_if_absent(conn, &object)?;
    if !inserted {
        let mut b = Before::of(current(conn, &bucket_id, &key)?, newest);
        check_condition(b.current.as_ref(), condition)?;
        object.seq = b.next_seq;
        match b.current.take() {
            // The new null version replaces the current null one: its row is written in place.
            Some(c) if object.null_version && c.null_version => {
                garbage.extend(release(conn, &c)?);
                replace_object_row(conn, &object)?;
            }
            current => {
                b.current = current;
                if object.null_version {
                    garbage.extend(drop_null(conn, &mut b, &bucket_id, &key)?);
                }
                if let Some(c) = &b.current {
                    demote(conn, c, object.created)?;
                }
                if let Some(m) = &b.marker_on_top {
                    supersede_marker(conn, m, object.created)?;
                }
                insert_object_row(conn, &object)?;
            }
        }
    }
    if let NewBytes::Inline(data) = bytes {
        conn.defer(
            "INSERT INTO inline_data (version_id, data) VALUES (?1, ?2)",
            values![&object.version_id, data],
        )?;
    }
    Ok((object, garbage))
}

/// Deletes the key's current entry as the bucket's versioning state says (S3 DELETE without a
/// version id, B2 hide): `marker_id` names the marker if one is added.
pub(super) fn delete_current(
    conn: &dyn Sql,
    bucket: &WriteState,
    bucket_id: &str,
    key: &str,
    marker_id: &str,
    at: Millis,
) -> Result<(Removal, Vec<String>)> {
    let state = bucket.versioning;
    let mut b = before(conn, bucket_id, key)?;
    let mut removal = Removal::default();
    let mut garbage = Vec::new();
    if state == Versioning::Unversioned {
        if let Some(c) = b.current.take() {
            garbage = remove(conn, &c)?;
            removal.removed = Some(c);
        }
        return Ok((removal, garbage));
    }
    let null_marker = state == Versioning::Suspended;
    if null_marker {
        let was_current = b.current.as_ref().filter(|c| c.null_version).cloned();
        garbage = drop_null(conn, &mut b, bucket_id, key)?;
        removal.removed = was_current;
    }
    if let Some(c) = &b.current {
        demote(conn, c, at)?;
    }
    if let Some(m) = &b.marker_on_top {
        supersede_marker(conn, m, at)?;
    }
    let marker = Object {
        bucket_id: bucket_id.to_owned(),
        key: key.to_owned(),
        version_id: marker_id.to_owned(),
        created: at,
        seq: b.next_seq,
        null_version: null_marker,
        marker: true,
        superseded: None,
        ..Object::default()
    };
    insert_version_row(conn, &marker)?;
    removal.marker = Some(marker);
    Ok((removal, garbage))
}

/// Deletes one entry for good (S3 DELETE with a version id, `b2_delete_file_version`); when it
/// was current, the newest remaining entry becomes current. Returns the entry, if it existed;
/// `ObjectLocked` if its retention or legal hold holds at `now` (governance retention yields to
/// `bypass`).
pub(super) fn delete_version(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
    which: &VersionRef,
    now: Millis,
    bypass: bool,
) -> Result<(Option<Object>, Vec<String>)> {
    let Some(found) = entry(conn, bucket_id, key, which)? else {
        return Ok((None, Vec::new()));
    };
    check_delete(found.meta.lock(), now, bypass).map_err(StoreError::ObjectLocked)?;
    let garbage = remove(conn, &found)?;
    if found.is_current() {
        promote(conn, bucket_id, key)?;
    }
    Ok((Some(found), garbage))
}

/// Removes a current marker with no other entry of its key left (lifecycle's
/// expired-marker cleanup), re-checked here; true if removed.
pub(super) fn remove_lone_marker(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
    version_id: &str,
) -> Result<bool> {
    let Some(m) = top(conn, bucket_id, key)? else {
        return Ok(false);
    };
    if !m.marker || m.version_id != version_id || !only_entry(conn, bucket_id, key, version_id)? {
        return Ok(false);
    }
    remove(conn, &m)?;
    Ok(true)
}

/// Entries after `cursor` and before `end`, in (key ascending, newest first) order.
pub(super) fn scan_versions(
    conn: &dyn Sql,
    bucket_id: &str,
    cursor: &VersionCursor,
    end: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    if let Some(seq) = cursor.seq {
        let same = |table: &str, select: &str| -> Result<Vec<Object>> {
            many(
                conn,
                &format!(
                    "SELECT {select} FROM {table} WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3
                     ORDER BY seq DESC LIMIT ?4"
                ),
                values![bucket_id, &cursor.key, seq, limit as i64],
            )
        };
        let mut rows = same("objects", OBJECT_SELECT)?;
        rows.extend(same("versions", VERSION_SELECT)?);
        rows.sort_by_key(|o| std::cmp::Reverse(o.seq));
        rows.truncate(limit);
        out = rows;
        if out.len() >= limit {
            return Ok(out);
        }
    }
    let op = if cursor.seq.is_none() && cursor.inclusive {
        ">="
    } else {
        ">"
    };
    let wanted = (limit - out.len()) as i64;
    let range = |table: &str, select: &str, order: &str| -> Result<Vec<Object>> {
        match end {
            Some(end) => many(
                conn,
                &format!(
                    "SELECT {select} FROM {table} WHERE bucket_id = ?1 AND key {op} ?2 AND key < ?3
                     ORDER BY {order} LIMIT ?4"
                ),
                values![bucket_id, &cursor.key, end, wanted],
            ),
            None => many(
                conn,
                &format!(
                    "SELECT {select} FROM {table} WHERE bucket_id = ?1 AND key {op} ?2
                     ORDER BY {order} LIMIT ?3"
                ),
                values![bucket_id, &cursor.key, wanted],
            ),
        }
    };
    let current = range("objects", OBJECT_SELECT, "key")?;
    let others = range("versions", VERSION_SELECT, "key, seq DESC")?;
    // Merge two sorted runs by (key ascending, seq descending).
    let (mut a, mut b) = (
        current.into_iter().peekable(),
        others.into_iter().peekable(),
    );
    while out.len() < limit {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                (x.key.as_bytes(), std::cmp::Reverse(x.seq))
                    <= (y.key.as_bytes(), std::cmp::Reverse(y.seq))
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.push(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
    Ok(out)
}

/// Every blob named by an entry's segments, in either table, or waiting in `garbage` for its
/// grace period to pass (the orphan sweep leaves those to the janitor).
pub(super) fn referenced_blobs(
    conn: &dyn Sql,
    set: &mut std::collections::HashSet<String>,
) -> Result<()> {
    for table in ["objects", "versions"] {
        for mut row in conn.query(&format!("SELECT segments FROM {table}"), &[])? {
            set.extend(decode_segments(&row.text(0)?)?.into_iter().map(|s| s.blob));
        }
    }
    for mut row in conn.query("SELECT blob FROM garbage", &[])? {
        set.insert(row.text(0)?);
    }
    Ok(())
}

/// Replaces the metadata of one version (the current one when `which` is `None`) with what
/// `change` makes of it, given the bucket's object lock; returns the entry as found. A marker has
/// no metadata: `NoSuchKey` when current, `NoSuchVersion` when named.
pub(super) fn update_meta(
    conn: &dyn Sql,
    bucket_id: &str,
    key: &str,
    which: Option<&VersionRef>,
    change: &crate::meta::MetaChange,
) -> Result<Object> {
    let found = match which {
        None => current(conn, bucket_id, key)?.ok_or(StoreError::NoSuchKey)?,
        Some(w) => entry(conn, bucket_id, key, w)?.ok_or(StoreError::NoSuchVersion)?,
    };
    if found.marker {
        return Err(StoreError::NoSuchVersion);
    }
    let lock = write_state::read(conn, bucket_id)?.lock;
    let text = meta_json(&change(&found, lock.as_ref())?);
    let table = if found.is_current() {
        "objects"
    } else {
        "versions"
    };
    conn.defer(
        &format!("UPDATE {table} SET meta = ?2 WHERE version_id = ?1"),
        values![&found.version_id, text],
    )?;
    Ok(found)
}
