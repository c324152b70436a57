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

/// A query string read in place, without decoding or allocating: for the hot path's questions
/// about parameter *names* (which are plain ASCII in every API pier serves).
#[derive(Clone, Copy, Debug, Default)]
pub struct RawQuery<'a>(&'a str);

impl<'a> RawQuery<'a> {
    /// The query (the part after `?`, if any).
    pub fn new(query: Option<&'a str>) -> RawQuery<'a> {
        RawQuery(query.unwrap_or(""))
    }

    fn names(self) -> impl Iterator<Item = &'a str> {
        self.0
            .split('&')
            .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
    }

    /// True when a parameter is named exactly `name`.
    pub fn has(self, name: &str) -> bool {
        self.names().any(|k| k == name)
    }

    /// True when a parameter's name starts with `prefix`.
    pub fn has_prefix(self, prefix: &str) -> bool {
        self.names().any(|k| k.starts_with(prefix))
    }

    /// The raw (still encoded) value of `name`.
    pub fn raw(self, name: &str) -> Option<&'a str> {
        self.0.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Query, RawQuery};

    #[test]
    fn raw_queries_answer_about_names_without_decoding() {
        let q = RawQuery::new(Some(
            "list-type=2&prefix=a%2Fb&uploads&response-content-type=x",
        ));
        assert!(q.has("uploads") && q.has("prefix") && !q.has("upload"));
        assert_eq!(q.raw("list-type"), Some("2"));
        assert_eq!(q.raw("prefix"), Some("a%2Fb"));
        assert!(q.has_prefix("response-"));
        assert!(!RawQuery::new(None).has("x"));
    }

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
