//! The keys: the master key (a file), a customer's SSE-C key (sent with each request), and the
//! random data key of each object.

use crate::CryptoError;
use base64::Engine as _;
use md5::Digest as _;
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

fn random32() -> [u8; 32] {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .expect("the system's random source works");
    key
}

/// The server's master key: 256 bits that wrap the data keys of SSE-S3 objects.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(key: [u8; 32]) -> MasterKey {
        let digest = sha2::Sha256::new()
            .chain_update(b"pier master key")
            .chain_update(key)
            .finalize();
        MasterKey {
            key,
            id: hex::encode(&digest[..8]),
        }
    }

    /// A new random key.
    pub fn generate() -> MasterKey {
        MasterKey::from_bytes(random32())
    }

    /// The key a file holds: 64 hex digits or 44 base64 characters (surrounding white space
    /// ignored).
    pub fn parse(text: &str) -> Result<MasterKey, CryptoError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| {
                CryptoError::BadKey("a master key is 64 hex digits or 44 base64 characters".into())
            })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey("a master key is 32 bytes (64 hex digits)".into()))?;
        Ok(MasterKey::from_bytes(key))
    }

    /// Reads the key file at `path`.
    pub fn load(path: &Path) -> std::io::Result<MasterKey> {
        let text = std::fs::read_to_string(path)?;
        MasterKey::parse(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Creates a key file at `path` (mode 0600, never over an existing file) with a new key.
    pub fn create(path: &Path) -> std::io::Result<MasterKey> {
        use std::io::Write as _;
        let key = MasterKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(format!("{}\n", hex::encode(key.key)).as_bytes())?;
        file.sync_all()?;
        Ok(key)
    }

    /// A short public name of this key (16 hex digits of a hash of it), recorded with what it
    /// wraps so the wrong key is recognised.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// A customer's SSE-C key, as sent with a request: 256 bits and their MD5.
#[derive(Clone)]
pub struct CustomerKey {
    key: [u8; 32],
    md5: String,
}

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerKey")
            .field("md5", &self.md5)
            .finish()
    }
}

impl CustomerKey {
    /// The key of a request's base64 key and, when sent, base64 MD5 of it; refused when the key
    /// is not 256 bits or the MD5 does not match, with S3's wording.
    pub fn parse(key_b64: &str, md5_b64: Option<&str>) -> Result<CustomerKey, CryptoError> {
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes = engine.decode(key_b64.trim()).map_err(|_| {
            CryptoError::BadKey("The secret key was invalid for the specified algorithm.".into())
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            CryptoError::BadKey("The secret key was invalid for the specified algorithm.".into())
        })?;
        let md5 = engine.encode(md5::Md5::digest(key));
        if let Some(sent) = md5_b64 {
            if sent.trim() != md5 {
                return Err(CryptoError::BadKey(
                    "The calculated MD5 hash of the key did not match the hash that was provided."
                        .into(),
                ));
            }
        }
        Ok(CustomerKey { key, md5 })
    }

    /// The key's MD5, base64, as S3 and B2 echo it.
    pub fn md5(&self) -> &str {
        &self.md5
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// An object's own random key: it seals the object's bytes and is stored only wrapped.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A new random key.
    pub fn generate() -> DataKey {
        DataKey(random32())
    }

    pub(crate) fn from_bytes(key: [u8; 32]) -> DataKey {
        DataKey(key)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A key of the server's local key ring (SSE-KMS): a name and 256 bits, stored wrapped by
/// the master key (so the metadata alone never holds it).
#[derive(Clone)]
pub struct KmsKey {
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for KmsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKey").field("id", &self.id).finish()
    }
}

fn kms_aad(id: &str, master: &MasterKey) -> Vec<u8> {
    [
        b"pier kms key v1|".as_slice(),
        id.as_bytes(),
        b"|",
        master.id().as_bytes(),
    ]
    .concat()
}

impl KmsKey {
    /// A new random key named `id`.
    pub fn generate(id: &str) -> KmsKey {
        KmsKey {
            id: id.to_owned(),
            key: random32(),
        }
    }

    /// The key's name (S3's `x-amz-server-side-encryption-aws-kms-key-id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key wrapped by `master`, bound to its name and the master key's id.
    pub fn wrap(&self, master: &MasterKey) -> String {
        crate::envelope::wrap_bytes(master.bytes(), &self.key, &kms_aad(&self.id, master))
    }

    /// The key `id` from its wrapped form (`WrongKey` under another master key or name).
    pub fn unwrap(id: &str, wrapped: &str, master: &MasterKey) -> Result<KmsKey, CryptoError> {
        let key = crate::envelope::unwrap_bytes(master.bytes(), wrapped, &kms_aad(id, master))?;
        Ok(KmsKey {
            id: id.to_owned(),
            key,
        })
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_key_file_is_created_private_and_read_back() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("master.key");
        let made = MasterKey::create(&path).unwrap();
        let read = MasterKey::load(&path).unwrap();
        assert_eq!(made.id(), read.id());
        assert_eq!(made.bytes(), read.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            MasterKey::create(&path).is_err(),
            "never over an existing key"
        );
    }

    #[test]
    fn master_keys_are_64_hex_digits_or_base64() {
        let hex_key = "00".repeat(32);
        assert!(MasterKey::parse(&hex_key).is_ok());
        assert!(MasterKey::parse(&format!(" {hex_key}\n")).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(MasterKey::parse(&b64).is_ok());
        assert!(MasterKey::parse("00").is_err());
        assert!(MasterKey::parse("not a key").is_err());
        assert_ne!(
            MasterKey::parse(&hex_key).unwrap().id(),
            MasterKey::parse(&b64).unwrap().id()
        );
    }

    #[test]
    fn a_customer_key_is_256_bits_with_its_md5() {
        let engine = base64::engine::general_purpose::STANDARD;
        let key = engine.encode([1u8; 32]);
        let md5 = engine.encode(md5::Md5::digest([1u8; 32]));
        let k = CustomerKey::parse(&key, Some(&md5)).unwrap();
        assert_eq!(k.md5(), md5);
        assert!(CustomerKey::parse(&key, None).is_ok());
        let other = engine.encode(md5::Md5::digest([2u8; 32]));
        assert!(matches!(
            CustomerKey::parse(&key, Some(&other)),
            Err(CryptoError::BadKey(m)) if m.contains("MD5")
        ));
        let short = engine.encode([1u8; 16]);
        assert!(CustomerKey::parse(&short, None).is_err());
        assert!(CustomerKey::parse("***", None).is_err());
    }

    #[test]
    fn a_kms_key_unwraps_only_under_its_master_key_and_name() {
        let (master, other) = (MasterKey::generate(), MasterKey::generate());
        let key = KmsKey::generate("testkey-1");
        let wrapped = key.wrap(&master);
        let back = KmsKey::unwrap("testkey-1", &wrapped, &master).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert!(KmsKey::unwrap("testkey-1", &wrapped, &other).is_err());
        assert!(KmsKey::unwrap("testkey-2", &wrapped, &master).is_err());
    }
}
