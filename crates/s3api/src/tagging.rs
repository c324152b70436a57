//! Object and bucket tags: `x-amz-tagging` on PUT, copy and multipart uploads,
//! Put/Get/DeleteObjectTagging (any version) and Put/Get/DeleteBucketTagging, with S3's limits:
//! at most 10 tags on an object and 50 on a bucket, keys of 1 to 128 characters and values of at
//! most 256, no key twice, no `aws:` keys. A tag set outside them is 400 `InvalidTag`.

use crate::error::s3_error;
use crate::versions::{parse_version, shown_version};
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use std::collections::BTreeMap;

pub use pier_edge::tags::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS};

/// Validates tags as S3 does, at most `max` of them (`pier_edge::tags`, shared with the
/// console): 400 `InvalidTag` otherwise.
pub fn validate(
    pairs: impl IntoIterator<Item = (String, String)>,
    max: usize,
) -> S3Result<BTreeMap<String, String>> {
    pier_edge::tags::validate(pairs, max)
        .map_err(|e| S3Error::with_message(S3ErrorCode::InvalidTag, e.to_string()))
}

/// The tags of a `Tagging` document (`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>
/// ...`) as a browser form's `tagging` field carries it, read by s3s's XML reader as the
/// PutObjectTagging body is; `MalformedXML` if it is not one.
pub fn from_xml(doc: &str) -> S3Result<BTreeMap<String, String>> {
    use s3s::xml::Deserialize;
    let mut reader = s3s::xml::Deserializer::new(doc.as_bytes());
    let tagging = Tagging::deserialize(&mut reader)
        .and_then(|t| reader.expect_eof().map(|()| t))
        .map_err(|e| {
            s3_error!(
                MalformedXML,
                "The tagging field is not a Tagging document: {e}"
            )
        })?;
    from_set(tagging.tag_set, MAX_OBJECT_TAGS)
}

/// The tags of an `x-amz-tagging` header (`k1=v1&k2=v2`, URL-encoded).
pub fn from_header(header: Option<&str>) -> S3Result<BTreeMap<String, String>> {
    match header {
        None => Ok(BTreeMap::new()),
        Some(text) => validate(
            form_urlencoded::parse(text.as_bytes()).into_owned(),
            MAX_OBJECT_TAGS,
        ),
    }
}

/// The tags of a `Tagging` document.
fn from_set(set: TagSet, max: usize) -> S3Result<BTreeMap<String, String>> {
    validate(
        set.into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())),
        max,
    )
}

fn to_set(tags: &BTreeMap<String, String>) -> TagSet {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

pub async fn put_object(
    store: &Store,
    input: PutObjectTaggingInput,
) -> S3Result<PutObjectTaggingOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let tags = from_set(input.tagging.tag_set, MAX_OBJECT_TAGS)?;
    let which = input.version_id.as_deref().map(parse_version).transpose()?;
    let store = store.clone();
    let (id, key) = (bucket.id.clone(), input.key);
    let entry =
        crate::error::blocking(move || Ok(store.set_tags(&id, &key, which.as_ref(), tags)?))
            .await?;
    Ok(PutObjectTaggingOutput {
        version_id: shown_version(&bucket, &entry),
    })
}

pub fn get_object(store: &Store, input: GetObjectTaggingInput) -> S3Result<GetObjectTaggingOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let entry = crate::entry::read_entry(
        store,
        &bucket,
        (&input.key, input.version_id.as_deref()),
        crate::entry::ReadFor::Object,
    )?
    .object;
    Ok(GetObjectTaggingOutput {
        tag_set: to_set(&entry.meta.tags),
        version_id: shown_version(&bucket, &entry),
    })
}

pub async fn delete_object(
    store: &Store,
    input: DeleteObjectTaggingInput,
) -> S3Result<DeleteObjectTaggingOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let which = input.version_id.as_deref().map(parse_version).transpose()?;
    let store = store.clone();
    let (id, key) = (bucket.id.clone(), input.key);
    let entry = crate::error::blocking(move || {
        Ok(store.set_tags(&id, &key, which.as_ref(), BTreeMap::new())?)
    })
    .await?;
    Ok(DeleteObjectTaggingOutput {
        version_id: shown_version(&bucket, &entry),
    })
}

pub async fn put_bucket(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketTaggingInput,
) -> S3Result<PutBucketTaggingOutput> {
    let tags = from_set(input.tagging.tag_set, MAX_BUCKET_TAGS)?;
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, tags: Some(tags));
    Ok(PutBucketTaggingOutput::default())
}

pub fn get_bucket(store: &Store, input: GetBucketTaggingInput) -> S3Result<GetBucketTaggingOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    if bucket.tags.is_empty() {
        return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
    }
    Ok(GetBucketTaggingOutput {
        tag_set: to_set(&bucket.tags),
    })
}

pub async fn delete_bucket(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketTaggingInput,
) -> S3Result<DeleteBucketTaggingOutput> {
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, tags: Some(BTreeMap::new()));
    Ok(DeleteBucketTaggingOutput::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_url_encoded_pairs() {
        let tags = from_header(Some("a=1&b%20c=two%26three")).unwrap();
        assert_eq!(tags.get("b c").map(String::as_str), Some("two&three"));
    }

    #[test]
    fn limits_are_invalid_tag() {
        let eleven: Vec<_> = (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        for bad in [
            eleven,
            vec![("k".repeat(129), "v".into())],
            vec![("k".into(), "v".repeat(257))],
            vec![("aws:x".into(), "v".into())],
        ] {
            let e = validate(bad, MAX_OBJECT_TAGS).unwrap_err();
            assert_eq!(e.code().as_str(), "InvalidTag");
        }
    }

    #[test]
    fn a_form_tagging_document_is_read_with_its_escapes() {
        let tags = from_xml(
            "<Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>&lt;1&gt;</Value></Tag>\
             <Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>",
        )
        .unwrap();
        assert_eq!(tags["a&b"], "<1>");
        assert_eq!(tags["c"], "");
    }

    #[test]
    fn a_form_tagging_field_that_is_not_a_tagging_document_is_malformed() {
        for doc in [
            "<TagSet></TagSet>",
            "<Tagging><TagSet><Tag><Key>k</Key>",
            "nonsense",
        ] {
            let e = from_xml(doc).unwrap_err();
            assert_eq!(e.code(), &s3s::S3ErrorCode::MalformedXML, "{doc}");
        }
    }

    #[test]
    fn a_form_tagging_document_obeys_the_object_limits() {
        let many: String = (0..11)
            .map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>"))
            .collect();
        let e = from_xml(&format!("<Tagging><TagSet>{many}</TagSet></Tagging>")).unwrap_err();
        assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidTag);
    }
}
