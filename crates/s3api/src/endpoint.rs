//! Every S3 request, parsed once: [`S3Endpoint::parse`] reads the method, the `Host` (virtual
//! host or path style), the path and the query into an [`S3Operation`] with the bucket and key
//! it addresses. The HTTP front parses each request once and carries the result in the
//! request's extensions; from it come, each in one place, the operation's name (metrics and the
//! access log), its IAM action ([`S3Operation::action`], for the access engine), the CORS
//! layer's facts, and what the edge fixes need.
//!
//! Each operation is declared once, below, with its action: its name is the identifier itself
//! (AWS's operation names), so no S3 operation name is a string anywhere else. s3s routes the
//! request again; the access check compares the two ([`S3Operation::from_name`] reads s3s's
//! name) and decides by s3s's, which is what runs.

use crate::hosts::VirtualHosts;
use http::{HeaderMap, Method, Request};
use pier_access::Action;
use pier_edge::RawQuery;

macro_rules! operations {
    ($($(#[$doc:meta])* $op:ident => $action:expr,)*) => {
        /// An S3 operation, as AWS names it, and the few the front answers itself.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum S3Operation {
            $($(#[$doc])* $op,)*
        }

        impl S3Operation {
            /// Every operation.
            pub const ALL: &'static [S3Operation] = &[$(S3Operation::$op,)*];

            /// Its name, as AWS names it (`GetObject`); metrics and the access log use it.
            pub fn name(self) -> &'static str {
                match self {
                    $(S3Operation::$op => stringify!($op),)*
                }
            }

            /// The IAM action the access engine decides it as; `None` for an operation pier
            /// does not serve (s3s answers `NotImplemented`, and only an unrestricted key
            /// reaches it).
            pub fn action(self) -> Option<Action> {
                match self {
                    $(S3Operation::$op => $action,)*
                }
            }
        }
    };
}

operations! {
    /// GET on the service.
    ListBuckets => Some(Action::ListAllMyBuckets),
    /// PUT on a bucket.
    CreateBucket => Some(Action::CreateBucket),
    /// DELETE on a bucket.
    DeleteBucket => Some(Action::DeleteBucket),
    /// HEAD on a bucket.
    HeadBucket => Some(Action::ListBucket),
    /// GET on a bucket.
    ListObjects => Some(Action::ListBucket),
    /// GET on a bucket, `list-type=2`.
    ListObjectsV2 => Some(Action::ListBucket),
    /// GET `?versions`.
    ListObjectVersions => Some(Action::ListBucketVersions),
    /// GET `?uploads`.
    ListMultipartUploads => Some(Action::ListBucketMultipartUploads),
    /// GET `?location`.
    GetBucketLocation => Some(Action::GetBucketLocation),
    /// GET `?cors`.
    GetBucketCors => Some(Action::GetBucketCors),
    /// PUT `?cors`.
    PutBucketCors => Some(Action::PutBucketCors),
    /// DELETE `?cors`.
    DeleteBucketCors => Some(Action::PutBucketCors),
    /// pier's own: GET `?cors-explain`, a signed explanation of a CORS decision.
    CorsExplain => Some(Action::GetBucketCors),
    /// GET `?acl` on a bucket.
    GetBucketAcl => Some(Action::GetBucketAcl),
    /// PUT `?acl` on a bucket.
    PutBucketAcl => Some(Action::PutBucketAcl),
    /// GET `?policy`.
    GetBucketPolicy => Some(Action::GetBucketPolicy),
    /// PUT `?policy`.
    PutBucketPolicy => Some(Action::PutBucketPolicy),
    /// DELETE `?policy`.
    DeleteBucketPolicy => Some(Action::DeleteBucketPolicy),
    /// GET `?policyStatus`.
    GetBucketPolicyStatus => Some(Action::GetBucketPolicyStatus),
    /// GET `?versioning`.
    GetBucketVersioning => Some(Action::GetBucketVersioning),
    /// PUT `?versioning`.
    PutBucketVersioning => Some(Action::PutBucketVersioning),
    /// GET `?tagging` on a bucket.
    GetBucketTagging => Some(Action::GetBucketTagging),
    /// PUT `?tagging` on a bucket.
    PutBucketTagging => Some(Action::PutBucketTagging),
    /// DELETE `?tagging` on a bucket.
    DeleteBucketTagging => Some(Action::PutBucketTagging),
    /// GET `?publicAccessBlock`.
    GetPublicAccessBlock => Some(Action::GetBucketPublicAccessBlock),
    /// PUT `?publicAccessBlock`.
    PutPublicAccessBlock => Some(Action::PutBucketPublicAccessBlock),
    /// DELETE `?publicAccessBlock`.
    DeletePublicAccessBlock => Some(Action::PutBucketPublicAccessBlock),
    /// GET `?lifecycle`.
    GetBucketLifecycleConfiguration => Some(Action::GetLifecycleConfiguration),
    /// PUT `?lifecycle`.
    PutBucketLifecycleConfiguration => Some(Action::PutLifecycleConfiguration),
    /// DELETE `?lifecycle`.
    DeleteBucketLifecycle => Some(Action::PutLifecycleConfiguration),
    /// GET `?object-lock`.
    GetObjectLockConfiguration => Some(Action::GetBucketObjectLockConfiguration),
    /// PUT `?object-lock`.
    PutObjectLockConfiguration => Some(Action::PutBucketObjectLockConfiguration),
    /// GET `?ownershipControls`.
    GetBucketOwnershipControls => Some(Action::GetBucketOwnershipControls),
    /// PUT `?ownershipControls`.
    PutBucketOwnershipControls => Some(Action::PutBucketOwnershipControls),
    /// DELETE `?ownershipControls`.
    DeleteBucketOwnershipControls => Some(Action::PutBucketOwnershipControls),
    /// GET `?requestPayment` (answered as for a bucket without it).
    GetBucketRequestPayment => Some(Action::GetBucketRequestPayment),
    /// GET `?accelerate` (answered as for a bucket without it).
    GetBucketAccelerateConfiguration => Some(Action::GetAccelerateConfiguration),
    /// GET `?logging` (answered as for a bucket without it).
    GetBucketLogging => Some(Action::GetBucketLogging),
    /// GET `?notification`.
    GetBucketNotificationConfiguration => Some(Action::GetBucketNotification),
    /// PUT `?notification`.
    PutBucketNotificationConfiguration => Some(Action::PutBucketNotification),
    /// GET `?replication` (answered as for a bucket without it).
    GetBucketReplication => Some(Action::GetReplicationConfiguration),
    /// GET `?website` (answered as for a bucket without it).
    GetBucketWebsite => Some(Action::GetBucketWebsite),
    /// PUT `?website`.
    PutBucketWebsite => Some(Action::PutBucketWebsite),
    /// DELETE `?website`.
    DeleteBucketWebsite => Some(Action::PutBucketWebsite),
    /// GET `?analytics&id=` (answered as for a bucket without it).
    GetBucketAnalyticsConfiguration => Some(Action::GetAnalyticsConfiguration),
    /// GET `?analytics` (answered as for a bucket without it).
    ListBucketAnalyticsConfigurations => Some(Action::GetAnalyticsConfiguration),
    /// GET `?metrics&id=` (answered as for a bucket without it).
    GetBucketMetricsConfiguration => Some(Action::GetMetricsConfiguration),
    /// GET `?metrics` (answered as for a bucket without it).
    ListBucketMetricsConfigurations => Some(Action::GetMetricsConfiguration),
    /// GET `?intelligent-tiering&id=` (answered as for a bucket without it).
    GetBucketIntelligentTieringConfiguration => Some(Action::GetIntelligentTieringConfiguration),
    /// GET `?intelligent-tiering` (answered as for a bucket without it).
    ListBucketIntelligentTieringConfigurations => Some(Action::GetIntelligentTieringConfiguration),
    /// GET `?inventory&id=` (answered as for a bucket without it).
    GetBucketInventoryConfiguration => Some(Action::GetInventoryConfiguration),
    /// GET `?inventory` (answered as for a bucket without it).
    ListBucketInventoryConfigurations => Some(Action::GetInventoryConfiguration),
    /// POST `?delete`.
    DeleteObjects => Some(Action::DeleteObject),
    /// POST on a bucket: a browser form upload (pier's own parser serves it).
    PostObject => Some(Action::PutObject),
    /// GET on an object.
    GetObject => Some(Action::GetObject),
    /// HEAD on an object.
    HeadObject => Some(Action::GetObject),
    /// GET `?attributes`.
    GetObjectAttributes => Some(Action::GetObject),
    /// PUT on an object.
    PutObject => Some(Action::PutObject),
    /// PUT on an object with `x-amz-copy-source`.
    CopyObject => Some(Action::PutObject),
    /// DELETE on an object.
    DeleteObject => Some(Action::DeleteObject),
    /// GET `?acl` on an object.
    GetObjectAcl => Some(Action::GetObjectAcl),
    /// PUT `?acl` on an object.
    PutObjectAcl => Some(Action::PutObjectAcl),
    /// GET `?tagging` on an object.
    GetObjectTagging => Some(Action::GetObjectTagging),
    /// PUT `?tagging` on an object.
    PutObjectTagging => Some(Action::PutObjectTagging),
    /// DELETE `?tagging` on an object.
    DeleteObjectTagging => Some(Action::DeleteObjectTagging),
    /// GET `?retention`.
    GetObjectRetention => Some(Action::GetObjectRetention),
    /// PUT `?retention`.
    PutObjectRetention => Some(Action::PutObjectRetention),
    /// GET `?legal-hold`.
    GetObjectLegalHold => Some(Action::GetObjectLegalHold),
    /// PUT `?legal-hold`.
    PutObjectLegalHold => Some(Action::PutObjectLegalHold),
    /// POST `?uploads`.
    CreateMultipartUpload => Some(Action::PutObject),
    /// PUT `?partNumber&uploadId`.
    UploadPart => Some(Action::PutObject),
    /// PUT `?partNumber&uploadId` with `x-amz-copy-source`.
    UploadPartCopy => Some(Action::PutObject),
    /// POST `?uploadId`.
    CompleteMultipartUpload => Some(Action::PutObject),
    /// DELETE `?uploadId`.
    AbortMultipartUpload => Some(Action::AbortMultipartUpload),
    /// GET `?uploadId`.
    ListParts => Some(Action::ListMultipartUploadParts),
    /// GET `?encryption`.
    GetBucketEncryption => Some(Action::GetEncryptionConfiguration),
    /// PUT `?encryption`.
    PutBucketEncryption => Some(Action::PutEncryptionConfiguration),
    /// DELETE `?encryption`.
    DeleteBucketEncryption => Some(Action::PutEncryptionConfiguration),
    /// OPTIONS: a CORS preflight, answered by the front's CORS layer.
    Preflight => None,
    /// Anything else (s3s answers it, usually `NotImplemented`).
    Unknown => None,
}

impl S3Operation {
    /// The operation named `name` (s3s names operations as AWS does); `None` for a name pier
    /// does not know.
    pub fn from_name(name: &str) -> Option<S3Operation> {
        S3Operation::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
    }

    /// True for the listings of a bucket's names: the access engine holds a prefix-restricted
    /// key to the listing's `prefix`.
    pub fn lists_names(self) -> bool {
        use S3Operation::*;
        matches!(
            self,
            ListObjects | ListObjectsV2 | ListObjectVersions | ListMultipartUploads
        )
    }

    /// True for the operations whose body is object bytes, streamed; every other body is a
    /// document the front may read whole (bounded) before the handler.
    pub fn streams_body(self) -> bool {
        use S3Operation::*;
        matches!(
            self,
            PutObject | UploadPart | UploadPartCopy | CopyObject | PostObject
        )
    }

    /// True for uploads whose `Content-MD5` checks the bytes (an empty one is refused).
    pub fn checks_content_md5(self) -> bool {
        matches!(self, S3Operation::PutObject | S3Operation::UploadPart)
    }

    /// True for the operations that may bypass a governance retention
    /// (`x-amz-bypass-governance-retention`).
    pub fn may_bypass_governance(self) -> bool {
        matches!(
            self,
            S3Operation::DeleteObject | S3Operation::PutObjectRetention
        )
    }

    /// True for reads of an object's bytes (GET, HEAD).
    pub fn reads_object(self) -> bool {
        matches!(self, S3Operation::GetObject | S3Operation::HeadObject)
    }
}

/// A request, parsed once: what it does, and to which bucket and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Endpoint {
    /// The operation.
    pub op: S3Operation,
    /// The bucket, from the virtual host or the path's first segment.
    pub bucket: Option<String>,
    /// The key, percent-decoded (`None`: the request addresses a bucket or the service).
    pub key: Option<String>,
}

impl S3Endpoint {
    /// Parses a request whose `Host` names a bucket when it is a virtual host of `hosts`.
    pub fn parse<B>(req: &Request<B>, hosts: &VirtualHosts) -> S3Endpoint {
        let path = req.uri().path().trim_start_matches('/');
        let host = pier_edge::request_host(req.headers(), req.uri()).unwrap_or_default();
        let decode = |s: &str| pier_edge::percent::decode_lossy(s).into_owned();
        let (bucket, key) = match hosts.bucket_of(host) {
            Some(b) => (Some(b.to_owned()), (!path.is_empty()).then(|| decode(path))),
            None => match path.split_once('/') {
                Some((b, rest)) => (Some(decode(b)), (!rest.is_empty()).then(|| decode(rest))),
                None => ((!path.is_empty()).then(|| decode(path)), None),
            },
        };
        let op = operation(
            req.method(),
            bucket.is_some(),
            key.is_some(),
            RawQuery::new(req.uri().query()),
            req.headers(),
        );
        S3Endpoint { op, bucket, key }
    }
}

/// The operation of a request to a bucket (`has_bucket`) and maybe a key (`has_key`).
fn operation(
    method: &Method,
    has_bucket: bool,
    has_key: bool,
    query: RawQuery<'_>,
    headers: &HeaderMap,
) -> S3Operation {
    use S3Operation::*;
    let q = |name: &str| query.has(name);
    let copy = headers.contains_key("x-amz-copy-source");
    match (method.as_str(), has_bucket, has_key) {
        ("OPTIONS", _, _) => Preflight,
        ("GET", false, _) => ListBuckets,
        (_, false, _) => Unknown,
        ("GET", true, false) => match () {
            _ if q("cors-explain") => CorsExplain,
            _ if q("cors") => GetBucketCors,
            _ if q("acl") => GetBucketAcl,
            _ if q("location") => GetBucketLocation,
            _ if q("uploads") => ListMultipartUploads,
            _ if q("versions") => ListObjectVersions,
            _ if q("versioning") => GetBucketVersioning,
            _ if q("tagging") => GetBucketTagging,
            _ if q("publicAccessBlock") => GetPublicAccessBlock,
            _ if q("lifecycle") => GetBucketLifecycleConfiguration,
            _ if q("policyStatus") => GetBucketPolicyStatus,
            _ if q("encryption") => GetBucketEncryption,
            _ if q("policy") => GetBucketPolicy,
            _ if q("object-lock") => GetObjectLockConfiguration,
            _ if q("ownershipControls") => GetBucketOwnershipControls,
            _ if q("requestPayment") => GetBucketRequestPayment,
            _ if q("accelerate") => GetBucketAccelerateConfiguration,
            _ if q("logging") => GetBucketLogging,
            _ if q("notification") => GetBucketNotificationConfiguration,
            _ if q("replication") => GetBucketReplication,
            _ if q("website") => GetBucketWebsite,
            _ if q("analytics") && q("id") => GetBucketAnalyticsConfiguration,
            _ if q("analytics") => ListBucketAnalyticsConfigurations,
            _ if q("metrics") && q("id") => GetBucketMetricsConfiguration,
            _ if q("metrics") => ListBucketMetricsConfigurations,
            _ if q("intelligent-tiering") && q("id") => GetBucketIntelligentTieringConfiguration,
            _ if q("intelligent-tiering") => ListBucketIntelligentTieringConfigurations,
            _ if q("inventory") && q("id") => GetBucketInventoryConfiguration,
            _ if q("inventory") => ListBucketInventoryConfigurations,
            _ if query.raw("list-type") == Some("2") => ListObjectsV2,
            _ => ListObjects,
        },
        ("HEAD", true, false) => HeadBucket,
        ("PUT", true, false) => match () {
            _ if q("cors") => PutBucketCors,
            _ if q("acl") => PutBucketAcl,
            _ if q("policy") => PutBucketPolicy,
            _ if q("versioning") => PutBucketVersioning,
            _ if q("tagging") => PutBucketTagging,
            _ if q("publicAccessBlock") => PutPublicAccessBlock,
            _ if q("lifecycle") => PutBucketLifecycleConfiguration,
            _ if q("object-lock") => PutObjectLockConfiguration,
            _ if q("ownershipControls") => PutBucketOwnershipControls,
            _ if q("notification") => PutBucketNotificationConfiguration,
            _ if q("website") => PutBucketWebsite,
            _ if q("encryption") => PutBucketEncryption,
            _ => CreateBucket,
        },
        ("DELETE", true, false) => match () {
            _ if q("cors") => DeleteBucketCors,
            _ if q("policy") => DeleteBucketPolicy,
            _ if q("lifecycle") => DeleteBucketLifecycle,
            _ if q("tagging") => DeleteBucketTagging,
            _ if q("publicAccessBlock") => DeletePublicAccessBlock,
            _ if q("ownershipControls") => DeleteBucketOwnershipControls,
            _ if q("website") => DeleteBucketWebsite,
            _ if q("encryption") => DeleteBucketEncryption,
            _ => DeleteBucket,
        },
        ("POST", true, false) if q("delete") => DeleteObjects,
        ("POST", true, false) => PostObject,
        ("GET", true, true) => match () {
            _ if q("uploadId") => ListParts,
            _ if q("acl") => GetObjectAcl,
            _ if q("tagging") => GetObjectTagging,
            _ if q("attributes") => GetObjectAttributes,
            _ if q("retention") => GetObjectRetention,
            _ if q("legal-hold") => GetObjectLegalHold,
            _ => GetObject,
        },
        ("HEAD", true, true) => HeadObject,
        ("PUT", true, true) => match () {
            _ if q("tagging") => PutObjectTagging,
            _ if q("retention") => PutObjectRetention,
            _ if q("acl") => PutObjectAcl,
            _ if q("legal-hold") => PutObjectLegalHold,
            _ if q("partNumber") && copy => UploadPartCopy,
            _ if q("partNumber") => UploadPart,
            _ if copy => CopyObject,
            _ => PutObject,
        },
        ("POST", true, true) => match () {
            _ if q("uploads") => CreateMultipartUpload,
            _ if q("uploadId") => CompleteMultipartUpload,
            _ => Unknown,
        },
        ("DELETE", true, true) => match () {
            _ if q("tagging") => DeleteObjectTagging,
            _ if q("uploadId") => AbortMultipartUpload,
            _ => DeleteObject,
        },
        _ => Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, host: &str, target: &str, copy: bool) -> S3Endpoint {
        let mut req = Request::builder()
            .method(method)
            .uri(target)
            .header(http::header::HOST, host);
        if copy {
            req = req.header("x-amz-copy-source", "b/k");
        }
        let hosts = VirtualHosts::new(vec!["localhost".into()]);
        S3Endpoint::parse(&req.body(()).unwrap(), &hosts)
    }

    fn op(method: Method, target: &str, copy: bool) -> S3Operation {
        parse(method, "127.0.0.1:9000", target, copy).op
    }

    #[test]
    fn operations_are_named_as_aws_names_them() {
        use S3Operation::*;
        let cases = [
            (Method::GET, "/", false, ListBuckets),
            (Method::GET, "/b?list-type=2", false, ListObjectsV2),
            (Method::GET, "/b", false, ListObjects),
            (Method::PUT, "/b?cors", false, PutBucketCors),
            (Method::POST, "/b?delete", false, DeleteObjects),
            (Method::POST, "/b", false, PostObject),
            (Method::PUT, "/b/k", false, PutObject),
            (Method::PUT, "/b/k", true, CopyObject),
            (
                Method::PUT,
                "/b/k?partNumber=1&uploadId=u",
                true,
                UploadPartCopy,
            ),
            (Method::POST, "/b/k?uploads", false, CreateMultipartUpload),
            (
                Method::DELETE,
                "/b/k?uploadId=u",
                false,
                AbortMultipartUpload,
            ),
            (Method::PUT, "/b?versioning", false, PutBucketVersioning),
            (
                Method::GET,
                "/b?lifecycle",
                false,
                GetBucketLifecycleConfiguration,
            ),
            (Method::DELETE, "/b?lifecycle", false, DeleteBucketLifecycle),
            (
                Method::GET,
                "/b?analytics",
                false,
                ListBucketAnalyticsConfigurations,
            ),
            (
                Method::GET,
                "/b?analytics&id=x",
                false,
                GetBucketAnalyticsConfiguration,
            ),
            (Method::OPTIONS, "/b/k", false, Preflight),
            (Method::PATCH, "/b/k", false, Unknown),
        ];
        for (method, target, copy, want) in cases {
            assert_eq!(op(method.clone(), target, copy), want, "{method} {target}");
        }
        assert_eq!(CopyObject.name(), "CopyObject");
    }

    #[test]
    fn the_bucket_and_key_come_from_the_host_or_the_path() {
        let e = parse(Method::GET, "photos.localhost:9000", "/a%20b/c.jpg", false);
        assert_eq!(
            (e.bucket.as_deref(), e.key.as_deref()),
            (Some("photos"), Some("a b/c.jpg"))
        );
        let e = parse(Method::GET, "127.0.0.1:9000", "/photos/a%2Fb", false);
        assert_eq!(
            (e.bucket.as_deref(), e.key.as_deref()),
            (Some("photos"), Some("a/b"))
        );
        let e = parse(Method::GET, "photos.localhost:9000", "/", false);
        assert_eq!((e.bucket.as_deref(), e.key), (Some("photos"), None));
        assert_eq!(e.op, S3Operation::ListObjects);
    }

    #[test]
    fn every_name_reads_back_and_every_served_operation_has_an_action() {
        for op in S3Operation::ALL {
            assert_eq!(S3Operation::from_name(op.name()), Some(*op));
            let unserved = matches!(op, S3Operation::Preflight | S3Operation::Unknown);
            assert_eq!(op.action().is_none(), unserved, "{}", op.name());
        }
        assert_eq!(S3Operation::from_name("SelectObjectContent"), None);
    }

    #[test]
    fn actions_and_capabilities_are_iams() {
        use S3Operation::*;
        let table = [
            (ListBuckets, "s3:ListAllMyBuckets", "listBuckets"),
            (HeadBucket, "s3:ListBucket", "listFiles"),
            (ListObjectVersions, "s3:ListBucketVersions", "listFiles"),
            (CorsExplain, "s3:GetBucketCORS", "readBuckets"),
            (DeleteBucketCors, "s3:PutBucketCORS", "writeBuckets"),
            (
                ListMultipartUploads,
                "s3:ListBucketMultipartUploads",
                "listFiles",
            ),
            (ListParts, "s3:ListMultipartUploadParts", "listFiles"),
            (HeadObject, "s3:GetObject", "readFiles"),
            (CopyObject, "s3:PutObject", "writeFiles"),
            (PostObject, "s3:PutObject", "writeFiles"),
            (DeleteObjects, "s3:DeleteObject", "deleteFiles"),
            (
                GetObjectLockConfiguration,
                "s3:GetBucketObjectLockConfiguration",
                "readBucketRetentions",
            ),
            (
                PutObjectLegalHold,
                "s3:PutObjectLegalHold",
                "writeFileLegalHolds",
            ),
            (
                GetBucketRequestPayment,
                "s3:GetBucketRequestPayment",
                "readBuckets",
            ),
            (
                ListBucketInventoryConfigurations,
                "s3:GetInventoryConfiguration",
                "readBuckets",
            ),
            (GetBucketWebsite, "s3:GetBucketWebsite", "readBuckets"),
        ];
        for (op, iam, cap) in table {
            let a = op.action().unwrap();
            assert_eq!(
                (a.iam_name(), a.capability().name()),
                (iam, cap),
                "{}",
                op.name()
            );
        }
    }
}
