//! The bucket list (with object counts and sizes), creating and deleting buckets, and a
//! bucket's settings (visibility and policy, with the access engine's validation messages).

use crate::auth::{Page, Signed};
use crate::views::{render, size, BucketRow, BucketsPage, Nav};
use crate::Dashboard;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use http::StatusCode;
use pier_access::Action;
use pier_store::{BucketUpdate, Versioning, Visibility};
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
    csrf: Option<String>,
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
    who: Signed,
    Form(form): Form<CreateForm>,
) -> Result<Response, Page> {
    who.check_csrf(form.csrf.as_deref())?;
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
pub(crate) struct SettingsForm {
    csrf: Option<String>,
    visibility: String,
    policy: String,
    /// The bucket's tags, one `key=value` a line; absent: unchanged.
    #[serde(default)]
    tags: Option<String>,
    /// The bucket's lifecycle rules as B2's `lifecycleRules` JSON; absent: unchanged.
    #[serde(default)]
    lifecycle: Option<String>,
    /// `none`, `sse-s3` or `sse-kms`; absent: unchanged.
    #[serde(default)]
    encryption: Option<String>,
    /// The ring's key for `sse-kms` (empty: `aws/s3`).
    #[serde(default)]
    kms_key: String,
    /// `on` or `suspended` (`off` only while it was never on); absent: unchanged.
    #[serde(default)]
    versioning: Option<String>,
    /// `on` turns object lock on (it never goes off); absent or `off`: unchanged.
    #[serde(default)]
    object_lock: Option<String>,
    /// The default retention's mode: empty (none), `governance` or `compliance`.
    #[serde(default)]
    retention_mode: String,
    /// The default retention's length, in `retention_unit`s.
    #[serde(default)]
    retention_period: String,
    /// `days` or `years`.
    #[serde(default)]
    retention_unit: String,
}

/// The object lock a settings form asks for: `None` when it asks for none (lock stays as it is,
/// off or on with its default), else lock on with the default retention named.
fn asked_lock(
    form: &SettingsForm,
    current: &pier_store::Bucket,
) -> Result<Option<pier_store::ObjectLock>, Page> {
    let on = form.object_lock.as_deref() == Some("on") || current.object_lock.is_some();
    if !on {
        return Ok(None);
    }
    let bad = |why: String| {
        Page::new(
            StatusCode::BAD_REQUEST,
            format!("The settings were not saved: {why}."),
        )
    };
    let mode = match form.retention_mode.as_str() {
        "" => return Ok(Some(pier_store::ObjectLock { default: None })),
        "governance" => pier_store::LockMode::Governance,
        "compliance" => pier_store::LockMode::Compliance,
        other => return Err(bad(format!("no retention mode {other:?}"))),
    };
    let n: u32 = form
        .retention_period
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            bad(format!(
                "the default retention needs a period of at least 1, not {:?}",
                form.retention_period
            ))
        })?;
    let period = match form.retention_unit.as_str() {
        "years" if n <= 100 => pier_store::LockPeriod::Years(n),
        "days" if n <= 36_500 => pier_store::LockPeriod::Days(n),
        "years" | "days" => return Err(bad("a default retention is at most 100 years".into())),
        other => return Err(bad(format!("no retention unit {other:?}"))),
    };
    Ok(Some(pier_store::ObjectLock {
        default: Some(pier_store::DefaultRetention { mode, period }),
    }))
}

pub(crate) async fn settings(
    State(d): State<Dashboard>,
    who: Signed,
    Path(bucket): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, Page> {
    who.check_csrf(form.csrf.as_deref())?;
    let current = d.store().bucket(&bucket).map_err(Page::store)?;
    let public = match form.visibility.as_str() {
        "public" => Visibility::PublicObjects,
        "private" => Visibility::Private,
        // An S3 ACL's visibility, shown as it is: kept.
        _ => current.public,
    };
    let mut update = BucketUpdate::default();
    let refused = |why: &str| {
        Page::new(
            StatusCode::FORBIDDEN,
            format!("The settings were not saved: {why}."),
        )
    };
    if public != current.public {
        who.allow(&d, Action::PutBucketAcl, Some(&bucket), None, None)?;
        if let Some(why) = pier_edge::public_block::refuses_visibility(&current, public) {
            return Err(refused(why));
        }
        update.public = Some(public);
    }
    let policy = form.policy.trim();
    if current.policy.as_deref().unwrap_or("").trim() != policy {
        let action = if policy.is_empty() {
            Action::DeleteBucketPolicy
        } else {
            Action::PutBucketPolicy
        };
        who.allow(&d, action, Some(&bucket), None, None)?;
        if !policy.is_empty() {
            let parsed = pier_access::Policy::parse(policy, &bucket).map_err(|e| {
                Page::new(
                    StatusCode::BAD_REQUEST,
                    format!("The policy was not saved: {e}"),
                )
            })?;
            if let Some(why) = pier_edge::public_block::refuses_policy(&current, &parsed) {
                return Err(refused(why));
            }
        }
        update.policy = Some((!policy.is_empty()).then(|| policy.to_owned()));
    }
    if let Some(text) = form.tags.as_deref() {
        let tags = pier_edge::tags::from_lines(text).map_err(|why| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("The tags were not saved: {why}"),
            )
        })?;
        if tags != current.tags {
            // Removing tags is s3:PutBucketTagging too (IAM has no action of its own for it).
            who.allow(&d, Action::PutBucketTagging, Some(&bucket), None, None)?;
            update.tags = Some(tags);
        }
    }
    if let Some(text) = form.lifecycle.as_deref() {
        let not_saved = |why: String| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("The lifecycle rules were not saved: {why}"),
            )
        };
        let value: serde_json::Value = match text.trim() {
            "" => serde_json::Value::Array(Vec::new()),
            text => serde_json::from_str(text).map_err(|e| not_saved(e.to_string()))?,
        };
        if value != pier_edge::b2_lifecycle::view(&current.lifecycle) {
            // Replacing the list would drop rules set through S3 that B2's form cannot show.
            let hidden = pier_edge::b2_lifecycle::refusals(&current.lifecycle);
            if !hidden.is_empty() {
                return Err(not_saved(hidden.join("; ")));
            }
            let rules = pier_edge::b2_lifecycle::parse(&value).map_err(not_saved)?;
            who.allow(
                &d,
                Action::PutLifecycleConfiguration,
                Some(&bucket),
                None,
                None,
            )?;
            update.lifecycle = Some(rules);
        }
    }
    if let Some(asked) = form.versioning.as_deref() {
        let state = match asked {
            "on" => Versioning::Enabled,
            "suspended" => Versioning::Suspended,
            "off" => Versioning::Unversioned,
            other => {
                return Err(Page::new(
                    StatusCode::BAD_REQUEST,
                    format!("The settings were not saved: no versioning {other:?}."),
                ))
            }
        };
        if state != current.versioning {
            who.allow(&d, Action::PutBucketVersioning, Some(&bucket), None, None)?;
            update.versioning = Some(state);
        }
    }
    if form.object_lock.is_some() {
        if let Some(lock) = asked_lock(&form, &current)? {
            if Some(lock) != current.object_lock {
                who.allow(
                    &d,
                    Action::PutBucketObjectLockConfiguration,
                    Some(&bucket),
                    None,
                    None,
                )?;
                update.object_lock = Some(lock);
            }
        }
    }
    if let Some(asked) = form.encryption.as_deref() {
        let kms_key = form.kms_key.trim();
        let default = match asked {
            "none" => None,
            "sse-s3" => Some(pier_store::DefaultEncryption::sse_s3()),
            "sse-kms" => {
                let id = (!kms_key.is_empty()).then(|| kms_key.to_owned());
                if let Some(id) = &id {
                    let ring = d.store().kms_keys().map_err(Page::store)?;
                    if !ring.iter().any(|(k, _)| k == id) {
                        return Err(Page::new(
                            StatusCode::BAD_REQUEST,
                            format!("The settings were not saved: the key ring has no key {id:?} (pier kms create-key)."),
                        ));
                    }
                }
                Some(pier_store::DefaultEncryption {
                    mode: pier_crypto::Mode::SseKms,
                    kms_key_id: id,
                })
            }
            other => {
                return Err(Page::new(
                    StatusCode::BAD_REQUEST,
                    format!("The settings were not saved: no encryption {other:?}."),
                ))
            }
        };
        if default != current.encryption {
            who.allow(
                &d,
                Action::PutEncryptionConfiguration,
                Some(&bucket),
                None,
                None,
            )?;
            update.encryption = Some(default);
        }
    }
    let store = d.store().clone();
    let name = bucket.clone();
    let actor = who.actor("bucket settings");
    blocking(move || {
        store
            .acting(actor)
            .update_bucket(&name, update)
            .map_err(|e| match e {
                // The store's own words: versioning never goes back off, object lock keeps it on.
                pier_store::UpdateBucketError::InvalidVersioning
                | pier_store::UpdateBucketError::InvalidBucketState(_) => Page::new(
                    StatusCode::BAD_REQUEST,
                    format!("The settings were not saved: {e}."),
                ),
                other => Page::store(other),
            })
    })
    .await?;
    Ok(Redirect::to(&format!("/b/{bucket}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    csrf: Option<String>,
    confirm: String,
}

pub(crate) async fn delete(
    State(d): State<Dashboard>,
    who: Signed,
    Path(bucket): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, Page> {
    who.check_csrf(form.csrf.as_deref())?;
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
