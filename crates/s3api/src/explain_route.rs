//! pier's own S3 extension: `GET /BUCKET?cors-explain&origin=O&method=M&headers=H1,H2
//! [&operation=b2_...][&preflight=false]`, signed like any S3 request, answers with the CORS
//! engine's full explanation of how that browser request would be decided, as JSON.

use crate::error::s3_error;
use crate::service::VirtualHosts;
use http::{Extensions, HeaderMap, HeaderValue, Method, Uri};
use pier_cors::{CorsConfig, CorsRequest, Decision, Endpoint, Operation};
use pier_store::Store;
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};
use serde_json::json;

/// The `cors-explain` route.
pub struct ExplainRoute {
    store: Store,
    hosts: VirtualHosts,
}

impl ExplainRoute {
    /// Explains against `store`'s buckets.
    pub fn new(store: Store, hosts: VirtualHosts) -> Self {
        ExplainRoute { store, hosts }
    }
}

#[async_trait::async_trait]
impl S3Route for ExplainRoute {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        *method == Method::GET
            && uri.query().is_some_and(|q| {
                q.split('&')
                    .any(|p| p == "cors-explain" || p.starts_with("cors-explain="))
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
        let bucket = self.store.bucket(&bucket_name).map_err(s3_error)?;
        let p = pier_edge::Query::parse(req.uri.query());
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
        let body = explanation_json(&bucket.name, &config, &request);
        let mut resp = S3Response::new(Body::from(body.to_string()));
        resp.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(resp)
    }
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
