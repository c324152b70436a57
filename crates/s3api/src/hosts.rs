//! Which bucket a request's `Host` names (virtual-host style), for s3s and for pier's own parse.

use s3s::host::{S3Host, VirtualHost};
use s3s::S3Result;

/// Virtual-host parsing: `BUCKET.DOMAIN[:port]` names a bucket for each configured domain; any
/// other host is path-style. Ports are ignored, so `bucket.localhost:9000` works with domain
/// `localhost`.
#[derive(Clone, Debug, Default)]
pub struct VirtualHosts {
    domains: Vec<String>,
}

impl VirtualHosts {
    /// Hosts under `domains` (e.g. `localhost`, `s3.example.com`) carry the bucket name.
    pub fn new(domains: Vec<String>) -> Self {
        VirtualHosts {
            domains: domains
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The bucket a `Host` header names, if it is virtual-host style.
    pub fn bucket_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        let name = strip_port(host);
        self.domains.iter().find_map(|d| {
            let bucket = name.strip_suffix(d.as_str())?.strip_suffix('.')?;
            (!bucket.is_empty()).then_some(bucket)
        })
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

impl S3Host for VirtualHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some(bucket) => VirtualHost::new(strip_port(host)).with_bucket(bucket),
            None => VirtualHost::new(strip_port(host)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::VirtualHosts;

    #[test]
    fn virtual_hosts() {
        let h = VirtualHosts::new(vec!["localhost".into(), "s3.example.com".into()]);
        assert_eq!(h.bucket_of("photos.localhost:9000"), Some("photos"));
        assert_eq!(h.bucket_of("photos.s3.example.com"), Some("photos"));
        assert_eq!(h.bucket_of("localhost:9000"), None);
        assert_eq!(h.bucket_of("127.0.0.1:9000"), None);
        assert_eq!(h.bucket_of("evil.com"), None);
    }
}
