//! pier's own S3 extensions, signed like any S3 request, answered as JSON:
//!
//! - `GET /BUCKET?cors-explain&origin=O&method=M&headers=H1,H2[&operation=b2_...]
//!   [&preflight=false]`: the CORS engine's explanation of how that browser request would be
//!   decided (the caller needs `s3:GetBucketCORS` on the bucket);
//! - `GET /BUCKET?access-explain&action=s3:DeleteObject[&key-id=K][&object=NAME][&prefix=P]`:
//!   the access engine's decision and trace for that key (anonymous without `key-id`); the
//!   caller needs `listKeys`, since it learns another key's scope;
//! - `GET /BUCKET?cors-refused`: the cross-origin requests recently refused there (origin,
//!   method, headers, why, count, last seen), and `GET /BUCKET?cors-report`: the report-only
//!   rules staged there (from the dashboard) and how often they would have decided differently;
//!   both need `s3:GetBucketCORS`.

use crate::error::s3_error;
use crate::hosts::VirtualHosts;
use http::{Extensions, HeaderMap, HeaderValue, Method, Uri};
use pier_access::Action;
use pier_cors::{CorsConfig, CorsRequest, Decision, Endpoint, Operation};
use pier_edge::access::{Access, Ask, RequestFacts};
use pier_edge::cors_watch::CorsWatch;
use pier_store::Store;
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};
use serde_json::json;

/// The `cors-explain`, `access-explain`, `cors-refused` and `cors-report` routes.
pub struct ExplainRoute {
    store: Store,
    hosts: VirtualHosts,
    access: Access,
    watch: CorsWatch,
}

/// One remembered request as JSON.
fn seen_json(s: &pier_edge::cors_watch::Seen) -> serde_json::Value {
    json!({
        "origin": s.origin,
        "method": s.method,
        "headers": s.headers,
        "preflight": s.preflight,
        "allowed": s.allowed,
        "reason": s.reason,
        "count": s.count,
        "lastSeen": s.last_seen,
    })
}

impl ExplainRoute {
    /// Explains against `store`'s buckets, keys and policies, and reports what the CORS layer
    /// recorded in `watch`.
    pub fn new(store: Store, hosts: VirtualHosts, access: Access, watch: CorsWatch) -> Self {
        ExplainRoute {
            store,
            hosts,
            access,
            watch,
        }
    }

    /// Asks the engine whether the signing key may `action` on `bucket`; returns the key's
    /// account.
    fn caller_may(&self, req: &S3Request<Body>, action: Action, bucket: &str) -> S3Result<String> {
        let id = req
            .credentials
            .as_ref()
            .map(|c| c.access_key.as_str())
            .ok_or_else(|| s3_error!(AccessDenied, "explanations need a signed request"))?;
        let key = self
            .store
            .key(id)
            .map_err(s3_error)?
            .ok_or_else(|| s3_error!(InvalidAccessKeyId, "unknown access key"))?;
        let scope = self.access.scope(&key);
        let d = self
            .access
            .decide(
                Some(&scope),
                Ask {
                    action,
                    bucket: Some(bucket),
                    key: None,
                    prefix: None,
                },
                RequestFacts::default(),
            )
            .map_err(s3_error)?;
        if d.allowed {
            Ok(key.account.clone())
        } else {
            Err(crate::auth::refusal(&d.reason))
        }
    }

    /// `access-explain`, asked by a key of `account`: the decision for the key (or anonymous)
    /// the query names, on a bucket of that account, for a key of that account (the trace
    /// shows the bucket's policy and the key's scope, which are the account's to see).
    fn explain_access(
        &self,
        account: &str,
        bucket: &str,
        p: &pier_edge::Query,
    ) -> S3Result<serde_json::Value> {
        if let Ok(b) = self.store.bucket(bucket) {
            if b.owner != account {
                return Err(crate::auth::refusal(&format!(
                    "bucket {bucket} belongs to another account"
                )));
            }
        }
        let name = p
            .get("action")
            .ok_or_else(|| s3_error!(InvalidArgument, "give action= (s3:GetObject, ...)"))?;
        let action = Action::ALL
            .into_iter()
            .find(|a| a.iam_name().eq_ignore_ascii_case(name))
            .ok_or_else(|| s3_error!(InvalidArgument, "unknown action {name}"))?;
        let scope = match p.get("key-id").filter(|k| !k.is_empty()) {
            Some(id) => {
                let key = self
                    .store
                    .key(id)
                    .map_err(s3_error)?
                    .filter(|k| k.account == account)
                    .ok_or_else(|| s3_error!(InvalidArgument, "no access key {id}"))?;
                Some(self.access.scope(&key))
            }
            None => None,
        };
        let source_ip =
            match p.get("source-ip") {
                Some(ip) => Some(ip.parse().map_err(|_| {
                    s3_error!(InvalidArgument, "source-ip {ip} is not an IP address")
                })?),
                None => None,
            };
        let d = self
            .access
            .explain(
                scope.as_ref(),
                Ask {
                    action,
                    bucket: Some(bucket),
                    key: p.get("object"),
                    prefix: p.get("prefix"),
                },
                RequestFacts {
                    source_ip,
                    ..RequestFacts::default()
                },
            )
            .map_err(s3_error)?;
        Ok(json!({
            "bucket": bucket,
            "principal": scope.as_ref().map_or("anonymous", |k| k.id.as_str()),
            "action": action.iam_name(),
            "capability": action.capability().name(),
            "decision": if d.allowed { "allowed" } else { "refused" },
            "reason": d.reason,
            "trace": d.trace,
            "text": d.to_string(),
        }))
    }
}

#[async_trait::async_trait]
impl S3Route for ExplainRoute {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        *method == Method::GET
            && uri.query().is_some_and(|q| {
                q.split('&').any(|p| {
                    matches!(
                        p.split('=').next(),
                        Some("cors-explain" | "access-explain" | "cors-refused" | "cors-report")
                    )
                })
            })
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        if req.credentials.is_some() {
            Ok(())
        } else {
            Err(s3_error!(
                AccessDenied,
                "cors-explain needs a signed request"
            ))
        }
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let path = req.uri.path().trim_start_matches('/');
        let bucket_name = match self.hosts.bucket_of(host) {
            Some(b) => b.to_owned(),
            None => path.split('/').next().unwrap_or("").to_owned(),
        };
        let p = pier_edge::Query::parse(req.uri.query());
        if p.has("access-explain") {
            let account = self.caller_may(&req, Action::ListKeys, &bucket_name)?;
            self.store.bucket(&bucket_name).map_err(s3_error)?;
            return Ok(json_response(self.explain_access(
                &account,
                &bucket_name,
                &p,
            )?));
        }
        self.caller_may(&req, Action::GetBucketCors, &bucket_name)?;
        let bucket = self.store.bucket(&bucket_name).map_err(s3_error)?;
        if p.has("cors-refused") {
            let refused: Vec<_> = self
                .watch
                .refused(&bucket.id)
                .iter()
                .map(seen_json)
                .collect();
            return Ok(json_response(
                json!({"bucket": bucket.name, "refused": refused}),
            ));
        }
        if p.has("cors-report") {
            let staged = self.watch.staged(&bucket.id).map(|s| {
                let r = s.report();
                json!({
                    "since": s.since,
                    "rules": s.text,
                    "same": r.same,
                    "newlyAllowed": r.newly_allowed,
                    "newlyRefused": r.newly_refused,
                    "examples": r.examples.iter().map(seen_json).collect::<Vec<_>>(),
                })
            });
            return Ok(json_response(
                json!({"bucket": bucket.name, "staged": staged}),
            ));
        }
        let get = |k: &str| p.get(k);
        let origin = get("origin");
        let operation = match get("operation") {
            Some(name) => Some(
                Operation::from_b2_name(name)
                    .ok_or_else(|| s3_error!(InvalidArgument, "unknown operation {name}"))?,
            ),
            None => None,
        };
        let endpoint = operation.map_or(Endpoint::S3, Endpoint::of_operation);
        let method = match (get("method"), operation) {
            (Some(m), _) => m.to_owned(),
            (None, Some(op)) => op.s3_method().unwrap_or(op.http_methods()[0]).to_owned(),
            (None, None) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "give method= (GET, PUT, ...) or operation="
                ))
            }
        };
        let preflight = get("preflight") != Some("false");
        let headers = get("headers").filter(|h| !h.is_empty());
        let config = pier_edge::bucket_cors(&bucket).unwrap_or_default();
        let request = CorsRequest {
            endpoint,
            method: if preflight { "OPTIONS" } else { &method },
            origin,
            request_method: preflight.then_some(method.as_str()),
            request_headers: headers,
            preflight,
        };
        Ok(json_response(explanation_json(
            &bucket.name,
            &config,
            &request,
        )))
    }
}

fn json_response(body: serde_json::Value) -> S3Response<Body> {
    let mut resp = S3Response::new(Body::from(body.to_string()));
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn explanation_json(
    bucket: &str,
    config: &CorsConfig,
    request: &CorsRequest<'_>,
) -> serde_json::Value {
    let ex = config.explain(request);
    let (decision, headers) = match &ex.decision {
        Decision::Allowed { headers, .. } => (
            "allowed",
            headers
                .iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
                .collect::<serde_json::Map<_, _>>(),
        ),
        Decision::Refused(_) => ("refused", Default::default()),
        Decision::NotCors => ("not-cors", Default::default()),
    };
    let rules: Vec<serde_json::Value> = ex
        .reasons()
        .into_iter()
        .map(|(i, reason)| {
            json!({
                "rule": i + 1,
                "name": config.rules()[i].name(),
                "matched": reason == "matched",
                "reason": reason,
            })
        })
        .collect();
    json!({
        "bucket": bucket,
        "decision": decision,
        "summary": ex.summary(),
        "headers": headers,
        "rules": rules,
        "text": ex.to_string(),
    })
}
