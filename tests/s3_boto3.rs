//! boto3 against a real `pier serve`: copy, batch delete, multipart (incl. part copy),
//! conditional requests, ranges, presigned URLs, virtual-host style, and bad input — each
//! failure checked for its S3 error and for leaving stored objects unchanged. One test per
//! check of `tests/clients/s3_boto3.py` and `tests/clients/unconfigured.py`.

mod common;

/// `tests/clients/s3_boto3.py`.
mod boto3 {
    crate::client_checks!("s3_boto3.py";
        copy_object_copies_bytes_and_metadata_replace_replaces_them => "copy_object copies bytes and metadata; REPLACE replaces them",
        delete_objects_deletes_many_and_reports_each => "delete_objects deletes many and reports each",
        multipart_upload_parts_list_parts_list_multipart_uploads_complete_part => "multipart upload: parts, list_parts, list_multipart_uploads, complete, part-number GET",
        upload_part_copy_copies_a_byte_range_into_a_part => "upload_part_copy copies a byte range into a part",
        abort_multipart_upload_then_the_upload_is_gone => "abort_multipart_upload; then the upload is gone",
        completing_with_a_wrong_etag_bad_order_or_a_small_part_is_refused => "completing with a wrong ETag, bad order or a small part is refused",
        conditional_get_if_none_match_gives_304_if_match_mismatch_412_if => "conditional GET: If-None-Match gives 304, If-Match mismatch 412, If-Modified-Since",
        conditional_put_if_none_match_refuses_to_overwrite => "conditional PUT: If-None-Match * refuses to overwrite",
        ranges_suffix_open_ended_past_the_end => "ranges: suffix, open-ended, past the end",
        a_wrong_secret_gives_signaturedoesnotmatch_an_unknown_key => "a wrong secret gives SignatureDoesNotMatch; an unknown key InvalidAccessKeyId",
        presigned_get_and_put_sigv4_expiry_enforced_more_than_7_days_refused => "presigned GET and PUT (SigV4), expiry enforced, more than 7 days refused",
        virtual_host_style_bucket_localhost_reaches_the_bucket => "virtual-host style (bucket.localhost) reaches the bucket",
        invalid_bucket_names_a_key_of_1025_bytes_a_missing_bucket => "invalid bucket names, a key of 1025 bytes, a missing bucket",
        malformed_xml_bodies_are_malformedxml => "malformed XML bodies are MalformedXML",
        a_wrong_content_md5_is_baddigest_and_stores_nothing => "a wrong Content-MD5 is BadDigest and stores nothing",
        a_wrong_announced_checksum_is_baddigest_and_stores_nothing => "a wrong announced checksum is BadDigest and stores nothing",
        a_body_shorter_than_its_content_length_stores_nothing => "a body shorter than its Content-Length stores nothing",
        every_failing_call_above_left_the_object_intact_listing_shows_no_stray => "every failing call above left the object intact; listing shows no stray objects",
        browser_post_upload_policy_conditions_enforced_success_action_status => "browser POST upload: policy conditions enforced, success_action_status honoured",
    );
}

/// Issue 30: bucket configurations pier does not keep answer as AWS answers for a bucket
/// without them (tools read them), and the region is AWS's us-east-1.
mod unconfigured_settings {
    crate::client_checks!("unconfigured.py";
        requestpayment_the_bucket_owner_pays => "requestPayment: the bucket owner pays",
        accelerate_no_status => "accelerate: no status",
        logging_off => "logging: off",
        notification_none => "notification: none",
        analytics_metrics_intelligent_tiering_inventory_empty_lists => "analytics, metrics, intelligent-tiering, inventory: empty lists",
        a_configuration_by_id_404_nosuchconfiguration => "a configuration by id: 404 NoSuchConfiguration",
        replication_404_replicationconfigurationnotfounderror => "replication: 404 ReplicationConfigurationNotFoundError",
        website_404_nosuchwebsiteconfiguration => "website: 404 NoSuchWebsiteConfiguration",
        a_missing_bucket_is_404_nosuchbucket_for_each => "a missing bucket is 404 NoSuchBucket for each",
        getbucketlocation_us_east_1_shows_as_no_constraint => "GetBucketLocation: us-east-1 shows as no constraint",
        a_client_signing_for_another_region_is_told_us_east_1_and_signs_again => "a client signing for another region is told us-east-1 and signs again",
        a_location_constraint_for_another_region_is_refused => "a location constraint for another region is refused",
    );
}
