//! Corrections applied around s3s 0.14.1 at the edge.

use bytes::Bytes;
use http::{header, Method, Response, StatusCode};
use s3s::Body;

/// The longest validity of a presigned URL (seven days), as S3 enforces.
pub const MAX_PRESIGNED_EXPIRY_SECS: u64 = 604_800;

/// Removes bodies that HTTP forbids: on answers to HEAD (s3s 0.14.1 attaches XML error bodies)
/// and on 304 Not Modified. Keeps `Content-Length` on HEAD (it describes the object).
pub fn strip_forbidden_body(method: &Method, mut resp: Response<Body>) -> Response<Body> {
    let not_modified = resp.status() == StatusCode::NOT_MODIFIED;
    if *method == Method::HEAD || not_modified {
        if resp.status().is_client_error() || resp.status().is_server_error() || not_modified {
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            resp.headers_mut().remove(header::CONTENT_TYPE);
        }
        *resp.body_mut() = Body::empty();
    }
    resp
}

/// True when a request carries `Expect: 100-continue` but no body, so it will be answered
/// without a `100 Continue`.
///
/// botocore (aws CLI, boto3) mishandles a final response that arrives without `100 Continue` on
/// a kept-alive connection: it keeps that response's status for the next request on the same
/// connection and then hangs until its read timeout. hyper sends `100 Continue` only when a body
/// is read, so such answers close the connection ([`close_connection`]), which RFC 9110 allows.
pub fn expects_continue_without_body<B>(req: &http::Request<B>) -> bool {
    expects_continue(req.headers())
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
}

/// True when `Expect: 100-continue` is among `headers`.
pub fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Asks for the connection to be closed after this response.
pub fn close_connection(resp: &mut Response<Body>) {
    resp.headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
}

/// S3's XML error document.
pub fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    xml_response(status, &[("Code", code), ("Message", message)])
}

/// An S3 `<Error>` document with the given elements, in order.
pub fn xml_response(status: StatusCode, elements: &[(&str, &str)]) -> Response<Body> {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    for (name, value) in elements {
        body.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    body.push_str("</Error>");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(Bytes::from(body)))
        .expect("static response parts are valid")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Refuses a presigned URL valid for more than seven days (s3s 0.14.1 accepts any expiry).
pub fn check_presigned_expiry(query: Option<&str>) -> Option<Response<Body>> {
    let query = query?;
    let expires = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Expires="))?;
    let too_long = match expires.parse::<u64>() {
        Ok(secs) => secs > MAX_PRESIGNED_EXPIRY_SECS,
        Err(_) => true,
    };
    too_long.then(|| {
        xml_error(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_expiry_cap() {
        assert!(check_presigned_expiry(Some("X-Amz-Expires=604800&a=b")).is_none());
        assert!(check_presigned_expiry(Some("a=b&X-Amz-Expires=604801")).is_some());
        assert!(check_presigned_expiry(Some("X-Amz-Expires=soon")).is_some());
        assert!(check_presigned_expiry(None).is_none());
    }

    #[test]
    fn head_errors_lose_their_body() {
        let resp = xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "x");
        let resp = strip_forbidden_body(&Method::HEAD, resp);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.headers().get(header::CONTENT_TYPE).is_none());
    }
}
