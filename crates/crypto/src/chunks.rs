//! The sealed format of a segment: 64 KiB plaintext chunks, each AES-256-GCM with its 16-byte
//! tag, under a key derived from the object's data key and the segment's name; chunk `i` has
//! nonce `0u32 || i` and AAD `i || last`.

use crate::{CryptoError, DataKey};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::hkdf;

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// Tag bytes after each chunk.
pub const TAG: usize = 16;

/// The sealed length of `plain` bytes.
pub fn sealed_len(plain: u64) -> u64 {
    plain + TAG as u64 * plain.div_ceil(CHUNK as u64)
}

/// The chunks a plaintext range of a segment touches, and where they lie sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSpan {
    /// The first chunk's index.
    pub first: u64,
    /// How many chunks.
    pub count: u64,
    /// Where the first chunk starts in the sealed segment.
    pub sealed_start: u64,
    /// Sealed bytes to read.
    pub sealed_len: u64,
    /// Plaintext bytes to drop from the first chunk.
    pub skip: u64,
}

/// The chunks holding `len` plaintext bytes from `start` of a segment of `size` plaintext
/// bytes (`start + len <= size`, `len > 0`).
pub fn chunk_span(size: u64, start: u64, len: u64) -> ChunkSpan {
    let c = CHUNK as u64;
    let first = start / c;
    let last = (start + len - 1) / c;
    let sealed_start = first * (c + TAG as u64);
    let sealed_end = sealed_len(size).min((last + 1) * (c + TAG as u64));
    ChunkSpan {
        first,
        count: last - first + 1,
        sealed_start,
        sealed_len: sealed_end - sealed_start,
        skip: start - first * c,
    }
}

struct Len;

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        32
    }
}

/// The key of one segment of an object.
pub struct SegmentKey {
    key: LessSafeKey,
    /// Chunks in the segment (for the last-chunk mark).
    chunks: u64,
}

impl std::fmt::Debug for SegmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentKey")
            .field("chunks", &self.chunks)
            .finish()
    }
}

fn nonce(index: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn aad(index: u64, last: bool) -> [u8; 9] {
    let mut a = [0u8; 9];
    a[..8].copy_from_slice(&index.to_be_bytes());
    a[8] = last as u8;
    a
}

impl SegmentKey {
    /// The key of the segment `name` (a blob id, or `inline`) of `size` plaintext bytes.
    pub fn new(data: &DataKey, name: &str, size: u64) -> SegmentKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(data.bytes());
        let info = [b"pier segment v1".as_slice(), name.as_bytes()];
        let mut key = [0u8; 32];
        prk.expand(&info, Len)
            .and_then(|okm| okm.fill(&mut key))
            .expect("32 bytes from HKDF-SHA256");
        SegmentKey {
            key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32 bytes")),
            chunks: size.div_ceil(CHUNK as u64),
        }
    }

    /// Opens chunk `index` whose sealed bytes start at `from` in `buf`, writing its plaintext
    /// at the start of `buf` (ring moves it down); returns the plaintext length. So chunks read
    /// back to back are opened into one contiguous plaintext without another copy.
    pub fn open_chunk_within(
        &self,
        index: u64,
        buf: &mut [u8],
        from: usize,
    ) -> Result<usize, CryptoError> {
        let last = index + 1 == self.chunks;
        if index >= self.chunks {
            return Err(CryptoError::Integrity(format!(
                "chunk {index} is past the segment's {} chunks",
                self.chunks
            )));
        }
        self.key
            .open_within(nonce(index), Aad::from(aad(index, last)), buf, from..)
            .map(|plain| plain.len())
            .map_err(|_| CryptoError::Integrity(format!("chunk {index} fails authentication")))
    }

    /// Opens chunk `index` in place (`sealed`: its bytes and tag); returns the plaintext
    /// length. Fails when the chunk was changed, moved, cut, or is another segment's.
    pub fn open_chunk(&self, index: u64, sealed: &mut [u8]) -> Result<usize, CryptoError> {
        self.open_chunk_within(index, sealed, 0)
    }
}

/// Seals a segment's plaintext as it arrives: whole chunks come out sealed once the next byte
/// shows they are not the last, and [`Sealer::finish`] seals the last.
pub struct Sealer {
    key: LessSafeKey,
    index: u64,
    pending: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("index", &self.index)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Sealer {
    /// A sealer for the segment `name` of the object with this data key.
    pub fn new(data: &DataKey, name: &str) -> Sealer {
        let SegmentKey { key, .. } = SegmentKey::new(data, name, 0);
        Sealer {
            key,
            index: 0,
            pending: Vec::with_capacity(CHUNK + TAG),
        }
    }

    fn seal(&mut self, last: bool) -> Vec<u8> {
        let mut chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK + TAG));
        self.key
            .seal_in_place_append_tag(
                nonce(self.index),
                Aad::from(aad(self.index, last)),
                &mut chunk,
            )
            .expect("a chunk seals");
        self.index += 1;
        chunk
    }

    /// Takes `data`; calls `out` with each chunk sealed (a full chunk followed by more data).
    pub fn push<E>(
        &mut self,
        mut data: &[u8],
        mut out: impl FnMut(Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                let sealed = self.seal(false);
                out(sealed)?;
            }
            let n = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    /// The last chunk sealed, if any byte is pending (an empty segment has no chunk).
    pub fn finish(mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| self.seal(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seal_all(key: &DataKey, name: &str, data: &[u8], pieces: usize) -> Vec<u8> {
        let mut sealer = Sealer::new(key, name);
        let mut out = Vec::new();
        for piece in data.chunks(pieces.max(1)) {
            sealer
                .push(piece, |c| {
                    out.extend_from_slice(&c);
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
        if let Some(c) = sealer.finish() {
            out.extend_from_slice(&c);
        }
        out
    }

    fn open_range(
        key: &DataKey,
        name: &str,
        sealed: &[u8],
        size: u64,
        start: u64,
        len: u64,
    ) -> Result<Vec<u8>, CryptoError> {
        let span = chunk_span(size, start, len);
        let seg = SegmentKey::new(key, name, size);
        let bytes =
            &sealed[span.sealed_start as usize..(span.sealed_start + span.sealed_len) as usize];
        let mut plain = Vec::new();
        for (i, chunk) in bytes.chunks(CHUNK + TAG).enumerate() {
            let mut buf = chunk.to_vec();
            let n = seg.open_chunk(span.first + i as u64, &mut buf)?;
            plain.extend_from_slice(&buf[..n]);
        }
        Ok(plain[span.skip as usize..(span.skip + len) as usize].to_vec())
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn sealed_lengths() {
        assert_eq!(sealed_len(0), 0);
        assert_eq!(sealed_len(1), 17);
        assert_eq!(sealed_len(CHUNK as u64), CHUNK as u64 + 16);
        assert_eq!(sealed_len(CHUNK as u64 + 1), CHUNK as u64 + 33);
    }

    proptest! {
        #[test]
        fn any_range_reads_back_what_was_sealed(size in 1usize..300_000, a in 0usize..300_000, b in 0usize..300_000, pieces in 1usize..100_000) {
            let key = DataKey::generate();
            let plain = data(size);
            let sealed = seal_all(&key, "blob", &plain, pieces);
            prop_assert_eq!(sealed.len() as u64, sealed_len(size as u64));
            let start = a % size;
            let len = 1 + b % (size - start);
            let got = open_range(&key, "blob", &sealed, size as u64, start as u64, len as u64).unwrap();
            prop_assert_eq!(&got[..], &plain[start..start + len]);
        }
    }

    #[test]
    fn a_changed_byte_fails() {
        let key = DataKey::generate();
        let plain = data(200_000);
        let mut sealed = seal_all(&key, "blob", &plain, 4096);
        sealed[70_000] ^= 1;
        assert!(open_range(&key, "blob", &sealed, 200_000, 0, 200_000).is_err());
        assert!(
            open_range(&key, "blob", &sealed, 200_000, 0, 1000).is_ok(),
            "other chunks still read"
        );
    }

    #[test]
    fn swapped_chunks_fail() {
        let key = DataKey::generate();
        let plain = data(3 * CHUNK);
        let sealed = seal_all(&key, "blob", &plain, CHUNK);
        let step = CHUNK + TAG;
        let mut swapped = sealed.clone();
        swapped[..step].copy_from_slice(&sealed[step..2 * step]);
        swapped[step..2 * step].copy_from_slice(&sealed[..step]);
        assert!(open_range(&key, "blob", &swapped, plain.len() as u64, 0, 10).is_err());
    }

    #[test]
    fn a_segment_cut_at_a_chunk_boundary_fails() {
        let key = DataKey::generate();
        let plain = data(3 * CHUNK);
        let sealed = seal_all(&key, "blob", &plain, 1000);
        let cut = &sealed[..2 * (CHUNK + TAG)];
        // Read as if the metadata said two chunks: the second is not marked last.
        assert!(open_range(&key, "blob", cut, 2 * CHUNK as u64, CHUNK as u64, 10).is_err());
    }

    #[test]
    fn another_segments_or_objects_bytes_fail() {
        let key = DataKey::generate();
        let plain = data(1000);
        let sealed = seal_all(&key, "blob-a", &plain, 1000);
        assert!(open_range(&key, "blob-b", &sealed, 1000, 0, 1000).is_err());
        assert!(open_range(&DataKey::generate(), "blob-a", &sealed, 1000, 0, 1000).is_err());
        assert_eq!(
            open_range(&key, "blob-a", &sealed, 1000, 0, 1000).unwrap(),
            plain
        );
    }

    #[test]
    fn the_plaintext_is_not_in_the_sealed_bytes() {
        let key = DataKey::generate();
        let plain = b"a very recognisable plaintext sentence".repeat(100);
        let sealed = seal_all(&key, "blob", &plain, 100);
        assert!(!sealed
            .windows(20)
            .any(|w| plain.windows(20).any(|p| p == w)));
    }
}
