//! The audit log end to end (issue 28): changes through boto3, b2sdk and the command line read
//! back with `pier audit` (`tests/clients/audit.py`).

mod common;

/// `tests/clients/audit.py`: who changed what, as an operator reads it.
mod audit_with_boto3_b2sdk_and_the_cli {
    crate::client_checks!("audit.py";
        s3_changes_are_recorded_with_who_what_when_and_the_difference => "S3 changes are recorded with the key, account, operation, address, time and only what changed",
        b2_changes_are_recorded_with_the_b2_call => "B2 changes are recorded with the B2 call",
        cli_keys_and_caps_are_recorded_never_a_secret => "keys and caps changed on the command line are recorded, never a secret",
        a_refused_change_is_not_recorded => "a change that is refused is not recorded",
    );
}
