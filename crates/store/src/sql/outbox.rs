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

/// A bucket's rules from their stored text (`NULL`: none); a text that does not read is
/// `Corrupt`.
pub(crate) fn rules_from(text: Option<String>) -> Result<Vec<NotificationRule>> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("bucket notification rules: {e}"))),
    }
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
    rules_from(row.opt_text(0)?)
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
    etag: &str,
    sequencer: i64,
) -> Result<()> {
    let now = crate::now_millis();
    conn.defer(
        "INSERT INTO events (id, rule, bucket_id, key, version_id, kind, size, etag, sequencer,
                             at_ms, attempts, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, '')",
        values![
            crate::new_id(),
            rule,
            bucket_id,
            key,
            version_id,
            kind.s3_name(),
            size as i64,
            etag,
            sequencer,
            now
        ],
    )?;
    Ok(())
}

/// Records `kind` happening to `entry` (the version or marker made, or the entry removed) for
/// every active rule of its bucket that selects it. Runs inside the change's transaction.
pub(crate) fn record(conn: &dyn Sql, kind: EventKind, entry: &Object) -> Result<()> {
    record_for(conn, &rules_of(conn, &entry.bucket_id)?, kind, entry)
}

/// As [`record`], with the bucket's rules already read (`write_state::read`).
pub(crate) fn record_for(
    conn: &dyn Sql,
    rules: &[NotificationRule],
    kind: EventKind,
    entry: &Object,
) -> Result<()> {
    for rule in rules
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
            if entry.marker { "" } else { &entry.etag },
            entry.seq,
        )?;
    }
    Ok(())
}

/// Queues the test event for a rule just saved.
pub(crate) fn record_test(conn: &dyn Sql, bucket_id: &str, rule: &str) -> Result<()> {
    insert(conn, rule, bucket_id, "", "", EventKind::Test, 0, "", 0)
}

/// Queues a test event for the bucket's rule `rule`, if it has one (true) and it is active.
pub(crate) fn queue_test(conn: &dyn Sql, bucket_id: &str, rule: &str) -> Result<bool> {
    let found = rules_of(conn, bucket_id)?
        .into_iter()
        .any(|r| r.name == rule && r.is_active());
    if found {
        record_test(conn, bucket_id, rule)?;
    }
    Ok(found)
}

fn event_from_row(mut row: Row) -> Result<(Event, u32)> {
    let kind_name = row.text(5)?;
    let kind = EventKind::from_s3_name(&kind_name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind_name:?}")))?;
    let event = Event {
        id: row.text(0)?,
        rule: row.text(1)?,
        bucket_id: row.text(2)?,
        key: row.text(3)?,
        version_id: row.text(4)?,
        kind,
        size: u64::try_from(row.int(6)?).unwrap_or(0),
        etag: row.text(7)?,
        sequencer: row.int(8)?,
        at_ms: row.int(9)?,
    };
    Ok((event, u32::try_from(row.int(10)?).unwrap_or(u32::MAX)))
}

/// Every rule of every bucket that has rules, as (bucket id, rule name).
fn all_rules(conn: &dyn Sql) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for mut row in conn.query(
        "SELECT id, notifications FROM buckets WHERE notifications IS NOT NULL",
        &[],
    )? {
        let id = row.text(0)?;
        let rules: Vec<NotificationRule> = serde_json::from_str(&row.text(1)?)
            .map_err(|e| StoreError::Corrupt(format!("bucket notification rules: {e}")))?;
        out.extend(rules.into_iter().map(|r| (id.clone(), r.name)));
    }
    Ok(out)
}

/// Up to `limit` events due at `now`: for each rule not paused by a failed delivery, its oldest
/// events in the order they were recorded (one index range per rule; a paused rule's backlog
/// is never read).
pub(crate) fn due(conn: &dyn Sql, now: i64, limit: usize) -> Result<Vec<(Event, u32)>> {
    let paused: Vec<(String, String)> = conn
        .query(
            "SELECT bucket_id, rule FROM event_pauses WHERE until_ms > ?1",
            values![now],
        )?
        .into_iter()
        .map(|mut row| Ok((row.text(0)?, row.text(1)?)))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (bucket_id, rule) in all_rules(conn)? {
        if out.len() >= limit || paused.contains(&(bucket_id.clone(), rule.clone())) {
            continue;
        }
        let rows = conn.query(
            "SELECT id, rule, bucket_id, key, version_id, kind, size, etag, sequencer, at_ms,
                    attempts
             FROM events WHERE bucket_id = ?1 AND rule = ?2 ORDER BY n LIMIT ?3",
            values![&bucket_id, &rule, (limit - out.len()) as i64],
        )?;
        for row in rows {
            out.push(event_from_row(row)?);
        }
    }
    Ok(out)
}

/// Forgets events, up to a hundred per statement.
pub(crate) fn remove(conn: &dyn Sql, ids: &[String]) -> Result<()> {
    for chunk in ids.chunks(100) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let params: Vec<super::Value> = chunk.iter().map(super::Value::from).collect();
        conn.execute(
            &format!("DELETE FROM events WHERE id IN ({})", marks.join(", ")),
            &params,
        )?;
    }
    Ok(())
}

/// Counts a failed attempt on the postponed events and pauses their rule (all its events)
/// until `next_ms`.
pub(crate) fn postpone(conn: &dyn Sql, p: &pier_events::Postponed) -> Result<()> {
    for id in &p.ids {
        conn.execute(
            "UPDATE events SET attempts = attempts + 1, error = ?2 WHERE id = ?1",
            values![id, &p.error],
        )?;
    }
    conn.execute(
        "INSERT INTO event_pauses (bucket_id, rule, until_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (bucket_id, rule) DO UPDATE SET until_ms = ?3",
        values![&p.bucket_id, &p.rule, p.next_ms],
    )?;
    Ok(())
}

/// Drops the events recorded before `cutoff`, those of rules that no longer exist, and pauses
/// that ended before `cutoff`; how many events per rule, with the last error.
pub(crate) fn expire(conn: &dyn Sql, cutoff: i64) -> Result<Vec<Expired>> {
    conn.execute(
        "DELETE FROM event_pauses WHERE until_ms < ?1",
        values![cutoff],
    )?;
    let rules = all_rules(conn)?;
    let mut gone = Vec::new();
    for mut row in conn.query(
        "SELECT bucket_id, rule, count(*), max(error), min(at_ms) FROM events
         GROUP BY bucket_id, rule",
        &[],
    )? {
        let (bucket_id, rule) = (row.text(0)?, row.text(1)?);
        let count = u64::try_from(row.int(2)?).unwrap_or(0);
        let last_error = row.opt_text(3)?.unwrap_or_default();
        let oldest = row.int(4)?;
        if !rules.contains(&(bucket_id.clone(), rule.clone())) {
            conn.execute(
                "DELETE FROM events WHERE bucket_id = ?1 AND rule = ?2",
                values![&bucket_id, &rule],
            )?;
            gone.push(Expired {
                bucket_id,
                rule,
                count,
                last_error: "the rule was removed".into(),
                rule_gone: true,
            });
        } else if oldest < cutoff {
            let dropped = conn.execute(
                "DELETE FROM events WHERE bucket_id = ?1 AND rule = ?2 AND at_ms < ?3",
                values![&bucket_id, &rule, cutoff],
            )?;
            gone.push(Expired {
                bucket_id,
                rule,
                count: dropped,
                last_error,
                rule_gone: false,
            });
        }
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
