//! Origin patterns: how each dialect's `AllowedOrigin` strings are checked and compiled, and how a
//! request's `Origin` is matched against them.
//!
//! Two families of semantics exist:
//! - **S3** (AWS's observed behaviour): the string is a pattern with at most one `*`, matched
//!   against the `Origin` header byte for byte, no URL parsing; the `*` matches any run of
//!   characters, the empty run included. Case-sensitive, like AWS and LocalStack.
//! - **URL-aware** (B2 and R2): the string must be an origin (`scheme://host[:port]`), a lone `*`,
//!   or (B2 only) a bare scheme such as `https`. Scheme and host are compared case-insensitively
//!   (they are lower-cased when compiled; browsers always send them lower-case), a default port
//!   (`:443` for https, `:80` for http) is the same as no port, and a `*` matches a run of host
//!   characters only: it never crosses a `:` or `/`, so `https://*.example.com` does not match
//!   `https://a.example.com:8443` (ports must be listed explicitly).

/// What the `*` of a wildcard pattern may match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StarClass {
    /// Any run of characters, the empty run included (S3).
    AnyRun,
    /// A run of characters without `:` or `/`, the empty run included (B2, R2).
    HostRun,
}

/// A compiled `AllowedOrigin` entry. Matching only compares bytes; nothing is allocated.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OriginPattern {
    /// `*`: every origin.
    Any,
    /// B2's bare scheme (`https`): every origin with that scheme, on any port.
    Scheme(String),
    /// One origin, compared byte for byte.
    Exact(String),
    /// A pattern with one `*` between `prefix` and `suffix`.
    Wildcard {
        /// Text before the `*`.
        prefix: String,
        /// Text after the `*`.
        suffix: String,
        /// What the `*` may match.
        star: StarClass,
    },
}

impl OriginPattern {
    /// True when `origin` (an `Origin` header value, already stripped of a default port for
    /// URL-aware patterns) matches.
    pub fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Any => true,
            OriginPattern::Scheme(scheme) => origin
                .strip_prefix(scheme.as_str())
                .is_some_and(|rest| rest.len() > 3 && rest.starts_with("://")),
            OriginPattern::Exact(exact) => origin == exact,
            OriginPattern::Wildcard {
                prefix,
                suffix,
                star,
            } => {
                if origin.len() < prefix.len() + suffix.len()
                    || !origin.starts_with(prefix.as_str())
                    || !origin.ends_with(suffix.as_str())
                {
                    return false;
                }
                match star {
                    StarClass::AnyRun => true,
                    StarClass::HostRun => origin.as_bytes()
                        [prefix.len()..origin.len() - suffix.len()]
                        .iter()
                        .all(|b| *b != b':' && *b != b'/'),
                }
            }
        }
    }

    /// True when the pattern admits every host of some scheme (`*`, `https`, `https://*`,
    /// `https://*:8443`, `http*`): matching it says nothing about who the caller is.
    pub fn admits_any_host(&self) -> bool {
        match self {
            OriginPattern::Any | OriginPattern::Scheme(_) => true,
            OriginPattern::Exact(_) => false,
            OriginPattern::Wildcard { prefix, suffix, .. } => {
                let prefix_host = prefix.split_once("://").map_or("", |(_, h)| h);
                let suffix_host = suffix.split(':').next().unwrap_or("");
                prefix_host.is_empty() && suffix_host.is_empty()
            }
        }
    }

    /// Compiles an S3 `AllowedOrigin` (already checked to have at most one `*`).
    pub(crate) fn compile_s3(text: &str) -> OriginPattern {
        if text == "*" {
            return OriginPattern::Any;
        }
        match text.split_once('*') {
            Some((prefix, suffix)) => OriginPattern::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
                star: StarClass::AnyRun,
            },
            None => OriginPattern::Exact(text.to_owned()),
        }
    }

    /// Compiles a URL-aware (B2, R2) entry that [`check_url_origin`] accepted.
    pub(crate) fn compile_url(text: &str) -> OriginPattern {
        if text == "*" {
            return OriginPattern::Any;
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return OriginPattern::Scheme(text.to_ascii_lowercase());
        };
        let scheme = scheme.to_ascii_lowercase();
        let (host, port) = split_host_port(rest);
        let mut normal = format!("{scheme}://{}", host.to_ascii_lowercase());
        if let Some(port) = port {
            if Some(port) != default_port(&scheme) {
                normal.push(':');
                normal.push_str(port);
            }
        }
        match normal.split_once('*') {
            Some((prefix, suffix)) => OriginPattern::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
                star: StarClass::HostRun,
            },
            None => OriginPattern::Exact(normal),
        }
    }

    /// A form in which two patterns are equal exactly when they allow the same browser origins
    /// (serialized origins: lower-case scheme and host, no default port, no path). Used to decide
    /// whether a conversion between dialects keeps the rule's meaning.
    pub(crate) fn canonical(&self) -> OriginPattern {
        match self {
            OriginPattern::Wildcard {
                prefix,
                suffix,
                star,
            } => {
                let after_scheme = prefix.split_once("://").map(|(_, h)| h);
                // `scheme://*` with a free star is "every origin of that scheme".
                if *star == StarClass::AnyRun && suffix.is_empty() && after_scheme == Some("") {
                    let scheme = &prefix[..prefix.len() - 3];
                    return OriginPattern::Scheme(scheme.to_owned());
                }
                // The star can only reach a `:port` when nothing follows it and no port
                // separator came before it; otherwise a valid origin gives both classes the
                // same matches.
                let port_reachable =
                    suffix.is_empty() && after_scheme.is_some_and(|h| !h.contains(':'));
                OriginPattern::Wildcard {
                    prefix: prefix.clone(),
                    suffix: suffix.clone(),
                    star: if port_reachable {
                        *star
                    } else {
                        StarClass::HostRun
                    },
                }
            }
            other => other.clone(),
        }
    }
}

/// The default port of a scheme, if it has one browsers omit from serialized origins.
fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "https" | "wss" => Some("443"),
        "http" | "ws" => Some("80"),
        _ => None,
    }
}

/// Removes a default port (`https://x:443` → `https://x`) so URL-aware patterns, which are
/// compiled the same way, compare equal. Returns a sub-slice: no allocation.
pub(crate) fn strip_default_port(origin: &str) -> &str {
    let Some((scheme, _)) = origin.split_once("://") else {
        return origin;
    };
    if let Some(port) = default_port(&scheme.to_ascii_lowercase()) {
        if let Some(head) = origin.strip_suffix(port).and_then(|h| h.strip_suffix(':')) {
            if head.len() > scheme.len() + 3 {
                return head;
            }
        }
    }
    origin
}

fn split_host_port(rest: &str) -> (&str, Option<&str>) {
    if rest.starts_with('[') {
        return match rest.find(']') {
            Some(end) => {
                let (host, after) = rest.split_at(end + 1);
                (host, after.strip_prefix(':'))
            }
            None => (rest, None),
        };
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    }
}

/// What a URL-aware dialect accepts besides full origins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UrlOriginRules {
    /// B2 accepts a bare scheme (`https`, `http`).
    pub bare_scheme: bool,
    /// B2 accepts a `*` in the port; R2 refuses it (ports must be listed).
    pub star_in_port: bool,
}

/// Checks one URL-aware origin entry; the error says what is wrong and how to write it.
pub(crate) fn check_url_origin(text: &str, rules: UrlOriginRules) -> Result<(), String> {
    if text.is_empty() {
        return Err(
            "illegal empty string in allowedOrigins: an origin looks like \
                    https://www.example.com"
                .into(),
        );
    }
    if text == "*" {
        return Ok(());
    }
    if text.matches('*').count() > 1 {
        return Err(format!(
            "{text:?} has more than one `*`; at most one wildcard is allowed per origin"
        ));
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        if rules.bare_scheme && (text == "https" || text == "http") {
            return Ok(());
        }
        let hint = if rules.bare_scheme {
            ", `*`, or a bare scheme (`https`)"
        } else {
            " or `*`"
        };
        return Err(format!(
            "{text:?} is not an origin: write scheme://host[:port] (like https://www.example.com){hint}"
        ));
    };
    if scheme.is_empty()
        || !scheme.as_bytes()[0].is_ascii_alphabetic()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return Err(format!(
            "{text:?} has an invalid scheme {scheme:?}; use http or https"
        ));
    }
    if let Some(pos) = rest.find(['/', '?', '#']) {
        let tail = &rest[pos..];
        let fixed = format!("{scheme}://{}", &rest[..pos]);
        return Err(if tail == "/" {
            format!("{text:?} ends with a slash; an origin has no path: write {fixed:?}")
        } else {
            format!("{text:?} has a path or query ({tail:?}); an origin is only scheme://host[:port]: write {fixed:?}")
        });
    }
    if let Some(bad) = rest
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~*:[]%".contains(*c)))
    {
        return Err(format!(
            "{text:?} contains {bad:?}, which cannot appear in an origin's host"
        ));
    }
    let (host, port) = split_host_port(rest);
    if host.is_empty() || host == "[]" {
        return Err(format!("{text:?} has no host"));
    }
    if host.contains(':') && !host.starts_with('[') || host.starts_with('[') && !host.ends_with(']')
    {
        return Err(format!("{text:?} has a malformed host:port"));
    }
    if let Some(port) = port {
        if port.contains('*') {
            if !rules.star_in_port {
                return Err(format!(
                    "{text:?} has a wildcard port; list each port explicitly (http://localhost:3000)"
                ));
            }
            if port != "*" {
                return Err(format!("{text:?} has a malformed port {port:?}"));
            }
        } else if port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535)
        {
            return Err(format!(
                "{text:?} has an invalid port {port:?}; a port is a number from 1 to 65535"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const B2: UrlOriginRules = UrlOriginRules {
        bare_scheme: true,
        star_in_port: true,
    };
    const R2: UrlOriginRules = UrlOriginRules {
        bare_scheme: false,
        star_in_port: false,
    };

    fn url(p: &str) -> OriginPattern {
        check_url_origin(p, B2).unwrap();
        OriginPattern::compile_url(p)
    }

    #[test]
    fn s3_star_matches_any_run_including_empty() {
        // s3-tests' wildcard cases, run against AWS.
        let p = OriginPattern::compile_s3("*suffix");
        assert!(p.matches("foo.suffix"));
        assert!(p.matches("suffix"));
        let p = OriginPattern::compile_s3("start*end");
        assert!(p.matches("startend"));
        assert!(p.matches("start.middle.end"));
        assert!(!p.matches("start"));
        let p = OriginPattern::compile_s3("prefix*");
        assert!(p.matches("prefix"));
        assert!(p.matches("prefix.anything:8080"));
        let p = OriginPattern::compile_s3("http://www.example.com");
        assert!(!p.matches("https://www.example.com"));
        assert!(!p.matches("http://www.example.com:80"));
        assert!(!p.matches("http://www.example.com/"));
        assert!(!p.matches("http://WWW.example.com"));
    }

    #[test]
    fn b2_forms() {
        let any_https = url("https");
        assert!(any_https.matches("https://a.example.com"));
        assert!(any_https.matches("https://a.example.com:8443"));
        assert!(!any_https.matches("http://a.example.com"));
        assert!(!any_https.matches("https"));
        assert!(!any_https.matches("https://"));

        let default_port_only = url("https://*");
        assert!(default_port_only.matches("https://anything.example"));
        assert!(!default_port_only.matches("https://anything.example:8443"));

        let port = url("https://*:8443");
        assert!(port.matches("https://x.example:8443"));
        assert!(!port.matches("https://x.example"));

        let sub = url("https://*.example.com");
        assert!(sub.matches("https://a.b.example.com"));
        assert!(!sub.matches("https://a.example.com:8443"));
        assert!(!sub.matches("https://example.com"));

        // Default ports and case are normalised away on the pattern side.
        assert_eq!(
            url("HTTPS://WWW.Example.com:443"),
            OriginPattern::Exact("https://www.example.com".into())
        );
        assert_eq!(
            url("http://www.example.com:8180"),
            OriginPattern::Exact("http://www.example.com:8180".into())
        );
        let any_port = url("http://localhost:*");
        assert!(any_port.matches("http://localhost:3000"));
        assert!(!any_port.matches("http://localhost"));
    }

    #[test]
    fn strip_default_port_is_a_slice() {
        assert_eq!(
            strip_default_port("https://a.example:443"),
            "https://a.example"
        );
        assert_eq!(
            strip_default_port("http://a.example:80"),
            "http://a.example"
        );
        assert_eq!(
            strip_default_port("http://a.example:443"),
            "http://a.example:443"
        );
        assert_eq!(strip_default_port("https://[::1]:443"), "https://[::1]");
        assert_eq!(strip_default_port("https://:443"), "https://:443");
        assert_eq!(strip_default_port("null"), "null");
    }

    #[test]
    fn url_origin_refusals_say_why() {
        let e = check_url_origin("https://static.example.com/", R2).unwrap_err();
        assert!(e.contains("ends with a slash"), "{e}");
        assert!(e.contains("\"https://static.example.com\""), "{e}");
        let e = check_url_origin("https://static.example.com/fonts/Calibri.woff2", R2).unwrap_err();
        assert!(e.contains("has a path"), "{e}");
        let e = check_url_origin("http://localhost:*", R2).unwrap_err();
        assert!(e.contains("wildcard port"), "{e}");
        assert!(check_url_origin("http://localhost:*", B2).is_ok());
        assert!(check_url_origin("https", R2).is_err());
        assert!(check_url_origin("https", B2).is_ok());
        assert!(check_url_origin("ftp", B2).is_err());
        assert!(check_url_origin("", B2)
            .unwrap_err()
            .contains("illegal empty string"));
        assert!(check_url_origin("https://*.*.example.com", B2).is_err());
        assert!(check_url_origin("https://example.com:99999", B2).is_err());
        assert!(check_url_origin("https://user@example.com", B2).is_err());
        assert!(check_url_origin("https://[::1]:8080", B2).is_ok());
        assert!(check_url_origin("example.com", B2).is_err());
    }

    #[test]
    fn canonical_forms_agree_across_dialects() {
        assert_eq!(
            OriginPattern::compile_s3("https://*").canonical(),
            url("https").canonical()
        );
        assert_ne!(
            OriginPattern::compile_s3("https://*").canonical(),
            url("https://*").canonical()
        );
        assert_eq!(
            OriginPattern::compile_s3("https://*.example.com").canonical(),
            url("https://*.example.com").canonical()
        );
        assert_eq!(
            OriginPattern::compile_s3("http://localhost:*").canonical(),
            url("http://localhost:*").canonical()
        );
    }
}
