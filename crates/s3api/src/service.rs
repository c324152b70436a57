//! Builds the s3s service: pier's operations, its auth, and host parsing for virtual-host-style
//! requests.

use crate::auth::{PierAccess, StoreAuth};
pub use crate::hosts::VirtualHosts;
use crate::PierS3;
use pier_store::Store;
use s3s::service::{S3Service, S3ServiceBuilder};

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
