//! The front router: one hyper service in front of everything.

use crate::cors::CorsLayer;
use crate::fixes::{check_presigned_expiry, strip_forbidden_body};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use pier_s3::service::VirtualHosts;
use pier_store::Store;
use s3s::service::S3Service;
use s3s::Body;
use std::convert::Infallible;
use std::sync::Arc;

/// Paths under this prefix are pier's own (no S3 bucket name can start with `_`).
pub const PIER_PREFIX: &str = "/_pier/";

/// The front service. Cheap to clone.
#[derive(Clone)]
pub struct Front {
    inner: Arc<Inner>,
}

struct Inner {
    s3: S3Service,
    b2: pier_b2::B2Api,
    cors: CorsLayer,
}

impl Front {
    /// Serves `store` over S3 (virtual-host style under `domains`).
    pub fn new(store: Store, domains: Vec<String>) -> Front {
        let hosts = VirtualHosts::new(domains);
        let s3 = pier_s3::service::build(store.clone(), hosts.clone());
        Front {
            inner: Arc::new(Inner {
                s3,
                b2: pier_b2::B2Api::new(store.clone()),
                cors: CorsLayer::new(store, hosts),
            }),
        }
    }

    async fn handle(self, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        if req.uri().path().starts_with(PIER_PREFIX) {
            return strip_forbidden_body(&method, pier_route(&req));
        }
        let cors = self.inner.cors.facts(&req);
        if method == Method::OPTIONS {
            // Before authentication: a preflight carries no credentials, and the query string of
            // a presigned URL is not checked for it.
            return self.inner.cors.preflight(&cors);
        }
        if pier_b2::is_b2_path(req.uri().path()) {
            // B2 requests carry B2 tokens, which s3s would reject: they never reach it.
            let mut resp = self.inner.b2.handle(req).await;
            self.inner.cors.decorate(&cors, &mut resp);
            return strip_forbidden_body(&method, resp);
        }
        if let Some(refusal) = check_presigned_expiry(req.uri().query()) {
            let mut resp = strip_forbidden_body(&method, refusal);
            self.inner.cors.decorate(&cors, &mut resp);
            return resp;
        }
        let expect = crate::fixes::expects_continue(req.headers());
        let empty = crate::fixes::expects_continue_without_body(&req);
        let req = req.map(Body::from);
        let resp = match self.inner.s3.call(req).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(error = ?e, "s3 service failed");
                crate::fixes::xml_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                )
            }
        };
        let resp = crate::fixes::aws_policy_refusal(&method, resp);
        let mut resp = strip_forbidden_body(&method, resp);
        self.inner.cors.decorate(&cors, &mut resp);
        // A final answer that may have come without `100 Continue`: see `fixes`.
        if empty || (expect && !resp.status().is_success()) {
            crate::fixes::close_connection(&mut resp);
        }
        resp
    }
}

fn pier_route(req: &Request<Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/_pier/health") => Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(Bytes::from_static(b"ok\n")))
            .expect("static response parts are valid"),
        _ => crate::fixes::xml_error(StatusCode::NOT_FOUND, "NotFound", "No such pier endpoint."),
    }
}

impl hyper::service::Service<Request<Incoming>> for Front {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
