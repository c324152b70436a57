//! Header patterns (`AllowedHeader` / `allowedHeaders`) and header-name checks.
//!
//! Patterns are lower-cased when compiled and requested names are compared ASCII
//! case-insensitively, since HTTP header names are case-insensitive (browsers send them
//! lower-case in `Access-Control-Request-Headers` anyway).

/// A compiled allowed-header entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HeaderPattern {
    /// `*`: every header name.
    Any,
    /// One header name, lower-case.
    Exact(String),
    /// One `*` between a lower-case `prefix` and `suffix` (`x-amz-*`, `x-bz-info-*`).
    Wildcard {
        /// Text before the `*`.
        prefix: String,
        /// Text after the `*`.
        suffix: String,
    },
}

impl HeaderPattern {
    /// Compiles an entry already checked by its dialect.
    pub(crate) fn compile(text: &str) -> HeaderPattern {
        if text == "*" {
            return HeaderPattern::Any;
        }
        let lower = text.to_ascii_lowercase();
        match lower.split_once('*') {
            Some((prefix, suffix)) => HeaderPattern::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            },
            None => HeaderPattern::Exact(lower),
        }
    }

    /// True when the requested header `name` is covered, ignoring ASCII case.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            HeaderPattern::Any => true,
            HeaderPattern::Exact(exact) => name.eq_ignore_ascii_case(exact),
            HeaderPattern::Wildcard { prefix, suffix } => {
                let n = name.as_bytes();
                n.len() >= prefix.len() + suffix.len()
                    && n[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
                    && n[n.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
            }
        }
    }
}

/// True when `name` is an HTTP token (RFC 9110 `tchar`s), i.e. a possible header name.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits an `Access-Control-Request-Headers` value into names: comma-separated, optional
/// whitespace trimmed, empty items skipped. Borrowed slices; nothing is allocated.
pub fn requested_header_names(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|item| item.trim_matches([' ', '\t']))
        .filter(|item| !item.is_empty())
}

/// Response headers a page can read without them being exposed (Fetch's CORS-safelisted
/// response-header names), lower-case.
pub const SAFELISTED_RESPONSE_HEADERS: [&str; 7] = [
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_ignore_case() {
        assert!(HeaderPattern::compile("Range").matches("range"));
        assert!(HeaderPattern::compile("range").matches("RANGE"));
        assert!(HeaderPattern::compile("x-amz-*").matches("X-Amz-Date"));
        assert!(HeaderPattern::compile("x-amz-*").matches("x-amz-"));
        assert!(!HeaderPattern::compile("x-amz-*").matches("x-am"));
        assert!(HeaderPattern::compile("*-id").matches("x-user-id"));
        assert!(!HeaderPattern::compile("*-id").matches("x-user-ids"));
        assert!(HeaderPattern::compile("*").matches("anything"));
        // Multi-byte input never panics and never matches an ASCII pattern by accident.
        assert!(!HeaderPattern::compile("x-é*").matches("x-"));
        assert!(!HeaderPattern::compile("ab*").matches("é"));
    }

    #[test]
    fn requested_names_are_split_tolerantly() {
        let names: Vec<_> =
            requested_header_names(" content-type ,, X-Amz-Date,\tRange ,").collect();
        assert_eq!(names, ["content-type", "X-Amz-Date", "Range"]);
        assert_eq!(requested_header_names("").count(), 0);
    }

    #[test]
    fn tokens() {
        assert!(is_token("x-bz-content-sha1"));
        assert!(!is_token("x bz"));
        assert!(!is_token(""));
        assert!(!is_token("é"));
    }
}
