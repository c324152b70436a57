//! Cloudflare R2's JSON policies: the dashboard's JSON tab (a list of PascalCase rules) and the
//! REST API / wrangler shape (`{"rules": [{"allowed": {"origins", "methods", "headers"}, ...}]}`).

use super::json::{read_rule, shape_error, Slot};
use super::s3::{pascal_rules, PASCAL_TABLE};
use crate::error::{ConfigError, ErrorKind, ValidationError};
use crate::rule::{CorsRule, Dialect};
use crate::validate::{PASCAL_FIELDS, R2_REST_FIELDS};
use crate::CorsConfig;
use serde_json::Value;

const REST_TABLE: &[(&str, Slot)] = &[
    ("id", Slot::Name),
    ("allowed.origins", Slot::Origins),
    ("allowed.methods", Slot::Operations),
    ("allowed.headers", Slot::AllowedHeaders),
    ("exposeHeaders", Slot::ExposeHeaders),
    ("maxAgeSeconds", Slot::MaxAge),
];

/// Reads the dashboard's list of PascalCase rules.
pub(crate) fn from_dashboard(value: &Value) -> Result<CorsConfig, ConfigError> {
    let Value::Array(rules) = value else {
        return Err(shape_error(
            "expected a JSON list of rules, like [{\"AllowedOrigins\": [\"http://localhost:3000\"], \"AllowedMethods\": [\"GET\"]}]",
        ));
    };
    let mut errors = Vec::new();
    let specs: Vec<_> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| read_rule(i, r, PASCAL_TABLE, &[], &mut errors))
        .collect();
    super::finish(Dialect::R2, &PASCAL_FIELDS, specs, errors)
}

/// Reads the REST shape `{"rules": [...]}`.
pub(crate) fn from_rest(value: &Value) -> Result<CorsConfig, ConfigError> {
    let rules = match value {
        Value::Object(obj) => match obj.get("rules") {
            Some(Value::Array(rules)) => rules,
            _ => {
                return Err(shape_error(
                    "expected {\"rules\": [ ... ]}, R2's REST CORS shape",
                ))
            }
        },
        _ => {
            return Err(shape_error(
                "expected {\"rules\": [ ... ]}, R2's REST CORS shape",
            ))
        }
    };
    let mut errors = Vec::new();
    if let Value::Object(obj) = value {
        for key in obj.keys().filter(|k| *k != "rules") {
            errors.push(
                ValidationError::new(
                    ErrorKind::Schema,
                    "unknown field; only \"rules\" belongs here",
                )
                .at_field(key.clone()),
            );
        }
    }
    let specs: Vec<_> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| read_rule(i, r, REST_TABLE, &["allowed"], &mut errors))
        .collect();
    super::finish(Dialect::R2, &R2_REST_FIELDS, specs, errors)
}

/// Writes R2 rules as the dashboard's JSON list.
pub(crate) fn to_dashboard(rules: &[CorsRule]) -> String {
    let mut text =
        serde_json::to_string_pretty(&pascal_rules(rules)).expect("plain data serializes");
    text.push('\n');
    text
}

/// Writes R2 rules in the REST shape.
pub(crate) fn to_rest(rules: &[CorsRule]) -> String {
    let out: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut allowed = serde_json::Map::new();
            allowed.insert("origins".into(), r.origins().into());
            let methods: Vec<&str> = r
                .operations()
                .iter()
                .map(|op| op.s3_method().unwrap_or(op.b2_name()))
                .collect();
            allowed.insert("methods".into(), methods.into());
            if !r.allowed_headers().is_empty() {
                allowed.insert("headers".into(), r.allowed_headers().into());
            }
            let mut obj = serde_json::Map::new();
            if let Some(id) = r.name() {
                obj.insert("id".into(), id.into());
            }
            obj.insert("allowed".into(), Value::Object(allowed));
            if !r.expose_headers().is_empty() {
                obj.insert("exposeHeaders".into(), r.expose_headers().into());
            }
            if let Some(age) = r.max_age_seconds() {
                obj.insert("maxAgeSeconds".into(), age.into());
            }
            Value::Object(obj)
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "rules": out }))
        .expect("plain data serializes");
    text.push('\n');
    text
}
