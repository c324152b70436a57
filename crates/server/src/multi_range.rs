//! A `Range` naming several ranges (`bytes=0-4, 6-8`), answered as AWS S3 answers it: `200`
//! with the whole object (clients such as electron-builder's differential updater send such
//! ranges and fall back on a 200; aws-c-s3 #257). s3s 0.14.1 refuses one with `400
//! InvalidArgument` while it deserializes GetObject, which happens after it has verified the
//! signature and asked for access. So:
//! - a multi-range `Range` that is not signed (anonymous requests, presigned URLs, SigV2) is
//!   dropped before s3s;
//! - a SigV4 request that signed its `Range` goes to s3s as sent, and once s3s refused the
//!   range (which proves both the signature and the access), the front sends it again without
//!   it, presigned with its own key in the original caller's name ([`FrontKey`],
//!   [`OnBehalfOf`]), so the whole object comes back through the same handler, access check
//!   and CORS decoration.

use http::{header, HeaderMap, Request, Response};
use pier_s3::auth::{FrontKey, OnBehalfOf};
use s3s::Body;

/// True when the request's `Range` names more than one range.
pub fn is_multi(headers: &HeaderMap) -> bool {
    headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .is_some_and(|ranges| ranges.contains(','))
}

/// True when the request's signature covers its `Range` (SigV4 `SignedHeaders`, in the
/// `Authorization` header or a presigned URL's `X-Amz-SignedHeaders`).
pub fn range_is_signed<B>(req: &Request<B>) -> bool {
    let lists_range = |list: &str| list.split(';').any(|h| h.eq_ignore_ascii_case("range"));
    let in_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("SignedHeaders=").nth(1))
        .is_some_and(|rest| lists_range(rest.split(',').next().unwrap_or("")));
    let in_query = pier_edge::Query::parse(req.uri().query())
        .get("X-Amz-SignedHeaders")
        .is_some_and(lists_range);
    in_header || in_query
}

/// A SigV4 header-signed multi-range GET or HEAD, kept to be sent again whole.
pub struct Retry {
    method: http::Method,
    raw_path: String,
    host: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    extensions: http::Extensions,
    caller: Option<String>,
}

/// Headers of the original request that belong to its own signature.
const AUTH_HEADERS: [&str; 5] = [
    "authorization",
    "range",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

impl Retry {
    /// The request as it would be sent again, for a SigV4 header-signed request; `None` for
    /// any other (a presigned URL that signed its `Range` keeps s3s's answer).
    pub fn of<B>(req: &Request<B>) -> Option<Retry> {
        let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        let credential = auth.strip_prefix("AWS4-HMAC-SHA256")?;
        let caller = credential
            .split("Credential=")
            .nth(1)?
            .split('/')
            .next()?
            .trim()
            .to_owned();
        let host = pier_edge::request_host(req.headers(), req.uri())?.to_owned();
        let mut headers = req.headers().clone();
        for name in AUTH_HEADERS {
            headers.remove(name);
        }
        let mut extensions = http::Extensions::new();
        if let Some(client) = req.extensions().get::<pier_edge::access::ClientAddr>() {
            extensions.insert(*client);
        }
        Some(Retry {
            method: req.method().clone(),
            raw_path: req.uri().path().to_owned(),
            host,
            query: pier_edge::Query::parse(req.uri().query())
                .pairs()
                .iter()
                .filter(|(k, _)| !k.starts_with("X-Amz-"))
                .cloned()
                .collect(),
            headers,
            extensions,
            caller: Some(caller),
        })
    }

    /// True when `resp` is s3s refusing the `Range` header (after the signature and access
    /// checks passed).
    pub fn refused_range(resp: &Response<Body>) -> bool {
        resp.status() == http::StatusCode::BAD_REQUEST
            && resp.body().bytes().is_some_and(|b| {
                let text = String::from_utf8_lossy(&b);
                text.contains("<Code>InvalidArgument</Code>")
                    && text.contains("invalid header: range")
            })
    }

    /// The request again, without its `Range`, presigned for `region` with `front` in the
    /// caller's name.
    pub fn request(self, front: &FrontKey, region: &str) -> Option<Request<Body>> {
        let query = pier_edge::presign::sign_query(&pier_edge::presign::QueryAuth {
            method: self.method.as_str(),
            host: &self.host,
            raw_path: &self.raw_path,
            query: &self.query,
            content_type: None,
            expires: 60,
            access_key: &front.id,
            secret_key: front.secret(),
            region,
            now: std::time::SystemTime::now(),
        })
        .ok()?;
        let mut req = Request::builder()
            .method(self.method)
            .uri(format!("{}?{query}", self.raw_path))
            .body(Body::empty())
            .ok()?;
        *req.headers_mut() = self.headers;
        *req.extensions_mut() = self.extensions;
        req.extensions_mut().insert(OnBehalfOf(self.caller));
        Some(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(range: &str, auth: Option<&str>, query: &str) -> Request<()> {
        let mut b = Request::builder()
            .uri(format!("/b/k{query}"))
            .header(header::HOST, "127.0.0.1:9000")
            .header(header::RANGE, range);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn several_ranges_and_their_signing_are_recognised() {
        let signed = "AWS4-HMAC-SHA256 Credential=PIERK/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=ab";
        let unsigned = "AWS4-HMAC-SHA256 Credential=PIERK/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab";
        assert!(is_multi(req("bytes=0-4, 6-8", None, "").headers()));
        assert!(!is_multi(req("bytes=0-4", None, "").headers()));
        assert!(range_is_signed(&req("bytes=0-1,3-4", Some(signed), "")));
        assert!(!range_is_signed(&req("bytes=0-1,3-4", Some(unsigned), "")));
        assert!(!range_is_signed(&req(
            "bytes=0-1,3-4",
            None,
            "?X-Amz-SignedHeaders=host"
        )));
        assert!(range_is_signed(&req(
            "bytes=0-1,3-4",
            None,
            "?X-Amz-SignedHeaders=host%3Brange"
        )));
    }

    #[test]
    fn the_retry_names_the_caller_and_drops_the_old_signature() {
        let signed = "AWS4-HMAC-SHA256 Credential=PIERK/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;range, Signature=ab";
        let retry = Retry::of(&req("bytes=0-1,3-4", Some(signed), "?versionId=v1")).unwrap();
        let front = FrontKey::new();
        let again = retry.request(&front, "us-east-1").unwrap();
        assert!(again.headers().get(header::RANGE).is_none());
        assert!(again.headers().get(header::AUTHORIZATION).is_none());
        let query = again.uri().query().unwrap();
        assert!(query.contains("versionId=v1"), "{query}");
        assert!(query.contains(&front.id), "{query}");
        assert_eq!(
            again.extensions().get::<OnBehalfOf>(),
            Some(&OnBehalfOf(Some("PIERK".into())))
        );
    }
}
