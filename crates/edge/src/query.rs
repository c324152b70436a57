//! A request's query string, decoded once (`application/x-www-form-urlencoded`: `+` is a space).

/// Decoded `(name, value)` pairs in their order; a name without `=` has an empty value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `query` (the part after `?`, if any).
    pub fn parse(query: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when `name` is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// All pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn parses_and_decodes() {
        let q = Query::parse(Some("a=1&b=x+y%2Fz&flag&a=2"));
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), Some("x y/z"));
        assert!(q.has("flag"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("c"), None);
        assert_eq!(Query::parse(None).pairs().len(), 0);
    }
}
