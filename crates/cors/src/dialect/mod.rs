//! The document formats each dialect is written in: detection, parsing and serializing.
//!
//! | format | dialect | shape |
//! |---|---|---|
//! | [`Format::B2Json`] | B2 | `[{"corsRuleName", "allowedOrigins", "allowedOperations", ...}]` or `{"corsRules": [...]}` |
//! | [`Format::S3Xml`] | S3 | `<CORSConfiguration><CORSRule>...` |
//! | [`Format::S3Json`] | S3 | `{"CORSRules": [{"AllowedOrigins", "AllowedMethods", ...}]}` (aws CLI) |
//! | [`Format::R2Json`] | R2 | `[{"AllowedOrigins", "AllowedMethods", ...}]` (dashboard JSON tab) |
//! | [`Format::R2RestJson`] | R2 | `{"rules": [{"allowed": {"origins", "methods", "headers"}, ...}]}` |

mod b2;
mod json;
mod r2;
mod s3;

pub use s3::{MAX_DOCUMENT_BYTES as S3_MAX_DOCUMENT_BYTES, S3_XMLNS};

use crate::convert::convert;
use crate::error::{ConfigError, ConversionError, ValidationError};
use crate::rule::{Dialect, RuleSpec};
use crate::validate::FieldNames;
use crate::CorsConfig;
use json::{parse_json, shape_error};
use serde_json::Value;
use std::fmt;

/// A concrete document format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// B2 `corsRules` JSON.
    B2Json,
    /// S3 `CORSConfiguration` XML.
    S3Xml,
    /// The aws CLI's `{"CORSRules": [...]}` JSON.
    S3Json,
    /// R2's dashboard JSON (a list of PascalCase rules).
    R2Json,
    /// R2's REST API JSON (`{"rules": [...]}`).
    R2RestJson,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [
        Format::B2Json,
        Format::S3Xml,
        Format::S3Json,
        Format::R2Json,
        Format::R2RestJson,
    ];

    /// The dialect whose rules the format carries.
    pub fn dialect(self) -> Dialect {
        match self {
            Format::B2Json => Dialect::B2,
            Format::S3Xml | Format::S3Json => Dialect::S3,
            Format::R2Json | Format::R2RestJson => Dialect::R2,
        }
    }

    /// The usual format of a dialect (what `--to b2|s3|r2` writes).
    pub fn of_dialect(dialect: Dialect) -> Format {
        match dialect {
            Dialect::B2 => Format::B2Json,
            Dialect::S3 => Format::S3Xml,
            Dialect::R2 => Format::R2Json,
        }
    }

    /// How the format spells rule fields.
    pub fn fields(self) -> &'static FieldNames {
        use crate::validate::*;
        match self {
            Format::B2Json => &B2_FIELDS,
            Format::S3Xml => &S3_XML_FIELDS,
            Format::S3Json | Format::R2Json => &PASCAL_FIELDS,
            Format::R2RestJson => &R2_REST_FIELDS,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::B2Json => "B2 corsRules JSON",
            Format::S3Xml => "S3 CORSConfiguration XML",
            Format::S3Json => "S3 CORSRules JSON (aws CLI)",
            Format::R2Json => "R2 dashboard JSON",
            Format::R2RestJson => "R2 REST API JSON",
        })
    }
}

/// Parses `text` as `format`, validating with the format's dialect. Every problem is reported.
pub fn parse(text: &str, format: Format) -> Result<CorsConfig, ConfigError> {
    if format == Format::S3Xml {
        return s3::from_xml(text);
    }
    from_value(&parse_json(text)?, format, text.len())
}

/// Parses `text`, detecting its format (within `dialect` when given). Returns the format found.
pub fn parse_detect(
    text: &str,
    dialect: Option<Dialect>,
) -> Result<(CorsConfig, Format), ConfigError> {
    if text.trim_start().starts_with('<') {
        return match dialect {
            None | Some(Dialect::S3) => Ok((s3::from_xml(text)?, Format::S3Xml)),
            Some(d) => Err(shape_error(format!(
                "this is an XML document, but {d} rules are written in JSON"
            ))),
        };
    }
    let value = parse_json(text)?;
    let format = detect_json(&value, dialect)?;
    Ok((from_value(&value, format, text.len())?, format))
}

fn from_value(value: &Value, format: Format, len: usize) -> Result<CorsConfig, ConfigError> {
    if format.dialect() != Dialect::B2 && len > s3::MAX_DOCUMENT_BYTES {
        return Err(shape_error(format!(
            "the document is {len} bytes; a CORS configuration can be at most {} bytes",
            s3::MAX_DOCUMENT_BYTES
        )));
    }
    match format {
        Format::B2Json => b2::from_value(value),
        Format::S3Json => s3::from_json(value),
        Format::R2Json => r2::from_dashboard(value),
        Format::R2RestJson => r2::from_rest(value),
        Format::S3Xml => Err(shape_error("an S3 CORSConfiguration is XML, not JSON")),
    }
}

fn detect_json(value: &Value, dialect: Option<Dialect>) -> Result<Format, ConfigError> {
    let keys_of_first = |rules: &Vec<Value>| -> Vec<String> {
        match rules.first() {
            Some(Value::Object(o)) => o.keys().cloned().collect(),
            _ => Vec::new(),
        }
    };
    let guessed = match value {
        Value::Array(rules) => {
            let keys = keys_of_first(rules);
            let pascal = keys.iter().any(|k| k.starts_with(char::is_uppercase));
            match dialect {
                Some(Dialect::B2) => Format::B2Json,
                Some(Dialect::R2) => Format::R2Json,
                Some(Dialect::S3) => {
                    return Err(shape_error(
                        "S3 rules are an XML <CORSConfiguration> or {\"CORSRules\": [...]}, not a bare list",
                    ))
                }
                None if pascal => Format::R2Json,
                None => Format::B2Json,
            }
        }
        Value::Object(obj) => {
            let found = if obj.contains_key("corsRules") {
                Some(Format::B2Json)
            } else if obj.contains_key("CORSRules") {
                Some(Format::S3Json)
            } else if obj.contains_key("rules") {
                Some(Format::R2RestJson)
            } else {
                None
            };
            match (found, dialect) {
                (Some(f), None) => f,
                (Some(f), Some(d)) if f.dialect() == d => f,
                (Some(f), Some(d)) => {
                    return Err(shape_error(format!("this looks like {f}, not {d} rules")))
                }
                (None, _) => {
                    return Err(shape_error(
                        "cannot tell the dialect: expected a list of rules, {\"corsRules\": [...]} (B2), {\"CORSRules\": [...]} (S3) or {\"rules\": [...]} (R2)",
                    ))
                }
            }
        }
        _ => {
            return Err(shape_error(
                "expected a list of CORS rules or an object holding them",
            ))
        }
    };
    Ok(guessed)
}

/// Writes `config` in `format`, converting rules of other dialects first (refused, with every
/// reason, when the format's dialect cannot express them).
pub fn serialize(config: &CorsConfig, format: Format) -> Result<String, ConversionError> {
    let converted = convert(config, format.dialect())?;
    let rules = converted.config.rules();
    Ok(match format {
        Format::B2Json => b2::to_string(rules),
        Format::S3Xml => s3::to_xml(rules),
        Format::S3Json => s3::to_json(rules),
        Format::R2Json => r2::to_dashboard(rules),
        Format::R2RestJson => r2::to_rest(rules),
    })
}

/// Validates parsed specs, merging the parser's shape errors with the dialect's value errors.
fn finish(
    dialect: Dialect,
    fields: &FieldNames,
    specs: Vec<RuleSpec>,
    mut errors: Vec<ValidationError>,
) -> Result<CorsConfig, ConfigError> {
    match CorsConfig::from_specs(dialect, fields, specs) {
        Ok(config) if errors.is_empty() => Ok(config),
        Ok(_) => Err(ConfigError { errors }),
        Err(more) => {
            // A field the parser already refused (wrong type) reads as empty; drop the
            // validator's duplicate complaint about it.
            let parser_errors = errors.len();
            for e in more.errors {
                let same_place = |p: &ValidationError| {
                    p.rule.as_ref().map(|r| r.index) == e.rule.as_ref().map(|r| r.index)
                        && p.field == e.field
                };
                if !errors[..parser_errors].iter().any(same_place) {
                    errors.push(e);
                }
            }
            errors.sort_by_key(|e| e.rule.as_ref().map_or(0, |r| r.index + 1));
            Err(ConfigError { errors })
        }
    }
}
