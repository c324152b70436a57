//! A bucket's CORS configuration: the ordered rule list.

use crate::error::ConfigError;
use crate::index::RuleIndex;
use crate::rule::{CorsRule, Dialect, RuleSpec};
use crate::validate::{validate, FieldNames};

/// A bucket's ordered rule list. The first rule that matches a request decides it. An empty list
/// means CORS is not enabled: every preflight is refused.
#[derive(Clone, Debug, Default)]
pub struct CorsConfig {
    rules: Vec<CorsRule>,
    /// Derived from `rules` when the configuration is built, so evaluation only compares;
    /// `None` for lists too long to index (scanned instead).
    index: Option<RuleIndex>,
}

impl PartialEq for CorsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
    }
}

impl Eq for CorsConfig {}

impl CorsConfig {
    /// Validates `specs` with `dialect`'s rules (errors name fields as `fields` spells them) and
    /// compiles them. Every problem is reported, not only the first.
    pub fn from_specs(
        dialect: Dialect,
        fields: &FieldNames,
        specs: Vec<RuleSpec>,
    ) -> Result<CorsConfig, ConfigError> {
        let errors = validate(dialect, fields, &specs);
        if !errors.is_empty() {
            return Err(ConfigError { errors });
        }
        Ok(CorsConfig::from_rules(
            specs
                .into_iter()
                .map(|spec| CorsRule::from_valid_spec(dialect, spec))
                .collect(),
        ))
    }

    /// Joins already-validated rules (of any dialects) into one list, in the given order.
    pub fn from_rules(rules: Vec<CorsRule>) -> CorsConfig {
        let index = RuleIndex::build(&rules);
        CorsConfig { rules, index }
    }

    pub(crate) fn index(&self) -> Option<&RuleIndex> {
        self.index.as_ref()
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[CorsRule] {
        &self.rules
    }

    /// Consumes the configuration, returning its rules.
    pub fn into_rules(self) -> Vec<CorsRule> {
        self.rules
    }

    /// True when at least one rule exists.
    pub fn is_enabled(&self) -> bool {
        !self.rules.is_empty()
    }
}
