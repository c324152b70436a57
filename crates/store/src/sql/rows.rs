//! How an entry's fields sit in a row: its segment list and metadata as stored text, and the
//! garbage list every write that releases blobs adds to. Shared by the metadata's queries
//! (`meta`) and the history's writes (`history`).

use super::{values, Sql};
use crate::error::{Result, StoreError};
use crate::types::{ObjectMeta, Segment};

pub(crate) fn encode_segments(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| format!("{}:{}", s.blob, s.size))
        .collect::<Vec<_>>()
        .join(";")
}

/// Decodes a stored segment list; a list that does not decode is corruption, never a shorter
/// object.
pub(crate) fn decode_segments(text: &str) -> Result<Vec<Segment>> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (blob, size) = s
                .split_once(':')
                .filter(|(blob, _)| !blob.is_empty())
                .ok_or_else(|| StoreError::Corrupt(format!("segment {s:?} has no size")))?;
            let size = size
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("segment {s:?} has a bad size")))?;
            Ok(Segment {
                blob: blob.to_owned(),
                size,
            })
        })
        .collect()
}

pub(crate) fn meta_json(meta: &ObjectMeta) -> String {
    serde_json::to_string(meta).expect("object metadata serializes")
}

pub(crate) fn parse_meta(text: &str) -> Result<ObjectMeta> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("object metadata: {e}")))
}

/// Records blobs the transaction released as garbage, dated now: the janitor removes them once
/// the grace period has passed (`docs/design.md`, "Reading").
pub(crate) fn add_garbage(conn: &dyn Sql, blobs: &[String]) -> Result<()> {
    let now = crate::now_millis();
    for blob in blobs {
        conn.execute(
            "INSERT INTO garbage (blob, since_ms) VALUES (?1, ?2) ON CONFLICT (blob) DO NOTHING",
            values![blob, now],
        )?;
    }
    Ok(())
}
