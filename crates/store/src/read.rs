//! What a read works from: an entry and its bytes, from one snapshot (`docs/design.md`,
//! "Reading").

use crate::error::{Result, StoreError};
use crate::types::Object;

/// An entry as a read found it, with the bytes its metadata holds (an inline object's), both
/// from one snapshot: what a GET answers with and streams, without looking the entry up again
/// (`docs/design.md`, "Reading").
#[derive(Clone, Debug)]
pub struct Readable {
    /// The entry (a version, or a marker when the read names one).
    pub object: Object,
    /// The bytes of an inline object; `None` for any other entry.
    pub(crate) inline: Option<bytes::Bytes>,
    /// The data key of an encrypted entry, once unwrapped: with the master key when the entry
    /// is read (SSE-S3), with the customer's key by [`Readable::unlock`] (SSE-C).
    pub(crate) key: Option<pier_crypto::DataKey>,
}

impl Readable {
    /// Pairs an entry with its inline bytes, as a snapshot read them; an inline entry whose bytes
    /// are missing is corrupt.
    pub(crate) fn new(object: Object, inline: Option<Vec<u8>>) -> Result<Readable> {
        let inline = match (object.is_inline(), inline) {
            (true, Some(data)) => Some(bytes::Bytes::from(data)),
            (true, None) => {
                return Err(StoreError::Corrupt(format!(
                    "inline object {} has no bytes",
                    object.version_id
                )))
            }
            (false, _) => None,
        };
        Ok(Readable {
            object,
            inline,
            key: None,
        })
    }

    /// How the entry's bytes are encrypted, if they are.
    pub fn encryption(&self) -> Option<&pier_crypto::Envelope> {
        self.object.meta.encryption.as_ref()
    }

    /// Whether the entry's bytes can be read: stored as sent, or their key is unwrapped.
    pub fn is_unlocked(&self) -> bool {
        self.encryption().is_none() || self.key.is_some()
    }

    /// Unwraps an SSE-C entry's data key with the customer's key: `KeyRequired` when the entry
    /// is not encrypted with a customer's key, `WrongKey` when this is not its key.
    pub fn unlock(&mut self, customer: &pier_crypto::CustomerKey) -> Result<()> {
        match self.encryption() {
            Some(envelope) if envelope.mode == pier_crypto::Mode::SseC => {
                let key = envelope
                    .open_with_customer(customer)
                    .map_err(|_| StoreError::WrongKey)?;
                self.key = Some(key);
                Ok(())
            }
            _ => Err(StoreError::NotCustomerEncrypted),
        }
    }

    /// The data key, for an encrypted entry whose key is unwrapped (to copy its bytes).
    pub fn data_key(&self) -> Option<&pier_crypto::DataKey> {
        self.key.as_ref()
    }

    /// How a reader gets at this entry's bytes.
    pub(crate) fn sealing(&self) -> crate::segments::Sealing {
        match (self.encryption(), &self.key) {
            (None, _) => crate::segments::Sealing::Plain,
            (Some(_), Some(key)) => crate::segments::Sealing::Key(key.clone()),
            (Some(_), None) => crate::segments::Sealing::Locked,
        }
    }
}

/// How often a read whose bytes were reclaimed under it reads the metadata again before giving
/// up (`StoreError::Reclaimed`); the API layers loop at most this many times.
pub const READ_ATTEMPTS: usize = 3;
