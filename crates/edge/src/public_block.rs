//! A bucket's public access block (S3's four flags, [`PublicBlock`]) as every edge that can make
//! a bucket public applies it: S3 (ACLs, policies), B2 (`allPublic`) and the dashboard's
//! settings form. One rule, so no door forgets it.

use pier_store::{Bucket, PublicBlock, Visibility};

/// Why `bucket` refuses to become `visibility`, if it does: `BlockPublicAcls` refuses every
/// visibility but private.
pub fn refuses_visibility(bucket: &Bucket, visibility: Visibility) -> Option<&'static str> {
    (visibility.is_public() && bucket.public_block & PublicBlock::BLOCK_PUBLIC_ACLS != 0)
        .then_some("the bucket's public access block (BlockPublicAcls) refuses making it public")
}

/// Why `bucket` refuses `policy`, if it does: `BlockPublicPolicy` refuses a policy that grants
/// anyone access.
pub fn refuses_policy(bucket: &Bucket, policy: &pier_access::Policy) -> Option<&'static str> {
    (policy.is_public() && bucket.public_block & PublicBlock::BLOCK_PUBLIC_POLICY != 0)
        .then_some("the bucket's public access block (BlockPublicPolicy) refuses public policies")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(block: u8) -> Bucket {
        Bucket {
            name: "b".into(),
            public_block: block,
            ..Bucket::default()
        }
    }

    #[test]
    fn block_public_acls_refuses_every_public_visibility() {
        let b = bucket(PublicBlock::BLOCK_PUBLIC_ACLS);
        assert!(refuses_visibility(&b, Visibility::PublicObjects).is_some());
        assert!(refuses_visibility(&b, Visibility::AuthenticatedListing).is_some());
        assert!(refuses_visibility(&b, Visibility::Private).is_none());
        assert!(refuses_visibility(&bucket(0), Visibility::PublicObjects).is_none());
    }

    #[test]
    fn block_public_policy_refuses_only_public_policies() {
        let public = pier_access::Policy::parse(
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#,
            "b",
        )
        .unwrap();
        let named = pier_access::Policy::parse(
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "K1"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#,
            "b",
        )
        .unwrap();
        let b = bucket(PublicBlock::BLOCK_PUBLIC_POLICY);
        assert!(refuses_policy(&b, &public).is_some());
        assert!(refuses_policy(&b, &named).is_none());
        assert!(refuses_policy(&bucket(0), &public).is_none());
    }
}
