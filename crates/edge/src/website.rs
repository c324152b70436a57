//! Static websites served from buckets, as S3's website endpoints serve them: the model of a
//! bucket's website configuration (kept by the store as JSON), checked as S3 checks
//! `PutBucketWebsite`, and the routing it does before and after an object is read (index
//! documents, redirect-all, routing rules on a key prefix or an error code). No I/O here.

use serde::{Deserialize, Serialize};

/// A bucket's website configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Website {
    /// Appended to a request for a folder (`""` or ending in `/`): `index.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_suffix: Option<String>,
    /// The object served, with status 404, when the one asked for is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_key: Option<String>,
    /// Every request redirected to this host (and protocol), path kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_all: Option<RedirectAll>,
    /// Redirects on a key prefix, or on an error code, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RoutingRule>,
}

/// `RedirectAllRequestsTo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectAll {
    /// The host.
    pub host_name: String,
    /// `http` or `https`; the request's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// A routing rule: when its condition holds, redirect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// The key must start with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix_equals: Option<String>,
    /// The answer must have been this error status (the rule applies after the read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error_code_returned_equals: Option<u16>,
    /// Where to.
    pub redirect: Redirect,
}

/// Where a routing rule sends the client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// Another host; the request's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// `http` or `https`; the request's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The matched prefix replaced by this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_key_prefix_with: Option<String>,
    /// The whole key replaced by this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_key_with: Option<String>,
    /// 3xx; 301 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_redirect_code: Option<u16>,
}

/// What a request turns into before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Redirect to this location with this status.
    Redirect(String, u16),
    /// Serve this key.
    Object(String),
}

/// The request as the routing needs it: its scheme and host, for redirects that keep them.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The `Host` the client used.
    pub host: &'a str,
}

fn protocol_ok(p: &Option<String>) -> bool {
    p.as_deref().is_none_or(|p| p == "http" || p == "https")
}

impl Website {
    /// Why S3 would refuse this configuration, if it would.
    pub fn check(&self) -> Result<(), String> {
        if let Some(all) = &self.redirect_all {
            if self.index_suffix.is_some() || self.error_key.is_some() || !self.rules.is_empty() {
                return Err("RedirectAllRequestsTo cannot be given with any other element".into());
            }
            if all.host_name.is_empty() {
                return Err("RedirectAllRequestsTo needs a HostName".into());
            }
            if !protocol_ok(&all.protocol) {
                return Err("Protocol must be http or https".into());
            }
            return Ok(());
        }
        match self.index_suffix.as_deref() {
            None => return Err("an IndexDocument (or RedirectAllRequestsTo) is required".into()),
            Some(s) if s.is_empty() || s.contains('/') => {
                return Err(
                    "the IndexDocument Suffix must be non-empty and contain no slash".into(),
                )
            }
            Some(_) => {}
        }
        if self.rules.len() > 50 {
            return Err("a website has at most 50 routing rules".into());
        }
        for rule in &self.rules {
            let r = &rule.redirect;
            if r.replace_key_prefix_with.is_some() && r.replace_key_with.is_some() {
                return Err(
                    "a Redirect has ReplaceKeyPrefixWith or ReplaceKeyWith, not both".into(),
                );
            }
            if !protocol_ok(&r.protocol) {
                return Err("Protocol must be http or https".into());
            }
            if r.http_redirect_code
                .is_some_and(|c| !(300..400).contains(&c))
            {
                return Err("HttpRedirectCode must be a 3xx code".into());
            }
            if rule
                .http_error_code_returned_equals
                .is_some_and(|c| !(400..600).contains(&c))
            {
                return Err("HttpErrorCodeReturnedEquals must be a 4xx or 5xx code".into());
            }
        }
        Ok(())
    }

    /// Where a request for `key` (the path, decoded, without its leading `/`) goes.
    pub fn route(&self, key: &str, origin: Origin<'_>) -> Route {
        if let Some(all) = &self.redirect_all {
            let scheme = all.protocol.as_deref().unwrap_or(origin.scheme);
            return Route::Redirect(format!("{scheme}://{}/{key}", all.host_name), 301);
        }
        if let Some(rule) = self.rules.iter().find(|r| {
            r.http_error_code_returned_equals.is_none()
                && r.key_prefix_equals
                    .as_deref()
                    .is_some_and(|p| key.starts_with(p))
        }) {
            return redirect(rule, key, origin);
        }
        Route::Object(self.object_key(key))
    }

    /// The key a request path names: a folder's index document for `""` and `…/`.
    pub fn object_key(&self, key: &str) -> String {
        match &self.index_suffix {
            Some(index) if key.is_empty() || key.ends_with('/') => format!("{key}{index}"),
            _ => key.to_owned(),
        }
    }

    /// The redirect a rule makes for a request for `key` that ended in `status`, if one does.
    pub fn on_error(&self, key: &str, status: u16, origin: Origin<'_>) -> Option<Route> {
        self.rules
            .iter()
            .find(|r| {
                r.http_error_code_returned_equals == Some(status)
                    && r.key_prefix_equals
                        .as_deref()
                        .is_none_or(|p| key.starts_with(p))
            })
            .map(|rule| redirect(rule, key, origin))
    }
}

fn redirect(rule: &RoutingRule, key: &str, origin: Origin<'_>) -> Route {
    let r = &rule.redirect;
    let scheme = r.protocol.as_deref().unwrap_or(origin.scheme);
    let host = r.host_name.as_deref().unwrap_or(origin.host);
    let new_key = match (&r.replace_key_with, &r.replace_key_prefix_with) {
        (Some(whole), _) => whole.clone(),
        (None, Some(with)) => {
            let prefix = rule.key_prefix_equals.as_deref().unwrap_or("");
            format!("{with}{}", key.strip_prefix(prefix).unwrap_or(key))
        }
        (None, None) => key.to_owned(),
    };
    let path = crate::percent::encode(&new_key, crate::percent::PATH);
    Route::Redirect(
        format!("{scheme}://{host}/{path}"),
        r.http_redirect_code.unwrap_or(301),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Origin<'static> = Origin {
        scheme: "http",
        host: "site.example",
    };

    fn site() -> Website {
        Website {
            index_suffix: Some("index.html".into()),
            error_key: Some("404.html".into()),
            redirect_all: None,
            rules: vec![
                RoutingRule {
                    key_prefix_equals: Some("docs/".into()),
                    http_error_code_returned_equals: None,
                    redirect: Redirect {
                        replace_key_prefix_with: Some("documents/".into()),
                        ..Default::default()
                    },
                },
                RoutingRule {
                    key_prefix_equals: None,
                    http_error_code_returned_equals: Some(404),
                    redirect: Redirect {
                        host_name: Some("fallback.example".into()),
                        protocol: Some("https".into()),
                        replace_key_with: Some("missing.html".into()),
                        http_redirect_code: Some(302),
                        ..Default::default()
                    },
                },
            ],
        }
    }

    #[test]
    fn folders_get_their_index_document() {
        let s = site();
        assert_eq!(s.route("", AT), Route::Object("index.html".into()));
        assert_eq!(
            s.route("blog/", AT),
            Route::Object("blog/index.html".into())
        );
        assert_eq!(s.route("a.css", AT), Route::Object("a.css".into()));
    }

    #[test]
    fn prefix_rules_redirect_before_reading_and_error_rules_after() {
        let s = site();
        assert_eq!(
            s.route("docs/a b.html", AT),
            Route::Redirect("http://site.example/documents/a%20b.html".into(), 301)
        );
        assert_eq!(
            s.on_error("nothing", 404, AT),
            Some(Route::Redirect(
                "https://fallback.example/missing.html".into(),
                302
            ))
        );
        assert_eq!(s.on_error("nothing", 403, AT), None);
    }

    #[test]
    fn redirect_all_keeps_the_path() {
        let s = Website {
            redirect_all: Some(RedirectAll {
                host_name: "new.example".into(),
                protocol: Some("https".into()),
            }),
            ..Default::default()
        };
        assert!(s.check().is_ok());
        assert_eq!(
            s.route("a/b", AT),
            Route::Redirect("https://new.example/a/b".into(), 301)
        );
    }

    #[test]
    fn configurations_s3_refuses_are_refused() {
        assert!(Website::default().check().is_err(), "no index document");
        let mut slash = site();
        slash.index_suffix = Some("a/index.html".into());
        assert!(slash.check().is_err());
        let mut both = site();
        both.redirect_all = Some(RedirectAll {
            host_name: "x".into(),
            protocol: None,
        });
        assert!(both.check().is_err());
        let mut code = site();
        code.rules[0].redirect.http_redirect_code = Some(200);
        assert!(code.check().is_err());
        assert!(site().check().is_ok());
    }
}
