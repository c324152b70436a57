//! A bucket's settings page (its own tab): access (visibility and policy, with the report-only
//! staging beside saving), tags, lifecycle, versions, object lock and default encryption, each
//! validated by the engine that owns it with its message; and "who may do what here".

use crate::auth::{Page, Signed};
use crate::buckets::{nav, save_settings, versioning_name, visibility_name};
use crate::extract::{InBucket, PostedToBucket};
use crate::views::{render, SettingsPage};
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::Action;
use pier_store::{Bucket, BucketUpdate, Versioning, Visibility};
use serde::Deserialize;
use std::sync::Arc;

/// The settings tab of a bucket.
pub(crate) async fn page(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::GetBucketAcl, &bucket)?;
    let staged = d.access().watch().staged(&b.id).is_some();
    let lock_default = b.object_lock.and_then(|l| l.default);
    Ok(render(&SettingsPage {
        can_settings: who.may(&d, Action::PutBucketAcl, Some(&bucket)),
        can_explain: who.may(&d, Action::ListKeys, None),
        can_delete: who.may(&d, Action::DeleteBucket, Some(&bucket)),
        actions: Action::ALL.iter().map(|a| a.iam_name()).collect(),
        nav: nav(&d, &who),
        visibility: visibility_name(b.public),
        versioning: versioning_name(b.versioning),
        policy: b.policy.clone().unwrap_or_default(),
        staged,
        tags: pier_edge::tags::to_lines(&b.tags),
        lifecycle: serde_json::to_string_pretty(&pier_edge::b2_lifecycle::view(&b.lifecycle))
            .unwrap_or_default(),
        lifecycle_hidden: pier_edge::b2_lifecycle::refusals(&b.lifecycle),
        lock_on: b.object_lock.is_some(),
        retention_mode: match lock_default.map(|r| r.mode) {
            Some(pier_store::LockMode::Governance) => "governance",
            Some(pier_store::LockMode::Compliance) => "compliance",
            None => "",
        },
        retention_period: match lock_default.map(|r| r.period) {
            Some(pier_store::LockPeriod::Days(n) | pier_store::LockPeriod::Years(n)) => {
                n.to_string()
            }
            None => String::new(),
        },
        retention_unit: match lock_default.map(|r| r.period) {
            Some(pier_store::LockPeriod::Years(_)) => "years",
            _ => "days",
        },
        encryption: match b.encryption.as_ref().map(|e| e.mode) {
            None => "none",
            Some(pier_crypto::Mode::SseKms) => "sse-kms",
            Some(_) => "sse-s3",
        },
        kms_key: b
            .encryption
            .as_ref()
            .and_then(|e| e.kms_key_id.clone())
            .unwrap_or_default(),
        bucket,
    }))
}

/// The access settings a form asks for, where they differ from `current`'s: each checked by
/// the access engine (a policy that does not parse) and the public access block, and allowed
/// for the signed-in key (`s3:PutBucketAcl`, `s3:PutBucketPolicy`, `s3:DeleteBucketPolicy`).
/// `verb` says what the refusal's message says was not done ("saved", "staged").
pub(crate) struct AskedAccess {
    /// The new visibility (`None`: unchanged).
    pub(crate) public: Option<Visibility>,
    /// The new policy text (`None`: unchanged; `Some(None)`: removed).
    pub(crate) policy: Option<Option<String>>,
    /// The policy as it would be (changed or not), parsed.
    pub(crate) parsed: Option<Arc<pier_access::Policy>>,
}

/// The visibility a settings form's `visibility` field asks for: `public`, `private`, or
/// anything else (`keep`: an S3 ACL's visibility, shown as it is) for `current`'s.
pub(crate) fn asked_visibility(field: &str, current: Visibility) -> Visibility {
    match field {
        "public" => Visibility::PublicObjects,
        "private" => Visibility::Private,
        _ => current,
    }
}

/// Checks the access part of a settings form (see [`AskedAccess`]).
pub(crate) fn asked_access(
    d: &Dashboard,
    who: &Signed,
    current: &Bucket,
    public: Visibility,
    policy: &str,
    verb: &str,
) -> Result<AskedAccess, Page> {
    let bucket = current.name.as_str();
    let refused = |why: &str| {
        Page::new(
            StatusCode::FORBIDDEN,
            format!("The settings were not {verb}: {why}."),
        )
    };
    let mut asked = AskedAccess {
        public: None,
        policy: None,
        parsed: None,
    };
    if public != current.public {
        who.allow(d, Action::PutBucketAcl, Some(bucket), None, None)?;
        if let Some(why) = pier_edge::public_block::refuses_visibility(current, public) {
            return Err(refused(why));
        }
        asked.public = Some(public);
    }
    let policy = policy.trim();
    if current.policy.as_deref().unwrap_or("").trim() == policy {
        // Unchanged: as the access door reads it (parsed once per revision).
        asked.parsed = d.access().policy(current);
        return Ok(asked);
    }
    let action = if policy.is_empty() {
        Action::DeleteBucketPolicy
    } else {
        Action::PutBucketPolicy
    };
    who.allow(d, action, Some(bucket), None, None)?;
    if !policy.is_empty() {
        let parsed = pier_access::Policy::parse(policy, bucket).map_err(|e| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("The policy was not {verb}: {e}"),
            )
        })?;
        if let Some(why) = pier_edge::public_block::refuses_policy(current, &parsed) {
            return Err(refused(why));
        }
        asked.parsed = Some(Arc::new(parsed));
    }
    asked.policy = Some((!policy.is_empty()).then(|| policy.to_owned()));
    Ok(asked)
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    /// `private`, `public`, or `keep` (an S3 ACL's visibility, kept).
    pub(crate) visibility: String,
    /// The bucket policy (empty: none).
    pub(crate) policy: String,
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

/// Saves a bucket's settings: each field that differs from the bucket's is checked (by the
/// engine that owns it, with its message) and allowed for the key, then all are saved in one
/// update, recorded in the audit log.
pub(crate) async fn save(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<SettingsForm>,
) -> Result<Response, Page> {
    let current = d.store().bucket(&bucket).map_err(Page::store)?;
    let mut update = BucketUpdate::default();
    let public = asked_visibility(&form.visibility, current.public);
    let asked = asked_access(&d, &who, &current, public, &form.policy, "saved")?;
    update.public = asked.public;
    update.policy = asked.policy;
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
    save_settings(&d, who.actor("bucket settings"), &bucket, update).await?;
    Ok(Redirect::to(&format!("/b/{bucket}/settings")).into_response())
}
