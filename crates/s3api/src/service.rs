//! Builds the s3s service: pier's operations, its auth, and host parsing for virtual-host-style
//! requests.

use crate::auth::{PierAccess, StoreAuth};
use crate::PierS3;
use pier_store::Store;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};
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

/// The S3 service over `store`, authenticating with the store's keys and deciding access with
/// `access` (shared with the other APIs, so each bucket policy is parsed once).
pub fn build(
    store: Store,
    hosts: VirtualHosts,
    access: pier_edge::access::Access,
    watch: pier_edge::cors_watch::CorsWatch,
    front: crate::auth::FrontKey,
    region: String,
) -> S3Service {
    let mut builder = S3ServiceBuilder::new(PierS3::new(store.clone(), access.clone(), region));
    let mut config = s3s::config::S3Config::default();
    // The HTTP front reads documents first, with the same bound and proper errors.
    config.xml_max_body_size = 4 * 1024 * 1024;
    builder.set_config(std::sync::Arc::new(s3s::config::StaticConfigProvider::new(
        std::sync::Arc::new(config),
    )));
    let front_id = front.id.clone();
    builder.set_auth(StoreAuth::new(store.clone(), front));
    builder.set_access(PierAccess::new(store.clone(), access.clone(), front_id));
    builder.set_route(crate::explain_route::ExplainRoute::new(
        store.clone(),
        hosts.clone(),
        access,
        watch,
    ));
    builder.set_host(hosts);
    builder.build()
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
