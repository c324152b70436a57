//! SigV4 header authentication for requests s3s does not see: the SNS-compatible topic API,
//! whose clients (boto3's `sns`) sign with service `sns` and a form body. The canonical request
//! is AWS's: method, path, sorted query, the signed headers (values trimmed, inner spaces
//! collapsed), their names, and the hex SHA-256 of the body.

use crate::presign::sigv4_signature;
use crate::secret_eq;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// How far a request's `x-amz-date` may be from the server's clock (AWS's 15 minutes).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderAuth {
    /// The access key id.
    pub access_key: String,
    /// The credential scope's day (`YYYYMMDD`).
    pub day: String,
    /// The credential scope's region.
    pub region: String,
    /// The credential scope's service (`sns`, `s3`, ...).
    pub service: String,
    /// The signed headers' names, lower-case, as the header lists them.
    pub signed_headers: Vec<String>,
    /// The signature (hex).
    pub signature: String,
}

/// Why a request's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigError {
    /// No `Authorization` header, or one that is not SigV4's.
    Missing,
    /// A SigV4 header that cannot be read, or an `x-amz-date` missing, malformed, or not of the
    /// credential's day.
    Malformed(String),
    /// `x-amz-date` too far from the server's clock.
    Expired,
    /// The signature does not match.
    Mismatch,
}

/// Reads a SigV4 `Authorization` header value; `None` unless it is one.
pub fn parse_authorization(value: &str) -> Option<HeaderAuth> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let (access_key, day, region, service, terminal) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    if terminal != "aws4_request" || scope.next().is_some() || access_key.is_empty() {
        return None;
    }
    Some(HeaderAuth {
        access_key: access_key.to_owned(),
        day: day.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?.to_owned(),
    })
}

/// The canonical query string: every pair decoded, encoded again with SigV4's set, sorted.
fn canonical_query(query: Option<&str>) -> String {
    let encode = |s: &str| crate::percent::encode(s, crate::percent::UNRESERVED);
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's canonical value: every value joined by `,`, trimmed, inner spaces collapsed.
fn canonical_value(headers: &HeaderMap, name: &str) -> String {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    values.join(",")
}

/// Checks the SigV4 header signature of a request (`path` as sent, `query` raw) whose body
/// is `body`, under `secret`, at `now` (Unix seconds).
pub fn verify(
    auth: &HeaderAuth,
    secret: &str,
    request: (&str, &str, Option<&str>),
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), SigError> {
    let (method, path, query) = request;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SigError::Malformed("x-amz-date is missing".into()))?;
    let at = time::PrimitiveDateTime::parse(
        amz_date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| SigError::Malformed(format!("x-amz-date {amz_date:?} is not a SigV4 date")))?
    .assume_utc();
    if !amz_date.starts_with(&auth.day) {
        return Err(SigError::Malformed(
            "the credential's day is not x-amz-date's".into(),
        ));
    }
    if (at.unix_timestamp() - now).abs() > MAX_SKEW_SECS {
        return Err(SigError::Expired);
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Malformed("the host header must be signed".into()));
    }
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        canonical_headers.push_str(&format!("{name}:{}\n", canonical_value(headers, name)));
    }
    let canonical = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{}",
        canonical_query(query),
        auth.signed_headers.join(";"),
        hex::encode(Sha256::digest(body))
    );
    let scope = format!("{}/{}/{}/aws4_request", auth.day, auth.region, auth.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let expected = sigv4_signature(secret, &auth.day, &auth.region, &auth.service, &to_sign);
    if secret_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SigError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (the SigV4 test suite's `post-x-www-form-urlencoded`).
    #[test]
    fn verifies_the_aws_test_suite_form_post() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        )
        .unwrap();
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let now = 1_440_938_160; // 2015-08-30T12:36:00Z
        let request = ("POST", "/", None);
        assert_eq!(
            verify(&auth, secret, request, &headers, b"Param1=value1", now),
            Ok(())
        );
        assert_eq!(
            verify(&auth, secret, request, &headers, b"Param1=value2", now),
            Err(SigError::Mismatch)
        );
        assert_eq!(
            verify(
                &auth,
                secret,
                request,
                &headers,
                b"Param1=value1",
                now + 3600
            ),
            Err(SigError::Expired)
        );
    }

    #[test]
    fn other_authorization_headers_are_not_sigv4() {
        assert_eq!(parse_authorization("AWS AKID:sig"), None);
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s, Signature=x"),
            None
        );
    }
}
