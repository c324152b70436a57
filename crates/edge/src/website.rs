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

/// The part of a website configuration a refusal is about, so a form can show it at its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebsiteField {
    /// `IndexDocument`.
    IndexDocument,
    /// `RedirectAllRequestsTo`.
    RedirectAll,
    /// `RoutingRules`.
    RoutingRules,
}

/// Why S3 would refuse a website configuration: the field and S3's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebsiteInvalid {
    /// The field at fault.
    pub field: WebsiteField,
    /// The reason, as the API says it.
    pub message: String,
}

impl std::fmt::Display for WebsiteInvalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WebsiteInvalid {}

fn invalid(field: WebsiteField, message: &str) -> Result<(), WebsiteInvalid> {
    Err(WebsiteInvalid {
        field,
        message: message.to_owned(),
    })
}

impl Website {
    /// Why S3 would refuse this configuration, if it would.
    pub fn check(&self) -> Result<(), WebsiteInvalid> {
        use WebsiteField::*;
        if let Some(all) = &self.redirect_all {
            if self.index_suffix.is_some() || self.error_key.is_some() || !self.rules.is_empty() {
                return invalid(
                    RedirectAll,
                    "RedirectAllRequestsTo cannot be given with any other element",
                );
            }
            if all.host_name.is_empty() {
                return invalid(RedirectAll, "RedirectAllRequestsTo needs a HostName");
            }
            if !protocol_ok(&all.protocol) {
                return invalid(RedirectAll, "Protocol must be http or https");
            }
            return Ok(());
        }
        match self.index_suffix.as_deref() {
            None => {
                return invalid(
                    IndexDocument,
                    "an IndexDocument (or RedirectAllRequestsTo) is required",
                )
            }
            Some(s) if s.is_empty() || s.contains('/') => {
                return invalid(
                    IndexDocument,
                    "the IndexDocument Suffix must be non-empty and contain no slash",
                )
            }
            Some(_) => {}
        }
        if self.rules.len() > 50 {
            return invalid(RoutingRules, "a website has at most 50 routing rules");
        }
        for rule in &self.rules {
            let r = &rule.redirect;
            if r.replace_key_prefix_with.is_some() && r.replace_key_with.is_some() {
                return invalid(
                    RoutingRules,
                    "a Redirect has ReplaceKeyPrefixWith or ReplaceKeyWith, not both",
                );
            }
            if !protocol_ok(&r.protocol) {
                return invalid(RoutingRules, "Protocol must be http or https");
            }
            if r.http_redirect_code
                .is_some_and(|c| !(300..400).contains(&c))
            {
                return invalid(RoutingRules, "HttpRedirectCode must be a 3xx code");
            }
            if rule
                .http_error_code_returned_equals
                .is_some_and(|c| !(400..600).contains(&c))
            {
                return invalid(
                    RoutingRules,
                    "HttpErrorCodeReturnedEquals must be a 4xx or 5xx code",
                );
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

/// Routing rules as the S3 API writes them in JSON (the aws CLI's and AWS's console shape:
/// `[{"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith":
/// "documents/"}}]`), for forms and the command line.
pub mod s3_json {
    use super::{Redirect, RoutingRule};
    use serde::{Deserialize, Serialize};

    /// A status code written as a number or, as S3 writes it, a string.
    #[derive(Deserialize, Serialize)]
    #[serde(untagged)]
    enum Code {
        Number(u16),
        Text(String),
    }

    fn code(c: Option<Code>, what: &str) -> Result<Option<u16>, String> {
        match c {
            None => Ok(None),
            Some(Code::Number(n)) => Ok(Some(n)),
            Some(Code::Text(t)) => t
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{what} must be a number, not {t:?}")),
        }
    }

    #[derive(Deserialize, Serialize, Default)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct ConditionJson {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_prefix_equals: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_error_code_returned_equals: Option<Code>,
    }

    #[derive(Deserialize, Serialize, Default)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct RedirectJson {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replace_key_prefix_with: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replace_key_with: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_redirect_code: Option<Code>,
    }

    #[derive(Deserialize, Serialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct RuleJson {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        condition: Option<ConditionJson>,
        redirect: RedirectJson,
    }

    /// The rules `text` writes (an empty text is no rules), or why it is not S3's shape. The
    /// rules are not checked here: [`super::Website::check`] does that.
    pub fn parse(text: &str) -> Result<Vec<RoutingRule>, String> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let rules: Vec<RuleJson> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        rules
            .into_iter()
            .map(|r| {
                let condition = r.condition.unwrap_or_default();
                Ok(RoutingRule {
                    key_prefix_equals: condition.key_prefix_equals,
                    http_error_code_returned_equals: code(
                        condition.http_error_code_returned_equals,
                        "HttpErrorCodeReturnedEquals",
                    )?,
                    redirect: Redirect {
                        host_name: r.redirect.host_name,
                        protocol: r.redirect.protocol,
                        replace_key_prefix_with: r.redirect.replace_key_prefix_with,
                        replace_key_with: r.redirect.replace_key_with,
                        http_redirect_code: code(
                            r.redirect.http_redirect_code,
                            "HttpRedirectCode",
                        )?,
                    },
                })
            })
            .collect()
    }

    /// `rules` in S3's JSON shape, indented (empty for no rules); [`parse`] reads it back.
    pub fn write(rules: &[RoutingRule]) -> String {
        if rules.is_empty() {
            return String::new();
        }
        let out: Vec<RuleJson> = rules
            .iter()
            .map(|r| RuleJson {
                condition: (r.key_prefix_equals.is_some()
                    || r.http_error_code_returned_equals.is_some())
                .then(|| ConditionJson {
                    key_prefix_equals: r.key_prefix_equals.clone(),
                    http_error_code_returned_equals: r
                        .http_error_code_returned_equals
                        .map(|c| Code::Text(c.to_string())),
                }),
                redirect: RedirectJson {
                    host_name: r.redirect.host_name.clone(),
                    protocol: r.redirect.protocol.clone(),
                    replace_key_prefix_with: r.redirect.replace_key_prefix_with.clone(),
                    replace_key_with: r.redirect.replace_key_with.clone(),
                    http_redirect_code: r
                        .redirect
                        .http_redirect_code
                        .map(|c| Code::Text(c.to_string())),
                },
            })
            .collect();
        serde_json::to_string_pretty(&out).unwrap_or_default()
    }
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

    #[test]
    fn routing_rules_read_and_write_s3s_json_shape() {
        let rules = site().rules;
        let text = s3_json::write(&rules);
        assert!(text.contains("\"KeyPrefixEquals\": \"docs/\""), "{text}");
        assert!(text.contains("\"HttpRedirectCode\": \"302\""), "{text}");
        assert_eq!(s3_json::parse(&text).unwrap(), rules);
        let numbers = r#"[{"Condition":{"HttpErrorCodeReturnedEquals":404},"Redirect":{"HttpRedirectCode":307}}]"#;
        let parsed = s3_json::parse(numbers).unwrap();
        assert_eq!(parsed[0].http_error_code_returned_equals, Some(404));
        assert_eq!(parsed[0].redirect.http_redirect_code, Some(307));
        assert!(s3_json::parse("").unwrap().is_empty());
        assert!(
            s3_json::parse(r#"[{"Redirect":{"HostNme":"x"}}]"#).is_err(),
            "a misspelt field"
        );
        assert!(s3_json::parse(r#"[{"Redirect":{"HttpRedirectCode":"soon"}}]"#).is_err());
    }

    #[test]
    fn a_refusal_names_its_field() {
        let mut code = site();
        code.rules[0].redirect.http_redirect_code = Some(200);
        assert_eq!(code.check().unwrap_err().field, WebsiteField::RoutingRules);
        assert_eq!(
            Website::default().check().unwrap_err().field,
            WebsiteField::IndexDocument
        );
    }
}
