//! Usage and caps end to end (issue 28): an operator sets caps with `pier caps` next to a
//! running server and boto3 and b2sdk meet them (`tests/clients/caps.py`).

mod common;

/// `tests/clients/caps.py`: caps as S3 and B2 users meet them.
mod caps_with_boto3_and_b2sdk {
    crate::client_checks!("caps.py";
        a_storage_cap_refuses_the_put_that_would_pass_it => "a bucket's storage cap refuses the S3 put that would pass it, naming the cap",
        a_part_over_the_storage_cap_is_refused => "a multipart upload is refused when a part would pass the storage cap",
        an_object_cap_refuses_the_next_object => "an object cap refuses the next object, and a delete makes room",
        b2_upload_over_the_account_cap_is_storage_cap_exceeded => "b2sdk: an upload over the account's storage cap is storage_cap_exceeded",
        a_transaction_cap_refuses_requests_past_it => "a daily transaction cap refuses requests past it, over S3 and B2",
        caps_show_reports_usage_and_an_agreeing_recount => "pier caps show: usage and caps per scope, and a recount that agrees",
    );
}
