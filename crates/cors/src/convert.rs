//! Conversion between dialects: lossless where the target can say the same thing, refused with
//! the reason where it cannot.
//!
//! "The same thing" is judged on meaning, not spelling: an origin converts when the target's
//! reading of the new text allows exactly the browser origins the source allowed (B2's bare
//! `https` and S3's `https://*` both mean "every https origin, any port"; S3's
//! `https://Example.com` matches nothing a browser sends and B2's would, so it is refused).

use crate::error::{ConversionError, ErrorKind, ValidationError};
use crate::origin::{check_url_origin, OriginPattern, UrlOriginRules};
use crate::rule::{CorsRule, Dialect};
use crate::validate::validate;
use crate::{CorsConfig, Format};

/// The result of a conversion: the rules in the target dialect, and notes about changes that
/// keep the meaning but alter the text (a generated rule name, a max age made explicit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The rules, all in the target dialect.
    pub config: CorsConfig,
    /// What changed in the text without changing what browsers see.
    pub notes: Vec<String>,
}

/// How long browsers cache a preflight answer that carries no `Access-Control-Max-Age`.
pub const BROWSER_DEFAULT_MAX_AGE: i64 = 5;

/// Converts every rule of `config` to `target`. Rules already in `target` are kept as they are.
pub fn convert(config: &CorsConfig, target: Dialect) -> Result<Converted, ConversionError> {
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut specs = Vec::with_capacity(config.rules().len());
    let taken: Vec<&str> = config.rules().iter().filter_map(CorsRule::name).collect();
    for (index, rule) in config.rules().iter().enumerate() {
        if rule.dialect() == target {
            specs.push(rule.to_spec());
            continue;
        }
        let at = rule.reference(index);
        let mut refuse = |field: &str, message: String| {
            errors.push(
                ValidationError::new(ErrorKind::Value, message)
                    .at_rule(at.clone())
                    .at_field(field),
            );
        };
        let source_fields = Format::of_dialect(rule.dialect()).fields();
        let mut spec = rule.to_spec();

        // Operations.
        if target == Dialect::B2 {
            spec.operations = rule
                .operations()
                .iter()
                .map(|op| op.b2_name().to_owned())
                .collect();
        } else {
            let native: Vec<&str> = rule
                .operations()
                .iter()
                .filter(|op| op.is_b2_native())
                .map(|op| op.b2_name())
                .collect();
            if !native.is_empty() {
                refuse(
                    source_fields.operations,
                    format!(
                        "grants {}, which {target} rules cannot express: they only allow HTTP methods on the S3 API",
                        native.join(", ")
                    ),
                );
                continue;
            }
            spec.operations = rule
                .operations()
                .iter()
                .filter_map(|op| op.s3_method())
                .map(str::to_owned)
                .collect();
        }

        // Origins, by meaning.
        let mut origins = Vec::new();
        for (text, pattern) in rule.origins().iter().zip(rule.origin_patterns()) {
            match convert_origin(text, pattern, target) {
                Ok(new) => origins.push(new),
                Err(why) => refuse(source_fields.origins, why),
            }
        }
        spec.origins = origins;

        // Names and max age, which B2 requires.
        if target == Dialect::B2 {
            let valid = spec.name.as_deref().is_some_and(|n| {
                (6..=50).contains(&n.len())
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !n.to_ascii_lowercase().starts_with("b2-")
            });
            if !valid {
                let base = format!(
                    "{}-rule-{}",
                    rule.dialect().to_string().to_lowercase(),
                    index + 1
                );
                let mut name = base.clone();
                let mut n = 1;
                while taken.contains(&name.as_str()) {
                    n += 1;
                    name = format!("{base}-{n}");
                }
                notes.push(match &spec.name {
                    Some(old) => {
                        format!("{at}: {old:?} is not a valid B2 rule name; named it {name:?}")
                    }
                    None => format!("{at}: B2 rules need a name; named it {name:?}"),
                });
                spec.name = Some(name);
            }
            if spec.max_age_seconds.is_none() {
                notes.push(format!(
                    "{at}: B2 requires maxAgeSeconds; set it to {BROWSER_DEFAULT_MAX_AGE}, the lifetime browsers use when none is sent"
                ));
                spec.max_age_seconds = Some(BROWSER_DEFAULT_MAX_AGE);
            }
        }
        specs.push(spec);
    }
    let target_fields = Format::of_dialect(target).fields();
    if errors.is_empty() {
        errors.extend(
            validate(target, target_fields, &specs)
                .into_iter()
                .map(|mut e| {
                    e.message = format!("in {target} this would be refused: {}", e.message);
                    e
                }),
        );
    }
    if !errors.is_empty() {
        return Err(ConversionError { errors });
    }
    let config = CorsConfig::from_specs(target, target_fields, specs)
        .map_err(|e| ConversionError { errors: e.errors })?;
    Ok(Converted { config, notes })
}

/// Finds text in `target` that allows the same browser origins as `pattern` (written `text`).
fn convert_origin(text: &str, pattern: &OriginPattern, target: Dialect) -> Result<String, String> {
    let meaning = pattern.canonical();
    let candidate = match (&meaning, target) {
        (OriginPattern::Scheme(s), Dialect::B2) if s == "https" || s == "http" => s.clone(),
        (OriginPattern::Scheme(s), Dialect::S3) => format!("{s}://*"),
        (OriginPattern::Scheme(s), Dialect::R2) => {
            return Err(format!(
                "{text:?} allows every {s} origin on every port; R2 cannot say that (its wildcards never cover a port)"
            ))
        }
        _ => text.to_owned(),
    };
    let new_pattern = match target {
        Dialect::S3 => OriginPattern::compile_s3(&candidate),
        Dialect::B2 | Dialect::R2 => {
            let rules = UrlOriginRules {
                bare_scheme: target == Dialect::B2,
                star_in_port: target == Dialect::B2,
            };
            check_url_origin(&candidate, rules)
                .map_err(|why| format!("in {target} this would be refused: {why}"))?;
            OriginPattern::compile_url(&candidate)
        }
    };
    if new_pattern.canonical() != meaning {
        let why = if text.bytes().any(|b| b.is_ascii_uppercase()) {
            "S3 compares origins exactly and browsers send them in lower case"
        } else if text.ends_with(":443") || text.ends_with(":80") {
            "browsers never send a default port, which S3 compares literally"
        } else {
            "the wildcard would cover different origins"
        };
        return Err(format!(
            "{text:?} would allow different origins in {target} ({why})"
        ));
    }
    Ok(candidate)
}
