//! Where a cluster's blobs are: the `s3://` location configuration names, read without the
//! cluster's client (so a build without the S3 blob backend still reads and refuses it).

/// Where blobs go: `s3://BUCKET[/PREFIX]?endpoint=URL&region=R`, with credentials from the
/// environment (`PIER_BLOBS_ACCESS_KEY_ID`, `PIER_BLOBS_SECRET_ACCESS_KEY`).
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
}

impl S3Location {
    /// Reads `s3://BUCKET[/PREFIX][?endpoint=URL&region=R]`.
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
                other => return Err(format!("unknown blob location parameter {other:?}")),
            }
        }
        Ok(location)
    }
}
