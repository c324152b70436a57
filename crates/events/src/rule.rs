//! A bucket's notification rules, in B2's form (`b2_set_bucket_notification_rules`), with B2's
//! validation: what a rule selects, where its events go, and whether it is suspended.

use crate::kind::EventKind;
use serde::{Deserialize, Serialize};

/// Most rules on one bucket (B2's limit).
pub const MAX_RULES: usize = 25;
/// Most custom headers on one target.
pub const MAX_CUSTOM_HEADERS: usize = 10;
/// Headers a rule's custom headers cannot set: the delivery's own.
const RESERVED_HEADERS: [&str; 4] = ["content-type", "content-length", "host", "user-agent"];

/// One notification rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    /// Unique within the bucket: 6 to 63 letters, digits and hyphens, not starting `b2-`.
    pub name: String,
    /// B2 event types, exact or `…:*`.
    pub event_types: Vec<String>,
    /// Only objects whose names start with this.
    #[serde(default)]
    pub object_name_prefix: String,
    /// Whether events are recorded for it.
    pub is_enabled: bool,
    /// Set by the dispatcher when the target kept failing; cleared when the rule is saved.
    #[serde(default)]
    pub is_suspended: bool,
    /// Why it was suspended (empty when it is not).
    #[serde(default)]
    pub suspension_reason: String,
    /// Where its events go (for an S3 rule, its topic's push endpoint, read at delivery).
    pub target_configuration: Target,
    /// Set on a rule made by S3's `PutBucketNotificationConfiguration`: its `event_types` are S3
    /// names, its events go to a topic and are delivered in S3's format. B2's calls neither show
    /// nor replace such rules, and S3's show and replace only them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Origin>,
}

/// What an S3 notification configuration adds to a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Origin {
    /// The topic its events are published to (`crate::topic`).
    pub topic_arn: String,
    /// Only objects whose names end with this.
    #[serde(default)]
    pub suffix: String,
}

/// A webhook target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Always `webhook`.
    pub target_type: String,
    /// The URL events are POSTed to.
    pub url: String,
    /// Headers sent with every delivery. Read as B2 documents them (a list of `name`/`value`
    /// objects) or as the `b2` CLI 5 sends them (an object of names to values); written as a list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "headers_list_or_map"
    )]
    pub custom_headers: Option<Vec<Header>>,
    /// The HMAC-SHA256 key deliveries are signed with (32 letters and digits), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_sha256_signing_secret: Option<String>,
    /// Most events in one delivery, 1 to 50 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events_per_batch: Option<u32>,
}

impl Target {
    /// A webhook at `url`: no custom headers, no signing secret, B2's default batch size.
    pub fn webhook(url: impl Into<String>) -> Target {
        Target {
            target_type: "webhook".into(),
            url: url.into(),
            custom_headers: None,
            hmac_sha256_signing_secret: None,
            max_events_per_batch: None,
        }
    }
}

/// A custom header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// Custom headers in either form clients send them (see [`Target::custom_headers`]).
fn headers_list_or_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Header>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<Header>),
        Map(std::collections::BTreeMap<String, String>),
    }
    Ok(match Option::<Form>::deserialize(d)? {
        None => None,
        Some(Form::List(list)) => Some(list),
        Some(Form::Map(map)) => Some(
            map.into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
        ),
    })
}

/// Why a rule set was refused: the field (as B2 names it) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The field, e.g. `eventNotificationRules[0].name`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl NotificationRule {
    /// An enabled B2 rule named `name`: events of `event_types` on keys starting with
    /// `prefix`, sent to `target`.
    pub fn new(
        name: impl Into<String>,
        event_types: Vec<String>,
        prefix: impl Into<String>,
        target: Target,
    ) -> NotificationRule {
        NotificationRule {
            name: name.into(),
            event_types,
            object_name_prefix: prefix.into(),
            is_enabled: true,
            is_suspended: false,
            suspension_reason: String::new(),
            target_configuration: target,
            s3: None,
        }
    }

    /// An enabled S3 rule named `name`: events of the S3 `event_types` on keys starting with
    /// `prefix` and ending with `suffix`, published to the topic `topic_arn` (whose push
    /// endpoint is read at delivery).
    pub fn s3(
        name: impl Into<String>,
        event_types: Vec<String>,
        prefix: impl Into<String>,
        suffix: impl Into<String>,
        topic_arn: impl Into<String>,
    ) -> NotificationRule {
        NotificationRule {
            s3: Some(S3Origin {
                topic_arn: topic_arn.into(),
                suffix: suffix.into(),
            }),
            ..NotificationRule::new(name, event_types, prefix, Target::webhook(String::new()))
        }
    }

    /// True when an event of `kind` on object `key` goes to this rule (it must also be enabled
    /// and not suspended to be recorded: [`NotificationRule::is_active`]).
    pub fn selects(&self, kind: EventKind, key: &str) -> bool {
        key.starts_with(&self.object_name_prefix)
            && self.s3.as_ref().is_none_or(|s3| key.ends_with(&s3.suffix))
            && self.event_types.iter().any(|t| kind.matches(t))
    }

    /// True when events are recorded for it: enabled and not suspended.
    pub fn is_active(&self) -> bool {
        self.is_enabled && !self.is_suspended
    }

    /// How many events one delivery may carry.
    pub fn batch_size(&self) -> usize {
        if self.s3.is_some() {
            return 1; // one record per message, as S3 and Ceph publish them
        }
        self.target_configuration
            .max_events_per_batch
            .unwrap_or(1)
            .clamp(1, 50) as usize
    }
}

/// Checks a bucket's whole rule set as B2 does; the first problem found, naming its field.
pub fn validate(rules: &[NotificationRule]) -> Result<(), RuleError> {
    let err = |field: String, message: &str| {
        Err(RuleError {
            field,
            message: message.to_owned(),
        })
    };
    if rules.len() > MAX_RULES {
        return err(
            "eventNotificationRules".into(),
            "a bucket has at most 25 event notification rules",
        );
    }
    for (i, rule) in rules.iter().enumerate() {
        let at = |field: &str| format!("eventNotificationRules[{i}].{field}");
        let name_ok = (6..=63).contains(&rule.name.len())
            && rule
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !name_ok {
            return err(at("name"), "must be 6 to 63 letters, digits and hyphens");
        }
        if rule.name.to_ascii_lowercase().starts_with("b2-") {
            return err(at("name"), "names starting with b2- are reserved");
        }
        if rules[..i].iter().any(|r| r.name == rule.name) {
            return err(at("name"), "rule names must be unique within the bucket");
        }
        if rule.event_types.is_empty() {
            return err(at("eventTypes"), "name at least one event type");
        }
        if let Some(bad) = rule
            .event_types
            .iter()
            .find(|t| !EventKind::is_b2_pattern(t))
        {
            return err(at("eventTypes"), &format!("{bad:?} is not an event type"));
        }
        let target = &rule.target_configuration;
        if target.target_type != "webhook" {
            return err(
                at("targetConfiguration.targetType"),
                "the only target type is webhook",
            );
        }
        if let Err(why) = crate::target::parse_url(&target.url) {
            return err(at("targetConfiguration.url"), &why);
        }
        if let Some(secret) = &target.hmac_sha256_signing_secret {
            if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return err(
                    at("targetConfiguration.hmacSha256SigningSecret"),
                    "must be 32 letters and digits",
                );
            }
        }
        if let Some(n) = target.max_events_per_batch {
            if !(1..=50).contains(&n) {
                return err(
                    at("targetConfiguration.maxEventsPerBatch"),
                    "must be between 1 and 50",
                );
            }
        }
        let headers = target.custom_headers.as_deref().unwrap_or_default();
        if headers.len() > MAX_CUSTOM_HEADERS {
            return err(
                at("targetConfiguration.customHeaders"),
                "at most 10 custom headers",
            );
        }
        for h in headers {
            let lower = h.name.to_ascii_lowercase();
            let token = !h.name.is_empty()
                && h.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !token || h.value.bytes().any(|b| b < 0x20 || b == 0x7f) {
                return err(
                    at("targetConfiguration.customHeaders"),
                    &format!("{:?} is not a valid header", h.name),
                );
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-bz-") {
                return err(
                    at("targetConfiguration.customHeaders"),
                    &format!("{:?} is set by the delivery itself", h.name),
                );
            }
        }
        // Two rules must not both take one event: no shared type with nested prefixes.
        for other in &rules[..i] {
            let nested = rule
                .object_name_prefix
                .starts_with(&other.object_name_prefix)
                || other
                    .object_name_prefix
                    .starts_with(&rule.object_name_prefix);
            let shared = crate::kind::ALL.into_iter().any(|k| {
                rule.event_types.iter().any(|t| k.matches(t))
                    && other.event_types.iter().any(|t| k.matches(t))
            });
            if nested && shared {
                return err(
                    at("objectNamePrefix"),
                    &format!(
                        "overlaps rule {:?} for the same event type (prefixes {:?} and {:?})",
                        other.name, other.object_name_prefix, rule.object_name_prefix
                    ),
                );
            }
        }
    }
    Ok(())
}

/// [`validate`], and each target `https` unless the operator allows plain `http` and private
/// addresses (`allow_private`): what every edge that saves B2 rules checks.
pub fn validate_for_saving(
    rules: &[NotificationRule],
    allow_private: bool,
) -> Result<(), RuleError> {
    validate(rules)?;
    for (i, rule) in rules.iter().enumerate() {
        let (https, _, _) =
            crate::target::parse_url(&rule.target_configuration.url).map_err(|message| {
                RuleError {
                    field: format!("eventNotificationRules[{i}].targetConfiguration.url"),
                    message,
                }
            })?;
        if !https && !allow_private {
            return Err(RuleError {
                field: format!("eventNotificationRules[{i}].targetConfiguration.url"),
                message: "the webhook must use https".into(),
            });
        }
    }
    Ok(())
}

/// The rules as saved over `old`: suspension is the server's to set (a rule saved again is
/// resumed), and a target that names no signing secret keeps the one its rule had (the secret
/// need not be sent back to keep it).
pub fn saved_over(new: Vec<NotificationRule>, old: &[NotificationRule]) -> Vec<NotificationRule> {
    new.into_iter()
        .map(|mut rule| {
            rule.is_suspended = false;
            rule.suspension_reason = String::new();
            if rule
                .target_configuration
                .hmac_sha256_signing_secret
                .is_none()
            {
                if let Some(prev) = old.iter().find(|o| {
                    o.name == rule.name
                        && o.target_configuration.url == rule.target_configuration.url
                }) {
                    rule.target_configuration.hmac_sha256_signing_secret =
                        prev.target_configuration.hmac_sha256_signing_secret.clone();
                }
            }
            rule
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_read_as_a_list_or_as_the_b2_clis_map() {
        let list: Target = serde_json::from_str(
            r#"{"targetType":"webhook","url":"https://h.example/","customHeaders":[{"name":"X-A","value":"1"}]}"#,
        )
        .unwrap();
        let map: Target = serde_json::from_str(
            r#"{"targetType":"webhook","url":"https://h.example/","customHeaders":{"X-A":"1"}}"#,
        )
        .unwrap();
        assert_eq!(list, map);
        assert_eq!(
            serde_json::to_value(&map).unwrap()["customHeaders"],
            serde_json::json!([{"name": "X-A", "value": "1"}])
        );
        let none: Target = serde_json::from_str(
            r#"{"targetType":"webhook","url":"https://h.example/","customHeaders":null}"#,
        )
        .unwrap();
        assert_eq!(none.custom_headers, None);
    }

    fn rule(name: &str, types: &[&str], prefix: &str) -> NotificationRule {
        let types = types.iter().map(|s| s.to_string()).collect();
        NotificationRule::new(
            name,
            types,
            prefix,
            Target::webhook("https://hooks.example.com/in"),
        )
    }

    #[test]
    fn b2s_documented_rule_reads_and_selects() {
        let r: NotificationRule = serde_json::from_str(
            r#"{"eventTypes":["b2:ObjectCreated:Upload","b2:ObjectCreated:MultipartUpload"],
                "isEnabled":true,"name":"mySampleRule1","objectNamePrefix":"",
                "targetConfiguration":{"customHeaders":[{"name":"X-My-Custom-Header-1","value":"v"}],
                "hmacSha256SigningSecret":"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0",
                "targetType":"webhook","url":"https://www.example.com/sampleurl"}}"#,
        )
        .unwrap();
        assert!(validate(std::slice::from_ref(&r)).is_ok());
        assert!(r.selects(EventKind::Upload, "a/b"));
        assert!(!r.selects(EventKind::Copy, "a/b"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["isSuspended"], false);
        assert_eq!(json["suspensionReason"], "");
    }

    #[test]
    fn bad_rules_name_their_field() {
        let cases: Vec<(NotificationRule, &str)> = vec![
            (rule("short", &["b2:ObjectCreated:*"], ""), "name"),
            (rule("b2-reserved", &["b2:ObjectCreated:*"], ""), "name"),
            (rule("uploads", &[], ""), "eventTypes"),
            (rule("uploads", &["b2:Nothing"], ""), "eventTypes"),
            (
                {
                    let mut r = rule("uploads", &["b2:ObjectCreated:*"], "");
                    r.target_configuration.url = "ftp://x".into();
                    r
                },
                "targetConfiguration.url",
            ),
            (
                {
                    let mut r = rule("uploads", &["b2:ObjectCreated:*"], "");
                    r.target_configuration.hmac_sha256_signing_secret = Some("short".into());
                    r
                },
                "targetConfiguration.hmacSha256SigningSecret",
            ),
            (
                {
                    let mut r = rule("uploads", &["b2:ObjectCreated:*"], "");
                    r.target_configuration.custom_headers = Some(vec![Header {
                        name: "X-Bz-Event-Notification-Signature".into(),
                        value: "forged".into(),
                    }]);
                    r
                },
                "targetConfiguration.customHeaders",
            ),
        ];
        for (r, field) in cases {
            let e = validate(&[r]).unwrap_err();
            assert!(e.field.ends_with(field), "{e}");
        }
    }

    #[test]
    fn overlapping_rules_for_one_type_are_refused() {
        let a = rule("images", &["b2:ObjectCreated:*"], "images/");
        let b = rule("pets-only", &["b2:ObjectCreated:Upload"], "images/pets/");
        let e = validate(&[a.clone(), b]).unwrap_err();
        assert!(e.field.ends_with("objectNamePrefix"), "{e}");
        let c = rule("pets-gone", &["b2:ObjectDeleted:*"], "images/pets/");
        assert!(validate(&[a.clone(), c]).is_ok());
        let d = rule("dup-name", &["b2:ObjectDeleted:*"], "x/");
        let mut e2 = d.clone();
        e2.object_name_prefix = "y/".into();
        assert!(validate(&[d, e2]).unwrap_err().message.contains("unique"));
    }

    #[test]
    fn saving_again_resumes_and_keeps_the_secret() {
        let mut old = rule("uploads", &["b2:ObjectCreated:*"], "");
        old.is_suspended = true;
        old.suspension_reason = "target failing".into();
        old.target_configuration.hmac_sha256_signing_secret = Some("a".repeat(32));
        let new = rule("uploads", &["b2:ObjectCreated:*"], "");
        let saved = saved_over(vec![new], &[old]);
        assert!(!saved[0].is_suspended);
        assert_eq!(
            saved[0].target_configuration.hmac_sha256_signing_secret,
            Some("a".repeat(32))
        );
    }
}
