//! The B2 native API with b2sdk (Backblaze's own SDK) against a real `pier serve`: one test per
//! check of `tests/clients/b2_sdk.py`.

mod common;

/// `tests/clients/b2_sdk.py`.
mod b2sdk {
    crate::client_checks!("b2_sdk.py";
        create_a_private_bucket_with_the_seeds_downloadfromanyorigin_rule_read => "create a private bucket with the seed's downloadFromAnyOrigin rule; read the rules back",
        invalid_cors_rules_are_refused_with_b2s_bad_request_and_a_clear_message => "invalid CORS rules are refused with B2's bad_request and a clear message",
        upload_then_download_by_name_and_by_id_bytes_and_sha1_match => "upload, then download by name and by id: bytes and SHA1 match",
        small_uploads_b2_x_auto_content_types_listing_with_folders => "small uploads, b2/x-auto content types, listing with folders",
        private_bucket_download_authorizations_by_prefix_in_the_authorization => "private bucket: download authorizations by prefix, in the Authorization query parameter",
        hide_and_delete_file_versions => "hide and delete file versions",
        a_wrong_sha1_stores_nothing => "a wrong SHA1 stores nothing",
        do_not_verify_the_sha1_is_reported_as_unverified_sha1 => "do_not_verify: the SHA1 is reported as unverified:<sha1>",
        update_the_bucket_public_new_rules_revision_conflict => "update the bucket: public, new rules, revision conflict",
        errors_unknown_bucket_bad_token => "errors: unknown bucket, bad token",
        large_file_start_part_urls_upload_parts_list_parts_finish_no_copy_cancel => "large file: start, part URLs, upload parts, list parts, finish (no copy); cancel; unfinished list",
        copy_a_file_and_a_byte_range_into_another_name => "copy a file (and a byte range) into another name",
        bad_input_missing_fields_wrong_types_bad_json_long_names_expired_and => "bad input: missing fields, wrong types, bad JSON, long names, expired and misused tokens",
        b2_preflights_refused_as_b2_json_403_an_account_token_in_the_query_is => "B2 preflights: refused as B2 JSON 403; an account token in the query is refused",
    );
}
