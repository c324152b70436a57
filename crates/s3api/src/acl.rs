//! S3 ACLs (objects and buckets), honestly: canned ACLs and grants are kept as the canned ACL
//! they amount to, returned as S3 shows them, and mean what S3 says to the access engine:
//! - a bucket's `public-read` lets anyone list it, `public-read-write` also write to it, and
//!   `authenticated-read` lets every key of every account list it; objects are read by their
//!   own ACLs, as in S3;
//! - an object's `public-read` (or `-write`) lets anyone read it, `authenticated-read` every key.
//!
//! Objects belong to their bucket's owner (as under S3's `BucketOwnerEnforced`), so
//! `bucket-owner-read` and `bucket-owner-full-control` grant nothing beyond `private`. Grants
//! naming one account other than the owner (a canonical id, an e-mail address) are refused:
//! pier keeps no per-account grants, and a bucket policy naming the account does that job.
//! Object ownership controls are stored, and `BucketOwnerEnforced` turns ACLs off as S3 does.

use crate::convert::owner;
use crate::error::{blocking, s3_error};
use crate::versions::parse_version;
use pier_store::{PublicBlock, Store};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Result};

/// `AllUsers`, the grantee of public access.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// `AuthenticatedUsers`.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// The canned ACLs S3 accepts on objects.
const OBJECT_CANNED: [&str; 7] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// True for the canned ACLs that open an object to anyone.
pub fn is_public(canned: &str) -> bool {
    matches!(canned, "public-read" | "public-read-write")
}

fn bad_canned(canned: &str) -> S3Error {
    s3_error!(
        InvalidArgument,
        "{canned:?} is not a canned ACL (private, public-read, public-read-write, authenticated-read, aws-exec-read, bucket-owner-read, bucket-owner-full-control)."
    )
}

/// A grantee as an `x-amz-grant-*` header or an `AccessControlPolicy` names it.
enum Who {
    Owner,
    Group(String),
}

/// Resolves one grantee: the owner (account `owner`), or the AllUsers / AuthenticatedUsers
/// groups. Another canonical id is `InvalidArgument`, an e-mail address
/// `UnresolvableGrantByEmailAddress`.
fn resolve(id: Option<&str>, uri: Option<&str>, email: Option<&str>, owner: &str) -> S3Result<Who> {
    if let Some(uri) = uri {
        return match uri {
            ALL_USERS | AUTHENTICATED_USERS => Ok(Who::Group(uri.to_owned())),
            other => Err(s3_error!(InvalidArgument, "Invalid group uri {other:?}.")),
        };
    }
    if let Some(email) = email {
        return Err(crate::fault::S3Fault::new(crate::fault::S3ErrorKind::UnresolvableGrantByEmailAddress, format!(
                "The e-mail address {email} does not match any account here (accounts have no e-mail addresses)."
            )).into_s3s());
    }
    match id {
        Some(id) if id == owner => Ok(Who::Owner),
        Some(id) => Err(s3_error!(
            InvalidArgument,
            "Invalid id {id:?}: grants here name the owner or a group; give another account access with a bucket policy naming it."
        )),
        None => Err(s3_error!(MalformedACLError, "A grantee names no one.")),
    }
}

/// The canned ACL equivalent to a list of `(grantee, permission)`: grants to the owner say
/// nothing beyond ownership; AllUsers READ (with WRITE) is `public-read(-write)`;
/// AuthenticatedUsers READ is `authenticated-read`.
fn canned_of(grants: &[(Who, String)]) -> S3Result<String> {
    let has = |uri: &str, perm: &str| {
        grants
            .iter()
            .any(|(g, p)| matches!(g, Who::Group(u) if u == uri) && p == perm)
    };
    for (g, p) in grants {
        let known = matches!(
            p.as_str(),
            Permission::READ
                | Permission::WRITE
                | Permission::READ_ACP
                | Permission::WRITE_ACP
                | Permission::FULL_CONTROL
        );
        if !known {
            return Err(s3_error!(MalformedACLError, "Unknown permission {p:?}."));
        }
        if let Who::Group(_) = g {
            if !matches!(p.as_str(), Permission::READ | Permission::WRITE) {
                return Err(s3_error!(
                    NotImplemented,
                    "Groups can be granted READ or WRITE here, not {p}."
                ));
            }
        }
    }
    Ok(
        if has(ALL_USERS, Permission::READ) && has(ALL_USERS, Permission::WRITE) {
            "public-read-write"
        } else if has(ALL_USERS, Permission::READ) {
            "public-read"
        } else if has(AUTHENTICATED_USERS, Permission::READ) {
            "authenticated-read"
        } else {
            "private"
        }
        .to_owned(),
    )
}

/// The grants of an `AccessControlPolicy` document, for a resource of account `owner`.
fn policy_grants(policy: &AccessControlPolicy, owner: &str) -> S3Result<Vec<(Who, String)>> {
    policy
        .grants
        .iter()
        .flatten()
        .map(|g| {
            let e = g
                .grantee
                .as_ref()
                .ok_or_else(|| s3_error!(MalformedACLError, "A grant names no grantee."))?;
            let who = resolve(
                e.id.as_deref(),
                e.uri.as_deref(),
                e.email_address.as_deref(),
                owner,
            )?;
            let perm = g
                .permission
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .ok_or_else(|| s3_error!(MalformedACLError, "A grant names no permission."))?;
            Ok((who, perm))
        })
        .collect()
}

/// The grants of `x-amz-grant-*` headers (`id="..."`, `uri="..."`, `emailAddress="..."`, comma
/// separated), by permission, for a resource of account `owner`.
fn header_grants(headers: &[(&str, Option<&String>)], owner: &str) -> S3Result<Vec<(Who, String)>> {
    let mut out = Vec::new();
    for (perm, value) in headers {
        let Some(value) = value else { continue };
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (kind, who) = item.split_once('=').ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "A grant header names id=, uri= or emailAddress=."
                )
            })?;
            let who = who.trim().trim_matches('"');
            let grantee = match kind.trim().to_ascii_lowercase().as_str() {
                "id" => resolve(Some(who), None, None, owner)?,
                "uri" => resolve(None, Some(who), None, owner)?,
                "emailaddress" => resolve(None, None, Some(who), owner)?,
                other => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Unknown grantee type {other:?} in a grant header."
                    ))
                }
            };
            out.push((grantee, (*perm).to_owned()));
        }
    }
    Ok(out)
}

/// The ACL an upload or an ACL change asks for: a canned `x-amz-acl`, `x-amz-grant-*` headers or
/// an `AccessControlPolicy`, as the canned name pier keeps, for a resource of account `owner`;
/// `None` when none is named.
pub fn requested(
    canned: Option<&str>,
    grants: [Option<&String>; 5],
    policy: Option<&AccessControlPolicy>,
    owner: &str,
) -> S3Result<Option<String>> {
    let [full, read, read_acp, write, write_acp] = grants;
    let headers = [
        (Permission::FULL_CONTROL, full),
        (Permission::READ, read),
        (Permission::READ_ACP, read_acp),
        (Permission::WRITE, write),
        (Permission::WRITE_ACP, write_acp),
    ];
    let any_header = headers.iter().any(|(_, v)| v.is_some());
    match (canned, any_header, policy) {
        (Some(_), true, _) => Err(s3_error!(
            InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed"
        )),
        (Some(c), false, _) => {
            if !OBJECT_CANNED.contains(&c) && c != "log-delivery-write" {
                return Err(bad_canned(c));
            }
            Ok(Some(c.to_owned()))
        }
        (None, true, _) => canned_of(&header_grants(&headers, owner)?).map(Some),
        (None, false, Some(p)) => canned_of(&policy_grants(p, owner)?).map(Some),
        (None, false, None) => Ok(None),
    }
}

/// The canned ACL and the five grant headers (full control, read, read ACP, write, write ACP)
/// of an S3 input that carries them (s3s gives each the same field names).
macro_rules! acl_headers {
    ($input:expr) => {{
        let input = &$input;
        (
            input.acl.as_ref().map(|a| a.as_str()),
            [
                input.grant_full_control.as_ref(),
                input.grant_read.as_ref(),
                input.grant_read_acp.as_ref(),
                input.grant_write.as_ref(),
                input.grant_write_acp.as_ref(),
            ],
        )
    }};
}
pub(crate) use acl_headers;

/// The ACL an upload (PUT, copy, CreateMultipartUpload: s3s gives each the same field names)
/// asks for, checked against the bucket; `private` and none are stored as none.
macro_rules! upload_acl {
    ($bucket:expr, $input:expr) => {{
        let input = &$input;
        let acl = $crate::acl::requested(
            input.acl.as_ref().map(|a| a.as_str()),
            [
                input.grant_full_control.as_ref(),
                input.grant_read.as_ref(),
                input.grant_read_acp.as_ref(),
                None,
                input.grant_write_acp.as_ref(),
            ],
            None,
            &$bucket.owner,
        )?;
        $crate::acl::check_allowed($bucket, acl.as_deref())?;
        acl.filter(|a| a != "private")
    }};
}
pub(crate) use upload_acl;

/// The bucket visibility of a canned ACL: private, `public-read` (anyone may list),
/// `public-read-write` (anyone may also write) and `authenticated-read` (every key may list).
/// The canned ACLs that mean nothing on a bucket (`bucket-owner-*`, `aws-exec-read`) are
/// private.
fn visibility_of(canned: &str) -> pier_store::Visibility {
    use pier_store::Visibility;
    match canned {
        "public-read" => Visibility::PublicListing,
        "public-read-write" => Visibility::PublicReadWrite,
        "authenticated-read" => Visibility::AuthenticatedListing,
        _ => Visibility::Private,
    }
}

/// The canned ACL a bucket's visibility shows as (B2's `allPublic` as `public-read`).
fn canned_of_visibility(v: pier_store::Visibility) -> &'static str {
    use pier_store::Visibility;
    match v {
        Visibility::Private => "private",
        Visibility::PublicObjects | Visibility::PublicListing => "public-read",
        Visibility::PublicReadWrite => "public-read-write",
        Visibility::AuthenticatedListing => "authenticated-read",
    }
}

/// The bucket visibility a bucket ACL asks for (canned `x-amz-acl`, `x-amz-grant-*` headers or
/// an `AccessControlPolicy`) for a bucket of account `owner`; `None` when none is named.
pub fn bucket_visibility(
    canned: Option<&str>,
    grants: [Option<&String>; 5],
    policy: Option<&AccessControlPolicy>,
    owner: &str,
) -> S3Result<Option<pier_store::Visibility>> {
    Ok(requested(canned, grants, policy, owner)?
        .as_deref()
        .map(visibility_of))
}

/// The ACL a `Put*Acl` input sets ([`required`], for a resource of the bucket's owner),
/// refused by [`check_allowed`] when the bucket's ownership setting forbids it.
macro_rules! acl_to_put {
    ($input:expr, $bucket:expr) => {{
        let (canned, grants) = acl_headers!($input);
        let policy = $input.access_control_policy.as_ref();
        let acl = required(canned, grants, policy, &$bucket.owner)?;
        check_allowed(&$bucket, Some(&acl))?;
        acl
    }};
}

/// PutBucketAcl: the ACL is checked against the bucket's settings as any ACL is
/// ([`check_allowed`]), then kept as the bucket's visibility.
pub async fn put_bucket(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketAclInput,
) -> S3Result<PutBucketAclOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let acl = acl_to_put!(input, bucket);
    let visibility = visibility_of(&acl);
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, public: Some(visibility));
    Ok(PutBucketAclOutput::default())
}

/// GetBucketAcl: the grants of the bucket's visibility.
pub fn get_bucket(store: &Store, input: GetBucketAclInput) -> S3Result<GetBucketAclOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    Ok(GetBucketAclOutput {
        grants: Some(grants_of(
            canned_of_visibility(bucket.public),
            &bucket.owner,
        )),
        owner: Some(owner(&bucket.owner)),
    })
}

/// Refuses an ACL the bucket's settings do not allow: any ACL but `bucket-owner-full-control`
/// (or `private`) under `BucketOwnerEnforced` (`AccessControlListNotSupported`), and a public
/// one under `BlockPublicAcls` (`AccessDenied`).
pub fn check_allowed(bucket: &pier_store::Bucket, acl: Option<&str>) -> S3Result<()> {
    let Some(acl) = acl else { return Ok(()) };
    let enforced = bucket.ownership.as_deref() == Some(ObjectOwnership::BUCKET_OWNER_ENFORCED);
    if enforced && !matches!(acl, "bucket-owner-full-control" | "private") {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::AccessControlListNotSupported,
            "The bucket does not allow ACLs",
        )
        .into_s3s());
    }
    let public = is_public(acl) || acl == "authenticated-read";
    if public && bucket.public_block & PublicBlock::BLOCK_PUBLIC_ACLS != 0 {
        return Err(s3_error!(
            AccessDenied,
            "The bucket's public access block (BlockPublicAcls) refuses public ACLs."
        ));
    }
    Ok(())
}

/// The grants S3 shows for a canned ACL on a resource of account `account`: the owner's
/// FULL_CONTROL, and the group grants it adds.
pub fn grants_of(canned: &str, account: &str) -> Vec<Grant> {
    let o = owner(account);
    let mut grants = vec![Grant {
        grantee: Some(Grantee {
            display_name: o.display_name,
            id: o.id,
            type_: Type::from_static(Type::CANONICAL_USER),
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }];
    let group = |uri: &str, permission: &'static str| Grant {
        grantee: Some(Grantee {
            display_name: None,
            id: None,
            type_: Type::from_static(Type::GROUP),
            email_address: None,
            uri: Some(uri.into()),
        }),
        permission: Some(Permission::from_static(permission)),
    };
    match canned {
        "public-read" => grants.push(group(ALL_USERS, Permission::READ)),
        "public-read-write" => {
            grants.push(group(ALL_USERS, Permission::READ));
            grants.push(group(ALL_USERS, Permission::WRITE));
        }
        "authenticated-read" => grants.push(group(AUTHENTICATED_USERS, Permission::READ)),
        _ => {}
    }
    grants
}

pub async fn put_object(store: &Store, input: PutObjectAclInput) -> S3Result<PutObjectAclOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let acl = acl_to_put!(input, bucket);
    let which = input.version_id.as_deref().map(parse_version).transpose()?;
    let (store, key) = (store.clone(), input.key);
    // `private` is S3's default: stored as none.
    let stored = (acl != "private").then_some(acl);
    blocking(move || Ok(store.set_acl(&bucket.id, &key, which.as_ref(), stored)?)).await?;
    Ok(PutObjectAclOutput::default())
}

pub fn get_object(store: &Store, input: GetObjectAclInput) -> S3Result<GetObjectAclOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let o = crate::entry::read_entry(
        store,
        &bucket,
        (&input.key, input.version_id.as_deref()),
        crate::entry::ReadFor::Object,
    )?
    .object;
    Ok(GetObjectAclOutput {
        grants: Some(grants_of(
            o.meta.acl.as_deref().unwrap_or("private"),
            &bucket.owner,
        )),
        owner: Some(owner(&bucket.owner)),
        ..Default::default()
    })
}

fn ownership_of(controls: &OwnershipControls) -> S3Result<String> {
    let [rule] = controls.rules.as_slice() else {
        return Err(s3_error!(
            MalformedXML,
            "OwnershipControls take exactly one rule."
        ));
    };
    match rule.object_ownership.as_str() {
        o @ (ObjectOwnership::BUCKET_OWNER_ENFORCED
        | ObjectOwnership::BUCKET_OWNER_PREFERRED
        | ObjectOwnership::OBJECT_WRITER) => Ok(o.to_owned()),
        other => Err(s3_error!(
            MalformedXML,
            "ObjectOwnership must be BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter, not {other:?}."
        )),
    }
}

/// The ownership a CreateBucket asks for (`x-amz-object-ownership`), validated.
/// The ACL a PutBucketAcl or PutObjectAcl must carry ([`requested`]); none given is
/// `MalformedACLError`.
fn required(
    canned: Option<&str>,
    grants: [Option<&String>; 5],
    policy: Option<&AccessControlPolicy>,
    owner: &str,
) -> S3Result<String> {
    requested(canned, grants, policy, owner)?.ok_or_else(|| {
        s3_error!(
            MalformedACLError,
            "Give x-amz-acl, x-amz-grant-* headers or an AccessControlPolicy."
        )
    })
}

pub fn requested_ownership(o: Option<&ObjectOwnership>) -> S3Result<Option<String>> {
    o.map(|o| {
        ownership_of(&OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: o.clone(),
            }],
        })
    })
    .transpose()
}

pub async fn put_ownership(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketOwnershipControlsInput,
) -> S3Result<PutBucketOwnershipControlsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let ownership = ownership_of(&input.ownership_controls)?;
    if ownership == ObjectOwnership::BUCKET_OWNER_ENFORCED && bucket.public.is_public() {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::InvalidBucketAclWithObjectOwnership,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )
        .into_s3s());
    }
    crate::error::change_bucket!(
        store, actor.clone(), &input.bucket,
        ownership: Some(Some(ownership))
    );
    Ok(PutBucketOwnershipControlsOutput::default())
}

pub fn get_ownership(
    store: &Store,
    input: GetBucketOwnershipControlsInput,
) -> S3Result<GetBucketOwnershipControlsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let Some(o) = bucket.ownership.clone() else {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::OwnershipControlsNotFoundError,
            "The bucket ownership controls were not found",
        )
        .into_s3s());
    };
    Ok(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from(o),
            }],
        }),
    })
}

pub async fn delete_ownership(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketOwnershipControlsInput,
) -> S3Result<DeleteBucketOwnershipControlsOutput> {
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, ownership: Some(None));
    Ok(DeleteBucketOwnershipControlsOutput::default())
}
