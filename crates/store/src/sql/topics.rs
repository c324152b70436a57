//! Topics (`pier_events::topic`): one row per (account, name), its attributes as JSON.

use super::{values, Row, Sql};
use crate::error::{Result, StoreError};
use pier_events::Topic;

fn topic_from_row(mut row: Row) -> Result<Topic> {
    let (account_id, name, attributes) = (row.text(0)?, row.text(1)?, row.text(2)?);
    let attributes = serde_json::from_str(&attributes)
        .map_err(|e| StoreError::Corrupt(format!("topic {name:?} attributes: {e}")))?;
    Ok(Topic {
        account_id,
        name,
        attributes,
    })
}

/// Creates the topic, or replaces the attributes of the one with its name.
pub(crate) fn put(conn: &dyn Sql, topic: &Topic) -> Result<()> {
    let attributes = serde_json::to_string(&topic.attributes).expect("attributes serialize");
    conn.execute(
        "DELETE FROM topics WHERE account_id = ?1 AND name = ?2",
        values![&topic.account_id, &topic.name],
    )?;
    conn.execute(
        "INSERT INTO topics (account_id, name, attributes) VALUES (?1, ?2, ?3)",
        values![&topic.account_id, &topic.name, &attributes],
    )?;
    Ok(())
}

/// The topic, if the account has one by that name.
pub(crate) fn get(conn: &dyn Sql, account_id: &str, name: &str) -> Result<Option<Topic>> {
    conn.first(
        "SELECT account_id, name, attributes FROM topics WHERE account_id = ?1 AND name = ?2",
        values![account_id, name],
    )?
    .map(topic_from_row)
    .transpose()
}

/// The account's topics, by name.
pub(crate) fn list(conn: &dyn Sql, account_id: &str) -> Result<Vec<Topic>> {
    conn.query(
        "SELECT account_id, name, attributes FROM topics WHERE account_id = ?1 ORDER BY name",
        values![account_id],
    )?
    .into_iter()
    .map(topic_from_row)
    .collect()
}

/// Deletes the topic; true if it existed.
pub(crate) fn delete(conn: &dyn Sql, account_id: &str, name: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM topics WHERE account_id = ?1 AND name = ?2",
        values![account_id, name],
    )? > 0)
}
