//! SigV4 presigned URLs (query authentication), as `pier presign`, the dashboard's share links
//! and `pier cors explain --bucket` produce them, and the SigV4 signature browser form policies
//! are checked with: the same algorithm the AWS SDKs use, checked by s3s on the way in. Here,
//! below both edges, so the binary and the dashboard sign without reaching into the S3 adapter.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// The longest validity S3 accepts (seven days).
pub const MAX_EXPIRES_SECS: u64 = 604_800;

/// What to sign.
#[derive(Clone, Debug)]
pub struct Presign<'a> {
    /// `http://host:port` of the server.
    pub endpoint: &'a str,
    /// HTTP method the URL is for.
    pub method: &'a str,
    /// Bucket.
    pub bucket: &'a str,
    /// Key (empty for a bucket URL).
    pub key: &'a str,
    /// Extra query parameters, signed with the URL (e.g. `cors-explain`).
    pub query: Vec<(String, String)>,
    /// A `Content-Type` the request must carry (signed), if any.
    pub content_type: Option<&'a str>,
    /// Validity in seconds (1..=604800).
    pub expires: u64,
    /// Access key id.
    pub access_key: &'a str,
    /// Secret.
    pub secret_key: &'a str,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Signing time.
    pub now: SystemTime,
}

/// RFC 3986 encoding as SigV4 wants it (`/` kept when `keep_slash`).
fn encode(s: &str, keep_slash: bool) -> String {
    use crate::percent::{PATH, UNRESERVED};
    crate::percent::encode(s, if keep_slash { PATH } else { UNRESERVED })
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signature (hex) of `to_sign` under `secret`'s signing key for `day` (YYYYMMDD),
/// `region` and `service`: what presigned URLs carry and browser form policies are signed with.
pub fn sigv4_signature(
    secret: &str,
    day: &str,
    region: &str,
    service: &str,
    to_sign: &str,
) -> String {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day);
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part);
    }
    hex::encode(hmac(&key, to_sign))
}

/// The presigned URL.
pub fn presign_url(p: &Presign<'_>) -> Result<String, String> {
    if p.expires == 0 || p.expires > MAX_EXPIRES_SECS {
        return Err(format!(
            "expiry must be 1 to {MAX_EXPIRES_SECS} seconds (seven days)"
        ));
    }
    let (scheme_host, host) = match p.endpoint.split_once("://") {
        Some((_, rest)) => (p.endpoint.trim_end_matches('/'), rest.trim_end_matches('/')),
        None => {
            return Err(format!(
                "endpoint {:?} must look like http://127.0.0.1:9000",
                p.endpoint
            ))
        }
    };
    let path = if p.key.is_empty() {
        format!("/{}", encode(p.bucket, false))
    } else {
        format!("/{}/{}", encode(p.bucket, false), encode(p.key, true))
    };
    let query = sign_query(&QueryAuth {
        method: p.method,
        host,
        raw_path: &path,
        query: &p.query,
        content_type: p.content_type,
        expires: p.expires,
        access_key: p.access_key,
        secret_key: p.secret_key,
        region: p.region,
        now: p.now,
    })?;
    Ok(format!("{scheme_host}{path}?{query}"))
}

/// What [`sign_query`] signs: a request as it will be sent (its `Host` and its path, already
/// percent-encoded as on the wire).
#[derive(Clone, Debug)]
pub struct QueryAuth<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The `Host` header.
    pub host: &'a str,
    /// The path as sent, percent-encoded.
    pub raw_path: &'a str,
    /// Query parameters besides the signature's, decoded.
    pub query: &'a [(String, String)],
    /// A `Content-Type` the request must carry (signed), if any.
    pub content_type: Option<&'a str>,
    /// Validity in seconds.
    pub expires: u64,
    /// Access key id.
    pub access_key: &'a str,
    /// Its secret.
    pub secret_key: &'a str,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Signing time.
    pub now: SystemTime,
}

/// The query string (every parameter, and `X-Amz-Signature` last) that authenticates `a` with
/// SigV4 query authentication (`UNSIGNED-PAYLOAD`).
pub fn sign_query(a: &QueryAuth<'_>) -> Result<String, String> {
    let now = time::OffsetDateTime::from(a.now);
    let amz_date = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| e.to_string())?;
    let day = &amz_date[..8];
    let scope = format!("{day}/{}/s3/aws4_request", a.region);
    let signed_headers = if a.content_type.is_some() {
        "content-type;host"
    } else {
        "host"
    };
    let mut params: Vec<(String, String)> = a.query.to_vec();
    params.extend([
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            format!("{}/{scope}", a.access_key),
        ),
        ("X-Amz-Date".into(), amz_date.clone()),
        ("X-Amz-Expires".into(), a.expires.to_string()),
        ("X-Amz-SignedHeaders".into(), signed_headers.into()),
    ]);
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (encode(k, false), encode(v, false)))
        .collect();
    encoded.sort();
    let query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers = match a.content_type {
        Some(ct) => format!("content-type:{}\nhost:{}\n", ct.trim(), a.host),
        None => format!("host:{}\n", a.host),
    };
    let canonical = format!(
        "{}\n{}\n{query}\n{canonical_headers}\n{signed_headers}\nUNSIGNED-PAYLOAD",
        a.method, a.raw_path
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signature = sigv4_signature(a.secret_key, day, a.region, "s3", &to_sign);
    Ok(format!("{query}&X-Amz-Signature={signature}"))
}

/// Parses a duration like `3600`, `90s`, `15m`, `1h`, `7d` into seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 3600, 15m, 1h, 7d)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// AWS's documented example (S3 "Authenticating Requests: Using Query Parameters").
    #[test]
    fn matches_the_aws_documented_example() {
        // The example signs `/test.txt` on a virtual host: the same canonical request as a
        // path-style "bucket" named `test.txt`.
        let doc = presign_url(&Presign {
            endpoint: "https://examplebucket.s3.amazonaws.com",
            method: "GET",
            bucket: "test.txt",
            key: "",
            query: vec![],
            content_type: None,
            expires: 86400,
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            now: UNIX_EPOCH + Duration::from_secs(1_369_353_600),
        })
        .unwrap();
        assert!(
            doc.ends_with(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{doc}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90"), Ok(90));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3w").is_err());
    }

    #[test]
    fn durations_that_overflow_are_refused_not_wrapped() {
        assert!(parse_duration("999999999999999999d").is_err());
        assert!(parse_duration("99999999999999999999").is_err());
    }
}
