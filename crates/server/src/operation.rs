//! Names of the operation a request performs, for metrics and the access log: S3's operation
//! names (as AWS documents them) from the method, path and query; B2's call names.

use http::{HeaderMap, Method};
use pier_b2::{B2Call, JsonCall};
use pier_edge::RawQuery;

/// The S3 operation of a request to `bucket` (if any) and an object key (`has_key`).
pub fn s3_operation(
    method: &Method,
    has_bucket: bool,
    has_key: bool,
    query: RawQuery<'_>,
    headers: &HeaderMap,
) -> &'static str {
    let q = |name: &str| query.has(name);
    let copy = headers.contains_key("x-amz-copy-source");
    match (method.as_str(), has_bucket, has_key) {
        ("GET", false, _) => "ListBuckets",
        (_, false, _) => "Unknown",
        ("GET", true, false) => match () {
            _ if q("cors-explain") => "CorsExplain",
            _ if q("cors") => "GetBucketCors",
            _ if q("acl") => "GetBucketAcl",
            _ if q("location") => "GetBucketLocation",
            _ if q("uploads") => "ListMultipartUploads",
            _ if q("versions") => "ListObjectVersions",
            _ if q("versioning") => "GetBucketVersioning",
            _ if q("tagging") => "GetBucketTagging",
            _ if q("publicAccessBlock") => "GetPublicAccessBlock",
            _ if q("lifecycle") => "GetBucketLifecycleConfiguration",
            _ if q("policyStatus") => "GetBucketPolicyStatus",
            _ if q("policy") => "GetBucketPolicy",
            _ if q("object-lock") => "GetObjectLockConfiguration",
            _ if q("ownershipControls") => "GetBucketOwnershipControls",
            _ if q("requestPayment") => "GetBucketRequestPayment",
            _ if q("accelerate") => "GetBucketAccelerateConfiguration",
            _ if q("logging") => "GetBucketLogging",
            _ if q("notification") => "GetBucketNotificationConfiguration",
            _ if q("replication") => "GetBucketReplication",
            _ if q("website") => "GetBucketWebsite",
            _ if q("analytics") && q("id") => "GetBucketAnalyticsConfiguration",
            _ if q("analytics") => "ListBucketAnalyticsConfigurations",
            _ if q("metrics") && q("id") => "GetBucketMetricsConfiguration",
            _ if q("metrics") => "ListBucketMetricsConfigurations",
            _ if q("intelligent-tiering") && q("id") => "GetBucketIntelligentTieringConfiguration",
            _ if q("intelligent-tiering") => "ListBucketIntelligentTieringConfigurations",
            _ if q("inventory") && q("id") => "GetBucketInventoryConfiguration",
            _ if q("inventory") => "ListBucketInventoryConfigurations",
            _ if query.raw("list-type") == Some("2") => "ListObjectsV2",
            _ => "ListObjects",
        },
        ("HEAD", true, false) => "HeadBucket",
        ("PUT", true, false) => match () {
            _ if q("cors") => "PutBucketCors",
            _ if q("acl") => "PutBucketAcl",
            _ if q("policy") => "PutBucketPolicy",
            _ if q("versioning") => "PutBucketVersioning",
            _ if q("tagging") => "PutBucketTagging",
            _ if q("publicAccessBlock") => "PutPublicAccessBlock",
            _ if q("lifecycle") => "PutBucketLifecycleConfiguration",
            _ if q("object-lock") => "PutObjectLockConfiguration",
            _ if q("ownershipControls") => "PutBucketOwnershipControls",
            _ => "CreateBucket",
        },
        ("DELETE", true, false) => {
            if q("cors") {
                "DeleteBucketCors"
            } else if q("policy") {
                "DeleteBucketPolicy"
            } else if q("lifecycle") {
                "DeleteBucketLifecycle"
            } else if q("tagging") {
                "DeleteBucketTagging"
            } else if q("publicAccessBlock") {
                "DeletePublicAccessBlock"
            } else if q("ownershipControls") {
                "DeleteBucketOwnershipControls"
            } else {
                "DeleteBucket"
            }
        }
        ("POST", true, false) => {
            if q("delete") {
                "DeleteObjects"
            } else {
                "PostObject"
            }
        }
        ("GET", true, true) => match () {
            _ if q("uploadId") => "ListParts",
            _ if q("acl") => "GetObjectAcl",
            _ if q("tagging") => "GetObjectTagging",
            _ if q("attributes") => "GetObjectAttributes",
            _ if q("retention") => "GetObjectRetention",
            _ if q("legal-hold") => "GetObjectLegalHold",
            _ => "GetObject",
        },
        ("HEAD", true, true) => "HeadObject",
        ("PUT", true, true) => match () {
            _ if q("tagging") => "PutObjectTagging",
            _ if q("retention") => "PutObjectRetention",
            _ if q("acl") => "PutObjectAcl",
            _ if q("legal-hold") => "PutObjectLegalHold",
            _ if q("partNumber") && copy => "UploadPartCopy",
            _ if q("partNumber") => "UploadPart",
            _ if copy => "CopyObject",
            _ => "PutObject",
        },
        ("POST", true, true) => match () {
            _ if q("uploads") => "CreateMultipartUpload",
            _ if q("uploadId") => "CompleteMultipartUpload",
            _ => "Unknown",
        },
        ("DELETE", true, true) => {
            if q("tagging") {
                "DeleteObjectTagging"
            } else if q("uploadId") {
                "AbortMultipartUpload"
            } else {
                "DeleteObject"
            }
        }
        ("OPTIONS", _, _) => "Preflight",
        _ => "Unknown",
    }
}

/// The B2 call name of a parsed B2 request (`b2_unknown` when it did not parse).
pub fn b2_operation(call: Option<&B2Call>) -> &'static str {
    let Some(call) = call else {
        return "b2_unknown";
    };
    match call {
        B2Call::DownloadByName { .. } => "b2_download_file_by_name",
        B2Call::DownloadById { .. } | B2Call::Json(JsonCall::DownloadFileById) => {
            "b2_download_file_by_id"
        }
        B2Call::UploadFile { .. } => "b2_upload_file",
        B2Call::UploadPart { .. } => "b2_upload_part",
        B2Call::Authorize => "b2_authorize_account",
        B2Call::Json(op) => op.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, bucket: bool, key: bool, query: &str, copy: bool) -> &'static str {
        let mut h = HeaderMap::new();
        if copy {
            h.insert("x-amz-copy-source", "b/k".parse().unwrap());
        }
        s3_operation(&method, bucket, key, RawQuery::new(Some(query)), &h)
    }

    #[test]
    fn s3_operations_are_named_as_aws_names_them() {
        assert_eq!(op(Method::GET, false, false, "", false), "ListBuckets");
        assert_eq!(
            op(Method::GET, true, false, "list-type=2", false),
            "ListObjectsV2"
        );
        assert_eq!(op(Method::PUT, true, false, "cors", false), "PutBucketCors");
        assert_eq!(
            op(Method::POST, true, false, "delete", false),
            "DeleteObjects"
        );
        assert_eq!(op(Method::PUT, true, true, "", false), "PutObject");
        assert_eq!(op(Method::PUT, true, true, "", true), "CopyObject");
        assert_eq!(
            op(Method::PUT, true, true, "partNumber=1&uploadId=u", true),
            "UploadPartCopy"
        );
        assert_eq!(
            op(Method::POST, true, true, "uploads", false),
            "CreateMultipartUpload"
        );
        assert_eq!(
            op(Method::DELETE, true, true, "uploadId=u", false),
            "AbortMultipartUpload"
        );
        assert_eq!(
            op(Method::PUT, true, false, "versioning", false),
            "PutBucketVersioning"
        );
        assert_eq!(
            op(Method::GET, true, false, "lifecycle", false),
            "GetBucketLifecycleConfiguration"
        );
        assert_eq!(
            op(Method::DELETE, true, false, "lifecycle", false),
            "DeleteBucketLifecycle"
        );
    }
}
