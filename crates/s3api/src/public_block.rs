//! Put/Get/DeletePublicAccessBlock: S3's four switches, stored as bits on the bucket
//! ([`PublicBlock`]) and enforced where they mean something in a one-account store:
//! `BlockPublicAcls` refuses a public ACL on a bucket or object (`crate::acl::check_allowed`),
//! `IgnorePublicAcls` makes a public bucket or object read as private, `BlockPublicPolicy` refuses a policy that grants
//! public access, and `RestrictPublicBuckets` ignores a public policy for callers without a key
//! (the last two in the access engine's door, `pier_edge::access`).

use crate::error::s3_error;
use pier_store::{PublicBlock, Store};
use s3s::dto::*;
use s3s::S3Result;

fn on(setting: Option<bool>) -> bool {
    setting == Some(true)
}

pub async fn put(
    store: &Store,
    actor: pier_store::Actor,
    input: PutPublicAccessBlockInput,
) -> S3Result<PutPublicAccessBlockOutput> {
    let c = input.public_access_block_configuration;
    let mut bits = 0;
    for (setting, bit) in [
        (c.block_public_acls, PublicBlock::BLOCK_PUBLIC_ACLS),
        (c.ignore_public_acls, PublicBlock::IGNORE_PUBLIC_ACLS),
        (c.block_public_policy, PublicBlock::BLOCK_PUBLIC_POLICY),
        (
            c.restrict_public_buckets,
            PublicBlock::RESTRICT_PUBLIC_BUCKETS,
        ),
    ] {
        if on(setting) {
            bits |= bit;
        }
    }
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, public_block: Some(bits));
    Ok(PutPublicAccessBlockOutput::default())
}

pub fn get(
    store: &Store,
    input: GetPublicAccessBlockInput,
) -> S3Result<GetPublicAccessBlockOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    if bucket.public_block == 0 {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::NoSuchPublicAccessBlockConfiguration,
            "The public access block configuration was not found",
        )
        .into_s3s());
    }
    let has = |bit: u8| Some(bucket.public_block & bit != 0);
    Ok(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: has(PublicBlock::BLOCK_PUBLIC_ACLS),
            ignore_public_acls: has(PublicBlock::IGNORE_PUBLIC_ACLS),
            block_public_policy: has(PublicBlock::BLOCK_PUBLIC_POLICY),
            restrict_public_buckets: has(PublicBlock::RESTRICT_PUBLIC_BUCKETS),
        }),
    })
}

pub async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeletePublicAccessBlockInput,
) -> S3Result<DeletePublicAccessBlockOutput> {
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, public_block: Some(0));
    Ok(DeletePublicAccessBlockOutput::default())
}

/// Refuses a public policy while the bucket's block says so.
pub fn check_policy(bucket: &pier_store::Bucket, policy: &pier_access::Policy) -> S3Result<()> {
    match pier_edge::public_block::refuses_policy(bucket, policy) {
        Some(why) => Err(s3s::S3Error::with_message(
            s3s::S3ErrorCode::AccessDenied,
            format!("Access Denied: {why}"),
        )),
        None => Ok(()),
    }
}
