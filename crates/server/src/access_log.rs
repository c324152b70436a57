//! The structured access log: one JSON object per answered request, written by a background
//! thread so the request path never waits on the disk. When the writer falls behind, lines are
//! dropped and counted (the count is logged), never queued without bound.

use pier_edge::exchange::Exchange;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

/// Lines waiting for the writer at most.
const QUEUE: usize = 8192;

/// One access-log line.
#[derive(Debug, Serialize)]
pub struct AccessRecord<'a> {
    /// Milliseconds since the Unix epoch, when the answer was ready.
    pub time_ms: i64,
    /// The request id (also sent as `x-amz-request-id` on S3 answers).
    pub request_id: &'a str,
    /// The access key the request claims (its signature or token); whether it verified shows
    /// in the status.
    pub key_id: Option<&'a str>,
    /// The HTTP method.
    pub method: &'a str,
    /// The HTTP version the request came in (`HTTP/1.1`, `HTTP/2.0`).
    pub protocol: &'static str,
    /// The request and its answer (`api`, `operation`, `bucket`, `status`, `bytes_in`,
    /// `bytes_out`, `duration_ms`, `cors`).
    #[serde(flatten)]
    pub exchange: Exchange<'a>,
}

impl<'a> AccessRecord<'a> {
    /// The record of `x`, a request with this method and HTTP version.
    pub fn new(
        x: &Exchange<'a>,
        request_id: &'a str,
        key_id: Option<&'a str>,
        (method, version): (&'a str, http::Version),
    ) -> Self {
        AccessRecord {
            time_ms: pier_store::now_millis(),
            request_id,
            key_id,
            method,
            protocol: protocol_name(version),
            exchange: *x,
        }
    }
}

/// How the access log names an HTTP version.
fn protocol_name(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "other",
    }
}

/// A handle to the access-log writer thread.
pub struct AccessLog {
    lines: SyncSender<String>,
    dropped: AtomicU64,
}

impl AccessLog {
    /// Appends to `path` (`-` for standard output).
    pub fn open(path: &Path) -> std::io::Result<AccessLog> {
        let mut out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        };
        let (lines, rx) = sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("pier-access-log".into())
            .spawn(move || {
                while let Ok(line) = rx.recv() {
                    let mut ok = out.write_all(line.as_bytes()).is_ok();
                    // Write what queued meanwhile before flushing once.
                    while let Ok(more) = rx.try_recv() {
                        ok &= out.write_all(more.as_bytes()).is_ok();
                    }
                    if !ok || out.flush().is_err() {
                        tracing::warn!("writing the access log failed");
                    }
                }
            })?;
        Ok(AccessLog {
            lines,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues one record; drops it (counted) when the writer is behind.
    pub fn write(&self, record: &AccessRecord<'_>) {
        let mut line = serde_json::to_string(record).expect("plain data serializes");
        line.push('\n');
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.lines.try_send(line)
        {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "access log writer is behind; lines dropped");
            }
        }
    }
}

/// The access key a request claims: SigV4 (`Credential=KEY/...` in `Authorization` or
/// `X-Amz-Credential`), SigV2 (`AWS KEY:signature`), or a B2 token's key.
pub fn claimed_key(headers: &http::HeaderMap, query: Option<&str>) -> Option<String> {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(auth) = auth {
        if let Some(rest) = auth.split("Credential=").nth(1) {
            return rest.split('/').next().map(str::to_owned);
        }
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_owned);
        }
        return pier_b2::token::claimed_key(auth);
    }
    let query = pier_edge::Query::parse(query);
    if let Some(cred) = query.get("X-Amz-Credential") {
        return cred.split('/').next().map(str::to_owned);
    }
    query.get("AWSAccessKeyId").map(str::to_owned).or_else(|| {
        query
            .get("Authorization")
            .and_then(pier_b2::token::claimed_key)
    })
}

#[cfg(test)]
mod tests {
    use super::claimed_key;
    use http::HeaderMap;

    #[test]
    fn keys_are_read_from_every_signature_form() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID1/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        assert_eq!(claimed_key(&h, None).as_deref(), Some("AKID1"));
        h.insert("authorization", "AWS AKID2:sig".parse().unwrap());
        assert_eq!(claimed_key(&h, None).as_deref(), Some("AKID2"));
        let q =
            "X-Amz-Credential=AKID3%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x";
        assert_eq!(
            claimed_key(&HeaderMap::new(), Some(q)).as_deref(),
            Some("AKID3")
        );
        assert_eq!(claimed_key(&HeaderMap::new(), None), None);
    }
}
