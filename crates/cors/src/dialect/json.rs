//! Reading rule objects out of a JSON value with precise errors: every wrong type and unknown
//! field is reported with its rule and field, and reading goes on to find the rest.

use crate::error::{ConfigError, ErrorKind, RuleRef, ValidationError};
use crate::rule::RuleSpec;
use serde_json::{Map, Value};

/// Which [`RuleSpec`] field a JSON key fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Name,
    Origins,
    Operations,
    AllowedHeaders,
    ExposeHeaders,
    MaxAge,
}

/// Parses JSON text, turning a syntax error into a [`ErrorKind::Syntax`] refusal that says where.
pub(crate) fn parse_json(text: &str) -> Result<Value, ConfigError> {
    serde_json::from_str(text).map_err(|e| {
        ConfigError::one(ValidationError::new(
            ErrorKind::Syntax,
            format!("not valid JSON: {e}"),
        ))
    })
}

/// A refusal of the document's overall shape.
pub(crate) fn shape_error(message: impl Into<String>) -> ConfigError {
    ConfigError::one(ValidationError::new(ErrorKind::Schema, message))
}

/// Reads one rule object. `table` maps each accepted key path to a slot; `nested` names keys
/// whose value is an object of further keys (`allowed` in R2's REST form, read as
/// `allowed.origins`).
pub(crate) fn read_rule(
    index: usize,
    value: &Value,
    table: &[(&str, Slot)],
    nested: &[&str],
    errors: &mut Vec<ValidationError>,
) -> RuleSpec {
    let mut spec = RuleSpec::default();
    let Value::Object(obj) = value else {
        errors.push(
            ValidationError::new(
                ErrorKind::Schema,
                format!(
                    "must be a JSON object with the rule's fields, found {}",
                    kind_of(value)
                ),
            )
            .at_rule(RuleRef { index, name: None }),
        );
        return spec;
    };
    // The name first, so every error about this rule can carry it.
    let name_key = table
        .iter()
        .find(|(_, s)| *s == Slot::Name)
        .map(|(k, _)| *k);
    if let Some(Value::String(name)) = name_key.and_then(|k| obj.get(k)) {
        spec.name = Some(name.clone());
    }
    let at = RuleRef {
        index,
        name: spec.name.clone(),
    };
    let mut entries: Vec<(String, &Value)> = Vec::new();
    flatten(obj, "", nested, &at, errors, &mut entries);
    for (path, v) in entries {
        if v.is_null() {
            continue;
        }
        let Some((_, slot)) = table.iter().find(|(k, _)| *k == path) else {
            let known: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            let hint = known
                .iter()
                .find(|k| {
                    k.eq_ignore_ascii_case(&path)
                        || k.trim_end_matches('s').eq_ignore_ascii_case(&path)
                })
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_else(|| format!("; the fields are {}", known.join(", ")));
            errors.push(
                ValidationError::new(ErrorKind::Schema, format!("unknown field{hint}"))
                    .at_rule(at.clone())
                    .at_field(path),
            );
            continue;
        };
        let err = |message: String| {
            ValidationError::new(ErrorKind::Schema, message)
                .at_rule(at.clone())
                .at_field(path.clone())
        };
        match slot {
            Slot::Name => match v {
                Value::String(_) => {}
                other => errors.push(err(format!("must be a string, found {}", kind_of(other)))),
            },
            Slot::MaxAge => match v.as_i64() {
                Some(n) => spec.max_age_seconds = Some(n),
                None => errors.push(err(format!(
                    "must be a whole number of seconds, found {}",
                    kind_of(v)
                ))),
            },
            Slot::Origins | Slot::Operations | Slot::AllowedHeaders | Slot::ExposeHeaders => {
                match string_list(v) {
                    Ok(list) => {
                        *match slot {
                            Slot::Origins => &mut spec.origins,
                            Slot::Operations => &mut spec.operations,
                            Slot::AllowedHeaders => &mut spec.allowed_headers,
                            _ => &mut spec.expose_headers,
                        } = list
                    }
                    Err(message) => errors.push(err(message)),
                }
            }
        }
    }
    spec
}

fn flatten<'v>(
    obj: &'v Map<String, Value>,
    prefix: &str,
    nested: &[&str],
    at: &RuleRef,
    errors: &mut Vec<ValidationError>,
    out: &mut Vec<(String, &'v Value)>,
) {
    for (key, v) in obj {
        let path = format!("{prefix}{key}");
        if nested.contains(&path.as_str()) {
            match v {
                Value::Object(inner) => {
                    flatten(inner, &format!("{path}."), nested, at, errors, out)
                }
                other => errors.push(
                    ValidationError::new(
                        ErrorKind::Schema,
                        format!("must be an object, found {}", kind_of(other)),
                    )
                    .at_rule(at.clone())
                    .at_field(path),
                ),
            }
        } else {
            out.push((path, v));
        }
    }
}

fn string_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "must be a list of strings, but one entry is {}",
                    kind_of(other)
                )),
            })
            .collect(),
        Value::String(s) => Err(format!(
            "must be a list of strings: write [{s:?}] instead of {s:?}"
        )),
        other => Err(format!(
            "must be a list of strings, found {}",
            kind_of(other)
        )),
    }
}

/// "a string", "the number 3", … for messages.
pub(crate) fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}
