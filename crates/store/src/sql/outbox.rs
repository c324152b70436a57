//! The events outbox (`docs/design.md`, "Events"): a change's events are inserted by the
//! transaction that makes the change, one row per matching rule; the dispatcher reads them in
//! order, removes what was delivered and postpones what was not.

use super::{values, Row, Sql};
use crate::error::{Result, StoreError};
use crate::types::Object;
use pier_events::dispatch::Expired;
use pier_events::{Event, EventKind, NotificationRule};

/// The stored text of a rule list (`NULL` when empty).
pub(crate) fn rules_json(rules: &[NotificationRule]) -> Option<String> {
    (!rules.is_empty()).then(|| serde_json::to_string(rules).expect("rules serialize"))
}

/// A bucket's rules, read inside the transaction of a change.
fn rules_of(conn: &dyn Sql, bucket_id: &str) -> Result<Vec<NotificationRule>> {
    let Some(mut row) = conn.first(
        "SELECT notifications FROM buckets WHERE id = ?1",
        values![bucket_id],
    )?
    else {
        return Ok(Vec::new());
    };
    match row.opt_text(0)? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("bucket notification rules: {e}"))),
    }
}

#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &dyn Sql,
    rule: &str,
    bucket_id: &str,
    key: &str,
    version_id: &str,
    kind: EventKind,
    size: u64,
    sequencer: i64,
) -> Result<()> {
    let now = crate::now_millis();
    conn.execute(
        "INSERT INTO events (id, rule, bucket_id, key, version_id, kind, size, sequencer, at_ms,
                             attempts, next_ms, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?9, '')",
        values![
            crate::new_id(),
            rule,
            bucket_id,
            key,
            version_id,
            kind.b2_name(),
            size as i64,
            sequencer,
            now
        ],
    )?;
    Ok(())
}

/// Records `kind` happening to `entry` (the version or marker made, or the entry removed) for
/// every active rule of its bucket that selects it. Runs inside the change's transaction.
pub(crate) fn record(conn: &dyn Sql, kind: EventKind, entry: &Object) -> Result<()> {
    for rule in rules_of(conn, &entry.bucket_id)?
        .iter()
        .filter(|r| r.is_active() && r.selects(kind, &entry.key))
    {
        insert(
            conn,
            &rule.name,
            &entry.bucket_id,
            &entry.key,
            &entry.version_id,
            kind,
            if entry.marker { 0 } else { entry.size },
            entry.seq,
        )?;
    }
    Ok(())
}

/// Queues the test event for a rule just saved.
pub(crate) fn record_test(conn: &dyn Sql, bucket_id: &str, rule: &str) -> Result<()> {
    insert(conn, rule, bucket_id, "", "", EventKind::Test, 0, 0)
}

fn event_from_row(mut row: Row) -> Result<(Event, u32)> {
    let kind_name = row.text(5)?;
    let kind = EventKind::from_b2_name(&kind_name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind_name:?}")))?;
    let event = Event {
        id: row.text(0)?,
        rule: row.text(1)?,
        bucket_id: row.text(2)?,
        key: row.text(3)?,
        version_id: row.text(4)?,
        kind,
        size: u64::try_from(row.int(6)?).unwrap_or(0),
        sequencer: row.int(7)?,
        at_ms: row.int(8)?,
    };
    Ok((event, u32::try_from(row.int(9)?).unwrap_or(u32::MAX)))
}

/// Up to `limit` events due at `now`, in the order they were recorded.
pub(crate) fn due(conn: &dyn Sql, now: i64, limit: usize) -> Result<Vec<(Event, u32)>> {
    conn.query(
        "SELECT id, rule, bucket_id, key, version_id, kind, size, sequencer, at_ms, attempts
         FROM events WHERE next_ms <= ?1 ORDER BY n LIMIT ?2",
        values![now, limit as i64],
    )?
    .into_iter()
    .map(event_from_row)
    .collect()
}

/// Forgets events.
pub(crate) fn remove(conn: &dyn Sql, ids: &[String]) -> Result<()> {
    for id in ids {
        conn.execute("DELETE FROM events WHERE id = ?1", values![id])?;
    }
    Ok(())
}

/// Counts a failed attempt on `ids` and makes the rule's every pending event wait for `next`.
pub(crate) fn postpone(
    conn: &dyn Sql,
    bucket_id: &str,
    rule: &str,
    ids: &[String],
    next: i64,
    error: &str,
) -> Result<()> {
    for id in ids {
        conn.execute(
            "UPDATE events SET attempts = attempts + 1, error = ?2 WHERE id = ?1",
            values![id, error],
        )?;
    }
    conn.execute(
        "UPDATE events SET next_ms = ?3 WHERE bucket_id = ?1 AND rule = ?2 AND next_ms < ?3",
        values![bucket_id, rule, next],
    )?;
    Ok(())
}

/// Drops the events recorded before `cutoff`; how many per rule, with the last error.
pub(crate) fn expire(conn: &dyn Sql, cutoff: i64) -> Result<Vec<Expired>> {
    let gone = conn
        .query(
            "SELECT bucket_id, rule, count(*), max(error) FROM events WHERE at_ms < ?1
             GROUP BY bucket_id, rule",
            values![cutoff],
        )?
        .into_iter()
        .map(|mut row| {
            Ok(Expired {
                bucket_id: row.text(0)?,
                rule: row.text(1)?,
                count: u64::try_from(row.int(2)?).unwrap_or(0),
                last_error: row.opt_text(3)?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if !gone.is_empty() {
        conn.execute("DELETE FROM events WHERE at_ms < ?1", values![cutoff])?;
    }
    Ok(gone)
}

/// Marks a rule suspended, with its reason (the bucket's revision is not a rule's concern).
pub(crate) fn suspend(conn: &dyn Sql, bucket_id: &str, rule: &str, reason: &str) -> Result<()> {
    let mut rules = rules_of(conn, bucket_id)?;
    let Some(found) = rules.iter_mut().find(|r| r.name == rule) else {
        return Ok(());
    };
    found.is_suspended = true;
    found.suspension_reason = reason.to_owned();
    conn.execute(
        "UPDATE buckets SET notifications = ?2 WHERE id = ?1",
        values![bucket_id, rules_json(&rules)],
    )?;
    Ok(())
}

/// How many events wait, and when the oldest was recorded.
pub(crate) fn backlog(conn: &dyn Sql) -> Result<(u64, Option<i64>)> {
    let mut row = conn
        .first("SELECT count(*), min(at_ms) FROM events", &[])?
        .ok_or_else(|| StoreError::Database("count(*) returned no row".into()))?;
    let count = u64::try_from(row.int(0)?).unwrap_or(0);
    let oldest = if count == 0 { None } else { Some(row.int(1)?) };
    Ok((count, oldest))
}
