//! A B2 request parsed once from its method and URL: which call it is and what it addresses.
//! The handlers dispatch on it, and the CORS layer asks it which CORS operation and bucket the
//! request is, so no one else re-parses B2 URLs.

use crate::error::{B2Error, B2ErrorKind, B2Result};
use crate::token::{self, Scope};
use http::{Method, Uri};
use pier_cors::Endpoint;
use pier_edge::Query;
use pier_store::Store;

/// The B2 calls that take their arguments as a JSON body (or, by GET, as query parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonCall {
    /// `b2_create_bucket`.
    CreateBucket,
    /// `b2_update_bucket`.
    UpdateBucket,
    /// `b2_list_buckets`.
    ListBuckets,
    /// `b2_delete_bucket`.
    DeleteBucket,
    /// `b2_get_upload_url`.
    GetUploadUrl,
    /// `b2_list_file_names`.
    ListFileNames,
    /// `b2_list_file_versions`.
    ListFileVersions,
    /// `b2_get_file_info`.
    GetFileInfo,
    /// `b2_delete_file_version`.
    DeleteFileVersion,
    /// `b2_hide_file`.
    HideFile,
    /// `b2_get_download_authorization`.
    GetDownloadAuthorization,
    /// `b2_start_large_file`.
    StartLargeFile,
    /// `b2_get_upload_part_url`.
    GetUploadPartUrl,
    /// `b2_list_parts`.
    ListParts,
    /// `b2_finish_large_file`.
    FinishLargeFile,
    /// `b2_cancel_large_file`.
    CancelLargeFile,
    /// `b2_list_unfinished_large_files`.
    ListUnfinishedLargeFiles,
    /// `b2_copy_file`.
    CopyFile,
    /// `b2_update_file_retention`.
    UpdateFileRetention,
    /// `b2_update_file_legal_hold`.
    UpdateFileLegalHold,
    /// `b2_download_file_by_id` by POST, the file id in the body.
    DownloadFileById,
    /// `b2_create_key`.
    CreateKey,
    /// `b2_list_keys`.
    ListKeys,
    /// `b2_delete_key`.
    DeleteKey,
    /// `b2_set_bucket_notification_rules`.
    SetBucketNotificationRules,
    /// `b2_get_bucket_notification_rules`.
    GetBucketNotificationRules,
}

/// Every JSON call and its name: the one table both directions read.
const CALL_NAMES: [(&str, JsonCall); 26] = [
    ("b2_create_bucket", JsonCall::CreateBucket),
    ("b2_update_bucket", JsonCall::UpdateBucket),
    ("b2_list_buckets", JsonCall::ListBuckets),
    ("b2_delete_bucket", JsonCall::DeleteBucket),
    ("b2_get_upload_url", JsonCall::GetUploadUrl),
    ("b2_list_file_names", JsonCall::ListFileNames),
    ("b2_list_file_versions", JsonCall::ListFileVersions),
    ("b2_get_file_info", JsonCall::GetFileInfo),
    ("b2_delete_file_version", JsonCall::DeleteFileVersion),
    ("b2_hide_file", JsonCall::HideFile),
    (
        "b2_get_download_authorization",
        JsonCall::GetDownloadAuthorization,
    ),
    ("b2_start_large_file", JsonCall::StartLargeFile),
    ("b2_get_upload_part_url", JsonCall::GetUploadPartUrl),
    ("b2_list_parts", JsonCall::ListParts),
    ("b2_finish_large_file", JsonCall::FinishLargeFile),
    ("b2_cancel_large_file", JsonCall::CancelLargeFile),
    (
        "b2_list_unfinished_large_files",
        JsonCall::ListUnfinishedLargeFiles,
    ),
    ("b2_copy_file", JsonCall::CopyFile),
    ("b2_update_file_retention", JsonCall::UpdateFileRetention),
    ("b2_update_file_legal_hold", JsonCall::UpdateFileLegalHold),
    ("b2_download_file_by_id", JsonCall::DownloadFileById),
    ("b2_create_key", JsonCall::CreateKey),
    ("b2_list_keys", JsonCall::ListKeys),
    ("b2_delete_key", JsonCall::DeleteKey),
    (
        "b2_set_bucket_notification_rules",
        JsonCall::SetBucketNotificationRules,
    ),
    (
        "b2_get_bucket_notification_rules",
        JsonCall::GetBucketNotificationRules,
    ),
];

impl JsonCall {
    /// The call named `op` (`b2_create_bucket`, ...).
    fn from_name(op: &str) -> Option<JsonCall> {
        CALL_NAMES.iter().find(|(n, _)| *n == op).map(|(_, c)| *c)
    }

    /// The call's name (`b2_create_bucket`, ...).
    pub fn name(self) -> &'static str {
        CALL_NAMES
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("b2_unknown", |(n, _)| n)
    }
}

/// What a B2 URL asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum B2Call {
    /// `GET /file/BUCKET/NAME`.
    DownloadByName {
        /// Bucket name.
        bucket: String,
        /// File name (decoded).
        name: String,
    },
    /// `GET b2_download_file_by_id?fileId=...`.
    DownloadById {
        /// The file id.
        file_id: String,
    },
    /// A `b2_upload_file` upload URL.
    UploadFile {
        /// The bucket id in the URL.
        bucket_id: String,
    },
    /// A `b2_upload_part` upload URL.
    UploadPart {
        /// The large file id in the URL.
        file_id: String,
    },
    /// `b2_authorize_account` (its answer's shape depends on the API version).
    Authorize,
    /// A call with JSON (or query) arguments.
    Json(JsonCall),
}

/// One B2 request: the call, the API version and the query string.
#[derive(Clone, Debug)]
pub struct B2Request {
    /// The call.
    pub call: B2Call,
    /// `v1`..`v4` (`v4` for `/file/` downloads).
    pub version: &'static str,
    /// The decoded query string.
    pub query: Query,
}

/// Where the bucket of a request that CORS covers is to be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorsBucket<'a> {
    /// Named in the URL.
    Name(&'a str),
    /// The bucket with this id.
    Id(&'a str),
    /// The bucket of this file (or large file).
    OfFile(&'a str),
    /// The bucket of this unfinished large file.
    OfLargeFile(&'a str),
    /// Not in the URL (`b2_download_file_by_id` by POST).
    Unknown,
}

impl B2Request {
    /// Parses a request to a B2 path ([`crate::is_b2_path`]); unknown versions and calls are
    /// B2 errors.
    pub fn parse(method: &Method, uri: &Uri) -> B2Result<B2Request> {
        let query = Query::parse(uri.query());
        let path = uri.path();
        if let Some(rest) = path.strip_prefix("/file/") {
            let (bucket, name) = rest.split_once('/').unwrap_or((rest, ""));
            return Ok(B2Request {
                call: B2Call::DownloadByName {
                    bucket: crate::percent_decode_strict(bucket, "the bucket name")?,
                    name: crate::percent_decode_strict(name, "the file name")?,
                },
                version: "v4",
                query,
            });
        }
        let rest = path.strip_prefix("/b2api/").unwrap_or("");
        let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let version = match version {
            "v1" => "v1",
            "v2" => "v2",
            "v3" => "v3",
            "v4" => "v4",
            other => {
                return Err(B2Error::new(
                    B2ErrorKind::NotFound,
                    format!("unknown API version {other:?}"),
                ))
            }
        };
        let (op, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let call = match op {
            "b2_upload_file" => B2Call::UploadFile {
                bucket_id: tail.to_owned(),
            },
            "b2_upload_part" => B2Call::UploadPart {
                file_id: tail.to_owned(),
            },
            "b2_authorize_account" => B2Call::Authorize,
            "b2_download_file_by_id" if method != Method::POST => B2Call::DownloadById {
                file_id: query.get("fileId").unwrap_or("").to_owned(),
            },
            other => B2Call::Json(JsonCall::from_name(other).ok_or_else(|| {
                B2Error::new(
                    B2ErrorKind::BadRequest,
                    format!("{other} is not supported by this server"),
                )
            })?),
        };
        Ok(B2Request {
            call,
            version,
            query,
        })
    }

    /// The CORS endpoint of this request and where its bucket is; `None` for calls that CORS
    /// does not cover (everything but downloads and upload URLs).
    pub fn cors_target(&self) -> Option<(Endpoint, CorsBucket<'_>)> {
        Some(match &self.call {
            B2Call::DownloadByName { bucket, .. } => {
                (Endpoint::B2DownloadFileByName, CorsBucket::Name(bucket))
            }
            B2Call::DownloadById { file_id } => {
                (Endpoint::B2DownloadFileById, CorsBucket::OfFile(file_id))
            }
            B2Call::Json(JsonCall::DownloadFileById) => {
                (Endpoint::B2DownloadFileById, CorsBucket::Unknown)
            }
            B2Call::UploadFile { bucket_id } => (Endpoint::B2UploadFile, CorsBucket::Id(bucket_id)),
            B2Call::UploadPart { file_id } => {
                (Endpoint::B2UploadPart, CorsBucket::OfLargeFile(file_id))
            }
            B2Call::Authorize | B2Call::Json(_) => return None,
        })
    }

    /// True when the `Authorization` query parameter holds a valid account token (which a
    /// preflight must never present).
    pub fn presents_account_token(&self, store: &Store) -> bool {
        self.query
            .get("Authorization")
            .is_some_and(|t| matches!(token::verify(store, t), Ok((_, Scope::Account))))
    }
}

impl CorsBucket<'_> {
    /// The name of the bucket, looked up in `store` where the URL holds an id (a metadata read).
    pub fn resolve(self, store: &Store) -> Option<String> {
        match self {
            CorsBucket::Name(name) => Some(name.to_owned()),
            CorsBucket::Id(id) => store.bucket_by_id(id).ok().map(|b| b.name.clone()),
            CorsBucket::OfFile(id) => {
                let object = store.object_by_version(id).ok()?;
                store
                    .bucket_by_id(&object.bucket_id)
                    .ok()
                    .map(|b| b.name.clone())
            }
            CorsBucket::OfLargeFile(id) => {
                let upload = store.upload(id).ok()?;
                store
                    .bucket_by_id(&upload.bucket_id)
                    .ok()
                    .map(|b| b.name.clone())
            }
            CorsBucket::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, uri: &str) -> B2Result<B2Request> {
        B2Request::parse(&method, &uri.parse().unwrap())
    }

    #[test]
    fn downloads_by_name_decode_bucket_and_name() {
        let r = parse(Method::GET, "/file/photos/a%20b/c%2Bd.txt?Authorization=x").unwrap();
        assert_eq!(
            r.call,
            B2Call::DownloadByName {
                bucket: "photos".into(),
                name: "a b/c+d.txt".into()
            }
        );
        assert_eq!(r.query.get("Authorization"), Some("x"));
        assert_eq!(
            r.cors_target(),
            Some((Endpoint::B2DownloadFileByName, CorsBucket::Name("photos")))
        );
    }

    #[test]
    fn upload_urls_name_their_target() {
        let r = parse(Method::POST, "/b2api/v2/b2_upload_file/abc").unwrap();
        assert_eq!(r.version, "v2");
        assert_eq!(
            r.cors_target(),
            Some((Endpoint::B2UploadFile, CorsBucket::Id("abc")))
        );
        let r = parse(Method::POST, "/b2api/v3/b2_upload_part/f1").unwrap();
        assert_eq!(
            r.cors_target(),
            Some((Endpoint::B2UploadPart, CorsBucket::OfLargeFile("f1")))
        );
    }

    #[test]
    fn json_calls_are_not_cors_enabled() {
        let r = parse(Method::POST, "/b2api/v4/b2_list_buckets").unwrap();
        assert_eq!(r.call, B2Call::Json(JsonCall::ListBuckets));
        assert_eq!(r.cors_target(), None);
    }

    #[test]
    fn download_by_id_by_get_or_post() {
        let r = parse(Method::GET, "/b2api/v2/b2_download_file_by_id?fileId=F").unwrap();
        assert_eq!(
            r.cors_target(),
            Some((Endpoint::B2DownloadFileById, CorsBucket::OfFile("F")))
        );
        let r = parse(Method::POST, "/b2api/v2/b2_download_file_by_id").unwrap();
        assert_eq!(r.call, B2Call::Json(JsonCall::DownloadFileById));
    }

    #[test]
    fn unknown_versions_and_calls_are_errors() {
        assert_eq!(
            parse(Method::GET, "/b2api/v9/b2_list_buckets")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            parse(Method::POST, "/b2api/v2/b2_nope")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(parse(Method::GET, "/file/b/%ff").unwrap_err().status(), 400);
    }
}
