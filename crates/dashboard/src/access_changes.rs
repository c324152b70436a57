//! A bucket's report-only access change (its own tab): a bucket policy and a public setting
//! staged from the settings tab without taking effect ([`pier_edge::access_watch`]). Every
//! request the APIs decide for the bucket is also decided under it, and this page lists the
//! requests whose verdict would change (key, action, object, count, last seen, the staged
//! version's trace); the change is then promoted (saved, through the audit log) or discarded.

use crate::auth::{ActionForm, Page};
use crate::buckets::{nav, save_settings, visibility_name};
use crate::extract::{InBucket, PostedToBucket};
use crate::settings::{asked_access, asked_visibility};
use crate::views::{render, time, AccessChangePage, AccessFlipRow, StagedAccessView};
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::Action;
use pier_edge::access_watch::StagedSettings;
use pier_store::BucketUpdate;
use serde::Deserialize;

/// The tab: what is in effect, what is staged, and the requests it would decide differently.
pub(crate) async fn page(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::GetBucketPolicy, &bucket)?;
    let staged = d.access().watch().staged(&b.id).map(|s| {
        let report = s.report();
        StagedAccessView {
            policy: s.settings.policy_text.clone().unwrap_or_default(),
            visibility: visibility_name(s.settings.public),
            since: time(s.since),
            staged_by: s.staged_by.clone(),
            same: report.same,
            newly_allowed: report.newly_allowed,
            newly_refused: report.newly_refused,
            flips: report
                .flips
                .into_iter()
                .map(|f| AccessFlipRow {
                    key: f.key.unwrap_or_else(|| "anonymous".into()),
                    action: f.action,
                    object: f.object,
                    would_be: if f.newly_allowed {
                        "allowed"
                    } else {
                        "refused"
                    },
                    count: f.count,
                    last_seen: time(f.last_seen),
                    reason: f.reason,
                    trace: f.trace,
                })
                .collect(),
        }
    });
    Ok(render(&AccessChangePage {
        can_promote: who.may(&d, Action::PutBucketPolicy, Some(&bucket)),
        nav: nav(&d, &who),
        policy: b.policy.clone().unwrap_or_default(),
        visibility: visibility_name(b.public),
        staged,
        bucket,
    }))
}

/// The access part of the settings form, posted to stage it instead of saving it.
#[derive(Deserialize)]
pub(crate) struct StageForm {
    visibility: String,
    policy: String,
}

/// Stages the form's policy and visibility as report-only, checked (and allowed for the key)
/// as saving them would be; a form that changes nothing is refused.
pub(crate) async fn stage(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<StageForm>,
) -> Result<Response, Page> {
    let current = d.store().bucket(&bucket).map_err(Page::store)?;
    let public = asked_visibility(&form.visibility, current.public);
    let asked = asked_access(&d, &who, &current, public, &form.policy, "staged")?;
    if asked.public.is_none() && asked.policy.is_none() {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "Nothing was staged: the access and policy in the form are the ones in effect. Change them, then stage.",
        ));
    }
    let settings = StagedSettings {
        policy_text: match asked.policy {
            Some(changed) => changed,
            None => current.policy.clone(),
        },
        policy: asked.parsed,
        public,
    };
    d.access()
        .watch()
        .stage(&current.id, settings, &who.session.key_id);
    Ok(Redirect::to(&format!("/b/{bucket}/access")).into_response())
}

/// Promotes the staged change (saved as the bucket's settings, checked again as saving is,
/// recorded in the audit log) or discards it.
pub(crate) async fn staged_action(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<ActionForm>,
) -> Result<Response, Page> {
    let current = d.store().bucket(&bucket).map_err(Page::store)?;
    let watch = d.access().watch();
    let Some(staged) = watch.staged(&current.id) else {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "Nothing is staged for this bucket.",
        ));
    };
    match form.action.as_str() {
        "discard" => {
            who.allow(&d, Action::PutBucketPolicy, Some(&bucket), None, None)?;
            watch.unstage(&current.id);
        }
        "promote" => {
            let s = &staged.settings;
            let policy = s.policy_text.as_deref().unwrap_or("");
            let asked = asked_access(&d, &who, &current, s.public, policy, "promoted")?;
            let update = BucketUpdate {
                public: asked.public,
                policy: asked.policy,
                ..Default::default()
            };
            save_settings(&d, who.actor("promote report-only access"), &bucket, update).await?;
            watch.unstage(&current.id);
        }
        other => {
            return Err(Page::new(
                StatusCode::BAD_REQUEST,
                format!("No such action on a staged change: {other:?}."),
            ))
        }
    }
    Ok(Redirect::to(&format!("/b/{}/access", current.name)).into_response())
}
