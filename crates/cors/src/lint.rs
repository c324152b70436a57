//! Warnings for rules that are valid but risky or useless: things that pass validation yet are
//! probably not what the bucket's owner meant.

use crate::error::RuleRef;
use crate::header::{HeaderPattern, SAFELISTED_RESPONSE_HEADERS};
use crate::operation::Operation;
use crate::origin::OriginPattern;
use crate::rule::{CorsRule, Dialect};
use crate::CorsConfig;
use std::fmt;

/// The longest preflight cache Chromium honours (Firefox: 86400).
pub const CHROMIUM_MAX_AGE_CAP: u32 = 7200;

/// One warning about one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The rule warned about.
    pub rule: RuleRef,
    /// What is risky or useless, and what to do instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Every warning for `config`, rule by rule.
pub fn lint(config: &CorsConfig) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for (index, rule) in config.rules().iter().enumerate() {
        let mut warn = |message: String| {
            warnings.push(Warning {
                rule: rule.reference(index),
                message,
            })
        };
        let any_header = rule.header_patterns().contains(&HeaderPattern::Any);
        let wide_origin = rule
            .origin_patterns()
            .iter()
            .any(OriginPattern::admits_any_host);
        if rule.allows_any_origin() && any_header {
            warn(
                "allows every origin to send any request header; list the headers your pages need"
                    .into(),
            );
        }
        let allows_authorization = rule
            .header_patterns()
            .iter()
            .any(|p| p.matches("authorization"));
        if wide_origin && allows_authorization {
            warn("lets pages on any site send Authorization (signed or token-bearing requests); limit the origins to your own sites".into());
        }
        if let Some(age) = rule.max_age_seconds() {
            if age > CHROMIUM_MAX_AGE_CAP {
                warn(format!(
                    "max age {age} s is above what Chromium honours ({CHROMIUM_MAX_AGE_CAP} s); browsers will re-check sooner than you expect"
                ));
            }
        }
        for h in rule.expose_headers() {
            if SAFELISTED_RESPONSE_HEADERS.contains(&h.to_ascii_lowercase().as_str()) {
                warn(format!(
                    "exposes {h:?}, which browsers already let pages read; it can be removed"
                ));
            }
        }
        let uploads = rule
            .operations()
            .iter()
            .any(|op| matches!(op, Operation::S3Put | Operation::S3Post));
        if uploads
            && !rule
                .expose_headers()
                .iter()
                .any(|h| h.eq_ignore_ascii_case("etag"))
        {
            warn("allows uploads but does not expose ETag; browser multipart uploads (the AWS SDK's Upload) need to read it".into());
        }
        if rule.dialect() == Dialect::S3 {
            for o in rule.origins() {
                let host_part = o.split_once("://").map_or(o.as_str(), |(_, h)| h);
                if o.bytes().any(|b| b.is_ascii_uppercase()) {
                    warn(format!("origin {o:?} has upper-case letters; browsers send origins in lower case, so it never matches"));
                } else if host_part.contains('/') {
                    warn(format!("origin {o:?} has a path or trailing slash; browsers never send one, so it never matches"));
                } else if o.ends_with(":443") && o.starts_with("https://")
                    || o.ends_with(":80") && o.starts_with("http://")
                {
                    warn(format!("origin {o:?} names the default port; browsers leave it out, so it never matches"));
                }
            }
        }
        if let Some(earlier) = config.rules()[..index]
            .iter()
            .position(|e| shadows(e, rule))
        {
            warn(format!(
                "is never used: {} matches every request this rule would",
                config.rules()[earlier].reference(earlier)
            ));
        }
    }
    warnings
}

/// True when `earlier` matches every request `later` matches (so `later` never decides).
/// Conservative: only clear-cut cases (same or wider operations, origins and headers).
fn shadows(earlier: &CorsRule, later: &CorsRule) -> bool {
    if earlier.dialect().is_url_aware() != later.dialect().is_url_aware()
        || !earlier.operation_set().is_superset(later.operation_set())
    {
        return false;
    }
    let origins = earlier.allows_any_origin()
        || later
            .origin_patterns()
            .iter()
            .all(|p| earlier.origin_patterns().contains(p));
    let headers = earlier.header_patterns().contains(&HeaderPattern::Any)
        || later
            .header_patterns()
            .iter()
            .all(|p| earlier.header_patterns().contains(p));
    origins && headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, Format};

    fn warnings(doc: &str, format: Format) -> Vec<String> {
        lint(&parse(doc, format).unwrap())
            .into_iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn risky_rules_are_named() {
        let w = warnings(
            r#"[{"corsRuleName":"wideOpen","allowedOrigins":["*"],"allowedHeaders":["*"],
                 "allowedOperations":["s3_put"],"exposeHeaders":["Content-Type"],"maxAgeSeconds":86400}]"#,
            Format::B2Json,
        );
        let all = w.join("\n");
        assert!(
            all.contains("allows every origin to send any request header"),
            "{all}"
        );
        assert!(
            all.contains("lets pages on any site send Authorization"),
            "{all}"
        );
        assert!(all.contains("above what Chromium honours"), "{all}");
        assert!(
            all.contains("exposes \"Content-Type\", which browsers already let pages read"),
            "{all}"
        );
        assert!(all.contains("does not expose ETag"), "{all}");
        assert_eq!(w.len(), 5);
    }

    #[test]
    fn s3_origins_that_never_match_and_shadowed_rules() {
        let w = warnings(
            "<CORSConfiguration><CORSRule><AllowedOrigin>https://App.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>\
             <CORSRule><AllowedOrigin>https://a.example/</AllowedOrigin><AllowedOrigin>https://a.example:443</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>\
             <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod></CORSRule>\
             <CORSRule><ID>late</ID><AllowedOrigin>https://b.example</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>",
            Format::S3Xml,
        );
        let all = w.join("\n");
        assert!(
            all.contains("rule 1: origin \"https://App.example.com\" has upper-case letters"),
            "{all}"
        );
        assert!(all.contains("trailing slash"), "{all}");
        assert!(all.contains("names the default port"), "{all}");
        assert!(
            all.contains("rule 4 (\"late\"): is never used: rule 3 matches every request"),
            "{all}"
        );
    }

    #[test]
    fn a_careful_rule_has_no_warnings() {
        let w = warnings(
            r#"[{"AllowedOrigins":["https://app.example.com"],"AllowedMethods":["GET","PUT"],
                 "AllowedHeaders":["content-type"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":3600}]"#,
            Format::R2Json,
        );
        assert!(w.is_empty(), "{w:?}");
    }
}
