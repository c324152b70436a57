//! The envelope an encrypted object's metadata keeps: how it is encrypted, and its data key
//! wrapped (AES-256-GCM) by the key of its mode.

use crate::{CryptoError, CustomerKey, DataKey, MasterKey};
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// How an object is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Server-managed keys: S3 `AES256`, B2 `SSE-B2`. The data key is wrapped by the master key.
    #[serde(rename = "sse-s3")]
    SseS3,
    /// The customer's key (S3 and B2 `SSE-C`), sent with every request and never stored.
    #[serde(rename = "sse-c")]
    SseC,
    /// A key of the server's local key ring (S3 `aws:kms` with a key id), itself stored
    /// wrapped by the master key.
    #[serde(rename = "sse-kms")]
    SseKms,
}

impl Mode {
    fn tag(self) -> &'static str {
        match self {
            Mode::SseS3 => "sse-s3",
            Mode::SseC => "sse-c",
            Mode::SseKms => "sse-kms",
        }
    }
}

/// An object's encryption as its metadata keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The mode.
    pub mode: Mode,
    /// The id of the key that wrapped the data key: the master key's, the key ring's key id
    /// (SSE-KMS), or for SSE-C the customer key's MD5 (base64, as S3 and B2 echo it).
    pub key_id: String,
    /// `base64(nonce || sealed data key)`.
    pub wrapped: String,
    /// Hex salt of the ETag of an SSE-C or SSE-KMS object (its ETag is not the data's MD5, as
    /// on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag_salt: Option<String>,
}

fn random_salt() -> String {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system's random source works");
    hex::encode(salt)
}

fn aad(mode: Mode, key_id: &str) -> Vec<u8> {
    [
        b"pier data key v1".as_slice(),
        mode.tag().as_bytes(),
        b"|",
        key_id.as_bytes(),
    ]
    .concat()
}

/// `base64(nonce || AES-256-GCM(wrapping, secret, aad))`.
pub(crate) fn wrap_bytes(wrapping: &[u8; 32], secret: &[u8; 32], aad: &[u8]) -> String {
    let sealing = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrapping).expect("32 bytes"));
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .expect("the system's random source works");
    let mut buf = secret.to_vec();
    sealing
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .expect("a 32-byte secret seals");
    base64::engine::general_purpose::STANDARD.encode([nonce.as_slice(), &buf].concat())
}

/// The secret [`wrap_bytes`] wrapped; `WrongKey` when `wrapping` or `aad` is not what it was.
pub(crate) fn unwrap_bytes(
    wrapping: &[u8; 32],
    wrapped: &str,
    aad: &[u8],
) -> Result<[u8; 32], CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(wrapped)
        .map_err(|_| CryptoError::Integrity("a wrapped key is not base64".into()))?;
    if bytes.len() != NONCE_LEN + 32 + 16 {
        return Err(CryptoError::Integrity(
            "a wrapped key has the wrong length".into(),
        ));
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let opening = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrapping).expect("32 bytes"));
    let mut buf = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).expect("12 bytes");
    let plain = opening
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::WrongKey)?;
    Ok(plain.try_into().expect("32 bytes were sealed"))
}

fn wrap(wrapping: &[u8; 32], key: &DataKey, mode: Mode, key_id: &str) -> String {
    wrap_bytes(wrapping, key.bytes(), &aad(mode, key_id))
}

fn unwrap(
    wrapping: &[u8; 32],
    wrapped: &str,
    mode: Mode,
    key_id: &str,
) -> Result<DataKey, CryptoError> {
    unwrap_bytes(wrapping, wrapped, &aad(mode, key_id)).map(DataKey::from_bytes)
}

impl Envelope {
    /// A new data key for an SSE-S3 object, and its envelope under `master`.
    pub fn sse_s3(master: &MasterKey) -> (Envelope, DataKey) {
        let key = DataKey::generate();
        let envelope = Envelope {
            mode: Mode::SseS3,
            key_id: master.id().to_owned(),
            wrapped: wrap(master.bytes(), &key, Mode::SseS3, master.id()),
            etag_salt: None,
        };
        (envelope, key)
    }

    /// A new data key for an SSE-C object, and its envelope under the customer's key.
    pub fn sse_c(customer: &CustomerKey) -> (Envelope, DataKey) {
        let key = DataKey::generate();
        let envelope = Envelope {
            mode: Mode::SseC,
            key_id: customer.md5().to_owned(),
            wrapped: wrap(customer.bytes(), &key, Mode::SseC, customer.md5()),
            etag_salt: Some(random_salt()),
        };
        (envelope, key)
    }

    /// A new data key for an SSE-KMS object, and its envelope under the key ring's `key`.
    pub fn sse_kms(key: &crate::KmsKey) -> (Envelope, DataKey) {
        let data = DataKey::generate();
        let envelope = Envelope {
            mode: Mode::SseKms,
            key_id: key.id().to_owned(),
            wrapped: wrap(key.bytes(), &data, Mode::SseKms, key.id()),
            etag_salt: Some(random_salt()),
        };
        (envelope, data)
    }

    /// The data key of an SSE-KMS envelope, unwrapped with the key ring's key it names.
    pub fn open_with_kms(&self, key: &crate::KmsKey) -> Result<DataKey, CryptoError> {
        if self.mode != Mode::SseKms || self.key_id != key.id() {
            return Err(CryptoError::WrongKey);
        }
        unwrap(key.bytes(), &self.wrapped, self.mode, &self.key_id)
    }

    /// The data key of an SSE-S3 envelope, unwrapped with `master` (`WrongKey` when `master` is
    /// not the key it was wrapped with).
    pub fn open_with_master(&self, master: &MasterKey) -> Result<DataKey, CryptoError> {
        if self.mode != Mode::SseS3 {
            return Err(CryptoError::BadKey(
                "the object is encrypted with a customer's key".into(),
            ));
        }
        if self.key_id != master.id() {
            return Err(CryptoError::WrongKey);
        }
        unwrap(master.bytes(), &self.wrapped, self.mode, &self.key_id)
    }

    /// The data key of an SSE-C envelope, unwrapped with the customer's key (`WrongKey` when it
    /// is another key).
    pub fn open_with_customer(&self, customer: &CustomerKey) -> Result<DataKey, CryptoError> {
        if self.mode != Mode::SseC {
            return Err(CryptoError::BadKey(
                "the object is not encrypted with a customer's key".into(),
            ));
        }
        if self.key_id != customer.md5() {
            return Err(CryptoError::WrongKey);
        }
        unwrap(customer.bytes(), &self.wrapped, self.mode, &self.key_id)
    }

    /// The same data key wrapped anew under another master key (rotation without rewriting
    /// the object); `None` for an SSE-C envelope, which no master key wraps.
    pub fn rewrap(
        &self,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<Option<Envelope>, CryptoError> {
        if self.mode != Mode::SseS3 {
            return Ok(None);
        }
        let key = self.open_with_master(old)?;
        Ok(Some(Envelope {
            mode: Mode::SseS3,
            key_id: new.id().to_owned(),
            wrapped: wrap(new.bytes(), &key, Mode::SseS3, new.id()),
            etag_salt: None,
        }))
    }

    /// The ETag of the object whose plaintext has this hex MD5: the MD5 itself for SSE-S3; for
    /// SSE-C and SSE-KMS, 32 hex digits of a salted hash of it (not the data's MD5, as on AWS).
    pub fn etag(&self, md5_hex: &str) -> String {
        match &self.etag_salt {
            Some(salt) => {
                let digest = sha2::Sha256::new()
                    .chain_update(salt.as_bytes())
                    .chain_update(md5_hex.as_bytes())
                    .finalize();
                hex::encode(&digest[..16])
            }
            None => md5_hex.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(b: u8) -> CustomerKey {
        CustomerKey::parse(
            &base64::engine::general_purpose::STANDARD.encode([b; 32]),
            None,
        )
        .unwrap()
    }

    #[test]
    fn an_sse_s3_data_key_opens_only_with_its_master_key() {
        let master = MasterKey::generate();
        let (envelope, key) = Envelope::sse_s3(&master);
        assert_eq!(
            envelope.open_with_master(&master).unwrap().bytes(),
            key.bytes()
        );
        assert_eq!(
            envelope
                .open_with_master(&MasterKey::generate())
                .unwrap_err(),
            CryptoError::WrongKey
        );
        let mut forged = envelope.clone();
        forged.key_id = "0000000000000000".into();
        assert!(forged.open_with_master(&master).is_err());
    }

    #[test]
    fn an_sse_c_data_key_opens_only_with_the_customers_key() {
        let (envelope, key) = Envelope::sse_c(&customer(1));
        assert_eq!(
            envelope.open_with_customer(&customer(1)).unwrap().bytes(),
            key.bytes()
        );
        assert_eq!(
            envelope.open_with_customer(&customer(2)).unwrap_err(),
            CryptoError::WrongKey
        );
        // A key claiming the right MD5 still fails to unwrap.
        let mut claimed = envelope.clone();
        claimed.key_id = customer(2).md5().to_owned();
        assert_eq!(
            claimed.open_with_customer(&customer(2)).unwrap_err(),
            CryptoError::WrongKey
        );
    }

    #[test]
    fn rewrapping_keeps_the_data_key_under_a_new_master() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let (envelope, key) = Envelope::sse_s3(&old);
        let moved = envelope.rewrap(&old, &new).unwrap().unwrap();
        assert_eq!(moved.open_with_master(&new).unwrap().bytes(), key.bytes());
        assert!(moved.open_with_master(&old).is_err());
    }

    #[test]
    fn sse_c_etags_are_not_the_md5() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let (s3, _) = Envelope::sse_s3(&MasterKey::generate());
        assert_eq!(s3.etag(md5), md5);
        let (c, _) = Envelope::sse_c(&customer(1));
        assert_ne!(c.etag(md5), md5);
        assert_eq!(c.etag(md5).len(), 32);
        assert_eq!(c.etag(md5), c.etag(md5), "the same object, the same ETag");
    }

    #[test]
    fn an_sse_kms_data_key_opens_only_with_its_ring_key() {
        let key = crate::KmsKey::generate("testkey-1");
        let (envelope, data) = Envelope::sse_kms(&key);
        assert_eq!(envelope.key_id, "testkey-1");
        assert_eq!(envelope.open_with_kms(&key).unwrap().bytes(), data.bytes());
        let other = crate::KmsKey::generate("testkey-1");
        assert_eq!(
            envelope.open_with_kms(&other).unwrap_err(),
            CryptoError::WrongKey
        );
        assert_ne!(
            envelope.etag("0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef"
        );
    }
}
