//! Bucket operations.

use crate::convert::timestamp;
use crate::error::{blocking, s3_error};
use pier_edge::names::RESERVED_BUCKET_NAMES;
use pier_store::{Store, Visibility};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// CreateBucket for `account`: a name another account holds is `BucketAlreadyExists`; one the
/// account holds already answers 200 and changes nothing, as S3 does in us-east-1.
pub async fn create(
    store: &Store,
    actor: pier_store::Actor,
    account: &str,
    region: &str,
    input: CreateBucketInput,
) -> S3Result<CreateBucketOutput> {
    if RESERVED_BUCKET_NAMES.contains(&input.bucket.as_str()) {
        return Err(s3_error!(
            InvalidBucketName,
            "The bucket name {} is reserved by this server for the B2 API.",
            input.bucket
        ));
    }
    // A location constraint names the server's own region, or it is refused as AWS refuses a
    // bucket for another region at a regional endpoint.
    let constraint = input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(|c| c.as_str().to_owned())
        .filter(|c| !c.is_empty());
    if let Some(c) = constraint.filter(|c| c != region) {
        return Err(crate::fault::S3Fault::new(crate::fault::S3ErrorKind::IllegalLocationConstraintException, format!(
                "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
            )).into_s3s());
    }
    let (canned, grants) = crate::acl::acl_headers!(input);
    let public = crate::acl::bucket_visibility(canned, grants, None, account)?
        .unwrap_or(Visibility::Private);
    let ownership = crate::acl::requested_ownership(input.object_ownership.as_ref())?;
    if ownership.as_deref() == Some(ObjectOwnership::BUCKET_OWNER_ENFORCED) && public.is_public() {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::InvalidBucketAclWithObjectOwnership,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )
        .into_s3s());
    }
    let locked = input.object_lock_enabled_for_bucket == Some(true);
    let store = store.clone();
    let name = input.bucket.clone();
    let owner = account.to_owned();
    let created = blocking(move || {
        let made = if locked {
            store.acting(actor.clone()).create_locked_bucket(
                &name,
                &owner,
                public,
                pier_store::ObjectLock::default(),
            )
        } else {
            store.acting(actor.clone()).create_bucket(
                &name,
                &owner,
                public,
                pier_store::Versioning::Unversioned,
            )
        };
        match made {
            // pier answers as S3 in us-east-1: creating a bucket you already own is 200 and
            // changes nothing (elsewhere: 409 BucketAlreadyOwnedByYou).
            Err(pier_store::CreateBucketError::BucketExists) => match store.bucket(&name) {
                Ok(b) if b.owner == owner => Ok(false),
                Ok(_) => Err(pier_store::StoreError::BucketExists),
                Err(e) => Err(e.into()),
            },
            Err(other) => Err(other.into()),
            Ok(_) if ownership.is_some() => {
                let update = pier_store::BucketUpdate {
                    ownership: Some(ownership),
                    ..Default::default()
                };
                Ok(store
                    .acting(actor.clone())
                    .update_bucket(&name, update)
                    .map(|_| true)?)
            }
            Ok(_) => Ok(true),
        }
    })
    .await?;
    if !created {
        tracing::debug!(bucket = %input.bucket, "CreateBucket of an existing bucket: no-op");
    }
    Ok(CreateBucketOutput {
        location: Some(format!("/{}", input.bucket)),
    })
}

pub fn head(store: &Store, input: HeadBucketInput) -> S3Result<HeadBucketOutput> {
    store.bucket(&input.bucket).map_err(s3_error)?;
    Ok(HeadBucketOutput::default())
}

pub async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketInput,
) -> S3Result<DeleteBucketOutput> {
    let store = store.clone();
    blocking(move || Ok(store.acting(actor).delete_bucket(&input.bucket)?)).await?;
    Ok(DeleteBucketOutput::default())
}

/// The buckets of `key`'s account that it reaches (a bucket-restricted key sees only its own), by name, paged as
/// S3 pages them: `prefix`, `max-buckets` (1 to 10000) and an opaque `continuation-token` (the
/// last name returned, hex-encoded).
pub fn list(
    store: &Store,
    key: Option<&pier_access::KeyScope>,
    input: &ListBucketsInput,
) -> S3Result<ListBucketsOutput> {
    let max = match input.max_buckets {
        None => usize::MAX,
        Some(n @ 1..=10_000) => n as usize,
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "max-buckets must be between 1 and 10000"
            ))
        }
    };
    let after = match &input.continuation_token {
        Some(t) => Some(
            hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token is not valid"))?,
        ),
        None => None,
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut reachable = store
        .buckets()
        .map_err(s3_error)?
        .into_iter()
        .filter(|b| key.is_none_or(|k| k.account == b.owner && k.reaches_bucket(&b.id)))
        .filter(|b| b.name.starts_with(&prefix))
        .filter(|b| after.as_ref().is_none_or(|a| b.name.as_str() > a.as_str()))
        .peekable();
    let mut buckets = Vec::new();
    while buckets.len() < max {
        let Some(b) = reachable.next() else { break };
        buckets.push(Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created)),
            ..Default::default()
        });
    }
    let more = reachable.peek().is_some();
    Ok(ListBucketsOutput {
        continuation_token: more
            .then(|| {
                buckets
                    .last()
                    .and_then(|b| b.name.as_ref())
                    .map(hex::encode)
            })
            .flatten(),
        prefix: input.prefix.clone(),
        buckets: Some(buckets),
        owner: key.map(|k| crate::convert::owner(&k.account)),
    })
}

/// GetBucketLocation: the server's region, which S3 shows as no constraint for `us-east-1`.
pub fn location(
    store: &Store,
    region: &str,
    input: GetBucketLocationInput,
) -> S3Result<GetBucketLocationOutput> {
    store.bucket(&input.bucket).map_err(s3_error)?;
    Ok(GetBucketLocationOutput {
        location_constraint: (region != "us-east-1")
            .then(|| BucketLocationConstraint::from(region.to_owned())),
    })
}
