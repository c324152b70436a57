//! Encryption at rest, as the facade offers it (`docs/design.md`, "Encryption at rest"): the
//! server's master key (checked against the ones the metadata records), new data keys for
//! writes, and the data keys of stored envelopes.

use crate::error::{Result, StoreError};
use crate::read::Readable;
use crate::Store;
use pier_crypto::{CustomerKey, DataKey, Envelope, MasterKey, Mode};

/// How a write asks its bytes to be encrypted.
#[derive(Clone, Debug)]
pub enum Encrypt {
    /// With a data key wrapped by the server's master key (S3 `AES256`, B2 `SSE-B2`).
    SseS3,
    /// With a data key wrapped by the customer's key (SSE-C).
    SseC(CustomerKey),
}

impl Encrypt {
    /// The mode this asks for.
    pub fn mode(&self) -> Mode {
        match self {
            Encrypt::SseS3 => Mode::SseS3,
            Encrypt::SseC(_) => Mode::SseC,
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
        _ => false,
    }
}

impl Store {
    /// Makes `master` the key SSE-S3 data keys are wrapped with (`None`: the server has none).
    /// Refused when the metadata records data keys wrapped by another master key, or by any
    /// when `master` is `None`: those objects would not read.
    pub fn set_master_key(&self, master: Option<MasterKey>) -> Result<()> {
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
    pub fn new_data_key(&self, how: &Encrypt) -> Result<(Envelope, DataKey)> {
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
        }
    }

    /// The data key of `envelope`: unwrapped with the master key (SSE-S3) or with `customer`
    /// (SSE-C; `KeyRequired` without it, `WrongKey` when it is another key).
    pub fn open_envelope(
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
        }
    }

    /// `entry` with its SSE-S3 data key unwrapped, so its bytes read as any object's (an SSE-C
    /// entry waits for [`Readable::unlock`]).
    pub(crate) fn unlocked(&self, mut entry: Readable) -> Result<Readable> {
        if let Some(envelope) = entry.encryption() {
            if envelope.mode == Mode::SseS3 {
                entry.key = Some(self.open_envelope(envelope, None)?);
            }
        }
        Ok(entry)
    }
}
