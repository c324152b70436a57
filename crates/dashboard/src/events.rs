//! A bucket's event notifications in the browser: its rules (B2's, editable here, and those
//! made through S3, shown), a form to add or replace a B2 rule (validated as
//! `b2_set_bucket_notification_rules` validates it), per rule a test event, resume and delete,
//! and the last deliveries this server made for the bucket, with status, latency and error.

use crate::auth::Page;
use crate::buckets::{blocking, nav, save_settings};
use crate::extract::{InBucket, PostedToBucket};
use crate::views::{render, time, DeliveryRow, EventsPage, RuleRow};
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::Action;
use pier_events::rule::Target;
use pier_events::NotificationRule;
use pier_store::BucketUpdate;
use serde::Deserialize;

fn row(rule: &NotificationRule) -> RuleRow {
    let state = if !rule.is_enabled {
        "disabled".to_owned()
    } else if rule.is_suspended {
        format!("suspended: {}", rule.suspension_reason)
    } else {
        "active".to_owned()
    };
    RuleRow {
        name: rule.name.clone(),
        api: if rule.s3.is_some() { "S3" } else { "B2" },
        types: rule.event_types.join(", "),
        filter: match &rule.s3 {
            Some(s3) if !s3.suffix.is_empty() => {
                format!("{}…{}", rule.object_name_prefix, s3.suffix)
            }
            _ => rule.object_name_prefix.clone(),
        },
        target: match &rule.s3 {
            Some(s3) => s3.topic_arn.clone(),
            None => rule.target_configuration.url.clone(),
        },
        signed: rule
            .target_configuration
            .hmac_sha256_signing_secret
            .is_some(),
        suspended: rule.is_suspended,
        state,
    }
}

pub(crate) async fn page(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::GetBucketNotification, &bucket)?;
    let mut rules: Vec<&NotificationRule> = b.notifications.iter().collect();
    rules.sort_by(|x, y| x.name.cmp(&y.name));
    let deliveries = d
        .config()
        .deliveries
        .as_ref()
        .map(|stats| stats.recent())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.bucket_id == b.id)
        .map(|r| DeliveryRow {
            at: time(r.at_ms),
            rule: r.rule,
            events: r.events,
            status: r
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
            ok: r.error.is_empty(),
            latency: format!("{} ms", r.latency_ms),
            error: r.error,
        })
        .collect();
    Ok(render(&EventsPage {
        can_write: who.may(&d, Action::PutBucketNotification, Some(&bucket)),
        nav: nav(&d, &who),
        bucket,
        rules: rules.into_iter().map(row).collect(),
        deliveries,
    }))
}

#[derive(Deserialize)]
pub(crate) struct RuleForm {
    name: String,
    types: String,
    #[serde(default)]
    prefix: String,
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    batch: String,
}

/// Saves the bucket's B2 rules as `rules`, validated as B2's call validates them.
async fn save_rules(
    d: &Dashboard,
    actor: pier_store::Actor,
    bucket: &str,
    rules: Vec<NotificationRule>,
) -> Result<(), Page> {
    pier_events::rule::validate_for_saving(&rules, d.config().webhook_allow_private).map_err(
        |e| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("The rule was not saved: {e}"),
            )
        },
    )?;
    let update = BucketUpdate {
        notifications: Some(rules),
        ..Default::default()
    };
    save_settings(d, actor, bucket, update).await
}

fn b2_rules(b: &pier_store::Bucket) -> Vec<NotificationRule> {
    b.notifications
        .iter()
        .filter(|r| r.s3.is_none())
        .cloned()
        .collect()
}

/// Adds a B2 rule, or replaces the one of the same name (a secret left empty keeps its own).
pub(crate) async fn save(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<RuleForm>,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::PutBucketNotification, &bucket)?;
    let batch = match form.batch.trim() {
        "" => None,
        n => Some(n.parse::<u32>().map_err(|_| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("The rule was not saved: the batch size {n:?} is not a number."),
            )
        })?),
    };
    let secret = form.secret.trim();
    let types = form
        .types
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let target = Target {
        hmac_sha256_signing_secret: (!secret.is_empty()).then(|| secret.to_owned()),
        max_events_per_batch: batch,
        ..Target::webhook(form.url.trim())
    };
    let rule = NotificationRule::new(form.name.trim(), types, form.prefix, target);

    let mut rules = b2_rules(&b);
    rules.retain(|r| r.name != rule.name);
    rules.push(rule);
    save_rules(&d, who.actor("notifications"), &bucket, rules).await?;
    Ok(Redirect::to(&format!("/b/{bucket}/events")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    name: String,
    action: String,
}

/// `test` queues a test event for the rule, `resume` saves it again (which resumes it),
/// `delete` removes it.
pub(crate) async fn rule_action(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<ActionForm>,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::PutBucketNotification, &bucket)?;
    let mut rules = b2_rules(&b);
    let missing = || {
        Page::new(
            StatusCode::NOT_FOUND,
            format!("The bucket has no active B2 rule named {:?}.", form.name),
        )
    };
    match form.action.as_str() {
        "test" => {
            let store = d.store().clone();
            let (id, name) = (b.id.clone(), form.name.clone());
            let queued =
                blocking(move || store.send_test_event(&id, &name).map_err(Page::store)).await?;
            if !queued {
                return Err(missing());
            }
        }
        "resume" => {
            if !rules.iter().any(|r| r.name == form.name) {
                return Err(missing());
            }
            save_rules(&d, who.actor("notifications"), &bucket, rules).await?;
        }
        "delete" => {
            let before = rules.len();
            rules.retain(|r| r.name != form.name);
            if rules.len() == before {
                return Err(missing());
            }
            save_rules(&d, who.actor("notifications"), &bucket, rules).await?;
        }
        other => {
            return Err(Page::new(
                StatusCode::BAD_REQUEST,
                format!("{other:?} is not something a rule does."),
            ))
        }
    }
    Ok(Redirect::to(&format!("/b/{bucket}/events")).into_response())
}
