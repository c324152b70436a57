//! The server's region, as SigV4 requests must name it. s3s 0.14.1 verifies a signature with
//! whatever region its credential scope names (and refuses one that is not lower-case with
//! `400 InvalidRequest`); AWS refuses a region other than its own with `400
//! AuthorizationHeaderMalformed` (a presigned URL: `AuthorizationQueryParametersError`) and a
//! `<Region>` element saying which one to use, which clients read to sign again: s3cmd's
//! default configuration signs for `US` and relies on it.

use http::{header, Request, Response};
use pier_s3::fault::{S3ErrorKind, S3Fault};
use s3s::Body;

/// The region a SigV4 request's credential scope names, and whether it came in a presigned
/// URL (else the `Authorization` header); `None` for any other request.
fn named<B>(req: &Request<B>) -> Option<(String, bool)> {
    let scope_region = |credential: &str| credential.split('/').nth(2).map(str::to_owned);
    if let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("AWS4-HMAC-SHA256"))
    {
        let credential = auth.split("Credential=").nth(1)?.split(',').next()?;
        return Some((scope_region(credential.trim())?, false));
    }
    let credential = req.uri().query()?.split('&').find_map(|p| {
        p.strip_prefix("X-Amz-Credential=")
            .map(pier_edge::percent::decode_lossy)
    })?;
    Some((scope_region(&credential)?, true))
}

/// The answer AWS gives a SigV4 request whose credential scope names another region than
/// `region`; `None` when it names `region` (or is no SigV4 request).
pub fn refusal<B>(req: &Request<B>, region: &str) -> Option<Response<Body>> {
    let (named, presigned) = named(req)?;
    if named == region {
        return None;
    }
    let (kind, message) = if presigned {
        (
            S3ErrorKind::AuthorizationQueryParametersError,
            format!(
                "Error parsing the X-Amz-Credential parameter; the region '{named}' is wrong; expecting '{region}'"
            ),
        )
    } else {
        (
            S3ErrorKind::AuthorizationHeaderMalformed,
            format!(
                "The authorization header is malformed; the region '{named}' is wrong; expecting '{region}'"
            ),
        )
    };
    Some(
        S3Fault::new(kind, message)
            .with("Region", region)
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(region: &str) -> Request<()> {
        Request::builder()
            .uri("/b/k")
            .header(
                header::AUTHORIZATION,
                format!("AWS4-HMAC-SHA256 Credential=PIERK/20261206/{region}/s3/aws4_request, SignedHeaders=host, Signature=ab"),
            )
            .body(())
            .unwrap()
    }

    #[test]
    fn another_region_is_refused_as_aws_refuses_it() {
        assert!(refusal(&signed("us-east-1"), "us-east-1").is_none());
        let r = refusal(&signed("US"), "us-east-1").unwrap();
        assert_eq!(r.status(), http::StatusCode::BAD_REQUEST);
        let body = String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap();
        assert!(
            body.contains("<Code>AuthorizationHeaderMalformed</Code>"),
            "{body}"
        );
        assert!(body.contains("<Region>us-east-1</Region>"), "{body}");
        assert!(body.contains("the region 'US' is wrong"), "{body}");
        let presigned = Request::builder()
            .uri("/b/k?X-Amz-Credential=PIERK%2F20261206%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=ab")
            .body(())
            .unwrap();
        let r = refusal(&presigned, "us-east-1").unwrap();
        let body = String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap();
        assert!(
            body.contains("<Code>AuthorizationQueryParametersError</Code>"),
            "{body}"
        );
        let v2 = Request::builder()
            .header(header::AUTHORIZATION, "AWS PIERK:sig")
            .body(())
            .unwrap();
        assert!(refusal(&v2, "us-east-1").is_none());
    }
}
