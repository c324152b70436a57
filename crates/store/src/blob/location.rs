//! Where a cluster's blobs are: the `s3://` location configuration names, read without the
//! cluster's client (so a build without the S3 blob backend still reads and refuses it).

/// Where blobs go: `s3://BUCKET[/PREFIX]?endpoint=URL&region=R&payload=crc32c|signed`, with
/// credentials from the environment (`PIER_BLOBS_ACCESS_KEY_ID`, `PIER_BLOBS_SECRET_ACCESS_KEY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The backend bucket.
    pub bucket: String,
    /// The prefix of every blob's name (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// The backend's address (`http://host:port`); `None`: AWS.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` when not given).
    pub region: String,
    /// How the cluster checks a blob streamed to it (`payload=`; a CRC32C trailer when not
    /// given).
    pub check: BodyCheck,
}

/// How the cluster checks a streamed body's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyCheck {
    /// A CRC32C of the whole body in a trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): the
    /// cluster refuses a body whose bytes changed on the way. The headers are signed; the bytes
    /// are not, so only TLS (an `https` endpoint) keeps someone on the path from changing both.
    #[default]
    Crc32cTrailer,
    /// A SigV4 signature over each chunk's SHA-256 (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), for
    /// clusters that do not take trailers: more CPU on both sides.
    SignedChunks,
}

impl S3Location {
    /// Reads `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&payload=P]`; `P` is `crc32c` or
    /// `signed`.
    pub fn parse(text: &str) -> std::result::Result<S3Location, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("a blob location starts with s3://, not {text:?}"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err(format!("no bucket in the blob location {text:?}"));
        }
        let mut location = S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: None,
            region: "us-east-1".into(),
            check: BodyCheck::default(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("{name} in the blob location is not valid UTF-8"))?
                .into_owned();
            match name {
                "endpoint" => location.endpoint = Some(value),
                "region" => location.region = value,
                "payload" => {
                    location.check = match value.as_str() {
                        "crc32c" => BodyCheck::Crc32cTrailer,
                        "signed" => BodyCheck::SignedChunks,
                        other => {
                            return Err(format!(
                                "payload in the blob location is crc32c or signed, not {other:?}"
                            ))
                        }
                    }
                }
                other => return Err(format!("unknown blob location parameter {other:?}")),
            }
        }
        Ok(location)
    }
}

#[cfg(test)]
mod tests {
    use super::{BodyCheck, S3Location};

    #[test]
    fn a_location_names_bucket_prefix_endpoint_and_region() {
        assert_eq!(
            S3Location::parse("s3://blobs/pier/a?endpoint=http%3A%2F%2F127.0.0.1%3A8333&region=eu")
                .unwrap(),
            S3Location {
                bucket: "blobs".into(),
                prefix: "pier/a".into(),
                endpoint: Some("http://127.0.0.1:8333".into()),
                region: "eu".into(),
                check: BodyCheck::Crc32cTrailer,
            }
        );
        assert_eq!(
            S3Location::parse("s3://blobs?endpoint=http://h:1")
                .unwrap()
                .endpoint
                .as_deref(),
            Some("http://h:1")
        );
    }

    #[test]
    fn a_location_may_ask_for_signed_chunks_or_a_crc32c_trailer() {
        let check = |text| S3Location::parse(text).map(|l| l.check);
        assert_eq!(check("s3://b?payload=signed"), Ok(BodyCheck::SignedChunks));
        assert_eq!(check("s3://b?payload=crc32c"), Ok(BodyCheck::Crc32cTrailer));
        assert_eq!(check("s3://b"), Ok(BodyCheck::Crc32cTrailer));
        assert!(check("s3://b?payload=md5").is_err());
    }

    #[test]
    fn a_location_without_a_bucket_or_with_unknown_parameters_is_refused() {
        assert!(S3Location::parse("s3://").is_err());
        assert!(S3Location::parse("file:///x").is_err());
        assert!(S3Location::parse("s3://b?colour=red").is_err());
    }
}
