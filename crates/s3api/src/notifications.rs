//! `PutBucketNotificationConfiguration` / `GetBucketNotificationConfiguration`: a bucket's S3
//! notification rules. Each `TopicConfiguration` becomes one notification rule (`pier_events`)
//! marked as S3's: its id is the rule's name, its events S3's names, its key filter the rule's
//! prefix and suffix, and its topic (which must be one of the bucket owner's) where its events
//! go, in S3's record format. The B2 rules of the bucket stay as they are.

use crate::error::s3_error;
use pier_events::{EventKind, NotificationRule, S3Origin};
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// Most topic configurations on one bucket.
const MAX_CONFIGURATIONS: usize = 100;
/// Longest prefix or suffix (S3's limit).
const MAX_FILTER: usize = 1024;

/// The prefix and suffix of a configuration's key filter; S3's `InvalidArgument` for a rule
/// named neither, or either named twice.
fn key_filter(filter: Option<&NotificationConfigurationFilter>) -> S3Result<(String, String)> {
    let (mut prefix, mut suffix) = (None, None);
    let rules = filter
        .and_then(|f| f.key.as_ref())
        .and_then(|k| k.filter_rules.as_deref())
        .unwrap_or_default();
    for rule in rules {
        let name = rule.name.as_ref().map(|n| n.as_str().to_ascii_lowercase());
        let value = rule.value.clone().unwrap_or_default();
        if value.len() > MAX_FILTER {
            return Err(s3_error!(
                InvalidArgument,
                "A filter rule value is longer than 1024 characters."
            ));
        }
        let slot = match name.as_deref() {
            Some("prefix") => &mut prefix,
            Some("suffix") => &mut suffix,
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "filter rule name must be either prefix or suffix"
                ))
            }
        };
        if slot.replace(value).is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "Cannot specify more than one prefix or suffix rule in a filter."
            ));
        }
    }
    Ok((prefix.unwrap_or_default(), suffix.unwrap_or_default()))
}

/// A random configuration id, as S3 makes one for a configuration that names none.
fn new_id() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    format!("notification-{}", hex::encode(bytes))
}

/// One topic configuration as a rule; its topic must exist (`InvalidArgument`) and belong to
/// `owner` (`AccessDenied`).
fn rule_of(store: &Store, owner: &str, config: &TopicConfiguration) -> S3Result<NotificationRule> {
    let arn = config.topic_arn.as_str();
    let topic = match pier_events::topic::parse_arn(arn) {
        Some((account, _)) if account != owner => {
            // No topic policy lets another account publish (Ceph answers the same).
            return Err(crate::auth::refusal(&format!(
                "topic {arn} belongs to another account"
            )));
        }
        Some((account, name)) => store.topic(account, name).map_err(s3_error)?,
        None => None,
    };
    if topic.is_none() {
        return Err(s3_error!(
            InvalidArgument,
            "Unable to validate the following destination configurations: {arn} (no such topic of the bucket's owner)"
        ));
    }
    if config.events.is_empty() {
        return Err(s3_error!(
            InvalidArgument,
            "A configuration names at least one event."
        ));
    }
    let events: Vec<String> = config
        .events
        .iter()
        .map(|e| e.as_ref().to_owned())
        .collect();
    if let Some(bad) = events.iter().find(|e| !EventKind::is_s3_pattern(e)) {
        return Err(s3_error!(
            InvalidArgument,
            "The event is not supported for notifications: {bad}"
        ));
    }
    let (prefix, suffix) = key_filter(config.filter.as_ref())?;
    let name = match config.id.as_deref() {
        None | Some("") => new_id(),
        Some(id) if id.len() > 255 => {
            return Err(s3_error!(
                InvalidArgument,
                "A configuration id is at most 255 characters."
            ))
        }
        Some(id) => id.to_owned(),
    };
    Ok(NotificationRule::s3(name, events, prefix, suffix, arn))
}

/// True when one event could match both rules: a shared event kind, and key filters that
/// some key passes both of (nested prefixes and nested suffixes).
fn overlap(a: &NotificationRule, b: &NotificationRule) -> bool {
    let nested = |x: &str, y: &str| x.starts_with(y) || y.starts_with(x);
    let nested_end = |x: &str, y: &str| x.ends_with(y) || y.ends_with(x);
    fn suffix(r: &NotificationRule) -> &str {
        r.s3.as_ref().map_or("", |s| s.suffix.as_str())
    }
    let shared = pier_events::kind::ALL.into_iter().any(|k| {
        a.event_types.iter().any(|t| k.matches(t)) && b.event_types.iter().any(|t| k.matches(t))
    });
    shared
        && nested(&a.object_name_prefix, &b.object_name_prefix)
        && nested_end(suffix(a), suffix(b))
}

/// The rules of a notification configuration, checked as S3 checks them.
fn rules_of(
    store: &Store,
    owner: &str,
    config: &NotificationConfiguration,
) -> S3Result<Vec<NotificationRule>> {
    if config
        .queue_configurations
        .as_ref()
        .is_some_and(|q| !q.is_empty())
        || config
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        || config.event_bridge_configuration.is_some()
    {
        return Err(s3_error!(
            InvalidArgument,
            "pier publishes notifications to topics only (TopicConfiguration)."
        ));
    }
    let configs = config.topic_configurations.as_deref().unwrap_or_default();
    if configs.len() > MAX_CONFIGURATIONS {
        return Err(s3_error!(
            InvalidArgument,
            "A bucket has at most 100 notification configurations."
        ));
    }
    let mut rules: Vec<NotificationRule> = Vec::with_capacity(configs.len());
    for config in configs {
        let rule = rule_of(store, owner, config)?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(s3_error!(
                InvalidArgument,
                "Notification configuration ids must be unique: {}",
                rule.name
            ));
        }
        if let Some(other) = rules.iter().find(|r| overlap(r, &rule)) {
            return Err(s3_error!(
                InvalidArgument,
                "Configurations overlap. Configurations on the same bucket cannot share a common event type ({} and {}).",
                other.name,
                rule.name
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// `PUT ?notification`: replaces the bucket's S3 notification rules (an empty configuration
/// removes them).
pub async fn put(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketNotificationConfigurationInput,
) -> S3Result<PutBucketNotificationConfigurationOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let rules = rules_of(store, &bucket.owner, &input.notification_configuration)?;
    crate::error::change_bucket!(
        store, actor.clone(), &input.bucket,
        s3_notifications: Some(rules)
    );
    Ok(PutBucketNotificationConfigurationOutput::default())
}

/// A rule as S3 shows it.
fn topic_configuration(rule: &NotificationRule, s3: &S3Origin) -> TopicConfiguration {
    let mut filter_rules = Vec::new();
    for (name, value) in [("prefix", &rule.object_name_prefix), ("suffix", &s3.suffix)] {
        if !value.is_empty() {
            filter_rules.push(FilterRule {
                name: Some(FilterRuleName::from_static(if name == "prefix" {
                    FilterRuleName::PREFIX
                } else {
                    FilterRuleName::SUFFIX
                })),
                value: Some(value.clone()),
            });
        }
    }
    TopicConfiguration {
        events: rule
            .event_types
            .iter()
            .map(|e| Event::from(e.clone()))
            .collect(),
        filter: (!filter_rules.is_empty()).then_some(NotificationConfigurationFilter {
            key: Some(S3KeyFilter {
                filter_rules: Some(filter_rules),
            }),
        }),
        id: Some(rule.name.clone()),
        topic_arn: s3.topic_arn.clone(),
    }
}

/// `GET ?notification`: the bucket's S3 rules as topic configurations (its B2 rules are B2's
/// to show).
pub fn get(
    store: &Store,
    input: GetBucketNotificationConfigurationInput,
) -> S3Result<GetBucketNotificationConfigurationOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let configs: Vec<TopicConfiguration> = bucket
        .notifications
        .iter()
        .filter_map(|r| r.s3.as_ref().map(|s3| topic_configuration(r, s3)))
        .collect();
    Ok(GetBucketNotificationConfigurationOutput {
        topic_configurations: (!configs.is_empty()).then_some(configs),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(rules: &[(&str, &str)]) -> NotificationConfigurationFilter {
        NotificationConfigurationFilter {
            key: Some(S3KeyFilter {
                filter_rules: Some(
                    rules
                        .iter()
                        .map(|(n, v)| FilterRule {
                            name: Some(FilterRuleName::from(n.to_string())),
                            value: Some(v.to_string()),
                        })
                        .collect(),
                ),
            }),
        }
    }

    fn rule(types: &[&str], prefix: &str, suffix: &str) -> NotificationRule {
        let types = types.iter().map(|t| t.to_string()).collect();
        NotificationRule::s3("r", types, prefix, suffix, "arn:aws:sns:us-east-1:pier:t")
    }

    #[test]
    fn a_key_filter_names_a_prefix_and_a_suffix_in_any_case() {
        let got = key_filter(Some(&filter(&[("Prefix", "in/"), ("suffix", ".jpg")]))).unwrap();
        assert_eq!(got, ("in/".to_owned(), ".jpg".to_owned()));
        assert_eq!(key_filter(None).unwrap(), (String::new(), String::new()));
    }

    #[test]
    fn a_key_filter_with_another_name_or_a_repeat_is_refused() {
        assert!(key_filter(Some(&filter(&[("middle", "x")]))).is_err());
        assert!(key_filter(Some(&filter(&[("prefix", "a"), ("prefix", "b")]))).is_err());
    }

    #[test]
    fn configurations_overlap_when_one_event_could_match_both() {
        let created = &["s3:ObjectCreated:*"];
        let put = &["s3:ObjectCreated:Put"];
        let removed = &["s3:ObjectRemoved:*"];
        assert!(overlap(&rule(created, "", ""), &rule(put, "", "")));
        assert!(overlap(&rule(created, "a/", ""), &rule(put, "a/b/", "")));
        assert!(!overlap(&rule(created, "a/", ""), &rule(put, "b/", "")));
        assert!(!overlap(&rule(created, "", ".jpg"), &rule(put, "", ".png")));
        assert!(!overlap(&rule(created, "", ""), &rule(removed, "", "")));
    }
}
