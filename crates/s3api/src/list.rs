//! ListObjects (v1) and ListObjectsV2.

use crate::convert::timestamp;
use crate::error::s3_error;
use pier_store::{ListPage, ListQuery, Store};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// S3's cap on one page.
const MAX_KEYS: i32 = 1000;

struct Encoder(bool);

impl Encoder {
    fn new(encoding: Option<&EncodingType>) -> Self {
        Encoder(encoding.is_some_and(|e| e.as_str() == EncodingType::URL))
    }

    fn apply(&self, s: String) -> String {
        if self.0 {
            pier_edge::percent::encode(&s, pier_edge::percent::PATH)
        } else {
            s
        }
    }
}

/// A page of `bucket`'s listing, with the bucket's owner as S3 shows it.
fn page(store: &Store, bucket: &str, query: &ListQuery) -> S3Result<(ListPage, Owner)> {
    let bucket = store.bucket(bucket).map_err(s3_error)?;
    let page = store.list(&bucket.id, query).map_err(s3_error)?;
    Ok((page, crate::convert::owner(&bucket.owner)))
}

/// Objects and common prefixes of a page; `Owner` on each object when `owner` (ListObjects
/// always, ListObjectsV2 with `fetch-owner=true`, as S3).
fn contents(
    page: &ListPage,
    enc: &Encoder,
    owner: Option<&Owner>,
) -> (Vec<Object>, Vec<CommonPrefix>) {
    let objects = page
        .objects
        .iter()
        .map(|o| Object {
            key: Some(enc.apply(o.key.clone())),
            size: Some(o.size as i64),
            e_tag: Some(ETag::Strong(o.etag.clone())),
            last_modified: Some(timestamp(o.created)),
            storage_class: Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            )),
            owner: owner.cloned(),
            ..Default::default()
        })
        .collect();
    let prefixes = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc.apply(p.clone())),
        })
        .collect();
    (objects, prefixes)
}

fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "max-keys must be a non-negative number"
        )),
        Some(n) => Ok(n.min(MAX_KEYS) as usize),
        None => Ok(MAX_KEYS as usize),
    }
}

pub fn objects_v1(store: &Store, input: ListObjectsInput) -> S3Result<ListObjectsOutput> {
    let enc = Encoder::new(input.encoding_type.as_ref());
    let query = ListQuery {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone(),
        start_after: input.marker.clone().filter(|m| !m.is_empty()),
        max_keys: max_keys(input.max_keys)?,
        start_inclusive: false,
    };
    let (page, owner) = page(store, &input.bucket, &query)?;
    let (objects, prefixes) = contents(&page, &enc, Some(&owner));
    Ok(ListObjectsOutput {
        name: Some(input.bucket),
        // ListObjects (v1) returns its Prefix as sent even with encoding-type=url (clients
        // decode only keys, markers, delimiters and common prefixes there); V2 encodes it.
        prefix: Some(query.prefix.clone()),
        marker: Some(input.marker.map(|m| enc.apply(m)).unwrap_or_default()),
        max_keys: Some(query.max_keys as i32),
        // An empty delimiter is no delimiter, and S3 does not echo it.
        delimiter: input
            .delimiter
            .filter(|d| !d.is_empty())
            .map(|d| enc.apply(d)),
        is_truncated: Some(page.truncated),
        next_marker: page
            .next
            .clone()
            .filter(|_| page.truncated && query.delimiter.is_some())
            .map(|m| enc.apply(m)),
        contents: Some(objects),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

pub fn objects_v2(store: &Store, input: ListObjectsV2Input) -> S3Result<ListObjectsV2Output> {
    let enc = Encoder::new(input.encoding_type.as_ref());
    let start_after = match &input.continuation_token {
        Some(token) => Some(
            hex::decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "The continuation token provided is incorrect"
                    )
                })?,
        ),
        None => input.start_after.clone().filter(|s| !s.is_empty()),
    };
    let query = ListQuery {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone(),
        start_after,
        max_keys: max_keys(input.max_keys)?,
        start_inclusive: false,
    };
    let (page, owner) = page(store, &input.bucket, &query)?;
    let owner = (input.fetch_owner == Some(true)).then_some(owner);
    let (objects, prefixes) = contents(&page, &enc, owner.as_ref());
    Ok(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(enc.apply(query.prefix.clone())),
        max_keys: Some(query.max_keys as i32),
        key_count: Some((objects.len() + prefixes.len()) as i32),
        continuation_token: input.continuation_token,
        next_continuation_token: page
            .next
            .as_ref()
            .filter(|_| page.truncated)
            .map(hex::encode),
        is_truncated: Some(page.truncated),
        // An empty delimiter is no delimiter, and S3 does not echo it.
        delimiter: input
            .delimiter
            .filter(|d| !d.is_empty())
            .map(|d| enc.apply(d)),
        start_after: input.start_after.map(|s| enc.apply(s)),
        contents: Some(objects),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_encoding_keeps_slashes() {
        assert_eq!(
            pier_edge::percent::encode("a b/c+d%é", pier_edge::percent::PATH),
            "a%20b/c%2Bd%25%C3%A9"
        );
    }
}
