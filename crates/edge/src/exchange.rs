//! [`Exchange`]: one finished request, described once for everything that records it (the
//! metrics, the access log, the console's traffic charts).

use serde::{Serialize, Serializer};
use std::time::Duration;

/// One finished request: what it asked of which API, and how it was answered. Serialized, it
/// is the access log's fields for it (`duration_ms` in fractional milliseconds, `cors` as
/// [`CorsVerdict::as_str`]).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Exchange<'a> {
    /// `s3`, `b2`, `website` or `pier`.
    pub api: &'static str,
    /// The operation (`GetObject`, `b2_upload_file`, ...).
    pub operation: &'static str,
    /// The bucket, when the request names one.
    pub bucket: Option<&'a str>,
    /// The HTTP status answered.
    pub status: u16,
    /// Request body bytes declared (`Content-Length`).
    pub bytes_in: u64,
    /// Response body bytes (exact for every body pier sends).
    pub bytes_out: u64,
    /// Time from the request head to the response head.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// What the CORS layer decided.
    pub cors: CorsVerdict,
}

/// What the CORS layer decided for one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorsVerdict {
    /// Not a CORS request (no `Origin`), or an API call CORS does not cover.
    NotCors,
    /// A rule matched: its headers were sent.
    Allowed,
    /// No rule (or no rules at all) allowed it.
    Refused,
}

impl CorsVerdict {
    /// A short lower-case name: `none`, `allowed` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            CorsVerdict::NotCors => "none",
            CorsVerdict::Allowed => "allowed",
            CorsVerdict::Refused => "refused",
        }
    }
}

impl Serialize for CorsVerdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_access_log_fields() {
        let x = Exchange {
            api: "s3",
            operation: "GetObject",
            bucket: Some("photos"),
            status: 200,
            bytes_in: 0,
            bytes_out: 5,
            duration: Duration::from_micros(1500),
            cors: CorsVerdict::Refused,
        };
        let json = serde_json::to_value(x).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "api": "s3", "operation": "GetObject", "bucket": "photos", "status": 200,
                "bytes_in": 0, "bytes_out": 5, "duration_ms": 1.5, "cors": "refused"
            })
        );
    }
}
