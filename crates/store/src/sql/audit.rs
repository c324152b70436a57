//! The audit log in SQL: one row per change, written in the change's transaction.

use super::{values, Row, Sql, Value};
use crate::audit::{Actor, AuditEntry, AuditQuery};
use crate::error::{Result, StoreError};
use serde_json::{Map, Value as Json};

/// What a change is about.
pub(crate) struct Change<'a> {
    /// `bucket`, `key` or `caps`.
    pub target: &'a str,
    /// The bucket's name, for a bucket's settings or caps.
    pub bucket: Option<&'a str>,
    /// The account whose thing it is.
    pub owner: Option<&'a str>,
}

/// Records `actor`'s change from `before` to `after` (each an object of settings, or `null`).
pub(crate) fn record(
    conn: &dyn Sql,
    actor: &Actor,
    change: Change<'_>,
    before: &Json,
    after: &Json,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (time_ms, key_id, account, action, remote_addr, target, bucket, owner,
                            before_json, after_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        values![
            crate::now_millis(),
            &actor.key_id,
            &actor.account,
            &actor.action,
            &actor.remote_addr,
            change.target,
            change.bucket,
            change.owner,
            before.to_string(),
            after.to_string()
        ],
    )?;
    Ok(())
}

/// Settings as a JSON object from stored columns: JSON text read as JSON, other text as a
/// string, integers as numbers.
pub(crate) fn columns_json(names: &str, values: &[Value]) -> Json {
    let mut map = Map::new();
    for (name, value) in names.split(',').map(str::trim).zip(values) {
        let v = match value {
            Value::Null => Json::Null,
            Value::Int(i) => Json::from(*i),
            Value::Text(t) => match serde_json::from_str::<Json>(t) {
                Ok(j @ (Json::Object(_) | Json::Array(_))) => j,
                _ => Json::String(t.clone()),
            },
            Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        };
        map.insert(name.to_owned(), v);
    }
    Json::Object(map)
}

/// The fields of two settings objects that differ, as (before, after), leaving out `skip`.
pub(crate) fn diff(before: &Json, after: &Json, skip: &[&str]) -> (Json, Json) {
    let (Json::Object(b), Json::Object(a)) = (before, after) else {
        return (before.clone(), after.clone());
    };
    let mut was = Map::new();
    let mut now = Map::new();
    for (k, v) in a {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let old = b.get(k).cloned().unwrap_or(Json::Null);
        if &old != v {
            was.insert(k.clone(), old);
            now.insert(k.clone(), v.clone());
        }
    }
    (Json::Object(was), Json::Object(now))
}

fn entry_from_row(mut row: Row) -> Result<AuditEntry> {
    let json = |t: String| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("an audit row: {e}")))
    };
    Ok(AuditEntry {
        n: row.int(0)?,
        time: row.int(1)?,
        actor: Actor {
            key_id: row.opt_text(2)?,
            account: row.opt_text(3)?,
            action: row.text(4)?,
            remote_addr: row.opt_text(5)?,
        },
        target: row.text(6)?,
        bucket: row.opt_text(7)?,
        owner: row.opt_text(8)?,
        before: json(row.text(9)?)?,
        after: json(row.text(10)?)?,
    })
}

/// Entries as `query` asks, newest first.
pub(crate) fn list(conn: &dyn Sql, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
    conn.query(
        "SELECT n, time_ms, key_id, account, action, remote_addr, target, bucket, owner,
                before_json, after_json
         FROM audit
         WHERE (CAST(?1 AS TEXT) IS NULL OR bucket = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR account = ?2 OR owner = ?2)
           AND n < ?3
         ORDER BY n DESC LIMIT ?4",
        values![
            &query.bucket,
            &query.account,
            query.before.unwrap_or(i64::MAX),
            query.limit.min(i64::MAX as usize) as i64
        ],
    )?
    .into_iter()
    .map(entry_from_row)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_keeps_only_what_changed() {
        let before = serde_json::json!({"policy": null, "versioning": 0, "revision": 1});
        let after = serde_json::json!({"policy": {"Version": "2012-10-17"}, "versioning": 0, "revision": 2});
        let (was, now) = diff(&before, &after, &["revision"]);
        assert_eq!(was, serde_json::json!({"policy": null}));
        assert_eq!(
            now,
            serde_json::json!({"policy": {"Version": "2012-10-17"}})
        );
    }

    #[test]
    fn columns_read_json_text_as_json() {
        let j = columns_json(
            "cors, tags, public",
            &[
                Value::Text("<CORSConfiguration/>".into()),
                Value::Text("{\"a\":\"b\"}".into()),
                Value::Int(1),
            ],
        );
        assert_eq!(
            j,
            serde_json::json!({"cors": "<CORSConfiguration/>", "tags": {"a": "b"}, "public": 1})
        );
    }
}
