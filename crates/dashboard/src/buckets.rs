//! The bucket list (with object counts and sizes), creating and deleting buckets, and the
//! names the console gives a bucket's visibility and versioning.

use crate::auth::{Page, Signed};
use crate::extract::{Posted, PostedToBucket};
use crate::views::{render, size, BucketRow, BucketsPage, Nav};
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::Action;
use pier_store::{Versioning, Visibility};
use serde::Deserialize;

/// The header of every signed-in page.
pub(crate) fn nav(d: &Dashboard, who: &Signed) -> Nav {
    Nav {
        key_id: who.session.key_id.clone(),
        account: who.scope.account.clone(),
        csrf: who.session.csrf.clone(),
        keys: who.may(d, Action::ListKeys, None),
        accounts: who.manages_accounts(d),
    }
}

/// How the dashboard names a bucket's visibility: `private` and `public` (objects readable,
/// B2's `allPublic`) are the two it sets; the S3 ACL kinds are shown as they are.
pub(crate) fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Private => "private",
        Visibility::PublicObjects => "public",
        Visibility::PublicListing => "public listing (S3 public-read)",
        Visibility::PublicReadWrite => "public listing and writing (S3 public-read-write)",
        Visibility::AuthenticatedListing => "listing by any key (S3 authenticated-read)",
    }
}

pub(crate) fn versioning_name(v: Versioning) -> &'static str {
    match v {
        Versioning::Unversioned => "off",
        Versioning::Enabled => "on",
        Versioning::Suspended => "suspended",
    }
}

/// Saves `update` to `bucket` as `actor` (off the async runtime, recorded in the audit log). A
/// change the store refuses in its own words (versioning never goes back off, object lock keeps
/// it on) is a 400 saying so; any other failure is the store's page.
pub(crate) async fn save_settings(
    d: &Dashboard,
    actor: pier_store::Actor,
    bucket: &str,
    update: pier_store::BucketUpdate,
) -> Result<(), Page> {
    let store = d.store().clone();
    let name = bucket.to_owned();
    blocking(move || {
        store
            .acting(actor)
            .update_bucket(&name, update)
            .map_err(|e| match e {
                pier_store::UpdateBucketError::InvalidVersioning
                | pier_store::UpdateBucketError::InvalidBucketState(_) => Page::new(
                    StatusCode::BAD_REQUEST,
                    format!("The settings were not saved: {e}."),
                ),
                other => Page::store(other),
            })
    })
    .await?;
    Ok(())
}

/// Runs a blocking store call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Page> + Send + 'static,
) -> Result<T, Page> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Page::internal)?
}

pub(crate) async fn list(State(d): State<Dashboard>, who: Signed) -> Result<Response, Page> {
    who.allow(&d, Action::ListAllMyBuckets, None, None, None)?;
    let store = d.store().clone();
    // One read of every bucket's counters and caps, not one per bucket.
    let (all, usage, caps) = blocking(move || {
        Ok((
            store.buckets().map_err(Page::store)?,
            store.all_usage().map_err(Page::store)?,
            store.all_caps().map_err(Page::store)?,
        ))
    })
    .await?;
    let usage: std::collections::HashMap<String, pier_store::Usage> = usage.into_iter().collect();
    let mut rows = Vec::new();
    let mine =
        |b: &pier_store::Bucket| b.owner == who.scope.account && who.scope.reaches_bucket(&b.id);
    for b in all.into_iter().filter(mine) {
        let used = usage.get(&b.id).copied().unwrap_or_default();
        let cap = caps
            .iter()
            .find(|(scope, _)| *scope == pier_store::CapScope::Bucket(b.id.clone()))
            .and_then(|(_, caps)| caps.storage)
            .map(size);
        rows.push(BucketRow {
            visibility: visibility_name(b.public),
            versioning: versioning_name(b.versioning),
            name: b.name,
            objects: used.objects,
            size: size(used.bytes),
            stored: size(used.storage()),
            cap,
        });
    }
    Ok(render(&BucketsPage {
        can_create: who.may(&d, Action::CreateBucket, None),
        nav: nav(&d, &who),
        buckets: rows,
    }))
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    name: String,
    visibility: String,
    flavour: String,
}

/// S3's bucket-name rules (3–63 of lower-case letters, digits, `.` and `-`, starting and ending
/// with a letter or digit), minus the names the HTTP front keeps for B2.
fn check_name(name: &str) -> Result<(), Page> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !pier_edge::names::RESERVED_BUCKET_NAMES.contains(&name);
    if ok {
        Ok(())
    } else {
        Err(Page::new(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a valid bucket name: use 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit"),
        ))
    }
}

pub(crate) async fn create(
    State(d): State<Dashboard>,
    Posted { who, form }: Posted<CreateForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::CreateBucket, None, None, None)?;
    check_name(&form.name)?;
    let public = match form.visibility.as_str() {
        "public" => Visibility::PublicObjects,
        _ => Visibility::Private,
    };
    let versioning = match form.flavour.as_str() {
        "b2" => Versioning::Enabled,
        _ => Versioning::Unversioned,
    };
    let store = d.store().clone();
    let name = form.name.clone();
    let owner = who.scope.account.clone();
    let actor = who.actor("create bucket");
    blocking(move || {
        store
            .acting(actor)
            .create_bucket(&name, &owner, public, versioning)
            .map_err(Page::store)
    })
    .await?;
    Ok(Redirect::to(&format!("/b/{}", form.name)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    confirm: String,
}

pub(crate) async fn delete(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<DeleteForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::DeleteBucket, Some(&bucket), None, None)?;
    if form.confirm != bucket {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "Type the bucket's exact name to delete it.",
        ));
    }
    let store = d.store().clone();
    let actor = who.actor("delete bucket");
    blocking(move || {
        store
            .acting(actor)
            .delete_bucket(&bucket)
            .map_err(Page::store)
    })
    .await?;
    Ok(Redirect::to("/").into_response())
}
