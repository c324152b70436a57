//! Authentication and access: s3s checks signatures with secrets looked up here, and asks
//! [`PierAccess`] whether an (authenticated or anonymous) request may proceed.

use crate::error::s3_error;
use pier_store::Store;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

/// Looks up secrets in the store's access keys (every request, so `pier key delete` takes
/// effect at once).
#[derive(Clone, Debug)]
pub struct StoreAuth {
    store: Store,
}

impl StoreAuth {
    /// Authenticates against `store`'s keys.
    pub fn new(store: Store) -> Self {
        StoreAuth { store }
    }
}

#[async_trait::async_trait]
impl S3Auth for StoreAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.store.key(access_key).map_err(s3_error)? {
            Some(key) => Ok(SecretKey::from(key.secret)),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

/// Every signed request with a known key may do everything (one tenant). Anonymous requests may
/// only read objects (GET, HEAD) of public buckets; everything else is refused.
#[derive(Clone, Debug)]
pub struct PierAccess {
    store: Store,
}

impl PierAccess {
    /// Access decisions over `store`'s buckets.
    pub fn new(store: Store) -> Self {
        PierAccess { store }
    }
}

#[async_trait::async_trait]
impl S3Access for PierAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let anonymous_read = matches!(cx.s3_op().name(), "GetObject" | "HeadObject");
        if let (true, s3s::path::S3Path::Object { bucket, .. }) = (anonymous_read, cx.s3_path()) {
            if self.store.bucket(bucket).is_ok_and(|b| b.public) {
                return Ok(());
            }
        }
        Err(s3_error!(AccessDenied, "Access Denied"))
    }
}
