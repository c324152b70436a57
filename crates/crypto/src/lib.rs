//! Encryption at rest (`docs/design.md`, "Encryption at rest"): the keys ([`MasterKey`],
//! [`CustomerKey`], per-object [`DataKey`]s), the [`Envelope`] an object's metadata keeps (its
//! data key wrapped by the master or the customer's key), and the chunked AES-256-GCM format of
//! encrypted bytes ([`Sealer`], [`SegmentKey::open_chunk`]). No I/O but reading and creating the
//! master key file.

mod chunks;
mod envelope;
mod keys;

pub use chunks::{chunk_span, sealed_len, ChunkSpan, Sealer, SegmentKey, CHUNK, TAG};
pub use envelope::{Envelope, Mode};
pub use keys::{CustomerKey, DataKey, KmsKey, MasterKey};

/// What can go wrong with keys and sealed bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// A key that is not what it must be (length, encoding, its MD5).
    #[error("{0}")]
    BadKey(String),
    /// The key given does not unwrap the data key: not the key the object was written with.
    #[error("the key given is not the key the object was encrypted with")]
    WrongKey,
    /// Sealed bytes that fail authentication: changed, moved, cut short or from elsewhere.
    #[error("integrity check failed: {0}")]
    Integrity(String),
}
