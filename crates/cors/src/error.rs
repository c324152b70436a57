//! Validation and conversion errors. Every error names where it is (rule index and name, field)
//! and says what is wrong in words a web developer understands.

use std::fmt;

/// What class of mistake an error is; the server maps it to each API's error code (S3:
/// `MalformedXML` for [`ErrorKind::Syntax`] and [`ErrorKind::Schema`], `InvalidRequest` for
/// [`ErrorKind::Value`]; B2: `bad_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not well-formed JSON or XML.
    Syntax,
    /// Well-formed, but not the dialect's shape: a missing or unknown field, a wrong type, too
    /// many rules, a document over the size limit.
    Schema,
    /// The shape is right but a value is refused (an origin with two wildcards, an unknown
    /// method, a max age out of range).
    Value,
}

/// Which rule an error is about: its position (0-based) and its name when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    /// Position in the rule list, 0-based (shown 1-based to people).
    pub index: usize,
    /// The rule's name (`corsRuleName`, S3 `ID`, R2 `id`), when it has one.
    pub name: Option<String>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}", self.index + 1)?;
        if let Some(name) = &self.name {
            write!(f, " ({name:?})")?;
        }
        Ok(())
    }
}

/// One refusal of a configuration, with where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The class of mistake.
    pub kind: ErrorKind,
    /// The rule it is in; `None` for document-level errors.
    pub rule: Option<RuleRef>,
    /// The field as the dialect spells it (`allowedOrigins[2]`, `AllowedMethod`); `None` when the
    /// error is about the rule or document as a whole.
    pub field: Option<String>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ValidationError {
            kind,
            rule: None,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_rule(mut self, rule: RuleRef) -> Self {
        self.rule = Some(rule);
        self
    }

    pub(crate) fn at_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rule, &self.field) {
            (Some(rule), Some(field)) => write!(f, "{rule}, {field}: ")?,
            (Some(rule), None) => write!(f, "{rule}: ")?,
            (None, Some(field)) => write!(f, "{field}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// A configuration that was refused, with every error found (not only the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Every problem found, in document order. Never empty.
    pub errors: Vec<ValidationError>,
}

impl ConfigError {
    pub(crate) fn one(error: ValidationError) -> Self {
        ConfigError {
            errors: vec![error],
        }
    }

    /// The most structural kind among the errors: `Syntax` before `Schema` before `Value`. An S3
    /// front uses it to choose between `MalformedXML` and `InvalidRequest`.
    pub fn kind(&self) -> ErrorKind {
        let has = |k| self.errors.iter().any(|e| e.kind == k);
        if has(ErrorKind::Syntax) {
            ErrorKind::Syntax
        } else if has(ErrorKind::Schema) {
            ErrorKind::Schema
        } else {
            ErrorKind::Value
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Why a configuration cannot be written in another dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionError {
    /// One entry per thing the target dialect cannot express. Never empty.
    pub errors: Vec<ValidationError>,
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(
            &ConfigError {
                errors: self.errors.clone(),
            },
            f,
        )
    }
}

impl std::error::Error for ConversionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_rule_and_field() {
        let e = ValidationError::new(ErrorKind::Value, "must not be empty")
            .at_rule(RuleRef {
                index: 1,
                name: Some("myRule".into()),
            })
            .at_field("allowedOrigins[0]");
        assert_eq!(
            e.to_string(),
            "rule 2 (\"myRule\"), allowedOrigins[0]: must not be empty"
        );
    }

    #[test]
    fn kind_prefers_structure() {
        let errs = ConfigError {
            errors: vec![
                ValidationError::new(ErrorKind::Value, "a"),
                ValidationError::new(ErrorKind::Schema, "b"),
            ],
        };
        assert_eq!(errs.kind(), ErrorKind::Schema);
    }
}
