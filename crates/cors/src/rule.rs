//! The rule model: one ordered list of rules per bucket, each rule remembering the dialect it was
//! written in (which decides how its strings are read) and the strings exactly as written (so
//! reading a configuration back returns what was set), plus a compiled form used by evaluation.

use crate::header::HeaderPattern;
use crate::operation::{Operation, OperationSet};
use crate::origin::OriginPattern;
use std::fmt;

/// A CORS dialect: whose rules a rule follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Backblaze B2 `corsRules` (JSON, `allowedOperations`).
    B2,
    /// AWS S3 `CORSConfiguration` (XML; the aws CLI's JSON shape too).
    S3,
    /// Cloudflare R2's JSON policy (dashboard array or REST `rules`).
    R2,
}

impl Dialect {
    /// True when origins are parsed as URLs (B2, R2) rather than matched as plain patterns (S3).
    pub fn is_url_aware(self) -> bool {
        !matches!(self, Dialect::S3)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::B2 => "B2",
            Dialect::S3 => "S3",
            Dialect::R2 => "R2",
        })
    }
}

/// A rule as written, before validation. Builders (parsers, the B2 API, the dashboard) fill it;
/// [`crate::CorsConfig::from_specs`] validates it with the dialect's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSpec {
    /// `corsRuleName` (B2, required), `ID` (S3), `id` (R2).
    pub name: Option<String>,
    /// `allowedOrigins` / `AllowedOrigin` entries, as written.
    pub origins: Vec<String>,
    /// B2: operation names (`b2_upload_file`, `s3_get`); S3 and R2: HTTP methods (`GET`).
    pub operations: Vec<String>,
    /// `allowedHeaders` / `AllowedHeader` entries, as written.
    pub allowed_headers: Vec<String>,
    /// `exposeHeaders` / `ExposeHeader` entries, as written.
    pub expose_headers: Vec<String>,
    /// `maxAgeSeconds` / `MaxAgeSeconds`; wide so out-of-range values can be reported.
    pub max_age_seconds: Option<i64>,
}

impl RuleSpec {
    /// Convenience for building specs in code and tests: `RuleSpec::new(["https://a.example"], ["GET"])`.
    pub fn new<O, M>(origins: O, operations: M) -> RuleSpec
    where
        O: IntoIterator,
        O::Item: Into<String>,
        M: IntoIterator,
        M::Item: Into<String>,
    {
        RuleSpec {
            origins: origins.into_iter().map(Into::into).collect(),
            operations: operations.into_iter().map(Into::into).collect(),
            ..RuleSpec::default()
        }
    }
}

/// One validated rule. Read-back accessors return the strings as written; evaluation uses the
/// compiled patterns, built once here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorsRule {
    dialect: Dialect,
    name: Option<String>,
    origins: Vec<String>,
    operations: Vec<Operation>,
    allowed_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age_seconds: Option<u32>,
    compiled: Compiled,
}

/// Everything evaluation needs, computed when the rule is stored so evaluation only compares.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Compiled {
    ops: OperationSet,
    origins: Vec<OriginPattern>,
    /// The rule has a `*` origin, so `Access-Control-Allow-Origin` is `*` (AWS's behaviour).
    any_origin: bool,
    /// Per origin pattern: may a match send `Access-Control-Allow-Credentials: true`? Not for
    /// patterns that admit every host of a scheme, which would reflect arbitrary origins with
    /// credentials.
    credentials: Vec<bool>,
    headers: Vec<HeaderPattern>,
    /// `Access-Control-Allow-Methods` on the S3 surface: the rule's S3 methods in written order.
    s3_methods: String,
    /// `Access-Control-Allow-Methods` on the B2 native surface.
    b2_methods: String,
    /// `Access-Control-Expose-Headers`, or `None` when the rule exposes nothing.
    expose: Option<String>,
    /// `Access-Control-Max-Age`, or `None` when the rule sets none.
    max_age: Option<String>,
}

impl CorsRule {
    /// Builds a rule from a spec that the dialect's validation accepted. Total: validation has
    /// already refused anything this cannot represent.
    pub(crate) fn from_valid_spec(dialect: Dialect, spec: RuleSpec) -> CorsRule {
        let operations: Vec<Operation> = spec
            .operations
            .iter()
            .filter_map(|s| match dialect {
                Dialect::B2 => Operation::from_b2_name(s),
                Dialect::S3 | Dialect::R2 => Operation::from_s3_method(s),
            })
            .collect();
        let origins: Vec<OriginPattern> = spec
            .origins
            .iter()
            .map(|o| {
                if dialect.is_url_aware() {
                    OriginPattern::compile_url(o)
                } else {
                    OriginPattern::compile_s3(o)
                }
            })
            .collect();
        let methods_of = |surface_b2: bool| {
            let mut methods: Vec<&str> = Vec::new();
            for op in &operations {
                if op.is_b2_native() != surface_b2 {
                    continue;
                }
                for m in op.http_methods() {
                    if !methods.contains(m) {
                        methods.push(m);
                    }
                }
            }
            methods.join(", ")
        };
        let compiled = Compiled {
            ops: operations.iter().copied().collect(),
            any_origin: origins.contains(&OriginPattern::Any),
            credentials: origins.iter().map(|p| !p.admits_any_host()).collect(),
            origins,
            headers: spec
                .allowed_headers
                .iter()
                .map(|h| HeaderPattern::compile(h))
                .collect(),
            s3_methods: methods_of(false),
            b2_methods: methods_of(true),
            expose: (!spec.expose_headers.is_empty()).then(|| spec.expose_headers.join(", ")),
            max_age: spec.max_age_seconds.map(|s| s.to_string()),
        };
        CorsRule {
            dialect,
            name: spec.name,
            origins: spec.origins,
            operations,
            allowed_headers: spec.allowed_headers,
            expose_headers: spec.expose_headers,
            max_age_seconds: spec.max_age_seconds.and_then(|s| u32::try_from(s).ok()),
            compiled,
        }
    }

    /// The dialect the rule was written in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The rule's name, when it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Allowed origins as written.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// Allowed operations in written order (S3 methods appear as `S3*` operations).
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// Allowed request headers as written.
    pub fn allowed_headers(&self) -> &[String] {
        &self.allowed_headers
    }

    /// Exposed response headers as written.
    pub fn expose_headers(&self) -> &[String] {
        &self.expose_headers
    }

    /// The preflight cache lifetime, when the rule sets one.
    pub fn max_age_seconds(&self) -> Option<u32> {
        self.max_age_seconds
    }

    /// The set of allowed operations.
    pub fn operation_set(&self) -> OperationSet {
        self.compiled.ops
    }

    /// The compiled origin patterns, in written order.
    pub fn origin_patterns(&self) -> &[OriginPattern] {
        &self.compiled.origins
    }

    /// The compiled allowed-header patterns, in written order.
    pub fn header_patterns(&self) -> &[HeaderPattern] {
        &self.compiled.headers
    }

    /// True when the rule has a `*` origin.
    pub fn allows_any_origin(&self) -> bool {
        self.compiled.any_origin
    }

    /// A reference naming this rule at `index`, for errors and traces.
    pub fn reference(&self, index: usize) -> crate::RuleRef {
        crate::RuleRef {
            index,
            name: self.name.clone(),
        }
    }

    /// The rule back as a spec in its own dialect's vocabulary.
    pub fn to_spec(&self) -> RuleSpec {
        RuleSpec {
            name: self.name.clone(),
            origins: self.origins.clone(),
            operations: self
                .operations
                .iter()
                .map(|op| match self.dialect {
                    Dialect::B2 => op.b2_name(),
                    Dialect::S3 | Dialect::R2 => op.s3_method().unwrap_or(op.b2_name()),
                })
                .map(str::to_owned)
                .collect(),
            allowed_headers: self.allowed_headers.clone(),
            expose_headers: self.expose_headers.clone(),
            max_age_seconds: self.max_age_seconds.map(i64::from),
        }
    }

    /// Whether a match through origin pattern `i` may carry credentials.
    pub(crate) fn credentials_allowed(&self, i: usize) -> bool {
        self.compiled.credentials[i]
    }

    pub(crate) fn allow_methods(&self, b2_surface: bool) -> &str {
        if b2_surface {
            &self.compiled.b2_methods
        } else {
            &self.compiled.s3_methods
        }
    }

    pub(crate) fn expose_value(&self) -> Option<&str> {
        self.compiled.expose.as_deref()
    }

    pub(crate) fn max_age_value(&self) -> Option<&str> {
        self.compiled.max_age.as_deref()
    }
}
