//! Usage counters and caps in SQL (`docs/design.md`, "Usage and caps"). The counters in
//! `bucket_usage` are kept by each engine's triggers; this module reads them, recounts them
//! from the rows, keeps the caps and checks them inside a write's transaction.

use super::{values, Row, Sql};
use crate::error::{Result, StoreError};
use crate::usage::{CapExceeded, CapKind, CapScope, Caps, Usage};

/// The counters summed, as six `BIGINT`s (PostgreSQL's `sum` of `BIGINT` is `NUMERIC`).
const SUMS: &str =
    "CAST(coalesce(sum(objects), 0) AS BIGINT), CAST(coalesce(sum(bytes), 0) AS BIGINT),
     CAST(coalesce(sum(versions), 0) AS BIGINT), CAST(coalesce(sum(version_bytes), 0) AS BIGINT),
     CAST(coalesce(sum(uploads), 0) AS BIGINT), CAST(coalesce(sum(part_bytes), 0) AS BIGINT)";

/// Every row's contribution to the counters, by bucket, from the rows themselves: what the
/// triggers keep, computed afresh (an open's first count).
pub(crate) fn recount_select() -> String {
    format!(
        "SELECT bucket_id, {SUMS} FROM (
           SELECT bucket_id, 1 AS objects, size AS bytes, 1 AS versions,
                  size AS version_bytes, 0 AS uploads, 0 AS part_bytes FROM objects
           UNION ALL
           SELECT bucket_id, 0, 0, 1, size, 0, 0 FROM versions WHERE marker = 0
           UNION ALL
           SELECT bucket_id, 0, 0, 0, 0, 1, 0 FROM uploads
           UNION ALL
           SELECT uploads.bucket_id, 0, 0, 0, 0, 0, parts.size
             FROM parts JOIN uploads ON uploads.upload_id = parts.upload_id
         ) AS counted GROUP BY bucket_id"
    )
}

/// The counters' columns, as both tables have them.
const COUNTERS: &str = "objects, bytes, versions, version_bytes, uploads, part_bytes";

/// The rows of the compacted counters and of the changes since, of the buckets `which` selects
/// (a condition on `bucket_id`).
fn counted(which: &str) -> String {
    format!(
        "(SELECT bucket_id, {COUNTERS} FROM bucket_usage WHERE {which}
          UNION ALL
          SELECT bucket_id, {COUNTERS} FROM usage_deltas WHERE {which}) AS counted"
    )
}

fn usage_from_row(mut row: Row, first: usize) -> Result<Usage> {
    let mut n = |i: usize| -> Result<u64> { Ok(row.int(first + i)?.max(0) as u64) };
    Ok(Usage {
        objects: n(0)?,
        bytes: n(1)?,
        versions: n(2)?,
        version_bytes: n(3)?,
        uploads: n(4)?,
        part_bytes: n(5)?,
    })
}

fn one_usage(conn: &dyn Sql, sql: &str, param: &str) -> Result<Usage> {
    let row = conn
        .first(sql, values![param])?
        .ok_or_else(|| StoreError::Database("an aggregate returned no row".into()))?;
    usage_from_row(row, 0)
}

/// A bucket's counters.
pub(crate) fn of_bucket(conn: &dyn Sql, bucket_id: &str) -> Result<Usage> {
    one_usage(
        conn,
        &format!("SELECT {SUMS} FROM {}", counted("bucket_id = ?1")),
        bucket_id,
    )
}

/// An account's counters: the sum over the buckets it owns.
pub(crate) fn of_account(conn: &dyn Sql, account: &str) -> Result<Usage> {
    one_usage(
        conn,
        &format!(
            "SELECT {SUMS} FROM {}",
            counted("bucket_id IN (SELECT id FROM buckets WHERE owner = ?1)")
        ),
        account,
    )
}

/// Every bucket's counters, by bucket id (buckets holding nothing may be absent).
pub(crate) fn all(conn: &dyn Sql) -> Result<Vec<(String, Usage)>> {
    conn.query(
        &format!(
            "SELECT bucket_id, {SUMS} FROM {} GROUP BY bucket_id",
            counted("1 = 1")
        ),
        &[],
    )?
    .into_iter()
    .map(|mut row| Ok((row.text(0)?, usage_from_row(row, 1)?)))
    .collect()
}

/// A bucket's usage counted from its rows (no counters), to check the counters against.
pub(crate) fn recount(conn: &dyn Sql, bucket_id: &str) -> Result<Usage> {
    one_usage(
        conn,
        "SELECT
           (SELECT count(*) FROM objects WHERE bucket_id = ?1),
           (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM objects WHERE bucket_id = ?1),
           (SELECT count(*) FROM objects WHERE bucket_id = ?1)
             + (SELECT count(*) FROM versions WHERE bucket_id = ?1 AND marker = 0),
           (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM objects WHERE bucket_id = ?1)
             + (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM versions
                WHERE bucket_id = ?1 AND marker = 0),
           (SELECT count(*) FROM uploads WHERE bucket_id = ?1),
           (SELECT CAST(coalesce(sum(parts.size), 0) AS BIGINT)
              FROM parts JOIN uploads ON uploads.upload_id = parts.upload_id
              WHERE uploads.bucket_id = ?1)",
        bucket_id,
    )
}

/// Folds the changes recorded so far into the compacted counters, in one transaction, so
/// readings sum a few rows (the janitor does it at each round). Returns how many it folded.
pub(crate) fn compact(conn: &dyn Sql) -> Result<u64> {
    let Some(last) = conn
        .first("SELECT max(n) FROM usage_deltas", &[])?
        .map(|mut r| r.opt_int(0))
        .transpose()?
        .flatten()
    else {
        return Ok(0);
    };
    conn.execute(
        &format!(
            "INSERT INTO bucket_usage AS c (bucket_id, {COUNTERS})
             SELECT bucket_id, {SUMS} FROM usage_deltas WHERE n <= ?1 GROUP BY bucket_id
             ON CONFLICT (bucket_id) DO UPDATE SET
               objects = c.objects + excluded.objects, bytes = c.bytes + excluded.bytes,
               versions = c.versions + excluded.versions,
               version_bytes = c.version_bytes + excluded.version_bytes,
               uploads = c.uploads + excluded.uploads,
               part_bytes = c.part_bytes + excluded.part_bytes"
        ),
        values![last],
    )?;
    conn.execute("DELETE FROM usage_deltas WHERE n <= ?1", values![last])
}

/// The caps of one scope (none set: all `None`).
pub(crate) fn caps(conn: &dyn Sql, scope: &CapScope) -> Result<Caps> {
    Ok(conn
        .first(
            "SELECT storage, objects, transactions FROM caps WHERE scope = ?1",
            values![scope.key()],
        )?
        .map(|row| caps_from_row(row, 0))
        .transpose()?
        .unwrap_or_default())
}

/// The caps in columns `first..first + 3` of `row`.
fn caps_from_row(mut row: Row, first: usize) -> Result<Caps> {
    let mut n =
        |i: usize| -> Result<Option<u64>> { Ok(row.opt_int(first + i)?.map(|v| v.max(0) as u64)) };
    Ok(Caps {
        storage: n(0)?,
        objects: n(1)?,
        transactions_per_day: n(2)?,
    })
}

/// Sets (or, when every cap is `None`, removes) a scope's caps.
pub(crate) fn set_caps(conn: &dyn Sql, scope: &CapScope, caps: Caps) -> Result<()> {
    conn.execute("DELETE FROM caps WHERE scope = ?1", values![scope.key()])?;
    if !caps.is_empty() {
        let n = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
        conn.execute(
            "INSERT INTO caps (scope, storage, objects, transactions) VALUES (?1, ?2, ?3, ?4)",
            values![
                scope.key(),
                n(caps.storage),
                n(caps.objects),
                n(caps.transactions_per_day)
            ],
        )?;
    }
    Ok(())
}

/// Every scope with caps (rows whose scope does not read are left out).
pub(crate) fn all_caps(conn: &dyn Sql) -> Result<Vec<(CapScope, Caps)>> {
    let mut out = Vec::new();
    for mut row in conn.query(
        "SELECT scope, storage, objects, transactions FROM caps ORDER BY scope",
        &[],
    )? {
        if let Some(scope) = CapScope::parse(&row.text(0)?) {
            out.push((scope, caps_from_row(row, 1)?));
        }
    }
    Ok(out)
}

/// Inside a write that added bytes or an entry to `bucket_id`: refuses it (`CapExceeded`) when
/// the bucket or its owner is now over a storage or object cap. One indexed read when no cap
/// applies.
pub(crate) fn check_storage(conn: &dyn Sql, bucket_id: &str) -> Result<()> {
    let rows = conn.query(
        "SELECT scope, storage, objects, (SELECT name FROM buckets WHERE id = ?2) FROM caps
         WHERE (storage IS NOT NULL OR objects IS NOT NULL)
           AND (scope = ?1 OR scope = (SELECT 'account:' || owner FROM buckets WHERE id = ?2))",
        values![CapScope::Bucket(bucket_id.to_owned()).key(), bucket_id],
    )?;
    for mut row in rows {
        let Some(scope) = CapScope::parse(&row.text(0)?) else {
            continue;
        };
        let (storage, objects) = (row.opt_int(1)?, row.opt_int(2)?);
        let bucket_name = row.opt_text(3)?.unwrap_or_else(|| bucket_id.to_owned());
        let usage = match &scope {
            CapScope::Bucket(id) => of_bucket(conn, id)?,
            CapScope::Account(id) => of_account(conn, id)?,
        };
        let name = match &scope {
            CapScope::Account(id) => id.clone(),
            CapScope::Bucket(_) => bucket_name,
        };
        let over = |kind, limit: Option<i64>, used: u64| match limit {
            Some(limit) if used > limit.max(0) as u64 => Some(CapExceeded {
                kind,
                scope: scope.clone(),
                name: name.clone(),
                limit: limit.max(0) as u64,
            }),
            _ => None,
        };
        if let Some(e) = over(CapKind::Storage, storage, usage.storage())
            .or_else(|| over(CapKind::Objects, objects, usage.versions))
        {
            return Err(StoreError::CapExceeded(e));
        }
    }
    Ok(())
}

/// Counts one request of `day` (days since the epoch, UTC) against a scope's daily cap of
/// `limit`: true when it fits (and is counted), false when the cap is reached.
pub(crate) fn count_transaction(
    conn: &dyn Sql,
    scope: &CapScope,
    day: i64,
    limit: u64,
) -> Result<bool> {
    let key = scope.key();
    let used = conn
        .first(
            "SELECT n FROM transaction_counts WHERE scope = ?1 AND day = ?2",
            values![&key, day],
        )?
        .map(|mut r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    if used.max(0) as u64 >= limit {
        return Ok(false);
    }
    conn.execute(
        "DELETE FROM transaction_counts WHERE scope = ?1 AND day < ?2",
        values![&key, day],
    )?;
    conn.execute(
        "INSERT INTO transaction_counts (scope, day, n) VALUES (?1, ?2, 1)
         ON CONFLICT (scope, day) DO UPDATE SET n = transaction_counts.n + 1",
        values![&key, day],
    )?;
    Ok(true)
}

/// Requests counted today against a scope's transaction cap.
pub(crate) fn transactions(conn: &dyn Sql, scope: &CapScope, day: i64) -> Result<u64> {
    Ok(conn
        .first(
            "SELECT n FROM transaction_counts WHERE scope = ?1 AND day = ?2",
            values![scope.key(), day],
        )?
        .map(|mut r| r.int(0))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}
