//! B2 `corsRules`: a JSON array of rule objects (as `b2 bucket create --cors-rules` takes it), or
//! a bucket object carrying `corsRules` (as `b2_list_buckets` returns it).

use super::json::{read_rule, shape_error, Slot};
use crate::error::ConfigError;
use crate::rule::{CorsRule, Dialect};
use crate::validate::B2_FIELDS;
use crate::CorsConfig;
use serde::Serialize;
use serde_json::Value;

const TABLE: &[(&str, Slot)] = &[
    ("corsRuleName", Slot::Name),
    ("allowedOrigins", Slot::Origins),
    ("allowedOperations", Slot::Operations),
    ("allowedHeaders", Slot::AllowedHeaders),
    ("exposeHeaders", Slot::ExposeHeaders),
    ("maxAgeSeconds", Slot::MaxAge),
];

/// Reads B2 rules from a parsed JSON document.
pub(crate) fn from_value(value: &Value) -> Result<CorsConfig, ConfigError> {
    let rules = match value {
        Value::Array(rules) => rules,
        Value::Object(obj) => match obj.get("corsRules") {
            Some(Value::Array(rules)) => rules,
            Some(_) => return Err(shape_error("corsRules must be a list of rule objects")),
            None => {
                return Err(shape_error(
                    "expected a JSON list of B2 CORS rules, or an object with \"corsRules\"",
                ))
            }
        },
        _ => return Err(shape_error("expected a JSON list of B2 CORS rules")),
    };
    let mut errors = Vec::new();
    let specs: Vec<_> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| read_rule(i, r, TABLE, &[], &mut errors))
        .collect();
    super::finish(Dialect::B2, &B2_FIELDS, specs, errors)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut<'a> {
    cors_rule_name: &'a str,
    allowed_origins: &'a [String],
    allowed_operations: Vec<&'static str>,
    allowed_headers: &'a [String],
    expose_headers: &'a [String],
    max_age_seconds: u32,
}

/// Writes B2 rules (all already in the B2 dialect) as a pretty JSON array.
pub(crate) fn to_string(rules: &[CorsRule]) -> String {
    let out: Vec<RuleOut<'_>> = rules
        .iter()
        .map(|r| RuleOut {
            cors_rule_name: r.name().unwrap_or_default(),
            allowed_origins: r.origins(),
            allowed_operations: r.operations().iter().map(|op| op.b2_name()).collect(),
            allowed_headers: r.allowed_headers(),
            expose_headers: r.expose_headers(),
            max_age_seconds: r.max_age_seconds().unwrap_or_default(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&out).expect("plain data serializes");
    text.push('\n');
    text
}
