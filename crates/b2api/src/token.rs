//! Stateless authorization tokens: `pier1.<payload>.<hmac>`, the payload naming the access key,
//! an expiry and a scope, the HMAC made with that key's secret. They survive restarts, and
//! deleting the key revokes them all.

use crate::error::{B2Error, B2ErrorKind, B2Result};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use pier_store::{now_millis, Store};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Account tokens last a day, like B2's.
pub const ACCOUNT_TOKEN_MILLIS: i64 = 24 * 3600 * 1000;

/// What a token allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Scope {
    /// Everything the key may do (from b2_authorize_account).
    #[serde(rename = "a")]
    Account,
    /// Uploads into one bucket (from b2_get_upload_url).
    #[serde(rename = "u")]
    Upload {
        /// Bucket id.
        b: String,
    },
    /// Downloads by name from one bucket under a prefix (from b2_get_download_authorization).
    #[serde(rename = "d")]
    Download {
        /// Bucket id.
        b: String,
        /// File name prefix.
        p: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Payload {
    k: String,
    e: i64,
    s: Scope,
}

fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A token for `access_key` (whose secret is `secret`) valid `millis` from now.
pub fn issue(access_key: &str, secret: &str, scope: Scope, millis: i64) -> String {
    let payload = serde_json::to_string(&Payload {
        k: access_key.to_owned(),
        e: now_millis() + millis,
        s: scope,
    })
    .expect("plain data serializes");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
    let mac = sign(secret, &payload);
    format!("pier1.{payload}.{mac}")
}

/// The access key a token names, without verifying it (for logs: the caller's claim).
pub fn claimed_key(token: &str) -> Option<String> {
    let payload = token.trim().strip_prefix("pier1.")?.split('.').next()?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Payload>(&json).ok().map(|p| p.k)
}

/// Checks a token; returns its access key and scope.
pub fn verify(store: &Store, token: &str) -> B2Result<(String, Scope)> {
    let bad = || B2Error::new(B2ErrorKind::BadAuthToken, "Invalid authorization token");
    let mut parts = token.trim().splitn(3, '.');
    let (Some("pier1"), Some(payload), Some(mac)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad())?;
    let p: Payload = serde_json::from_slice(&json).map_err(|_| bad())?;
    let key = store.key(&p.k)?.ok_or_else(bad)?;
    let expected = sign(&key.secret, payload);
    if !pier_edge::secret_eq(expected.as_bytes(), mac.as_bytes()) {
        return Err(bad());
    }
    if p.e < now_millis() {
        return Err(B2Error::new(
            B2ErrorKind::ExpiredAuthToken,
            "Authorization token has expired",
        ));
    }
    Ok((p.k, p.s))
}
