//! Encryption at rest, as the facade offers it (`docs/design.md`, "Encryption at rest"): the
//! server's master key (checked against the ones the metadata records), new data keys for
//! writes, and the data keys of stored envelopes.

use crate::error::{EnvelopeError, KmsError, Result, StorageError, StoreError};
use crate::read::Readable;
use crate::Store;
use pier_crypto::{CustomerKey, DataKey, Envelope, KmsKey, MasterKey, Mode};

/// The key ring's key an SSE-KMS request names when it names none (AWS's `aws/s3`), made on
/// first use.
pub const DEFAULT_KMS_KEY: &str = "aws/s3";

/// How a write asks its bytes to be encrypted.
#[derive(Clone, Debug)]
pub enum Encrypt {
    /// With a data key wrapped by the server's master key (S3 `AES256`, B2 `SSE-B2`).
    SseS3,
    /// With a data key wrapped by the customer's key (SSE-C).
    SseC(CustomerKey),
    /// With a data key wrapped by this key of the local key ring (SSE-KMS).
    SseKms(String),
}

impl crate::types::DefaultEncryption {
    /// What a put into a bucket with this default asks.
    pub fn encrypt(&self) -> Encrypt {
        match self.mode {
            Mode::SseKms => Encrypt::SseKms(
                self.kms_key_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_KMS_KEY.to_owned()),
            ),
            _ => Encrypt::SseS3,
        }
    }
}

impl Encrypt {
    /// The mode this asks for.
    pub fn mode(&self) -> Mode {
        match self {
            Encrypt::SseS3 => Mode::SseS3,
            Encrypt::SseC(_) => Mode::SseC,
            Encrypt::SseKms(_) => Mode::SseKms,
        }
    }
}

/// Whether a copy to be encrypted as `target` is encrypted as its source (`source`): both
/// plain, both SSE-S3, or SSE-C with the same key. Only then may it share the source's bytes
/// ([`Store::copy_object`]); otherwise it is written again ([`Store::copy_object_rewritten`]).
pub fn same_encryption(source: Option<&Envelope>, target: Option<&Encrypt>) -> bool {
    match (source, target) {
        (None, None) => true,
        (Some(s), Some(Encrypt::SseS3)) => s.mode == Mode::SseS3,
        (Some(s), Some(Encrypt::SseC(key))) => s.mode == Mode::SseC && s.key_id == key.md5(),
        (Some(s), Some(Encrypt::SseKms(id))) => s.mode == Mode::SseKms && &s.key_id == id,
        _ => false,
    }
}

impl Store {
    /// Makes `master` the key SSE-S3 data keys are wrapped with (`None`: the server has none).
    /// Refused when the metadata records data keys wrapped by another master key, or by any
    /// when `master` is `None`: those objects would not read.
    pub fn set_master_key(&self, master: Option<MasterKey>) -> Result<(), KmsError> {
        self.use_master_key(master).map_err(KmsError::narrow)
    }

    fn use_master_key(&self, master: Option<MasterKey>) -> Result<()> {
        let recorded = self.meta().master_keys()?;
        match &master {
            None if !recorded.is_empty() => {
                return Err(StoreError::MasterKey(format!(
                    "objects here are encrypted under master key {}, and no master key was given \
                     (--master-key-file)",
                    recorded.join(", ")
                )))
            }
            Some(key) if !recorded.is_empty() && !recorded.iter().any(|id| id == key.id()) => {
                return Err(StoreError::MasterKey(format!(
                    "objects here are encrypted under master key {}, not under the key given \
                     (id {}); start with the key they were written with",
                    recorded.join(", "),
                    key.id()
                )))
            }
            _ => {}
        }
        if let Some(key) = master {
            if self.inner.master.set(key).is_err() {
                return Err(StoreError::MasterKey(
                    "the master key is set once, at start".into(),
                ));
            }
        }
        Ok(())
    }

    /// The server's master key, if it has one.
    pub fn master_key(&self) -> Option<&MasterKey> {
        self.inner.master.get()
    }

    /// A new data key, and the envelope to store in the object's metadata, for a write that
    /// asks `how`. The first SSE-S3 key records the master key's id in the metadata.
    pub fn new_data_key(&self, how: &Encrypt) -> Result<(Envelope, DataKey), KmsError> {
        self.data_key_for(how).map_err(KmsError::narrow)
    }

    fn data_key_for(&self, how: &Encrypt) -> Result<(Envelope, DataKey)> {
        match how {
            Encrypt::SseS3 => {
                let master = self.master_key().ok_or(StoreError::NoMasterKey)?;
                if !self
                    .inner
                    .master_recorded
                    .load(std::sync::atomic::Ordering::Acquire)
                {
                    self.meta()
                        .record_master_key(master.id(), crate::now_millis())?;
                    self.inner
                        .master_recorded
                        .store(true, std::sync::atomic::Ordering::Release);
                }
                Ok(Envelope::sse_s3(master))
            }
            Encrypt::SseC(customer) => Ok(Envelope::sse_c(customer)),
            Encrypt::SseKms(id) => Ok(Envelope::sse_kms(&self.kms_key(id)?)),
        }
    }

    /// Moves every data key and key ring key from the current master key to `new`, without
    /// rewriting any object's bytes: SSE-S3 envelopes and the ring's keys are unwrapped with
    /// the old key and wrapped with the new one, in batches. Run with the server stopped (a
    /// running server holds the old key); running it again after an interruption finishes the
    /// work. Afterwards the data directory starts only with `new`. Returns how many envelopes
    /// and ring keys were rewrapped.
    pub fn rotate_master_key(&self, new: &MasterKey) -> Result<(u64, u64), KmsError> {
        self.rotate_to(new).map_err(KmsError::narrow)
    }

    fn rotate_to(&self, new: &MasterKey) -> Result<(u64, u64)> {
        let old = self.master_key().ok_or(StoreError::NoMasterKey)?.clone();
        if old.id() == new.id() {
            return Ok((0, 0));
        }
        // Both keys are recorded while envelopes move: an interrupted rotation starts again
        // with the old key and finishes.
        self.meta()
            .record_master_key(new.id(), crate::now_millis())?;
        let mut ring = 0;
        for (id, wrapped, by, _) in self.meta().kms_keys()? {
            if by == new.id() {
                continue;
            }
            let key = KmsKey::unwrap(&id, &wrapped, &old).map_err(|e| {
                StoreError::Corrupt(format!("the key ring's key {id} does not unwrap: {e}"))
            })?;
            self.meta().rewrap_kms_key(&id, &key.wrap(new), new.id())?;
            ring += 1;
        }
        let (from, to) = (old.clone(), new.clone());
        let envelopes = self
            .meta()
            .rewrite_encrypted(std::sync::Arc::new(move |meta| {
                let Some(envelope) = &meta.encryption else {
                    return Ok(false);
                };
                if envelope.mode != Mode::SseS3 || envelope.key_id == to.id() {
                    return Ok(false);
                }
                let moved = envelope.rewrap(&from, &to).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "a data key does not open with the master key: {e}"
                    ))
                })?;
                meta.encryption = moved;
                Ok(true)
            }))?;
        self.meta().forget_master_key(old.id())?;
        Ok((envelopes, ring))
    }

    /// Adds the key `id` to the local key ring (SSE-KMS), wrapped by the master key;
    /// `KmsKeyExists` when the ring has it. Usable at once, on every node.
    pub fn create_kms_key(&self, id: &str) -> Result<(), KmsError> {
        self.add_kms_key(id).map_err(KmsError::narrow)
    }

    fn add_kms_key(&self, id: &str) -> Result<()> {
        check_kms_key_id(id)?;
        let master = self.master_key().ok_or(StoreError::NoMasterKey)?;
        // The ring's keys need this master key as SSE-S3 objects do: a start without it is
        // refused.
        self.meta()
            .record_master_key(master.id(), crate::now_millis())?;
        let key = KmsKey::generate(id);
        if !self
            .meta()
            .create_kms_key(id, &key.wrap(master), master.id(), crate::now_millis())?
        {
            return Err(StoreError::KmsKeyExists(id.to_owned()));
        }
        Ok(())
    }

    /// Adds the key `id` to the ring unless it has it.
    pub fn ensure_kms_key(&self, id: &str) -> Result<(), KmsError> {
        match self.create_kms_key(id) {
            Ok(()) | Err(KmsError::KmsKeyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The ids of the ring's keys, with when each was made.
    pub fn kms_keys(&self) -> Result<Vec<(String, crate::Millis)>, StorageError> {
        Ok(self
            .meta()
            .kms_keys()
            .map_err(StorageError::of)?
            .into_iter()
            .map(|(id, _, _, created)| (id, created))
            .collect())
    }

    /// The ring's key `id`, unwrapped with the master key (`NoSuchKmsKey` when the ring has
    /// none of that id). The default key (`aws/s3`) is made on first use.
    fn kms_key(&self, id: &str) -> Result<KmsKey> {
        let master = self.master_key().ok_or(StoreError::NoMasterKey)?;
        // One indexed read per use: a key made on another node works here at once.
        let (wrapped, wrapped_by) = match self.meta().kms_key(id)? {
            Some(row) => row,
            None if id == DEFAULT_KMS_KEY => {
                self.ensure_kms_key(id)?;
                return self.kms_key(id);
            }
            None => return Err(StoreError::NoSuchKmsKey(id.to_owned())),
        };
        if wrapped_by != master.id() {
            return Err(StoreError::MasterKey(format!(
                "the key ring's key {id} is wrapped by master key {wrapped_by}, not by this one ({})",
                master.id()
            )));
        }
        KmsKey::unwrap(id, &wrapped, master).map_err(|e| {
            StoreError::Corrupt(format!("the key ring's key {id} does not unwrap: {e}"))
        })
    }

    /// The data key of `envelope`: unwrapped with the master key (SSE-S3) or with `customer`
    /// (SSE-C; `KeyRequired` without it, `WrongKey` when it is another key).
    pub fn open_envelope(
        &self,
        envelope: &Envelope,
        customer: Option<&CustomerKey>,
    ) -> Result<DataKey, EnvelopeError> {
        self.unwrap_envelope(envelope, customer)
            .map_err(EnvelopeError::narrow)
    }

    fn unwrap_envelope(
        &self,
        envelope: &Envelope,
        customer: Option<&CustomerKey>,
    ) -> Result<DataKey> {
        match envelope.mode {
            Mode::SseS3 => {
                let master = self.master_key().ok_or(StoreError::NoMasterKey)?;
                envelope.open_with_master(master).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "a data key does not open with the master key: {e}"
                    ))
                })
            }
            Mode::SseC => {
                let customer = customer.ok_or(StoreError::KeyRequired)?;
                envelope
                    .open_with_customer(customer)
                    .map_err(|_| StoreError::WrongKey)
            }
            Mode::SseKms => {
                let key = self.kms_key(&envelope.key_id)?;
                envelope.open_with_kms(&key).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "a data key does not open with the key ring's key {}: {e}",
                        envelope.key_id
                    ))
                })
            }
        }
    }

    /// `entry` with its server-side (SSE-S3, SSE-KMS) data key unwrapped, so its bytes read as
    /// any object's (an SSE-C entry waits for [`Readable::unlock`]).
    pub(crate) fn unlocked(&self, mut entry: Readable) -> Result<Readable> {
        if let Some(envelope) = entry.encryption() {
            if envelope.mode != Mode::SseC {
                entry.key = Some(self.open_envelope(envelope, None)?);
            }
        }
        Ok(entry)
    }
}

/// Key ring ids: 1 to 256 letters, digits and `-_/:.` (AWS's key ids, aliases and ARNs fit).
fn check_kms_key_id(id: &str) -> Result<()> {
    let ok = (1..=256).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_/:.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKmsKeyId(id.to_owned()))
    }
}
