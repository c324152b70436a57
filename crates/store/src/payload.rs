//! An object's bytes on their way in: collected in memory when declared small (committed with
//! the metadata), else into a blob, sealed when the object is encrypted.

use crate::blob::{BlobWriter, Blobs, WrittenBlob};
use crate::error::Result;
use md5::{Digest as _, Md5};
use sha1::Sha1;

/// Objects at most this large are stored inline in the metadata database: their bytes commit
/// with their row, in the same group commit, instead of costing a file and directory fsync each.
pub const INLINE_MAX: u64 = 64 * 1024;

/// An object's bytes, ready to be committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Small: the bytes themselves, stored with the metadata.
    Inline {
        /// The bytes as stored (sealed, for an encrypted object).
        data: Vec<u8>,
        /// The object's length.
        size: u64,
        /// Hex MD5.
        md5: String,
        /// Hex SHA-1.
        sha1: String,
    },
    /// A durable blob file.
    Blob(WrittenBlob),
}

impl Payload {
    /// Bytes.
    pub fn size(&self) -> u64 {
        match self {
            Payload::Inline { size, .. } => *size,
            Payload::Blob(b) => b.size,
        }
    }

    /// Hex MD5.
    pub fn md5(&self) -> &str {
        match self {
            Payload::Inline { md5, .. } => md5,
            Payload::Blob(b) => &b.md5,
        }
    }

    /// Hex SHA-1, when it was computed (always, but for S3 parts).
    pub fn sha1(&self) -> Option<&str> {
        match self {
            Payload::Inline { sha1, .. } => Some(sha1),
            Payload::Blob(b) => b.sha1.as_deref(),
        }
    }
}

/// Collects an object's bytes: in memory when it is declared small, else into a blob file
/// (switching to a file if more bytes arrive than declared).
#[derive(Debug)]
pub enum PayloadWriter {
    /// Small and in memory.
    Inline {
        /// Where a spill would go.
        dir: Blobs,
        /// The bytes so far.
        data: Vec<u8>,
        /// The key the bytes are sealed with when finished, for an encrypted object.
        key: Option<pier_crypto::DataKey>,
    },
    /// Into a blob file (boxed: the hashers' state is large).
    Blob(Box<BlobWriter>),
}

impl PayloadWriter {
    pub(crate) fn new(
        dir: &Blobs,
        expected: Option<u64>,
        key: Option<&pier_crypto::DataKey>,
    ) -> Result<PayloadWriter> {
        Ok(match (expected, key) {
            (Some(n), key) if n <= INLINE_MAX => PayloadWriter::Inline {
                dir: dir.clone(),
                data: Vec::with_capacity(n as usize),
                key: key.cloned(),
            },
            (expected, key) => PayloadWriter::Blob(Box::new(dir.create_with(expected, true, key)?)),
        })
    }

    /// Appends a chunk, sharing it with the hashers without copying when it goes to a file.
    pub fn write_bytes(&mut self, chunk: bytes::Bytes) -> Result<()> {
        match self {
            PayloadWriter::Blob(w) => w.write_bytes(chunk),
            PayloadWriter::Inline { .. } => self.write(&chunk),
        }
    }

    /// Appends bytes.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if let PayloadWriter::Inline { dir, data, key } = self {
            if data.len() as u64 + chunk.len() as u64 <= INLINE_MAX {
                data.extend_from_slice(chunk);
                return Ok(());
            }
            // More than declared: the length is unknown from here.
            let mut blob = dir.create_with(None, true, key.as_ref())?;
            blob.write(data)?;
            *self = PayloadWriter::Blob(Box::new(blob));
        }
        match self {
            PayloadWriter::Blob(w) => w.write(chunk),
            PayloadWriter::Inline { .. } => unreachable!("switched to a blob above"),
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        match self {
            PayloadWriter::Inline { data, .. } => data.len() as u64,
            PayloadWriter::Blob(w) => w.size(),
        }
    }

    /// The finished payload (a blob is made durable first).
    pub fn finish(self) -> Result<Payload> {
        match self {
            PayloadWriter::Inline { data, key, .. } => Ok(Payload::Inline {
                md5: hex::encode(Md5::digest(&data)),
                sha1: hex::encode(Sha1::digest(&data)),
                size: data.len() as u64,
                data: match key {
                    Some(key) => crate::sealed::seal_inline(&key, &data),
                    None => data,
                },
            }),
            PayloadWriter::Blob(w) => Ok(Payload::Blob((*w).finish()?)),
        }
    }
}
