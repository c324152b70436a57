//! The SNS-compatible topic API on the S3 endpoint, as Ceph RGW offers it to boto3's `sns`
//! client: `POST /` with a form body (`Action=CreateTopic&Name=...`), signed with SigV4 (any
//! service name in the scope; the signature binds it) by a key of the account that will own
//! the topic. `CreateTopic` (with attributes, `push-endpoint` the webhook), `ListTopics`,
//! `GetTopicAttributes`, `SetTopicAttributes` and `DeleteTopic`; answers and errors in SNS's
//! XML. Creating, changing and deleting need `writeBucketNotifications`; reading,
//! `readBucketNotifications`.

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use pier_events::topic::{check_attributes, check_name, parse_arn, Topic};
use pier_store::Store;
use quick_xml::escape::escape;
use s3s::Body;
use std::collections::BTreeMap;

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;
/// SNS's XML namespace.
const XMLNS: &str = "https://sns.amazonaws.com/doc/2010-03-31/";

/// True for a request of this API: `POST /` with a form body, at no bucket.
pub fn is_topic_request(method: &Method, path: &str, headers: &HeaderMap, bucket: bool) -> bool {
    method == Method::POST
        && path == "/"
        && !bucket
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// An error of this API, with its SNS code and status.
#[derive(Debug)]
enum TopicError {
    /// 400: a missing or invalid parameter.
    InvalidParameter(String),
    /// 400: an action this API does not have.
    InvalidAction(String),
    /// 404: no such topic of the caller's account.
    NotFound,
    /// 403: the key may not do this.
    AuthorizationError(String),
    /// 403: no SigV4 `Authorization` header.
    MissingAuthenticationToken,
    /// 403: an access key that does not exist.
    InvalidClientTokenId,
    /// 403: a signature that does not match, or a malformed one.
    SignatureDoesNotMatch(String),
    /// 500: the store failed (logged where it happened).
    Internal,
}

impl TopicError {
    fn code_status(&self) -> (&'static str, StatusCode) {
        use TopicError::*;
        match self {
            InvalidParameter(_) => ("InvalidParameter", StatusCode::BAD_REQUEST),
            InvalidAction(_) => ("InvalidAction", StatusCode::BAD_REQUEST),
            NotFound => ("NotFound", StatusCode::NOT_FOUND),
            AuthorizationError(_) => ("AuthorizationError", StatusCode::FORBIDDEN),
            MissingAuthenticationToken => ("MissingAuthenticationToken", StatusCode::FORBIDDEN),
            InvalidClientTokenId => ("InvalidClientTokenId", StatusCode::FORBIDDEN),
            SignatureDoesNotMatch(_) => ("SignatureDoesNotMatch", StatusCode::FORBIDDEN),
            Internal => ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn message(&self) -> String {
        use TopicError::*;
        match self {
            InvalidParameter(m) | InvalidAction(m) | AuthorizationError(m) => m.clone(),
            SignatureDoesNotMatch(m) => m.clone(),
            NotFound => "Topic does not exist".into(),
            MissingAuthenticationToken => "Request is missing Authentication Token".into(),
            InvalidClientTokenId => "The security token included in the request is invalid.".into(),
            Internal => "The server failed; the cause is in its log.".into(),
        }
    }

    fn into_response(self, request_id: &str) -> Response<Body> {
        let (code, status) = self.code_status();
        let kind = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type>\
             <Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId>\
             </ErrorResponse>",
            escape(self.message())
        );
        xml(status, body)
    }
}

fn store_failed(e: impl Into<pier_store::StoreError>) -> TopicError {
    let e = e.into();
    tracing::error!(error = %e, "topic API: the store failed");
    TopicError::Internal
}

fn xml(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::from(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml"),
    );
    resp
}

/// A successful answer: `<{action}Response>` with its result and request id.
fn answer(action: &str, result: Option<String>, request_id: &str) -> Response<Body> {
    let result = result
        .map(|r| format!("<{action}Result>{r}</{action}Result>"))
        .unwrap_or_default();
    xml(
        StatusCode::OK,
        format!(
            "<?xml version=\"1.0\"?>\n<{action}Response xmlns=\"{XMLNS}\">{result}\
             <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
             </{action}Response>"
        ),
    )
}

/// The topic API over a store.
#[derive(Clone, Debug)]
pub struct Topics {
    store: Store,
    region: String,
    allow_private: bool,
}

/// The caller: its account, and whether it may read and write topics.
struct Caller {
    account: String,
    may_read: bool,
    may_write: bool,
}

impl Topics {
    /// Topics of `store`'s accounts, named in `region`; push endpoints on plain `http` or
    /// private addresses only when `allow_private` (`--webhook-allow-private`).
    pub fn new(store: Store, region: String, allow_private: bool) -> Self {
        Topics {
            store,
            region,
            allow_private,
        }
    }

    /// Answers one request of this API (see [`is_topic_request`]).
    pub async fn handle(&self, req: Request<Body>, request_id: &str) -> Response<Body> {
        let (parts, mut body) = req.into_parts();
        let bytes = match body.store_all_limited(MAX_BODY).await {
            Ok(b) => b,
            Err(e) => {
                return TopicError::InvalidParameter(format!(
                    "the request body could not be read (at most {MAX_BODY} bytes): {e}"
                ))
                .into_response(request_id)
            }
        };
        let this = self.clone();
        let handled = tokio::task::spawn_blocking(move || {
            let caller = this.authenticate(&parts, &bytes)?;
            let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
            this.act(&caller, &form)
        })
        .await;
        match handled {
            Ok(Ok((action, result))) => answer(action, result, request_id),
            Ok(Err(e)) => e.into_response(request_id),
            Err(e) => {
                tracing::error!(error = %e, "topic API: the handler failed");
                TopicError::Internal.into_response(request_id)
            }
        }
    }

    fn authenticate(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Result<Caller, TopicError> {
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(TopicError::MissingAuthenticationToken)?;
        let auth = pier_edge::sigv4::parse_authorization(auth)
            .ok_or(TopicError::MissingAuthenticationToken)?;
        let key = self
            .store
            .key(&auth.access_key)
            .map_err(store_failed)?
            .ok_or(TopicError::InvalidClientTokenId)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let request = (parts.method.as_str(), parts.uri.path(), parts.uri.query());
        pier_edge::sigv4::verify(&auth, &key.secret, request, &parts.headers, body, now).map_err(
            |e| {
                use pier_edge::sigv4::SigError;
                TopicError::SignatureDoesNotMatch(match e {
                    SigError::Missing => "no signature".into(),
                    SigError::Malformed(why) => why,
                    SigError::Expired => "Signature expired: the request time is more than 15 minutes from the server's".into(),
                    SigError::Mismatch => "The request signature we calculated does not match the signature you provided.".into(),
                })
            },
        )?;
        let may = |capability: &str| {
            key.scope
                .capabilities
                .as_ref()
                .is_none_or(|caps| caps.iter().any(|c| c == capability))
        };
        if key
            .scope
            .expires
            .is_some_and(|at| at <= pier_store::now_millis())
        {
            return Err(TopicError::InvalidClientTokenId);
        }
        Ok(Caller {
            account: key.account.clone(),
            may_read: may("readBucketNotifications"),
            may_write: may("writeBucketNotifications"),
        })
    }

    /// Runs the form's action; its name and the inside of its `...Result` element.
    fn act(
        &self,
        caller: &Caller,
        form: &[(String, String)],
    ) -> Result<(&'static str, Option<String>), TopicError> {
        let param = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let required = |name: &str| {
            param(name).ok_or_else(|| TopicError::InvalidParameter(format!("{name} is required")))
        };
        let action = required("Action")?;
        let needs = |write: bool| {
            let allowed = if write {
                caller.may_write
            } else {
                caller.may_read
            };
            if allowed {
                Ok(())
            } else {
                Err(TopicError::AuthorizationError(format!(
                    "this key may not {action}: it needs {}",
                    if write {
                        "writeBucketNotifications"
                    } else {
                        "readBucketNotifications"
                    }
                )))
            }
        };
        match action {
            "CreateTopic" => {
                needs(true)?;
                let name = required("Name")?;
                check_name(name).map_err(TopicError::InvalidParameter)?;
                let topic = Topic {
                    account_id: caller.account.clone(),
                    name: name.to_owned(),
                    attributes: attributes(form)?,
                };
                check_attributes(&topic.attributes, self.allow_private)
                    .map_err(TopicError::InvalidParameter)?;
                self.store.put_topic(&topic).map_err(store_failed)?;
                let arn = topic.arn(&self.region);
                Ok(("CreateTopic", Some(format!("<TopicArn>{}</TopicArn>", escape(&arn)))))
            }
            "ListTopics" => {
                needs(false)?;
                let members: String = self
                    .store
                    .topics(&caller.account)
                    .map_err(store_failed)?
                    .iter()
                    .map(|t| {
                        format!("<member><TopicArn>{}</TopicArn></member>", escape(t.arn(&self.region)))
                    })
                    .collect();
                Ok(("ListTopics", Some(format!("<Topics>{members}</Topics>"))))
            }
            "GetTopicAttributes" => {
                needs(false)?;
                let topic = self.own_topic(caller, required("TopicArn")?)?;
                let mut shown = topic.attributes.clone();
                shown.insert("TopicArn".into(), topic.arn(&self.region));
                shown.insert("Name".into(), topic.name.clone());
                shown.insert("Owner".into(), topic.account_id.clone());
                shown.insert("User".into(), topic.account_id.clone());
                if let Some(url) = topic.push_endpoint() {
                    shown.insert("EndpointAddress".into(), url.to_owned());
                }
                let entries: String = shown
                    .iter()
                    .map(|(k, v)| {
                        format!("<entry><key>{}</key><value>{}</value></entry>", escape(k), escape(v))
                    })
                    .collect();
                Ok(("GetTopicAttributes", Some(format!("<Attributes>{entries}</Attributes>"))))
            }
            "SetTopicAttributes" => {
                needs(true)?;
                let mut topic = self.own_topic(caller, required("TopicArn")?)?;
                let name = required("AttributeName")?;
                match param("AttributeValue") {
                    Some(value) if !value.is_empty() => {
                        topic.attributes.insert(name.to_owned(), value.to_owned())
                    }
                    _ => topic.attributes.remove(name),
                };
                check_attributes(&topic.attributes, self.allow_private)
                    .map_err(TopicError::InvalidParameter)?;
                self.store.put_topic(&topic).map_err(store_failed)?;
                Ok(("SetTopicAttributes", None))
            }
            "DeleteTopic" => {
                needs(true)?;
                let (account, name) = self.own_arn(caller, required("TopicArn")?)?;
                // Deleting a topic that does not exist succeeds, as in SNS.
                self.store
                    .delete_topic(account, name)
                    .map_err(store_failed)?;
                Ok(("DeleteTopic", None))
            }
            other => Err(TopicError::InvalidAction(format!(
                "{other} is not an action of this API (CreateTopic, ListTopics, GetTopicAttributes, SetTopicAttributes, DeleteTopic)"
            ))),
        }
    }

    /// The (account, name) of `arn`, one of the caller's account: another account's topic is
    /// `AuthorizationError`, as Ceph answers, whether it exists or not.
    fn own_arn<'a>(&self, caller: &Caller, arn: &'a str) -> Result<(&'a str, &'a str), TopicError> {
        let (account, name) = parse_arn(arn)
            .ok_or_else(|| TopicError::InvalidParameter(format!("{arn:?} is not a topic ARN")))?;
        if account != caller.account {
            return Err(TopicError::AuthorizationError(format!(
                "{arn} belongs to another account"
            )));
        }
        Ok((account, name))
    }

    /// The caller's topic named by `arn` (see [`Topics::own_arn`]); `NotFound` if it has none.
    fn own_topic(&self, caller: &Caller, arn: &str) -> Result<Topic, TopicError> {
        let (account, name) = self.own_arn(caller, arn)?;
        self.store
            .topic(account, name)
            .map_err(store_failed)?
            .ok_or(TopicError::NotFound)
    }
}

/// The `Attributes.entry.N.key` / `.value` pairs of a form.
fn attributes(form: &[(String, String)]) -> Result<BTreeMap<String, String>, TopicError> {
    let mut keys = BTreeMap::new();
    let mut values = BTreeMap::new();
    for (k, v) in form {
        let Some(rest) = k.strip_prefix("Attributes.entry.") else {
            continue;
        };
        let (n, field) = rest.split_once('.').ok_or_else(|| {
            TopicError::InvalidParameter(format!("{k} is not an attribute entry"))
        })?;
        let n: u32 = n
            .parse()
            .map_err(|_| TopicError::InvalidParameter(format!("{k} is not an attribute entry")))?;
        match field {
            "key" => keys.insert(n, v.clone()),
            "value" => values.insert(n, v.clone()),
            _ => {
                return Err(TopicError::InvalidParameter(format!(
                    "{k} is not an attribute entry"
                )))
            }
        };
    }
    let mut out = BTreeMap::new();
    for (n, key) in keys {
        let value = values.remove(&n).ok_or_else(|| {
            TopicError::InvalidParameter(format!("Attributes.entry.{n} has no value"))
        })?;
        out.insert(key, value);
    }
    if let Some(n) = values.keys().next() {
        return Err(TopicError::InvalidParameter(format!(
            "Attributes.entry.{n} has no key"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn attribute_entries_pair_keys_with_values() {
        let got = attributes(&form(&[
            ("Attributes.entry.2.value", "b"),
            ("Attributes.entry.1.key", "push-endpoint"),
            ("Attributes.entry.1.value", "https://example.com/"),
            ("Attributes.entry.2.key", "OpaqueData"),
        ]))
        .unwrap();
        assert_eq!(got.get("push-endpoint").unwrap(), "https://example.com/");
        assert_eq!(got.get("OpaqueData").unwrap(), "b");
    }

    #[test]
    fn an_entry_without_its_value_is_refused() {
        assert!(attributes(&form(&[("Attributes.entry.1.key", "k")])).is_err());
        assert!(attributes(&form(&[("Attributes.entry.x.key", "k")])).is_err());
    }

    #[test]
    fn only_form_posts_at_the_root_are_topic_requests() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert!(is_topic_request(&Method::POST, "/", &h, false));
        assert!(!is_topic_request(&Method::POST, "/", &h, true));
        assert!(!is_topic_request(&Method::POST, "/b", &h, false));
        assert!(!is_topic_request(&Method::GET, "/", &h, false));
        assert!(!is_topic_request(
            &Method::POST,
            "/",
            &HeaderMap::new(),
            false
        ));
    }
}
