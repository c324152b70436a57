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

/// A POST Object whose policy conditions failed: s3s 0.14.1 answers 400 `InvalidPolicyDocument`,
/// AWS answers 403 `AccessDenied` ("Invalid according to Policy: Policy Condition failed: ...").
/// Rewrites the former into the latter; other answers pass through.
pub fn aws_policy_refusal(method: &Method, resp: Response<Body>) -> Response<Body> {
    if *method != Method::POST || resp.status() != StatusCode::BAD_REQUEST {
        return resp;
    }
    let Some(body) = resp.body().bytes() else {
        return resp;
    };
    let text = String::from_utf8_lossy(&body);
    if !text.contains("<Code>InvalidPolicyDocument</Code>") || !text.contains("Policy condition") {
        return resp;
    }
    let detail = text
        .split_once("<Message>")
        .and_then(|(_, rest)| rest.split_once("</Message>"))
        .map_or("", |(m, _)| m)
        .replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    xml_error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        &format!("Invalid according to Policy: Policy Condition failed: {detail}"),
    )
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
    fn failed_post_policies_read_as_aws_answers_them() {
        let s3s = xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            "Policy condition 'starts-with' for field 'key' failed",
        );
        let resp = aws_policy_refusal(&Method::POST, s3s);
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body = String::from_utf8(resp.body().bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        assert!(body.contains("Invalid according to Policy: Policy Condition failed: Policy condition 'starts-with'"), "{body}");
        // Other errors pass through.
        let other = xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            "failed to parse POST policy",
        );
        assert_eq!(
            aws_policy_refusal(&Method::POST, other).status(),
            StatusCode::BAD_REQUEST
        );
        let get = xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            "Policy condition x",
        );
        assert_eq!(
            aws_policy_refusal(&Method::GET, get).status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn head_errors_lose_their_body() {
        let resp = xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "x");
        let resp = strip_forbidden_body(&Method::HEAD, resp);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.headers().get(header::CONTENT_TYPE).is_none());
    }
}
