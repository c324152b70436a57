//! B2's `lifecycleRules` in the B2 API: `pier_edge::b2_lifecycle` parses, validates and shows
//! them (the console uses the same); a rule list B2 refuses is 400 `bad_request` with B2's
//! message.

use crate::error::{B2Error, B2Result};
use pier_store::LifecycleRule;
use serde_json::Value;

pub use pier_edge::b2_lifecycle::{refusals, view};

/// Parses `lifecycleRules` as B2 validates it (`pier_edge::b2_lifecycle::parse`).
pub fn parse(value: &Value) -> B2Result<Vec<LifecycleRule>> {
    pier_edge::b2_lifecycle::parse(value).map_err(B2Error::bad_request)
}
