//! S3-style listing (prefix, delimiter, start-after, max-keys) as ordered range scans: a common
//! prefix is skipped with one seek past all keys under it, so listing cost follows the size of
//! the page, not of the bucket.

use crate::error::Result;
use crate::meta::{MetaStore, VersionCursor};
use crate::types::{Object, VersionRef};

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// Only keys (and common prefixes) after this.
    pub start_after: Option<String>,
    /// `start_after` itself is included (B2's `startFileName`).
    pub start_inclusive: bool,
    /// Most entries (objects plus common prefixes) in the page; 0 returns an empty page.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    /// Objects, in key order.
    pub objects: Vec<Object>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
    /// More entries follow.
    pub truncated: bool,
    /// When truncated: the last key or common prefix returned (the next page's start-after).
    pub next: Option<String>,
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` when
/// there is none (`prefix` empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

pub(crate) fn list(meta: &dyn MetaStore, bucket_id: &str, q: &ListQuery) -> Result<ListPage> {
    let mut page = ListPage::default();
    if q.max_keys == 0 {
        return Ok(page);
    }
    let prefix = q.prefix.as_bytes();
    let end = prefix_end(prefix);
    let start_after = q.start_after.clone().unwrap_or_default();
    // The scan position: (bytes, inclusive).
    let (mut from, mut inclusive) = if start_after.as_bytes() >= prefix {
        (start_after.as_bytes().to_vec(), q.start_inclusive)
    } else {
        (prefix.to_vec(), true)
    };
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut count = 0usize;
    'scan: loop {
        let wanted = (q.max_keys - count + 1).min(1001);
        let batch = meta.scan(bucket_id, &from, inclusive, end.as_deref(), wanted)?;
        let batch_len = batch.len();
        for object in batch {
            let rest = &object.key[q.prefix.len()..];
            let rolled = delimiter.and_then(|d| rest.find(d).map(|i| i + d.len()));
            if let Some(cut) = rolled {
                let cp = format!("{}{}", q.prefix, &rest[..cut]);
                let skip_to = prefix_end(cp.as_bytes());
                if cp.as_str() > start_after.as_str()
                    || (q.start_inclusive && cp.as_str() == start_after.as_str())
                {
                    if count == q.max_keys {
                        page.truncated = true;
                        break 'scan;
                    }
                    count += 1;
                    page.next = Some(cp.clone());
                    page.common_prefixes.push(cp);
                }
                match skip_to {
                    Some(next) => {
                        from = next;
                        inclusive = true;
                        continue 'scan;
                    }
                    None => break 'scan,
                }
            }
            if count == q.max_keys {
                page.truncated = true;
                break 'scan;
            }
            count += 1;
            page.next = Some(object.key.clone());
            from = object.key.as_bytes().to_vec();
            inclusive = false;
            page.objects.push(object);
        }
        if batch_len < wanted {
            // Fewer rows than asked: nothing more in range.
            break;
        }
    }
    if !page.truncated {
        page.next = None;
    }
    Ok(page)
}

/// Where a version listing starts.
#[derive(Clone, Debug, Default)]
pub enum VersionStart {
    /// At the first key.
    #[default]
    Beginning,
    /// After every entry of this key (S3 `key-marker` alone).
    AfterKey(String),
    /// At the first entry of this key (B2 `startFileName` alone).
    FromKey(String),
    /// After this entry of the key (S3 `key-marker` with `version-id-marker`); an entry that
    /// no longer exists starts after the key.
    AfterVersion(String, VersionRef),
    /// At this entry of the key (B2 `startFileName` with `startFileId`); an entry that no
    /// longer exists starts at the key.
    FromVersion(String, String),
}

/// What to list of a bucket's history.
#[derive(Clone, Debug, Default)]
pub struct VersionQuery {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// Where to start.
    pub start: VersionStart,
    /// Most entries (versions, markers and common prefixes) in the page; 0 returns an empty
    /// page.
    pub max_keys: usize,
}

/// One page of a version listing.
#[derive(Clone, Debug, Default)]
pub struct VersionPage {
    /// Versions and markers, by key then newest first; `is_current()` is S3's `IsLatest`.
    pub entries: Vec<Object>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
    /// More entries follow.
    pub truncated: bool,
    /// When truncated: the last entry returned, as `(key, entry)`; the entry is `None` when
    /// the page ended with a common prefix (S3's `NextKeyMarker` / `NextVersionIdMarker`).
    pub last: Option<(String, Option<Object>)>,
    /// When truncated and the next item is an entry: that entry (B2's `nextFileName` /
    /// `nextFileId`, which name where the next page starts).
    pub next: Option<Object>,
}

pub(crate) fn list_versions(
    meta: &dyn MetaStore,
    bucket_id: &str,
    q: &VersionQuery,
) -> Result<VersionPage> {
    let mut page = VersionPage::default();
    if q.max_keys == 0 {
        return Ok(page);
    }
    let prefix = q.prefix.as_bytes();
    let end = prefix_end(prefix);
    let seq_of = |key: &str, which: &VersionRef| -> Result<Option<i64>> {
        Ok(meta.version(bucket_id, key, which)?.map(|o| o.seq))
    };
    let cursor_key = |k: &str| k.as_bytes().to_vec();
    // The start, and the smallest key or prefix that may still be shown.
    let (mut cursor, shown_from): (VersionCursor, Option<(String, bool)>) = match &q.start {
        VersionStart::Beginning => (VersionCursor::default(), None),
        VersionStart::AfterKey(k) => (
            VersionCursor {
                key: cursor_key(k),
                seq: None,
                inclusive: false,
            },
            Some((k.clone(), false)),
        ),
        VersionStart::FromKey(k) => (
            VersionCursor {
                key: cursor_key(k),
                seq: None,
                inclusive: true,
            },
            Some((k.clone(), true)),
        ),
        VersionStart::AfterVersion(k, which) => (
            VersionCursor {
                key: cursor_key(k),
                seq: seq_of(k, which)?,
                inclusive: false,
            },
            Some((k.clone(), true)),
        ),
        VersionStart::FromVersion(k, id) => {
            let seq = seq_of(k, &VersionRef::Id(id.clone()))?.map(|s| s + 1);
            (
                VersionCursor {
                    key: cursor_key(k),
                    seq,
                    inclusive: true,
                },
                Some((k.clone(), true)),
            )
        }
    };
    if cursor.key.as_slice() < prefix {
        cursor = VersionCursor {
            key: prefix.to_vec(),
            seq: None,
            inclusive: true,
        };
    }
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let shown = |cp: &str| match &shown_from {
        None => true,
        Some((from, inclusive)) => cp > from.as_str() || (*inclusive && cp == from.as_str()),
    };
    let mut count = 0usize;
    'scan: loop {
        let wanted = (q.max_keys - count + 1).min(1001);
        let batch = meta.scan_versions(bucket_id, &cursor, end.as_deref(), wanted)?;
        let batch_len = batch.len();
        for entry in batch {
            let rest = &entry.key[q.prefix.len()..];
            let rolled = delimiter.and_then(|d| rest.find(d).map(|i| i + d.len()));
            if let Some(cut) = rolled {
                let cp = format!("{}{}", q.prefix, &rest[..cut]);
                if shown(&cp) && page.common_prefixes.last() != Some(&cp) {
                    if count == q.max_keys {
                        page.truncated = true;
                        break 'scan;
                    }
                    count += 1;
                    page.last = Some((cp.clone(), None));
                    page.common_prefixes.push(cp.clone());
                }
                match prefix_end(cp.as_bytes()) {
                    Some(next) => {
                        cursor = VersionCursor {
                            key: next,
                            seq: None,
                            inclusive: true,
                        };
                        continue 'scan;
                    }
                    None => break 'scan,
                }
            }
            if count == q.max_keys {
                page.truncated = true;
                page.next = Some(entry);
                break 'scan;
            }
            count += 1;
            cursor = VersionCursor {
                key: entry.key.as_bytes().to_vec(),
                seq: Some(entry.seq),
                inclusive: false,
            };
            page.last = Some((entry.key.clone(), Some(entry.clone())));
            page.entries.push(entry);
        }
        if batch_len < wanted {
            break;
        }
    }
    if !page.truncated {
        page.last = None;
        page.next = None;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }
}
