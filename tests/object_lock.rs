//! Object lock end to end: S3's bucket lock, retention and legal holds through boto3, and the
//! same state through the B2 native API with b2sdk (fileRetention, legalHold, file lock on
//! buckets), each refusing the deletions the other refuses: one test per check of
//! `tests/clients/object_lock.py`.

mod common;

/// `tests/clients/object_lock.py`.
mod boto3_and_b2sdk {
    crate::client_checks!("object_lock.py";
        a_bucket_created_with_object_lock_has_versioning_on_and_cannot_suspend => "a bucket created with object lock has versioning on and cannot suspend it",
        object_lock_on_an_unversioned_bucket_is_invalidbucketstate_without_any => "object lock on an unversioned bucket is InvalidBucketState; without any, 404",
        a_default_retention_is_stored_returned_and_validated_as_aws_does => "a default retention is stored, returned, and validated as AWS does",
        an_upload_gets_the_default_retention_shown_on_head => "an upload gets the default retention, shown on HEAD",
        governance_retention_refuses_deleting_the_version_unless_bypassed => "governance retention refuses deleting the version unless bypassed",
        an_upload_naming_compliance_retention_and_a_legal_hold_keeps_them => "an upload naming compliance retention and a legal hold keeps them",
        compliance_retention_can_be_lengthened_but_not_shortened_even_with => "compliance retention can be lengthened but not shortened, even with bypass",
        deleteobjects_reports_a_held_version_as_accessdenied_and_deletes_the => "DeleteObjects reports a held version as AccessDenied and deletes the others",
        retention_or_a_legal_hold_on_a_bucket_without_object_lock_is => "retention or a legal hold on a bucket without object lock is InvalidRequest",
        b2sdk_sees_the_s3_retention_and_legal_hold_as_fileretention_and => "b2sdk sees the S3 retention and legal hold as fileRetention and legalHold",
        b2_delete_file_version_of_a_held_version_is_access_denied_even_with => "b2_delete_file_version of a held version is access_denied, even with bypass",
        b2sdk_uploads_with_governance_retention_s3_sees_it_bypass_deletes_it => "b2sdk uploads with governance retention; S3 sees it; bypass deletes it",
        b2_update_file_legal_hold_and_b2_update_file_retention_change_what_s3 => "b2_update_file_legal_hold and b2_update_file_retention change what S3 reads",
        b2_buckets_are_created_with_file_lock_and_a_default_retention => "b2 buckets are created with file lock and a default retention",
    );
}
