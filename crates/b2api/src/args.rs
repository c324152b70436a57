//! The arguments of each JSON B2 call, deserialized once into a struct (B2's camelCase names).
//! A missing field, or one of the wrong type, is a `bad_request` naming the field; an unknown
//! field is ignored, as B2 does.

use crate::error::{B2Error, B2Result};
use pier_store::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Deserializes a call's arguments; errors name the field (`bucketId: invalid type: ...`).
pub fn parse<T: DeserializeOwned>(args: Value) -> B2Result<T> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            B2Error::bad_request(inner.to_string())
        } else {
            B2Error::bad_request(format!("{path}: {inner}"))
        }
    })
}

/// Numbers arrive as JSON numbers in a POST body and as strings in a GET query: both are read.
mod number {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    fn value<E: serde::de::Error>(v: Either) -> Result<i64, E> {
        match v {
            Either::Number(n) => Ok(n),
            Either::Text(t) => t
                .parse()
                .map_err(|_| E::custom(format!("expected an integer, not {t:?}"))),
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        value(Either::deserialize(d)?)
    }

    /// `null` counts as absent (b2sdk sends it).
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Either>::deserialize(d)?.map(value).transpose()
    }
}

/// Calls that name a bucket by id.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByBucket {
    /// The bucket.
    pub bucket_id: String,
}

/// Calls that name a file (or large file) by id.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByFile {
    /// The file.
    pub file_id: String,
}

/// `b2_create_bucket` (its settings are read by [`crate::bucket_settings`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBucket {
    /// The new bucket's name.
    pub bucket_name: String,
}

/// `b2_list_buckets`: optional filters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListBuckets {
    /// Only this bucket.
    pub bucket_id: Option<String>,
    /// Only the bucket of this name.
    pub bucket_name: Option<String>,
}

/// `b2_list_file_names` and `b2_list_file_versions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFiles {
    /// The bucket.
    pub bucket_id: String,
    /// Page size, 1 to 10000 (100 when absent).
    #[serde(default, deserialize_with = "number::optional")]
    pub max_file_count: Option<i64>,
    /// The first name to return.
    pub start_file_name: Option<String>,
    /// With `startFileName` (`b2_list_file_versions` only): the first version of that name.
    pub start_file_id: Option<String>,
    /// Only names with this prefix.
    pub prefix: Option<String>,
    /// Roll names up at this delimiter into folders.
    pub delimiter: Option<String>,
}

/// `b2_hide_file`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HideFile {
    /// The bucket.
    pub bucket_id: String,
    /// The name to hide.
    pub file_name: String,
}

/// `b2_delete_file_version`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFileVersion {
    /// The version's name.
    pub file_name: String,
    /// The version.
    pub file_id: String,
    /// Delete a version under governance retention (needs the `bypassGovernance` capability).
    #[serde(default)]
    pub bypass_governance: bool,
}

/// `b2_get_download_authorization`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadAuthorization {
    /// The bucket.
    pub bucket_id: String,
    /// Names the token may download start with this.
    pub file_name_prefix: String,
    /// 1 to 604800.
    #[serde(deserialize_with = "number::required")]
    pub valid_duration_in_seconds: i64,
}

/// `b2_start_large_file`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartLargeFile {
    /// The bucket.
    pub bucket_id: String,
    /// The file's name.
    pub file_name: String,
    /// Its content type (`b2/x-auto` to guess).
    pub content_type: String,
    /// `fileInfo`: string values only.
    pub file_info: Option<BTreeMap<String, String>>,
    /// `fileRetention` (`{"mode", "retainUntilTimestamp"}`), for a bucket with file lock.
    pub file_retention: Option<serde_json::Value>,
    /// `legalHold` (`on` / `off`), for a bucket with file lock.
    pub legal_hold: Option<String>,
    /// `serverSideEncryption` (`{"mode": "SSE-B2" | "SSE-C", ...}`).
    pub server_side_encryption: Option<serde_json::Value>,
}

/// `b2_list_parts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParts {
    /// The large file.
    pub file_id: String,
    /// The first part number, 1 to 10000.
    #[serde(default, deserialize_with = "number::optional")]
    pub start_part_number: Option<i64>,
    /// Page size (1 to 1000, default 1000).
    #[serde(default, deserialize_with = "number::optional")]
    pub max_part_count: Option<i64>,
}

/// `b2_finish_large_file`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishLargeFile {
    /// The large file.
    pub file_id: String,
    /// The SHA-1 of each part, in part order.
    pub part_sha1_array: Vec<String>,
}

/// `b2_list_unfinished_large_files`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListUnfinished {
    /// The bucket.
    pub bucket_id: String,
    /// Only names with this prefix.
    pub name_prefix: Option<String>,
    /// Page size (1 to 100, default 100).
    #[serde(default, deserialize_with = "number::optional")]
    pub max_file_count: Option<i64>,
}

/// `b2_copy_file`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyFile {
    /// The version copied.
    pub source_file_id: String,
    /// The copy's name.
    pub file_name: String,
    /// Where the copy goes (the source's bucket when absent).
    pub destination_bucket_id: Option<String>,
    /// `bytes=A-B` of the source.
    pub range: Option<String>,
    /// `COPY` (default) or `REPLACE`.
    pub metadata_directive: Option<String>,
    /// With `REPLACE`: the content type.
    pub content_type: Option<String>,
    /// With `REPLACE`: the file info.
    pub file_info: Option<BTreeMap<String, String>>,
    /// The copy's `fileRetention` (a copy never takes the source's).
    pub file_retention: Option<serde_json::Value>,
    /// The copy's `legalHold`.
    pub legal_hold: Option<String>,
    /// How the source is encrypted (its customer key, for SSE-C).
    pub source_server_side_encryption: Option<serde_json::Value>,
    /// How the copy is to be encrypted.
    pub destination_server_side_encryption: Option<serde_json::Value>,
}

/// `b2_create_key`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    /// B2 capability names.
    pub capabilities: Vec<String>,
    /// The key's name.
    pub key_name: String,
    /// Seconds until it expires.
    #[serde(default, deserialize_with = "number::optional")]
    pub valid_duration_in_seconds: Option<i64>,
    /// One bucket it is limited to.
    pub bucket_id: Option<String>,
    /// Several buckets (API v4).
    pub bucket_ids: Option<Vec<String>>,
    /// Names it is limited to.
    pub name_prefix: Option<String>,
}

/// `b2_list_keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListKeys {
    /// Page size (1 to 10000, default 100).
    #[serde(default, deserialize_with = "number::optional")]
    pub max_key_count: Option<i64>,
    /// The first key id to list.
    pub start_application_key_id: Option<String>,
}

/// `b2_delete_key`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteKey {
    /// The key to delete.
    pub application_key_id: String,
}

/// The metadata of a file given its content type and B2 file infos: `b2-content-disposition`
/// and the other `b2-*` infos become the object's HTTP headers, the rest user metadata (names
/// lower-cased). Values must not contain control characters: they are sent as HTTP headers on
/// every download, where a CR, LF or NUL would make the file unreadable.
pub fn file_meta(
    content_type: Option<String>,
    infos: impl IntoIterator<Item = (String, String)>,
) -> B2Result<ObjectMeta> {
    let mut meta = ObjectMeta {
        content_type,
        ..Default::default()
    };
    for (name, value) in infos {
        let name = name.to_ascii_lowercase();
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(B2Error::bad_request(format!(
                "file info {name} must not contain control characters (found {c:?})"
            )));
        }
        match name.as_str() {
            "b2-content-disposition" => meta.content_disposition = Some(value),
            "b2-content-language" => meta.content_language = Some(value),
            "b2-expires" => meta.expires = Some(value),
            "b2-cache-control" => meta.cache_control = Some(value),
            "b2-content-encoding" => meta.content_encoding = Some(value),
            _ => {
                meta.user.insert(name, value);
            }
        }
    }
    if meta.user.len() > 10 {
        return Err(B2Error::bad_request("at most 10 file infos are allowed"));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let e = parse::<ByBucket>(json!({})).unwrap_err();
        assert!(e.message.contains("bucketId"), "{}", e.message);
        let e = parse::<CreateBucket>(json!({"bucketName": 42})).unwrap_err();
        assert!(
            e.message.starts_with("bucketName: invalid type"),
            "{}",
            e.message
        );
        let e = parse::<StartLargeFile>(
            json!({"bucketId": "b", "fileName": "f", "contentType": "t", "fileInfo": {"a": 1}}),
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("fileInfo.a: invalid type"),
            "{}",
            e.message
        );
    }

    #[test]
    fn numbers_may_be_strings_and_null_is_absent() {
        let l: ListParts =
            parse(json!({"fileId": "f", "startPartNumber": "7", "maxPartCount": null})).unwrap();
        assert_eq!((l.start_part_number, l.max_part_count), (Some(7), None));
        assert!(parse::<ListParts>(json!({"fileId": "f", "startPartNumber": "x"})).is_err());
    }

    #[test]
    fn infos_become_headers_or_user_metadata() {
        let meta = file_meta(
            Some("text/plain".into()),
            [
                ("b2-content-disposition".to_owned(), "attachment".to_owned()),
                ("Author".to_owned(), "me".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(meta.content_disposition.as_deref(), Some("attachment"));
        assert_eq!(meta.user.get("author").map(String::as_str), Some("me"));
        assert!(file_meta(None, [("x".to_owned(), "a\r\nb".to_owned())]).is_err());
    }
}
