//! S3-style listing (prefix, delimiter, start-after, max-keys) as ordered range scans: a common
//! prefix is skipped with one seek past all keys under it, so listing cost follows the size of
//! the page, not of the bucket.

use crate::error::Result;
use crate::meta::MetaStore;
use crate::types::Object;

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
/// there is none (all `0xff`).
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
    let end = if prefix.is_empty() {
        None
    } else {
        prefix_end(prefix)
    };
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
