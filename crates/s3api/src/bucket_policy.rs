//! Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus: the policy is validated by the
//! access engine when put (`MalformedPolicy` naming the field) and stored as sent.

use crate::error::s3_error;
use pier_access::Policy;
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};

pub(crate) async fn put(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketPolicyInput,
) -> S3Result<PutBucketPolicyOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let policy = Policy::parse(&input.policy, &bucket.name)
        .map_err(|e| S3Error::with_message(S3ErrorCode::MalformedPolicy, e.to_string()))?;
    crate::public_block::check_policy(&bucket, &policy)?;
    crate::error::change_bucket!(
        store, actor.clone(), &input.bucket,
        policy: Some(Some(input.policy))
    );
    Ok(PutBucketPolicyOutput::default())
}

pub(crate) fn get(store: &Store, input: GetBucketPolicyInput) -> S3Result<GetBucketPolicyOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    match &bucket.policy {
        Some(policy) => Ok(GetBucketPolicyOutput {
            policy: Some(policy.clone()),
        }),
        None => Err(s3_error!(
            NoSuchBucketPolicy,
            "The bucket policy does not exist"
        )),
    }
}

pub(crate) async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketPolicyInput,
) -> S3Result<DeleteBucketPolicyOutput> {
    store.bucket(&input.bucket).map_err(s3_error)?;
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, policy: Some(None));
    Ok(DeleteBucketPolicyOutput::default())
}

/// Whether the bucket is public, by its policy or its ACL (as S3 reports it): a bucket without
/// a policy answers too.
pub(crate) fn status(
    store: &Store,
    input: GetBucketPolicyStatusInput,
) -> S3Result<GetBucketPolicyStatusOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let by_policy = bucket
        .policy
        .as_deref()
        .is_some_and(|text| Policy::parse(text, &bucket.name).is_ok_and(|p| p.is_public()));
    Ok(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(by_policy || bucket.public.is_public()),
        }),
    })
}
