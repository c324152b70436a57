//! B2's `lifecycleRules`: parsed and validated as B2 does, translated to the store's
//! [`LifecycleRule`], and shown back from the store's list (which S3 may also have written).
//! Shared by the B2 API and the console; an error is B2's message (the B2 API answers it as
//! 400 `bad_request`).
//!
//! B2 rules map one-to-one onto store rules: `daysFromUploadingToHiding` is `expire_days`,
//! `daysFromHidingToDeleting` is `noncurrent_days`, `daysFromStartingToCancelingUnfinishedLargeFiles`
//! is `abort_uploads_days`, and a rule that hides or deletes also removes hide markers left with
//! nothing behind them. A stored rule B2 cannot express (disabled, an expiration date, a count
//! of noncurrent versions kept, markers cleaned up without hiding or deleting, or prefixes that
//! overlap) is left out of B2's view, and a `b2_update_bucket` that would replace it is refused
//! with the reason, as CORS rules are.

use pier_store::LifecycleRule;
use serde_json::{json, Map, Value};

/// B2's limit on rules per bucket.
const MAX_RULES: usize = 100;

const FIELDS: [&str; 4] = [
    "fileNamePrefix",
    "daysFromUploadingToHiding",
    "daysFromHidingToDeleting",
    "daysFromStartingToCancelingUnfinishedLargeFiles",
];

fn days(rule: &Map<String, Value>, field: &str, n: usize) -> Result<Option<u32>, String> {
    match rule.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|d| u32::try_from(d).ok()) {
            Some(d) if d > 0 => Ok(Some(d)),
            _ => Err(format!(
                "lifecycleRules[{n}].{field} must be a positive whole number of days or null, not {v}"
            )),
        },
    }
}

/// Parses `lifecycleRules` as B2 validates it: an array of at most 100 rules, each with a
/// `fileNamePrefix` and at least one positive number of days, no two rules applying to the
/// same files.
pub fn parse(value: &Value) -> Result<Vec<LifecycleRule>, String> {
    let list = value
        .as_array()
        .ok_or_else(|| "lifecycleRules must be an array".to_owned())?;
    if list.len() > MAX_RULES {
        return Err(format!(
            "lifecycleRules has {} rules; at most {MAX_RULES} are allowed",
            list.len()
        ));
    }
    let mut rules: Vec<LifecycleRule> = Vec::with_capacity(list.len());
    for (n, item) in list.iter().enumerate() {
        let rule = item
            .as_object()
            .ok_or_else(|| format!("lifecycleRules[{n}] must be an object"))?;
        if let Some(unknown) = rule.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "lifecycleRules[{n}] has an unknown field {unknown:?}"
            ));
        }
        let prefix = match rule.get("fileNamePrefix") {
            Some(Value::String(p)) => p.clone(),
            _ => {
                return Err(format!(
                    "lifecycleRules[{n}].fileNamePrefix is required and must be a string"
                ))
            }
        };
        let hide = days(rule, FIELDS[1], n)?;
        let delete = days(rule, FIELDS[2], n)?;
        let cancel = days(rule, FIELDS[3], n)?;
        if hide.is_none() && delete.is_none() && cancel.is_none() {
            return Err(format!(
                "lifecycleRules[{n}] does nothing: set at least one of {}, {} or {}",
                FIELDS[1], FIELDS[2], FIELDS[3]
            ));
        }
        if let Some(other) = rules
            .iter()
            .find(|r| r.prefix.starts_with(&prefix) || prefix.starts_with(&r.prefix))
        {
            return Err(format!(
                "lifecycleRules[{n}] (prefix {prefix:?}) applies to the same files as the rule with prefix {:?}",
                other.prefix
            ));
        }
        rules.push(LifecycleRule {
            id: None,
            enabled: true,
            prefix,
            expire_days: hide,
            expire_at: None,
            expired_markers: hide.is_some() || delete.is_some(),
            noncurrent_days: delete,
            keep_noncurrent: None,
            abort_uploads_days: cancel,
            ..Default::default()
        });
    }
    Ok(rules)
}

/// Why B2 cannot express `rule`, or `None` if it can (on its own; overlap is checked over the
/// list).
fn inexpressible(rule: &LifecycleRule) -> Option<&'static str> {
    let hides_or_deletes = rule.expire_days.is_some() || rule.noncurrent_days.is_some();
    if !rule.enabled {
        Some("it is disabled")
    } else if !rule.tags.is_empty()
        || rule.size_greater_than.is_some()
        || rule.size_less_than.is_some()
    {
        Some("it filters by tags or object size")
    } else if rule.expire_at.is_some() {
        Some("it expires objects on a date")
    } else if rule.keep_noncurrent.is_some() {
        Some("it keeps a number of noncurrent versions")
    } else if rule.expired_markers != hides_or_deletes {
        Some("it removes expired delete markers without hiding or deleting versions")
    } else if !hides_or_deletes && rule.abort_uploads_days.is_none() {
        Some("it does nothing B2 can say")
    } else {
        None
    }
}

/// Each stored rule B2 cannot express, with the reason (empty when B2 can show them all).
pub fn refusals(rules: &[LifecycleRule]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, rule) in rules.iter().enumerate() {
        let label = rule.id.clone().unwrap_or_else(|| format!("#{}", n + 1));
        if let Some(why) = inexpressible(rule) {
            out.push(format!("rule {label} (prefix {:?}): {why}", rule.prefix));
        } else if rules[..n]
            .iter()
            .any(|r| r.prefix.starts_with(&rule.prefix) || rule.prefix.starts_with(&r.prefix))
        {
            out.push(format!(
                "rule {label} (prefix {:?}) overlaps an earlier rule",
                rule.prefix
            ));
        }
    }
    out
}

/// The rules as B2 shows them: those B2 can express.
pub fn view(rules: &[LifecycleRule]) -> Value {
    let shown: Vec<Value> = rules
        .iter()
        .enumerate()
        .filter(|(n, r)| {
            inexpressible(r).is_none()
                && !rules[..*n]
                    .iter()
                    .any(|o| o.prefix.starts_with(&r.prefix) || r.prefix.starts_with(&o.prefix))
        })
        .map(|(_, r)| {
            json!({
                "fileNamePrefix": r.prefix,
                "daysFromUploadingToHiding": r.expire_days,
                "daysFromHidingToDeleting": r.noncurrent_days,
                "daysFromStartingToCancelingUnfinishedLargeFiles": r.abort_uploads_days,
            })
        })
        .collect();
    Value::Array(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<LifecycleRule>, String> {
        parse(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn a_rule_round_trips() {
        let rules = parse_text(
            r#"[{"fileNamePrefix":"logs/","daysFromUploadingToHiding":7,"daysFromHidingToDeleting":30}]"#,
        )
        .unwrap();
        assert_eq!(rules[0].expire_days, Some(7));
        assert_eq!(rules[0].noncurrent_days, Some(30));
        assert!(rules[0].expired_markers);
        let shown = view(&rules);
        assert_eq!(shown[0]["daysFromHidingToDeleting"], 30);
        assert_eq!(
            shown[0]["daysFromStartingToCancelingUnfinishedLargeFiles"],
            Value::Null
        );
    }

    #[test]
    fn zero_days_are_refused() {
        let e = parse_text(r#"[{"fileNamePrefix":"","daysFromHidingToDeleting":0}]"#).unwrap_err();
        assert!(e.contains("positive"), "{e}");
    }

    #[test]
    fn a_rule_that_does_nothing_is_refused() {
        let e = parse_text(r#"[{"fileNamePrefix":"a"}]"#).unwrap_err();
        assert!(e.contains("does nothing"), "{e}");
    }

    #[test]
    fn overlapping_prefixes_are_refused() {
        let e = parse_text(
            r#"[{"fileNamePrefix":"photos/","daysFromHidingToDeleting":1},
                {"fileNamePrefix":"photos/kittens/","daysFromHidingToDeleting":2}]"#,
        )
        .unwrap_err();
        assert!(e.contains("same files"), "{e}");
    }

    #[test]
    fn an_s3_date_rule_is_left_out_and_named() {
        let rule = LifecycleRule {
            id: Some("old".into()),
            enabled: true,
            expire_at: Some(0),
            ..Default::default()
        };
        assert_eq!(view(std::slice::from_ref(&rule)), json!([]));
        let why = refusals(&[rule]);
        assert!(why[0].contains("on a date"), "{why:?}");
    }
}
