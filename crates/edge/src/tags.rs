//! Tags as S3 limits them, for every door that sets them (the S3 API, the console): keys of 1 to
//! 128 characters, values of at most 256, no key twice, no `aws:` keys, at most 10 on an object
//! and 50 on a bucket.

use std::collections::BTreeMap;

/// Most tags on an object.
pub const MAX_OBJECT_TAGS: usize = 10;
/// Most tags on a bucket.
pub const MAX_BUCKET_TAGS: usize = 50;

/// Why a tag set is refused, in S3's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// A key that is empty or longer than 128 characters.
    #[error("A tag key must be 1 to 128 characters long.")]
    KeyLength,
    /// A value longer than 256 characters.
    #[error("A tag value must be at most 256 characters long.")]
    ValueLength,
    /// A key starting with `aws:`.
    #[error("Tag keys starting with aws: are reserved.")]
    Reserved,
    /// A key given twice.
    #[error("Cannot provide multiple tags with the same key.")]
    Repeated,
    /// More tags than the limit.
    #[error("Object tags cannot be greater than {0}")]
    TooMany(usize),
}

/// The tags of `pairs`, checked as S3 checks them, at most `max` of them.
pub fn validate(
    pairs: impl IntoIterator<Item = (String, String)>,
    max: usize,
) -> Result<BTreeMap<String, String>, TagError> {
    let mut tags = BTreeMap::new();
    for (key, value) in pairs {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(TagError::KeyLength);
        }
        if value.chars().count() > 256 {
            return Err(TagError::ValueLength);
        }
        if key.starts_with("aws:") {
            return Err(TagError::Reserved);
        }
        if tags.insert(key, value).is_some() {
            return Err(TagError::Repeated);
        }
    }
    if tags.len() > max {
        return Err(TagError::TooMany(max));
    }
    Ok(tags)
}

/// Tags as the console writes them, one `key=value` a line (blank lines ignored; a value may
/// hold `=`), checked as S3 checks a bucket's. The error names the line that does not read.
pub fn from_lines(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: write a tag as key=value", n + 1))?;
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    validate(pairs, MAX_BUCKET_TAGS).map_err(|e| e.to_string())
}

/// Tags as the console shows them: one `key=value` a line.
pub fn to_lines(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_written() {
        let tags = from_lines("team=blue\n\n cost = 42 \nurl=a=b").unwrap();
        assert_eq!(tags.len(), 3);
        assert_eq!(tags["url"], "a=b");
        assert_eq!(from_lines(&to_lines(&tags)).unwrap(), tags);
    }

    #[test]
    fn s3s_limits_hold() {
        assert_eq!(from_lines("aws:x=1"), Err(TagError::Reserved.to_string()));
        assert_eq!(from_lines("a=1\na=2"), Err(TagError::Repeated.to_string()));
        assert!(from_lines("no equals sign").unwrap_err().contains("line 1"));
        let many: String = (0..51).map(|i| format!("k{i}=v\n")).collect();
        assert_eq!(from_lines(&many), Err(TagError::TooMany(50).to_string()));
        assert!(validate([("k".repeat(129), String::new())], 10).is_err());
    }
}
