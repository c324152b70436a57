//! Encrypted bytes in the store (`docs/design.md`, "Encryption at rest"): inline bytes sealed
//! whole, and a blob's plaintext range read by opening only the sealed chunks it touches.

use crate::blob::BlobSource;
use bytes::Bytes;
use pier_crypto::{chunk_span, DataKey, Sealer, SegmentKey, CHUNK, TAG};
use std::io;

/// The segment name an inline object's bytes are sealed under.
const INLINE: &str = "inline";

/// An inline object's bytes, sealed.
pub(crate) fn seal_inline(key: &DataKey, data: &[u8]) -> Vec<u8> {
    let mut sealer = Sealer::new(key, INLINE);
    let mut out = Vec::with_capacity(pier_crypto::sealed_len(data.len() as u64) as usize);
    sealer
        .push(data, |chunk| {
            out.extend_from_slice(&chunk);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    if let Some(last) = sealer.finish() {
        out.extend_from_slice(&last);
    }
    out
}

fn integrity(what: &str, e: pier_crypto::CryptoError) -> io::Error {
    tracing::error!(segment = what, error = %e, "stored bytes fail their integrity check");
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

/// An inline object's plaintext (`size` bytes) from its sealed bytes.
pub(crate) fn open_inline(key: &DataKey, sealed: &[u8], size: u64) -> io::Result<Bytes> {
    let segment = SegmentKey::new(key, INLINE, size);
    let mut out = Vec::with_capacity(size as usize);
    for (index, chunk) in sealed.chunks(CHUNK + TAG).enumerate() {
        let mut buf = chunk.to_vec();
        let n = segment
            .open_chunk(index as u64, &mut buf)
            .map_err(|e| integrity("inline bytes", e))?;
        out.extend_from_slice(&buf[..n]);
    }
    if out.len() as u64 != size {
        return Err(integrity(
            "inline bytes",
            pier_crypto::CryptoError::Integrity(format!(
                "{} bytes where the metadata says {size}",
                out.len()
            )),
        ));
    }
    Ok(Bytes::from(out))
}

/// Chunks opened per read of a sealed blob: about 1 MiB, as plain reads' windows.
const CHUNKS_PER_READ: u64 = 16;

/// `len` plaintext bytes from `start` of a sealed blob of `size` plaintext bytes: reads the
/// sealed range of the chunks they lie in, about 1 MiB at a time, and opens those chunks into
/// one plaintext buffer.
pub(crate) fn open_range(
    blobs: &crate::Blobs,
    key: &DataKey,
    blob: &str,
    size: u64,
    start: u64,
    len: u64,
) -> io::Result<Box<dyn BlobSource>> {
    let span = chunk_span(size, start, len);
    let source = blobs.open(blob, span.sealed_start, span.sealed_len)?;
    Ok(Box::new(Opened {
        source,
        key: SegmentKey::new(key, blob, size),
        blob: blob.to_owned(),
        index: span.first,
        end: span.first + span.count,
        skip: span.skip as usize,
        left: len,
        plain: Bytes::new(),
        last_index: size.div_ceil(CHUNK as u64).saturating_sub(1),
        size,
    }))
}

/// A sealed blob's plaintext range.
struct Opened {
    source: Box<dyn BlobSource>,
    key: SegmentKey,
    blob: String,
    /// The next chunk to open, and one past the last the range needs.
    index: u64,
    end: u64,
    /// Plaintext to drop from the next chunk opened (the range's start within its chunk).
    skip: usize,
    /// Plaintext bytes still to return.
    left: u64,
    /// Opened plaintext not yet returned.
    plain: Bytes,
    last_index: u64,
    size: u64,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("blob", &self.blob)
            .field("index", &self.index)
            .field("left", &self.left)
            .finish()
    }
}

impl Opened {
    /// The sealed length of chunk `index`.
    fn sealed_len(&self, index: u64) -> usize {
        if index == self.last_index {
            (self.size - index * CHUNK as u64) as usize + TAG
        } else {
            CHUNK + TAG
        }
    }

    /// Reads the next chunks (up to [`CHUNKS_PER_READ`]) and opens them into `plain`.
    fn open_next(&mut self) -> io::Result<()> {
        let count = (self.end - self.index).min(CHUNKS_PER_READ);
        if count == 0 {
            return Err(integrity(
                &format!("blob {}", self.blob),
                pier_crypto::CryptoError::Integrity("the range ends before its bytes".into()),
            ));
        }
        let want: usize = (self.index..self.index + count)
            .map(|i| self.sealed_len(i))
            .sum();
        let mut buf = Vec::with_capacity(want);
        if self.source.read_into(&mut buf, want)? < want {
            return Err(integrity(
                &format!("blob {}", self.blob),
                pier_crypto::CryptoError::Integrity(format!("chunk {} is cut short", self.index)),
            ));
        }
        // Chunk k of this read is sealed at `sealed_at` and opens to `plain_at`, so the
        // plaintext ends up contiguous at the front of `buf`.
        let (mut sealed_at, mut plain_at) = (0usize, 0usize);
        for k in 0..count {
            let index = self.index + k;
            let sealed = self.sealed_len(index);
            let n = self
                .key
                .open_chunk_within(
                    index,
                    &mut buf[plain_at..sealed_at + sealed],
                    sealed_at - plain_at,
                )
                .map_err(|e| integrity(&format!("blob {}", self.blob), e))?;
            sealed_at += sealed;
            plain_at += n;
        }
        buf.truncate(plain_at);
        let mut plain = Bytes::from(buf);
        let skip = std::mem::take(&mut self.skip).min(plain.len());
        let _ = plain.split_to(skip);
        self.plain = plain;
        self.index += count;
        Ok(())
    }
}

impl BlobSource for Opened {
    fn next(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.plain.is_empty() {
            self.open_next()?;
        }
        let n = (max as u64).min(self.left).min(self.plain.len() as u64) as usize;
        let chunk = self.plain.split_to(n);
        self.left -= n as u64;
        Ok(Some(chunk))
    }
}
