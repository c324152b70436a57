//! How an entry's fields sit in a row: its segment list and metadata as stored text, and the
//! garbage list every write that releases blobs adds to. Shared by the metadata's queries
//! (`meta`) and the history's writes (`history`).

use super::{values, Sql};
use crate::error::{Result, StoreError};
use crate::types::{ObjectMeta, Segment};

/// An entry's segment list as stored: a JSON array of `{"blob", "size"}` objects.
pub(crate) fn encode_segments(segments: &[Segment]) -> String {
    serde_json::to_string(segments).expect("segments serialize")
}

/// Decodes a stored segment list; a list that does not decode (or names an empty blob) is
/// corruption, never a shorter object.
pub(crate) fn decode_segments(text: &str) -> Result<Vec<Segment>> {
    let segments: Vec<Segment> = serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("segment list {text:?}: {e}")))?;
    match segments.iter().find(|s| s.blob.is_empty()) {
        Some(s) => Err(StoreError::Corrupt(format!(
            "a segment of {} bytes names no blob",
            s.size
        ))),
        None => Ok(segments),
    }
}

/// Decodes the segment text of stores written before the JSON form (`blob:size;blob:size`).
fn decode_legacy_segments(text: &str) -> Result<Vec<Segment>> {
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

/// The tables whose rows carry a segment list.
pub(crate) const SEGMENT_TABLES: [&str; 2] = ["objects", "versions"];

/// Rewrites as JSON up to `batch` rows of `table`, after version id `after`, whose segments are
/// still in the legacy text form; returns the last version id examined (`None` once none is
/// left). A row that does not decode is left as it is (reads report it as corrupt); a row
/// changed meanwhile (another node's upgrade) is left to that change.
pub(crate) fn upgrade_segments(
    conn: &dyn Sql,
    table: &str,
    after: &str,
    batch: usize,
) -> Result<Option<String>> {
    let legacy: Vec<(String, String)> = conn
        .query(
            &format!(
                "SELECT version_id, segments FROM {table} \
                 WHERE segments NOT LIKE '[%' AND version_id > ?1 ORDER BY version_id LIMIT ?2"
            ),
            values![after, batch as i64],
        )?
        .into_iter()
        .map(|mut row| Ok((row.text(0)?, row.text(1)?)))
        .collect::<Result<_>>()?;
    for (version_id, text) in &legacy {
        match decode_legacy_segments(text) {
            Ok(segments) => {
                conn.execute(
                    &format!(
                        "UPDATE {table} SET segments = ?1 WHERE version_id = ?2 AND segments = ?3"
                    ),
                    values![encode_segments(&segments), version_id, text],
                )?;
            }
            Err(e) => {
                tracing::error!(%version_id, error = %e, "a stored segment list does not decode")
            }
        }
    }
    Ok(legacy.last().map(|(version_id, _)| version_id.clone()))
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
        conn.defer(
            "INSERT INTO garbage (blob, since_ms) VALUES (?1, ?2) ON CONFLICT (blob) DO NOTHING",
            values![blob, now],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_as_json() {
        let segments = vec![
            Segment {
                blob: "01ab".into(),
                size: 5,
            },
            Segment {
                blob: "inline".into(),
                size: 0,
            },
        ];
        let text = encode_segments(&segments);
        assert_eq!(
            text,
            r#"[{"blob":"01ab","size":5},{"blob":"inline","size":0}]"#
        );
        assert_eq!(decode_segments(&text).unwrap(), segments);
        assert_eq!(decode_segments("[]").unwrap(), vec![]);
    }

    #[test]
    fn a_segment_list_that_does_not_decode_is_corrupt() {
        for text in [
            "",
            "a:1",
            r#"[{"blob":"","size":1}]"#,
            r#"[{"blob":"a","size":-1}]"#,
        ] {
            assert!(
                matches!(decode_segments(text), Err(StoreError::Corrupt(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn legacy_segment_text_decodes() {
        assert_eq!(
            decode_legacy_segments("a:1;b:22").unwrap(),
            vec![
                Segment {
                    blob: "a".into(),
                    size: 1
                },
                Segment {
                    blob: "b".into(),
                    size: 22
                }
            ]
        );
        assert_eq!(decode_legacy_segments("").unwrap(), vec![]);
        assert!(decode_legacy_segments("a").is_err());
    }
}
