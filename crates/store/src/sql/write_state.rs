//! What a write needs to know of its bucket, read in one statement inside the write: its
//! versioning state, object lock, notification rules, and whether a storage cap applies. One
//! round trip instead of three matters on PostgreSQL, where each statement is one
//! (`docs/scale.md`, "Work per request"); a write of one key reads it in the same round trip as
//! the key's newest version (`history::put_state`).

use super::{Row, Sql, Value};
use crate::error::{Result, StoreError};
use crate::lock::ObjectLock;
use crate::types::Versioning;
use crate::usage::CapScope;
use pier_events::NotificationRule;

/// A bucket as a write inside one transaction sees it.
pub(super) struct WriteState {
    /// The versioning state.
    pub(super) versioning: Versioning,
    /// The object lock, when on.
    pub(super) lock: Option<ObjectLock>,
    /// The bucket's event notification rules (active or not).
    pub(super) rules: Vec<NotificationRule>,
    /// A storage or object cap applies to the bucket or its owner: a write that adds bytes
    /// must be checked against it (`usage::check_storage`).
    pub(super) capped: bool,
}

/// The statement that reads the state (`?1` the bucket's id, `?2` its cap scope, as
/// [`params`] gives them), one row as [`from_row`] reads it.
pub(super) const SQL: &str = "SELECT versioning, object_lock, notifications,
        EXISTS (SELECT 1 FROM caps
                WHERE (storage IS NOT NULL OR objects IS NOT NULL)
                  AND (scope = ?2 OR scope = 'account:' || buckets.owner))
     FROM buckets WHERE id = ?1";

/// The parameters of [`SQL`].
pub(super) fn params(bucket_id: &str) -> [Value; 2] {
    [
        Value::from(bucket_id),
        Value::from(CapScope::Bucket(bucket_id.to_owned()).key()),
    ]
}

/// The bucket's state for a write; `NoSuchBucket` if it is gone.
pub(super) fn read(conn: &dyn Sql, bucket_id: &str) -> Result<WriteState> {
    from_rows(conn.query(SQL, &params(bucket_id))?, bucket_id)
}

/// The state in [`SQL`]'s answer (its rows, for a caller that sent it with another statement);
/// `NoSuchBucket` when it has no row.
pub(super) fn from_rows(rows: Vec<Row>, bucket_id: &str) -> Result<WriteState> {
    let mut row = rows.into_iter().next().ok_or(StoreError::NoSuchBucket)?;
    from_row(&mut row, bucket_id)
}

/// The state in a row of [`SQL`].
fn from_row(row: &mut Row, bucket_id: &str) -> Result<WriteState> {
    let code = row.int(0)?;
    let versioning = Versioning::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("bucket {bucket_id} versioning {code}")))?;
    let lock = match row.opt_text(1)? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("bucket {bucket_id} object lock: {e}")))?,
        ),
    };
    Ok(WriteState {
        versioning,
        lock,
        rules: super::outbox::rules_from(row.opt_text(2)?)?,
        capped: row.int(3)? != 0,
    })
}

/// The bucket's state in `slot`, read into it first if it is empty: for a transaction that
/// writes to one bucket several times (a lifecycle batch).
pub(super) fn read_once<'a>(
    slot: &'a mut Option<WriteState>,
    conn: &dyn Sql,
    bucket_id: &str,
) -> Result<&'a WriteState> {
    if slot.is_none() {
        *slot = Some(read(conn, bucket_id)?);
    }
    Ok(slot.as_ref().expect("read above"))
}
