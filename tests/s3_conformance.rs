//! S3 behaviours added while working through ceph's s3-tests, each driven by a real client
//! against a real `pier serve` (`tests/clients/conformance_boto3.py`,
//! `tests/clients/checksums_boto3.py`), so they stay covered when the suite itself is not run:
//! one test per check.

mod common;

/// Tagging, listing details, read details, form uploads, ACLs and ownership.
mod tagging_listing_reads_and_forms {
    crate::client_checks!("conformance_boto3.py";
        x_amz_tagging_on_put_is_stored_counted_on_get_and_read_back => "x-amz-tagging on PUT is stored, counted on GET and read back",
        putobjecttagging_replaces_the_set_and_deleteobjecttagging_empties_it => "PutObjectTagging replaces the set and DeleteObjectTagging empties it",
        tags_over_s3s_limits_are_invalidtag_400 => "tags over S3's limits are InvalidTag (400)",
        copies_keep_the_sources_tags_unless_the_directive_replaces_them => "copies keep the source's tags unless the directive replaces them",
        multipart_uploads_take_their_tags_at_creation => "multipart uploads take their tags at creation",
        each_version_keeps_its_own_tags => "each version keeps its own tags",
        bucket_tagging_put_get_delete_and_nosuchtagset_when_none => "bucket tagging: put, get, delete, and NoSuchTagSet when none",
        listing_details_empty_delimiter_not_echoed_fetchowner_owner_in => "listing details: empty delimiter not echoed, FetchOwner, Owner in ListObjects",
        aws_chunked_is_not_stored_as_a_content_encoding => "aws-chunked is not stored as a content encoding",
        a_single_part_multipart_object_has_partscount_1_a_304_still_carries_the => "a single-part multipart object has PartsCount 1; a 304 still carries the ETag",
        an_object_in_a_bucket_that_does_not_exist_is_404_nosuchbucket_also_for => "an object in a bucket that does not exist is 404 NoSuchBucket, also for anonymous callers",
        listbuckets_pages_with_max_buckets_and_a_continuation_token_and_filters => "ListBuckets pages with max-buckets and a continuation token, and filters by prefix",
        user_metadata_over_2_kb_is_metadatatoolarge => "user metadata over 2 KB is MetadataTooLarge",
        sigv2_boto3s_s3_signer_works_a_skewed_or_bad_date_is_refused_before_the => "SigV2: boto3's s3 signer works; a skewed or bad Date is refused before the signature",
        sigv2_signs_a_bucket_as_bucket_boto3s_s3_signer_can_create_and_delete => "SigV2 signs a bucket as /bucket/: boto3's s3 signer can create and delete buckets",
        a_preflight_without_access_control_request_method_is_400_as_s3_answers => "a preflight without Access-Control-Request-Method is 400, as S3 answers",
        public_access_block_stored_read_back_and_enforced_on_acls_policies_and => "public access block: stored, read back, and enforced on ACLs, policies and anonymous reads",
        creating_a_bucket_you_already_own_is_a_no_op_200_us_east_1_keeping_its => "creating a bucket you already own is a no-op 200 (us-east-1), keeping its objects",
        a_public_read_write_bucket_takes_anonymous_form_uploads_with_filename => "a public-read-write bucket takes anonymous form uploads, with ${filename} and status 201",
        a_private_bucket_refuses_anonymous_form_uploads_and_a_policy_form_needs => "a private bucket refuses anonymous form uploads, and a policy form needs its signature",
        an_objects_acl_is_stored_and_returned_a_public_read_object_is_readable => "an object's ACL is stored and returned; a public-read object is readable by anyone",
        grants_naming_another_account_are_refused_invalidargument => "grants naming another account are refused: InvalidArgument, UnresolvableGrantByEmailAddress",
        ownership_controls_bucketownerenforced_turns_acls_off_blockpublicacls => "ownership controls: BucketOwnerEnforced turns ACLs off; BlockPublicAcls refuses public ones",
        an_object_stored_without_a_content_type_reads_as_binary_octet_stream_as => "an object stored without a Content-Type reads as binary/octet-stream, as S3 serves it",
    );
}

/// Multipart checksums and GetObjectAttributes.
mod checksums_and_attributes {
    crate::client_checks!("checksums_boto3.py";
        a_sha256_multipart_object_gets_the_composite_of_its_part_checksums => "a SHA256 multipart object gets the composite of its part checksums",
        a_crc32_full_object_checksum_equals_the_crc32_of_all_the_bytes => "a CRC32 full-object checksum equals the CRC32 of all the bytes",
        a_wrong_whole_object_checksum_is_baddigest_and_the_upload_stays => "a wrong whole-object checksum is BadDigest and the upload stays completable",
        listparts_names_the_algorithm_and_each_parts_checksum => "ListParts names the algorithm and each part's checksum",
        get_by_part_number_answers_with_that_parts_checksum => "GET by part number answers with that part's checksum",
        crc64nvme_cannot_be_composite_sha256_cannot_be_full_object => "CRC64NVME cannot be composite; SHA256 cannot be full-object",
        getobjectattributes_of_a_single_upload_etag_unquoted_size_class_checksum => "GetObjectAttributes of a single upload: ETag unquoted, size, class, checksum",
        getobjectattributes_pages_a_multipart_objects_parts_with_their_checksums => "GetObjectAttributes pages a multipart object's parts with their checksums",
    );
}
