//! Helpers shared by pier's API edges (S3, B2, the HTTP front, the CLI), so each exists once.
//!
//! - [`listen`]: serving a listener (the API's, the dashboard's) under a connection cap and a
//!   head timeout that runs from accept, with `accept` failures backed off.
//! - [`b2_lifecycle`]: B2's lifecycle rules, parsed, validated and shown (B2 API and console).
//! - [`audit`]: the audit log as it is exported (JSON lines, RFC 3339 times).
//! - [`access`]: the access engine's door for both APIs ([`access::Access`]).
//! - [`access_watch`]: report-only access changes (a staged policy or public setting) and the
//!   requests whose verdict they would change.
//! - [`names`]: the object-name rules B2 applies, for every door that creates names B2's way.
//! - [`public_block`]: a bucket's public access block, as every edge that can make a bucket
//!   public applies it.
//! - [`limits`]: caps as people write them (`10GiB`, `none`), for the CLI and the console.
//! - [`refusals`]: refusals logged once each (within a budget) and otherwise counted.
//! - [`presign`]: SigV4 presigned URLs and signatures.
//! - [`website`]: a bucket's static website configuration and the routing it does.
//! - [`exchange`]: one finished request, as the metrics, the access log and the charts record
//!   it.
//! - [`traffic`]: requests, bytes, refusals and latency over the last hour and day, in memory,
//!   for the console's charts.
//! - [`tags`]: tags as S3 limits them, for the S3 API and the console.
//! - [`tls`]: the listeners' certificate from PEM files, checked and reloadable.
//! - [`sigv4`]: SigV4 header authentication for the requests s3s does not check (the topic API).
//! - [`percent`]: percent-encoding and decoding in the flavours the edges need (SigV4's RFC 3986
//!   set, S3's `encoding-type=url`, B2's file names), strict or lossy about UTF-8.
//! - [`query`]: a request's query string as decoded pairs.
//! - [`request_host`]: the host a request was sent to, over HTTP/1.1 or HTTP/2.
//! - [`secret_eq`]: constant-time comparison of secrets and MACs.
//! - [`bucket_cors`]: a bucket's stored CORS rules, loaded the one way every edge reads them.
//! - [`BodyStalled`]: the error of a request body whose client stopped sending, and
//!   [`is_body_stall`] to recognise it through the layers that wrap it.

pub mod access;
pub mod access_watch;
pub mod audit;
pub mod b2_lifecycle;
pub mod cors_watch;
pub mod exchange;
pub mod limits;
pub mod listen;
pub mod names;
pub mod percent;
pub mod presign;
pub mod public_block;
pub mod query;
pub mod refusals;
pub mod sigv4;
pub mod tags;
pub mod tls;
pub mod traffic;
pub mod website;

pub use query::{Query, RawQuery};

use pier_cors::CorsConfig;
use pier_store::Bucket;

/// True when `a` and `b` are equal, in time that depends only on their lengths (never on where
/// they first differ), so a MAC or secret cannot be guessed byte by byte.
pub fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The host a request was sent to, as the client wrote it (with any port): its `Host` header
/// (HTTP/1.1), or else the URI's authority (HTTP/2's `:authority`); `None` when it has neither
/// or `Host` is not visible ASCII.
pub fn request_host<'a>(headers: &'a http::HeaderMap, uri: &'a http::Uri) -> Option<&'a str> {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
}

/// The bucket's enabled CORS rules: `None` when it has none, when they enable nothing, or when
/// the stored text does not load (logged as an error: rules that were accepted must load).
pub fn bucket_cors(bucket: &Bucket) -> Option<CorsConfig> {
    let text = bucket.cors.as_deref()?;
    match CorsConfig::from_stored(text) {
        Ok(config) if config.is_enabled() => Some(config),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(bucket = %bucket.name, error = %e, "stored CORS rules do not load");
            None
        }
    }
}

/// The error a request body ends with when its client stopped sending for the given time, or
/// sent no more than the given bytes in it, below the minimum rate (the HTTP front's stall guard
/// raises it; the APIs answer it as a request timeout).
#[derive(Debug)]
pub struct BodyStalled(pub std::time::Duration, pub u64);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            0 => write!(
                f,
                "the request body sent nothing for {} s",
                self.0.as_secs()
            ),
            n => write!(
                f,
                "the request body sent only {n} bytes in {} s, below the minimum rate",
                self.0.as_secs()
            ),
        }
    }
}

impl std::error::Error for BodyStalled {}

/// True when `e`, or any error in its source chain, is [`BodyStalled`].
pub fn is_body_stall(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<BodyStalled>().is_some() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::secret_eq;

    #[test]
    fn secret_eq_compares_whole_values() {
        assert!(secret_eq(b"abc", b"abc"));
        assert!(!secret_eq(b"abc", b"abd"));
        assert!(!secret_eq(b"abc", b"abcd"));
        assert!(secret_eq(b"", b""));
    }
}
