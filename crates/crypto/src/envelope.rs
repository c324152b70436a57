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
}

impl Mode {
    fn tag(self) -> &'static str {
        match self {
            Mode::SseS3 => "sse-s3",
            Mode::SseC => "sse-c",
        }
    }
}

/// An object's encryption as its metadata keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The mode.
    pub mode: Mode,
    /// The id of the key that wrapped the data key: the master key's, or for SSE-C the
    /// customer key's MD5 (base64, as S3 and B2 echo it).
    pub key_id: String,
    /// `base64(nonce || sealed data key)`.
    pub wrapped: String,
    /// Hex salt of the ETag of an SSE-C object (its ETag is not the data's MD5, as on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag_salt: Option<String>,
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

fn wrap(wrapping: &[u8; 32], key: &DataKey, mode: Mode, key_id: &str) -> String {
    let sealing = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrapping).expect("32 bytes"));
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .expect("the system's random source works");
    let mut buf = key.bytes().to_vec();
    sealing
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(mode, key_id)),
            &mut buf,
        )
        .expect("a 32-byte key seals");
    base64::engine::general_purpose::STANDARD.encode([nonce.as_slice(), &buf].concat())
}

fn unwrap(
    wrapping: &[u8; 32],
    wrapped: &str,
    mode: Mode,
    key_id: &str,
) -> Result<DataKey, CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(wrapped)
        .map_err(|_| CryptoError::Integrity("a wrapped data key is not base64".into()))?;
    if bytes.len() != NONCE_LEN + 32 + 16 {
        return Err(CryptoError::Integrity(
            "a wrapped data key has the wrong length".into(),
        ));
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let opening = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrapping).expect("32 bytes"));
    let mut buf = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).expect("12 bytes");
    let plain = opening
        .open_in_place(nonce, Aad::from(aad(mode, key_id)), &mut buf)
        .map_err(|_| CryptoError::WrongKey)?;
    let key: [u8; 32] = plain.try_into().expect("32 bytes were sealed");
    Ok(DataKey::from_bytes(key))
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
        let mut salt = [0u8; 16];
        SystemRandom::new()
            .fill(&mut salt)
            .expect("the system's random source works");
        let envelope = Envelope {
            mode: Mode::SseC,
            key_id: customer.md5().to_owned(),
            wrapped: wrap(customer.bytes(), &key, Mode::SseC, customer.md5()),
            etag_salt: Some(hex::encode(salt)),
        };
        (envelope, key)
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
    /// SSE-C, 32 hex digits of a salted hash of it (not the data's MD5, as on AWS).
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
}
