//! What each dialect accepts. One function per dialect checks a [`RuleSpec`]; the messages name
//! the field as the document spells it ([`FieldNames`]) and say how to fix the value.
//!
//! Choices where the providers' behaviour is unconfirmed (see the crate docs for the list): B2's
//! 1000-byte limit counts `corsRuleName`, `allowedOrigins`, `allowedHeaders` and `exposeHeaders`
//! (the documented four fields); S3 refuses a negative `MaxAgeSeconds`; R2 checks headers the way
//! S3 does.

use crate::error::{ErrorKind, RuleRef, ValidationError};
use crate::header::is_token;
use crate::operation::Operation;
use crate::origin::{check_url_origin, UrlOriginRules};
use crate::rule::{Dialect, RuleSpec};

/// The most rules a bucket may have, in every dialect.
pub const MAX_RULES: usize = 100;
/// B2: each rule must be smaller than this many bytes.
pub const B2_MAX_RULE_BYTES: usize = 1000;
/// B2 and R2: the largest `maxAgeSeconds` (one day).
pub const MAX_AGE_LIMIT: i64 = 86_400;

/// How a document format spells each rule field, so errors use the user's words.
#[derive(Clone, Copy, Debug)]
pub struct FieldNames {
    /// The rule-name field.
    pub name: &'static str,
    /// The origins field.
    pub origins: &'static str,
    /// The methods / operations field.
    pub operations: &'static str,
    /// The allowed-headers field.
    pub allowed_headers: &'static str,
    /// The exposed-headers field.
    pub expose_headers: &'static str,
    /// The max-age field.
    pub max_age: &'static str,
}

/// B2 `corsRules` JSON.
pub const B2_FIELDS: FieldNames = FieldNames {
    name: "corsRuleName",
    origins: "allowedOrigins",
    operations: "allowedOperations",
    allowed_headers: "allowedHeaders",
    expose_headers: "exposeHeaders",
    max_age: "maxAgeSeconds",
};
/// S3 `CORSConfiguration` XML.
pub const S3_XML_FIELDS: FieldNames = FieldNames {
    name: "ID",
    origins: "AllowedOrigin",
    operations: "AllowedMethod",
    allowed_headers: "AllowedHeader",
    expose_headers: "ExposeHeader",
    max_age: "MaxAgeSeconds",
};
/// The PascalCase JSON of the aws CLI and R2's dashboard.
pub const PASCAL_FIELDS: FieldNames = FieldNames {
    name: "ID",
    origins: "AllowedOrigins",
    operations: "AllowedMethods",
    allowed_headers: "AllowedHeaders",
    expose_headers: "ExposeHeaders",
    max_age: "MaxAgeSeconds",
};
/// R2's REST JSON (`rules[].allowed.*`).
pub const R2_REST_FIELDS: FieldNames = FieldNames {
    name: "id",
    origins: "allowed.origins",
    operations: "allowed.methods",
    allowed_headers: "allowed.headers",
    expose_headers: "exposeHeaders",
    max_age: "maxAgeSeconds",
};

/// Checks a whole rule list for `dialect`; returns every problem found.
pub fn validate(dialect: Dialect, fields: &FieldNames, specs: &[RuleSpec]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    if specs.len() > MAX_RULES {
        errors.push(ValidationError::new(
            ErrorKind::Schema,
            format!(
                "{} rules given; a bucket can have at most {MAX_RULES}",
                specs.len()
            ),
        ));
    }
    for (index, spec) in specs.iter().enumerate() {
        let at = RuleRef {
            index,
            name: spec.name.clone(),
        };
        let mut push = |kind, field: &str, message: String| {
            errors.push(
                ValidationError::new(kind, message)
                    .at_rule(at.clone())
                    .at_field(field),
            )
        };
        match dialect {
            Dialect::B2 => check_b2(fields, spec, &specs[..index], &mut push),
            Dialect::S3 => check_s3(fields, spec, &mut push),
            Dialect::R2 => check_r2(fields, spec, &mut push),
        }
    }
    errors
}

type Push<'a> = dyn FnMut(ErrorKind, &str, String) + 'a;

fn check_b2(f: &FieldNames, spec: &RuleSpec, earlier: &[RuleSpec], push: &mut Push<'_>) {
    use ErrorKind::{Schema, Value};
    match &spec.name {
        None => push(
            Schema,
            f.name,
            "is required: give the rule a name such as \"downloadFromAnyOrigin\"".into(),
        ),
        Some(name) => {
            let len = name.chars().count();
            if !(6..=50).contains(&len) {
                push(
                    Value,
                    f.name,
                    format!(
                        "{name:?} is {len} characters long; a rule name must be 6 to 50 characters"
                    ),
                );
            }
            if let Some(c) = name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                push(
                    Value,
                    f.name,
                    format!("{name:?} contains {c:?}; use only letters, digits and `-`"),
                );
            }
            if name
                .as_bytes()
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"b2-"))
            {
                push(
                    Value,
                    f.name,
                    format!("{name:?} starts with \"b2-\", which is reserved for Backblaze"),
                );
            }
            if let Some(pos) = earlier.iter().position(|e| e.name.as_deref() == Some(name)) {
                push(
                    Value,
                    f.name,
                    format!(
                        "{name:?} is already the name of rule {}; names must be unique",
                        pos + 1
                    ),
                );
            }
        }
    }

    let rules = UrlOriginRules {
        bare_scheme: true,
        star_in_port: true,
    };
    check_origin_list(f, spec, rules, push);
    let has_scheme = |s: &str| spec.origins.iter().any(|o| o == s);
    for scheme in ["https", "http"] {
        if spec.origins.iter().filter(|o| *o == scheme).count() > 1 {
            push(
                Value,
                f.origins,
                format!("{scheme:?} is listed more than once"),
            );
        }
        if has_scheme(scheme) {
            let prefix = format!("{scheme}:");
            for o in spec.origins.iter().filter(|o| o.starts_with(&prefix)) {
                push(Value, f.origins, format!("{o:?} is already covered by {scheme:?} (every {scheme} origin); remove one of them"));
            }
        }
    }

    if spec.operations.is_empty() {
        push(
            Value,
            f.operations,
            "must list at least one operation, such as \"b2_download_file_by_name\"".into(),
        );
    }
    for op in &spec.operations {
        if Operation::from_b2_name(op).is_none() {
            let hint = match Operation::from_b2_name(&op.to_ascii_lowercase()) {
                Some(right) => format!("; operation names are lower case: {:?}", right.b2_name()),
                None => format!(
                    "; allowed: {}",
                    Operation::ALL.map(|o| o.b2_name()).join(", ")
                ),
            };
            push(
                Value,
                f.operations,
                format!("unknown operation {op:?}{hint}"),
            );
        }
    }

    if spec.allowed_headers.iter().any(|h| h == "*") && spec.allowed_headers.len() > 1 {
        push(
            Value,
            f.allowed_headers,
            "\"*\" allows every header and must be the only entry".into(),
        );
    }
    for h in &spec.allowed_headers {
        if h == "*" {
            continue;
        }
        let stem = h.strip_suffix('*').unwrap_or(h);
        if stem.contains('*') {
            push(
                Value,
                f.allowed_headers,
                format!("{h:?}: a `*` is only allowed at the end (\"x-bz-info-*\") or alone"),
            );
        } else if !is_token(stem) {
            push(
                Value,
                f.allowed_headers,
                format!("{h:?} is not a header name"),
            );
        }
    }
    for h in &spec.expose_headers {
        if h.contains('*') {
            push(
                Value,
                f.expose_headers,
                format!(
                    "{h:?}: wildcards are not allowed here; list each header by its complete name"
                ),
            );
        } else if !is_token(h) {
            push(
                Value,
                f.expose_headers,
                format!("{h:?} is not a header name"),
            );
        }
    }

    match spec.max_age_seconds {
        None => push(
            Schema,
            f.max_age,
            "is required: how many seconds a browser may cache the preflight answer (0 to 86400)"
                .into(),
        ),
        Some(age) if !(0..=MAX_AGE_LIMIT).contains(&age) => push(
            Value,
            f.max_age,
            format!("{age} is out of range; use 0 to {MAX_AGE_LIMIT} seconds (one day)"),
        ),
        Some(_) => {}
    }

    let bytes: usize = spec.name.as_deref().map_or(0, str::len)
        + [&spec.origins, &spec.allowed_headers, &spec.expose_headers]
            .iter()
            .flat_map(|list| list.iter())
            .map(String::len)
            .sum::<usize>();
    if bytes >= B2_MAX_RULE_BYTES {
        push(Value, f.name, format!("the rule's names, origins and headers add up to {bytes} bytes; a rule must be under {B2_MAX_RULE_BYTES} bytes (split it into several rules)"));
    }
}

fn check_s3(f: &FieldNames, spec: &RuleSpec, push: &mut Push<'_>) {
    use ErrorKind::{Schema, Value};
    if let Some(name) = &spec.name {
        let len = name.chars().count();
        if len > 255 {
            push(
                Value,
                f.name,
                format!("is {len} characters long; the rule ID can be at most 255"),
            );
        }
    }
    if spec.origins.is_empty() {
        push(
            Schema,
            f.origins,
            "is required: each rule needs at least one allowed origin".into(),
        );
    }
    for o in &spec.origins {
        if o.matches('*').count() > 1 {
            push(
                Value,
                f.origins,
                format!("AllowedOrigin {o:?} can not have more than one wildcard."),
            );
        }
    }
    check_methods(f, spec, push, Schema);
    check_s3_headers(f, spec, push);
    if let Some(age) = spec.max_age_seconds {
        if age < 0 || age > i64::from(u32::MAX) {
            push(
                Value,
                f.max_age,
                format!("{age} is out of range; use a whole number of seconds from 0"),
            );
        }
    }
}

fn check_r2(f: &FieldNames, spec: &RuleSpec, push: &mut Push<'_>) {
    use ErrorKind::{Schema, Value};
    if spec.origins.is_empty() {
        push(
            Schema,
            f.origins,
            "is required: each rule needs at least one allowed origin".into(),
        );
    }
    check_origin_list(
        f,
        spec,
        UrlOriginRules {
            bare_scheme: false,
            star_in_port: false,
        },
        push,
    );
    check_methods(f, spec, push, Schema);
    check_s3_headers(f, spec, push);
    if let Some(age) = spec.max_age_seconds {
        if !(0..=MAX_AGE_LIMIT).contains(&age) {
            push(
                Value,
                f.max_age,
                format!("{age} is out of range; use 0 to {MAX_AGE_LIMIT} seconds (one day)"),
            );
        }
    }
}

fn check_origin_list(f: &FieldNames, spec: &RuleSpec, rules: UrlOriginRules, push: &mut Push<'_>) {
    if spec.origins.is_empty() && rules.bare_scheme {
        push(
            ErrorKind::Value,
            f.origins,
            "must list at least one origin, such as \"https://www.example.com\"".into(),
        );
    }
    for o in &spec.origins {
        if let Err(message) = check_url_origin(o, rules) {
            push(ErrorKind::Value, f.origins, message);
        }
    }
    if rules.bare_scheme && spec.origins.len() > 1 && spec.origins.iter().any(|o| o == "*") {
        push(
            ErrorKind::Value,
            f.origins,
            "\"*\" allows every origin and must be the only entry".into(),
        );
    }
}

fn check_methods(f: &FieldNames, spec: &RuleSpec, push: &mut Push<'_>, missing: ErrorKind) {
    if spec.operations.is_empty() {
        push(
            missing,
            f.operations,
            "is required: list at least one of GET, PUT, POST, DELETE, HEAD".into(),
        );
    }
    for m in &spec.operations {
        if Operation::from_s3_method(m).is_none() {
            let hint = if Operation::from_s3_method(&m.to_ascii_uppercase()).is_some() {
                format!(" (methods are upper case: {:?})", m.to_ascii_uppercase())
            } else if m.eq_ignore_ascii_case("OPTIONS") {
                " (preflights are answered automatically; OPTIONS is never listed)".into()
            } else {
                " (allowed: GET, PUT, POST, DELETE, HEAD)".into()
            };
            push(
                ErrorKind::Value,
                f.operations,
                format!(
                    "Found unsupported HTTP method in CORS config. Unsupported method is {m}{hint}"
                ),
            );
        }
    }
}

fn check_s3_headers(f: &FieldNames, spec: &RuleSpec, push: &mut Push<'_>) {
    for h in &spec.allowed_headers {
        if h.matches('*').count() > 1 {
            push(
                ErrorKind::Value,
                f.allowed_headers,
                format!("AllowedHeader {h:?} can not have more than one wildcard."),
            );
        }
    }
    for h in &spec.expose_headers {
        if h.contains('*') {
            push(ErrorKind::Value, f.expose_headers, format!("ExposeHeader {h:?} contains wildcard. We currently do not support wildcard for ExposeHeader."));
        }
    }
}
