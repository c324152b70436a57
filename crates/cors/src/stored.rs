//! The stored form of a bucket's rule list: JSON, one object per rule carrying its dialect and
//! its fields as written, so a list mixing B2, S3 and R2 rules reads back exactly. Every rule is
//! validated again when loaded.

use crate::convert::convert;
use crate::error::{ConfigError, ErrorKind, ValidationError};
use crate::rule::{CorsRule, Dialect, RuleSpec};
use crate::{CorsConfig, Format};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct StoredRule {
    dialect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    origins: Vec<String>,
    operations: Vec<String>,
    #[serde(default)]
    allowed_headers: Vec<String>,
    #[serde(default)]
    expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_age_seconds: Option<i64>,
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::B2 => "b2",
        Dialect::S3 => "s3",
        Dialect::R2 => "r2",
    }
}

impl CorsConfig {
    /// The stored form (JSON).
    pub fn to_stored(&self) -> String {
        let rules: Vec<StoredRule> = self
            .rules()
            .iter()
            .map(|r| {
                let spec = r.to_spec();
                StoredRule {
                    dialect: dialect_name(r.dialect()).to_owned(),
                    name: spec.name,
                    origins: spec.origins,
                    operations: spec.operations,
                    allowed_headers: spec.allowed_headers,
                    expose_headers: spec.expose_headers,
                    max_age_seconds: spec.max_age_seconds,
                }
            })
            .collect();
        serde_json::to_string(&rules).expect("plain data serializes")
    }

    /// Loads the stored form, validating each rule with its dialect's rules.
    pub fn from_stored(text: &str) -> Result<CorsConfig, ConfigError> {
        let stored: Vec<StoredRule> = serde_json::from_str(text).map_err(|e| {
            ConfigError::one(ValidationError::new(
                ErrorKind::Syntax,
                format!("stored CORS rules are unreadable: {e}"),
            ))
        })?;
        let mut rules = Vec::with_capacity(stored.len());
        for s in stored {
            let dialect = match s.dialect.as_str() {
                "b2" => Dialect::B2,
                "s3" => Dialect::S3,
                "r2" => Dialect::R2,
                other => {
                    return Err(ConfigError::one(ValidationError::new(
                        ErrorKind::Schema,
                        format!("stored CORS rule has unknown dialect {other:?}"),
                    )))
                }
            };
            let spec = RuleSpec {
                name: s.name,
                origins: s.origins,
                operations: s.operations,
                allowed_headers: s.allowed_headers,
                expose_headers: s.expose_headers,
                max_age_seconds: s.max_age_seconds,
            };
            let one =
                CorsConfig::from_specs(dialect, Format::of_dialect(dialect).fields(), vec![spec])?;
            rules.extend(one.into_rules());
        }
        Ok(CorsConfig::from_rules(rules))
    }

    /// The rules as an API of `dialect` shows them: rules written in it as they are; other
    /// rules restricted to what `dialect` can express (for S3 and R2: their `s3_*` operations)
    /// and converted; rules with nothing left, or that do not convert, are left out.
    pub fn view_as(&self, dialect: Dialect) -> CorsConfig {
        let rules: Vec<CorsRule> = self
            .rules()
            .iter()
            .filter_map(|rule| {
                if rule.dialect() == dialect {
                    return Some(rule.clone());
                }
                let mut spec = rule.to_spec();
                if dialect != Dialect::B2 {
                    spec.operations = rule
                        .operations()
                        .iter()
                        .filter(|op| !op.is_b2_native())
                        .map(|op| match rule.dialect() {
                            Dialect::B2 => op.b2_name().to_owned(),
                            _ => op.s3_method().unwrap_or_default().to_owned(),
                        })
                        .collect();
                    if spec.operations.is_empty() {
                        return None;
                    }
                }
                let narrowed = CorsConfig::from_specs(
                    rule.dialect(),
                    Format::of_dialect(rule.dialect()).fields(),
                    vec![spec],
                )
                .ok()?;
                let converted = convert(&narrowed, dialect).ok()?;
                converted.config.into_rules().into_iter().next()
            })
            .collect();
        CorsConfig::from_rules(rules)
    }

    /// True when any rule grants a B2 native operation.
    pub fn grants_b2_operations(&self) -> bool {
        self.rules()
            .iter()
            .any(|r| r.operations().iter().any(|op| op.is_b2_native()))
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse, CorsConfig, Dialect, Format};

    #[test]
    fn mixed_lists_round_trip_through_storage() {
        let mut rules = parse(
            r#"[{"corsRuleName":"downloads","allowedOrigins":["https"],"allowedOperations":["b2_download_file_by_name","s3_get"],"maxAgeSeconds":60}]"#,
            Format::B2Json,
        )
        .unwrap()
        .into_rules();
        rules.extend(
            parse(
                "<CORSConfiguration><CORSRule><ID>x</ID><AllowedOrigin>http://*.Example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>",
                Format::S3Xml,
            )
            .unwrap()
            .into_rules(),
        );
        let config = CorsConfig::from_rules(rules);
        let back = CorsConfig::from_stored(&config.to_stored()).unwrap();
        assert_eq!(back, config);
        assert!(back.grants_b2_operations());
        // S3 sees the S3 rule and the s3_get part of the B2 rule.
        let s3 = back.view_as(Dialect::S3);
        assert_eq!(s3.rules().len(), 2);
        assert_eq!(s3.rules()[0].origins(), ["https://*"]);
        assert_eq!(s3.rules()[0].operations().len(), 1);
        assert!(CorsConfig::from_stored("not json").is_err());
    }
}
