//! What a request does, in one vocabulary for both APIs: the IAM action name a bucket policy
//! matches (`s3:GetObject`), and the B2 capability a key needs for it. `docs/access.md` has the
//! table of every S3 operation and B2 call pier serves and the action it is.

use crate::capability::Capability;

/// An action on the service, a bucket or an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `s3:ListAllMyBuckets` (ListBuckets, `b2_list_buckets`): `listBuckets`.
    ListAllMyBuckets,
    /// `s3:CreateBucket` (`b2_create_bucket`): `writeBuckets`.
    CreateBucket,
    /// `s3:DeleteBucket` (`b2_delete_bucket`): `deleteBuckets`.
    DeleteBucket,
    /// `s3:ListBucket` (ListObjects, HeadBucket, `b2_list_file_names`/`_versions`): `listFiles`.
    ListBucket,
    /// `s3:GetBucketLocation`: `readBuckets`.
    GetBucketLocation,
    /// `s3:GetBucketCORS` (GetBucketCors, cors-explain): `readBuckets`.
    GetBucketCors,
    /// `s3:PutBucketCORS` (Put/DeleteBucketCors; `b2_update_bucket`): `writeBuckets`.
    PutBucketCors,
    /// `s3:GetBucketAcl`: `readBuckets`.
    GetBucketAcl,
    /// `s3:PutBucketAcl` (and B2 `bucketType`): `writeBuckets`.
    PutBucketAcl,
    /// `s3:GetBucketPolicy`: `readBuckets`.
    GetBucketPolicy,
    /// `s3:PutBucketPolicy`: `writeBuckets`.
    PutBucketPolicy,
    /// `s3:DeleteBucketPolicy`: `writeBuckets`.
    DeleteBucketPolicy,
    /// `s3:GetBucketPolicyStatus`: `readBuckets`.
    GetBucketPolicyStatus,
    /// `s3:ListBucketMultipartUploads` (`b2_list_unfinished_large_files`): `listFiles`.
    ListBucketMultipartUploads,
    /// `s3:ListMultipartUploadParts` (`b2_list_parts`): `listFiles`.
    ListMultipartUploadParts,
    /// `s3:GetObject` (GET, HEAD, copy source, B2 downloads and file info): `readFiles`.
    GetObject,
    /// `s3:PutObject` (PUT, copy, multipart, POST, B2 uploads, large files, hide): `writeFiles`.
    PutObject,
    /// `s3:AbortMultipartUpload` (`b2_cancel_large_file`): `writeFiles`.
    AbortMultipartUpload,
    /// `s3:DeleteObject` (DeleteObject(s), `b2_delete_file_version`): `deleteFiles`.
    DeleteObject,
    /// `b2:ShareFiles` (`b2_get_download_authorization`): `shareFiles`.
    ShareFiles,
    /// `b2:ListKeys` (`b2_list_keys`): `listKeys`.
    ListKeys,
    /// `b2:WriteKeys` (`b2_create_key`): `writeKeys`.
    WriteKeys,
    /// `b2:DeleteKeys` (`b2_delete_key`): `deleteKeys`.
    DeleteKeys,
    /// `s3:GetObjectVersion` (GET/HEAD/copy source with `versionId`): `readFiles`.
    GetObjectVersion,
    /// `s3:DeleteObjectVersion` (DELETE with `versionId`, `b2_delete_file_version`):
    /// `deleteFiles`.
    DeleteObjectVersion,
    /// `s3:ListBucketVersions` (ListObjectVersions, `b2_list_file_versions`): `listFiles`.
    ListBucketVersions,
    /// `s3:GetBucketVersioning`: `readBuckets`.
    GetBucketVersioning,
    /// `s3:PutBucketVersioning`: `writeBuckets`.
    PutBucketVersioning,
    /// `s3:GetLifecycleConfiguration`: `readBuckets`.
    GetLifecycleConfiguration,
    /// `s3:PutLifecycleConfiguration` (Put/DeleteBucketLifecycle, B2 `lifecycleRules`):
    /// `writeBuckets`.
    PutLifecycleConfiguration,
    /// `s3:GetObjectTagging`: `readFiles`.
    GetObjectTagging,
    /// `s3:GetObjectVersionTagging`: `readFiles`.
    GetObjectVersionTagging,
    /// `s3:PutObjectTagging`: `writeFiles`.
    PutObjectTagging,
    /// `s3:PutObjectVersionTagging`: `writeFiles`.
    PutObjectVersionTagging,
    /// `s3:DeleteObjectTagging`: `writeFiles`.
    DeleteObjectTagging,
    /// `s3:DeleteObjectVersionTagging`: `writeFiles`.
    DeleteObjectVersionTagging,
    /// `s3:GetBucketTagging`: `readBuckets`.
    GetBucketTagging,
    /// `s3:PutBucketTagging`: `writeBuckets`.
    PutBucketTagging,
    /// `s3:GetBucketPublicAccessBlock`: `readBuckets`.
    GetBucketPublicAccessBlock,
    /// `s3:PutBucketPublicAccessBlock` (Put and DeletePublicAccessBlock): `writeBuckets`.
    PutBucketPublicAccessBlock,
    /// `s3:GetBucketObjectLockConfiguration` (B2 reads it with the bucket):
    /// `readBucketRetentions`.
    GetBucketObjectLockConfiguration,
    /// `s3:PutBucketObjectLockConfiguration` (B2 `fileLockEnabled`, `defaultRetention`):
    /// `writeBucketRetentions`.
    PutBucketObjectLockConfiguration,
    /// `s3:GetObjectRetention`: `readFileRetentions`.
    GetObjectRetention,
    /// `s3:PutObjectRetention` (`b2_update_file_retention`, retention named on upload):
    /// `writeFileRetentions`.
    PutObjectRetention,
    /// `s3:GetObjectLegalHold`: `readFileLegalHolds`.
    GetObjectLegalHold,
    /// `s3:PutObjectLegalHold` (`b2_update_file_legal_hold`, legal hold named on upload):
    /// `writeFileLegalHolds`.
    PutObjectLegalHold,
    /// `s3:BypassGovernanceRetention` (a request asking to bypass governance retention, on top
    /// of its own action): `bypassGovernance`.
    BypassGovernanceRetention,
    /// `s3:GetObjectAcl`: `readFiles`.
    GetObjectAcl,
    /// `s3:PutObjectAcl`: `writeFiles`.
    PutObjectAcl,
    /// `s3:GetBucketOwnershipControls`: `readBuckets`.
    GetBucketOwnershipControls,
    /// `s3:PutBucketOwnershipControls` (Put and DeleteBucketOwnershipControls): `writeBuckets`.
    PutBucketOwnershipControls,
    /// `s3:GetBucketRequestPayment` (GetBucketRequestPayment: answered as for a bucket without that configuration): `readBuckets`.
    GetBucketRequestPayment,
    /// `s3:GetAccelerateConfiguration` (GetBucketAccelerateConfiguration: answered as for a bucket without that configuration): `readBuckets`.
    GetAccelerateConfiguration,
    /// `s3:GetBucketLogging` (GetBucketLogging: answered as for a bucket without that configuration): `readBuckets`.
    GetBucketLogging,
    /// `s3:GetBucketNotification` (GetBucketNotificationConfiguration,
    /// `b2_get_bucket_notification_rules`): `readBucketNotifications`.
    GetBucketNotification,
    /// `s3:PutBucketNotification` (`b2_set_bucket_notification_rules`):
    /// `writeBucketNotifications`.
    PutBucketNotification,
    /// `s3:GetAnalyticsConfiguration` (GetBucketAnalyticsConfiguration, ListBucketAnalyticsConfigurations: answered as for a bucket without that configuration): `readBuckets`.
    GetAnalyticsConfiguration,
    /// `s3:GetMetricsConfiguration` (GetBucketMetricsConfiguration, ListBucketMetricsConfigurations: answered as for a bucket without that configuration): `readBuckets`.
    GetMetricsConfiguration,
    /// `s3:GetIntelligentTieringConfiguration` (GetBucketIntelligentTieringConfiguration, ListBucketIntelligentTieringConfigurations: answered as for a bucket without that configuration): `readBuckets`.
    GetIntelligentTieringConfiguration,
    /// `s3:GetInventoryConfiguration` (GetBucketInventoryConfiguration, ListBucketInventoryConfigurations: answered as for a bucket without that configuration): `readBuckets`.
    GetInventoryConfiguration,
    /// `s3:GetReplicationConfiguration` (GetBucketReplication: answered as for a bucket without that configuration): `readBuckets`.
    GetReplicationConfiguration,
    /// `s3:GetBucketWebsite` (GetBucketWebsite): `readBuckets`.
    GetBucketWebsite,
    /// `s3:PutBucketWebsite` (PutBucketWebsite, DeleteBucketWebsite): `writeBuckets`.
    PutBucketWebsite,
    /// `s3:GetEncryptionConfiguration` (GetBucketEncryption): `readBuckets`.
    GetEncryptionConfiguration,
    /// `s3:PutEncryptionConfiguration` (PutBucketEncryption, DeleteBucketEncryption):
    /// `writeBuckets`.
    PutEncryptionConfiguration,
}

/// What an action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The whole service (listing buckets, keys).
    Service,
    /// A bucket.
    Bucket,
    /// An object in a bucket.
    Object,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 65] = [
        Action::ListAllMyBuckets,
        Action::CreateBucket,
        Action::DeleteBucket,
        Action::ListBucket,
        Action::GetBucketLocation,
        Action::GetBucketCors,
        Action::PutBucketCors,
        Action::GetBucketAcl,
        Action::PutBucketAcl,
        Action::GetBucketPolicy,
        Action::PutBucketPolicy,
        Action::DeleteBucketPolicy,
        Action::GetBucketPolicyStatus,
        Action::ListBucketMultipartUploads,
        Action::ListMultipartUploadParts,
        Action::GetObject,
        Action::PutObject,
        Action::AbortMultipartUpload,
        Action::DeleteObject,
        Action::ShareFiles,
        Action::ListKeys,
        Action::WriteKeys,
        Action::DeleteKeys,
        Action::GetObjectVersion,
        Action::DeleteObjectVersion,
        Action::ListBucketVersions,
        Action::GetBucketVersioning,
        Action::PutBucketVersioning,
        Action::GetLifecycleConfiguration,
        Action::PutLifecycleConfiguration,
        Action::GetObjectTagging,
        Action::GetObjectVersionTagging,
        Action::PutObjectTagging,
        Action::PutObjectVersionTagging,
        Action::DeleteObjectTagging,
        Action::DeleteObjectVersionTagging,
        Action::GetBucketTagging,
        Action::PutBucketTagging,
        Action::GetBucketPublicAccessBlock,
        Action::PutBucketPublicAccessBlock,
        Action::GetBucketObjectLockConfiguration,
        Action::PutBucketObjectLockConfiguration,
        Action::GetObjectRetention,
        Action::PutObjectRetention,
        Action::GetObjectLegalHold,
        Action::PutObjectLegalHold,
        Action::BypassGovernanceRetention,
        Action::GetObjectAcl,
        Action::PutObjectAcl,
        Action::GetBucketOwnershipControls,
        Action::PutBucketOwnershipControls,
        Action::GetBucketRequestPayment,
        Action::GetAccelerateConfiguration,
        Action::GetBucketLogging,
        Action::GetBucketNotification,
        Action::PutBucketNotification,
        Action::GetAnalyticsConfiguration,
        Action::GetMetricsConfiguration,
        Action::GetIntelligentTieringConfiguration,
        Action::GetInventoryConfiguration,
        Action::GetReplicationConfiguration,
        Action::GetBucketWebsite,
        Action::PutBucketWebsite,
        Action::GetEncryptionConfiguration,
        Action::PutEncryptionConfiguration,
    ];

    /// The name a policy's `Action` matches (`s3:GetObject`; `b2:...` for B2-only actions).
    pub fn iam_name(self) -> &'static str {
        use Action::*;
        match self {
            ListAllMyBuckets => "s3:ListAllMyBuckets",
            CreateBucket => "s3:CreateBucket",
            DeleteBucket => "s3:DeleteBucket",
            ListBucket => "s3:ListBucket",
            GetBucketLocation => "s3:GetBucketLocation",
            GetBucketCors => "s3:GetBucketCORS",
            PutBucketCors => "s3:PutBucketCORS",
            GetBucketAcl => "s3:GetBucketAcl",
            PutBucketAcl => "s3:PutBucketAcl",
            GetBucketPolicy => "s3:GetBucketPolicy",
            PutBucketPolicy => "s3:PutBucketPolicy",
            DeleteBucketPolicy => "s3:DeleteBucketPolicy",
            GetBucketPolicyStatus => "s3:GetBucketPolicyStatus",
            ListBucketMultipartUploads => "s3:ListBucketMultipartUploads",
            ListMultipartUploadParts => "s3:ListMultipartUploadParts",
            GetObject => "s3:GetObject",
            PutObject => "s3:PutObject",
            AbortMultipartUpload => "s3:AbortMultipartUpload",
            DeleteObject => "s3:DeleteObject",
            ShareFiles => "b2:ShareFiles",
            ListKeys => "b2:ListKeys",
            WriteKeys => "b2:WriteKeys",
            DeleteKeys => "b2:DeleteKeys",
            GetObjectVersion => "s3:GetObjectVersion",
            DeleteObjectVersion => "s3:DeleteObjectVersion",
            ListBucketVersions => "s3:ListBucketVersions",
            GetBucketVersioning => "s3:GetBucketVersioning",
            PutBucketVersioning => "s3:PutBucketVersioning",
            GetLifecycleConfiguration => "s3:GetLifecycleConfiguration",
            PutLifecycleConfiguration => "s3:PutLifecycleConfiguration",
            GetObjectTagging => "s3:GetObjectTagging",
            GetObjectVersionTagging => "s3:GetObjectVersionTagging",
            PutObjectTagging => "s3:PutObjectTagging",
            PutObjectVersionTagging => "s3:PutObjectVersionTagging",
            DeleteObjectTagging => "s3:DeleteObjectTagging",
            DeleteObjectVersionTagging => "s3:DeleteObjectVersionTagging",
            GetBucketTagging => "s3:GetBucketTagging",
            PutBucketTagging => "s3:PutBucketTagging",
            GetBucketPublicAccessBlock => "s3:GetBucketPublicAccessBlock",
            PutBucketPublicAccessBlock => "s3:PutBucketPublicAccessBlock",
            GetBucketObjectLockConfiguration => "s3:GetBucketObjectLockConfiguration",
            PutBucketObjectLockConfiguration => "s3:PutBucketObjectLockConfiguration",
            GetObjectRetention => "s3:GetObjectRetention",
            PutObjectRetention => "s3:PutObjectRetention",
            GetObjectLegalHold => "s3:GetObjectLegalHold",
            PutObjectLegalHold => "s3:PutObjectLegalHold",
            BypassGovernanceRetention => "s3:BypassGovernanceRetention",
            GetObjectAcl => "s3:GetObjectAcl",
            PutObjectAcl => "s3:PutObjectAcl",
            GetBucketOwnershipControls => "s3:GetBucketOwnershipControls",
            PutBucketOwnershipControls => "s3:PutBucketOwnershipControls",
            GetBucketRequestPayment => "s3:GetBucketRequestPayment",
            GetAccelerateConfiguration => "s3:GetAccelerateConfiguration",
            GetBucketLogging => "s3:GetBucketLogging",
            GetBucketNotification => "s3:GetBucketNotification",
            PutBucketNotification => "s3:PutBucketNotification",
            GetAnalyticsConfiguration => "s3:GetAnalyticsConfiguration",
            GetMetricsConfiguration => "s3:GetMetricsConfiguration",
            GetIntelligentTieringConfiguration => "s3:GetIntelligentTieringConfiguration",
            GetInventoryConfiguration => "s3:GetInventoryConfiguration",
            GetReplicationConfiguration => "s3:GetReplicationConfiguration",
            GetBucketWebsite => "s3:GetBucketWebsite",
            PutBucketWebsite => "s3:PutBucketWebsite",
            GetEncryptionConfiguration => "s3:GetEncryptionConfiguration",
            PutEncryptionConfiguration => "s3:PutEncryptionConfiguration",
        }
    }

    /// The capability a key needs for it.
    pub fn capability(self) -> Capability {
        use Action::*;
        match self {
            ListAllMyBuckets => Capability::ListBuckets,
            CreateBucket
            | PutBucketCors
            | PutBucketAcl
            | PutBucketPolicy
            | DeleteBucketPolicy
            | PutBucketVersioning
            | PutLifecycleConfiguration => Capability::WriteBuckets,
            DeleteBucket => Capability::DeleteBuckets,
            GetBucketLocation
            | GetBucketCors
            | GetBucketAcl
            | GetBucketPolicy
            | GetBucketPolicyStatus
            | GetBucketVersioning
            | GetLifecycleConfiguration => Capability::ReadBuckets,
            ListBucket
            | ListBucketVersions
            | ListBucketMultipartUploads
            | ListMultipartUploadParts => Capability::ListFiles,
            GetObject | GetObjectVersion => Capability::ReadFiles,
            PutObject | AbortMultipartUpload => Capability::WriteFiles,
            DeleteObject | DeleteObjectVersion => Capability::DeleteFiles,
            ShareFiles => Capability::ShareFiles,
            ListKeys => Capability::ListKeys,
            WriteKeys => Capability::WriteKeys,
            DeleteKeys => Capability::DeleteKeys,
            GetObjectTagging | GetObjectVersionTagging => Capability::ReadFiles,
            PutObjectTagging
            | PutObjectVersionTagging
            | DeleteObjectTagging
            | DeleteObjectVersionTagging => Capability::WriteFiles,
            GetBucketTagging | GetBucketPublicAccessBlock => Capability::ReadBuckets,
            PutBucketTagging | PutBucketPublicAccessBlock => Capability::WriteBuckets,
            GetBucketObjectLockConfiguration => Capability::ReadBucketRetentions,
            PutBucketObjectLockConfiguration => Capability::WriteBucketRetentions,
            GetObjectRetention => Capability::ReadFileRetentions,
            PutObjectRetention => Capability::WriteFileRetentions,
            GetObjectLegalHold => Capability::ReadFileLegalHolds,
            PutObjectLegalHold => Capability::WriteFileLegalHolds,
            BypassGovernanceRetention => Capability::BypassGovernance,
            GetObjectAcl => Capability::ReadFiles,
            PutObjectAcl => Capability::WriteFiles,
            GetBucketNotification => Capability::ReadBucketNotifications,
            PutBucketNotification => Capability::WriteBucketNotifications,
            GetBucketOwnershipControls => Capability::ReadBuckets,
            PutBucketOwnershipControls => Capability::WriteBuckets,
            GetBucketRequestPayment
            | GetAccelerateConfiguration
            | GetBucketLogging
            | GetAnalyticsConfiguration
            | GetMetricsConfiguration
            | GetIntelligentTieringConfiguration
            | GetInventoryConfiguration
            | GetReplicationConfiguration
            | GetBucketWebsite
            | GetEncryptionConfiguration => Capability::ReadBuckets,
            PutBucketWebsite | PutEncryptionConfiguration => Capability::WriteBuckets,
        }
    }

    /// True for the actions that list names (objects, versions, uploads): a key restricted to
    /// a name prefix may do them only with a listing prefix under its own.
    pub fn lists_names(self) -> bool {
        matches!(
            self,
            Action::ListBucket | Action::ListBucketVersions | Action::ListBucketMultipartUploads
        )
    }

    /// What it applies to.
    pub fn level(self) -> Level {
        use Action::*;
        match self {
            ListAllMyBuckets | CreateBucket | ListKeys | WriteKeys | DeleteKeys => Level::Service,
            GetObject
            | GetObjectVersion
            | PutObject
            | AbortMultipartUpload
            | DeleteObject
            | DeleteObjectVersion
            | ShareFiles
            | GetObjectRetention
            | PutObjectRetention
            | GetObjectLegalHold
            | PutObjectLegalHold
            | BypassGovernanceRetention
            | GetObjectAcl
            | PutObjectAcl
            | GetObjectTagging
            | GetObjectVersionTagging
            | PutObjectTagging
            | PutObjectVersionTagging
            | DeleteObjectTagging
            | DeleteObjectVersionTagging
            | ListMultipartUploadParts => Level::Object,
            _ => Level::Bucket,
        }
    }

    /// The same action on one version of an object (a request naming `versionId`).
    pub fn on_version(self) -> Action {
        match self {
            Action::GetObject => Action::GetObjectVersion,
            Action::DeleteObject => Action::DeleteObjectVersion,
            Action::GetObjectTagging => Action::GetObjectVersionTagging,
            Action::PutObjectTagging => Action::PutObjectVersionTagging,
            Action::DeleteObjectTagging => Action::DeleteObjectVersionTagging,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_on_one_object_are_object_level_as_iam_names_their_resources() {
        for action in [
            Action::GetObjectTagging,
            Action::PutObjectVersionTagging,
            Action::DeleteObjectTagging,
            Action::ListMultipartUploadParts,
            Action::GetObjectAcl,
        ] {
            assert_eq!(action.level(), Level::Object, "{}", action.iam_name());
        }
        assert_eq!(Action::ListBucket.level(), Level::Bucket);
    }
}
