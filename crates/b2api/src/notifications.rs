//! `b2_set_bucket_notification_rules` and `b2_get_bucket_notification_rules`: a bucket's event
//! notification rules, in B2's form, validated as B2 validates them (`pier_events::rule`).

use crate::args::ByBucket;
use crate::error::{blocking_err, B2Error, B2Result};
use crate::{json, Call};
use http::Response;
use pier_access::Action;
use pier_events::NotificationRule;
use pier_store::{Bucket, BucketUpdate};
use s3s::Body;
use serde_json::{json, Value};

/// The answer both calls give: the bucket's id and its rules, sorted by name as B2 lists them
/// (those made through S3 are S3's to show).
fn rules_json(bucket: &Bucket) -> Value {
    let mut rules: Vec<&NotificationRule> = bucket
        .notifications
        .iter()
        .filter(|r| r.s3.is_none())
        .collect();
    rules.sort_by(|a, b| a.name.cmp(&b.name));
    json!({ "bucketId": bucket.id, "eventNotificationRules": rules })
}

/// `b2_get_bucket_notification_rules?bucketId=`.
pub(crate) fn get(call: &Call<'_>, args: ByBucket) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    call.allow(
        Some(&me),
        Action::GetBucketNotification,
        Some(&bucket.name),
        None,
        None,
    )?;
    Ok(json(rules_json(&bucket)))
}

/// The rules of a `b2_set_bucket_notification_rules` body: each one B2's shape (a missing or
/// mistyped field names itself), the set valid as B2 requires.
fn parse_rules(args: &Value, allow_private: bool) -> B2Result<Vec<NotificationRule>> {
    let Some(list) = args.get("eventNotificationRules") else {
        return Err(B2Error::bad_request("eventNotificationRules is required"));
    };
    let mut rules: Vec<NotificationRule> = serde_path_to_error::deserialize(list).map_err(|e| {
        B2Error::bad_request(format!(
            "eventNotificationRules.{}: {}",
            e.path(),
            e.inner()
        ))
    })?;
    for rule in &mut rules {
        rule.s3 = None; // S3's part of a rule is S3's to set
    }
    pier_events::rule::validate_for_saving(&rules, allow_private)
        .map_err(|e| B2Error::bad_request(e.to_string()))?;
    Ok(rules)
}

/// `b2_set_bucket_notification_rules`: replaces the bucket's B2 rules (a rule saved again is
/// resumed; a secret left out is kept; rules made through S3 stay) and queues a test event for
/// each rule new or changed.
pub(crate) async fn set(call: &Call<'_>, args: Value) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let by: ByBucket = crate::args::parse(args.clone())?;
    let bucket = call.store.bucket_by_id(&by.bucket_id)?;
    call.allow(
        Some(&me),
        Action::PutBucketNotification,
        Some(&bucket.name),
        None,
        None,
    )?;
    let rules = parse_rules(&args, call.webhook_allow_private)?;
    let store = call.store.clone();
    let name = bucket.name.clone();
    let update = BucketUpdate {
        notifications: Some(rules),
        ..Default::default()
    };
    let actor = call.actor(&me, "b2_set_bucket_notification_rules");
    let bucket =
        tokio::task::spawn_blocking(move || store.acting(actor).update_bucket(&name, update))
            .await
            .map_err(blocking_err)??;
    Ok(json(rules_json(&bucket)))
}
