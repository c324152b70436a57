//! Reading an object's byte range across its segments (blobs, or inline bytes), opening sealed
//! ones with the entry's data key.

use crate::blob::{BlobSource, Blobs};
use std::io;

/// How a reader gets at sealed bytes.
#[derive(Clone, Debug)]
pub(crate) enum Sealing {
    /// The bytes are stored as sent.
    Plain,
    /// The bytes are sealed under this key.
    Key(pier_crypto::DataKey),
    /// The bytes are sealed and the key was not given: every read fails.
    Locked,
}

/// Reads a byte range of an object, across its segments, in chunks (opening sealed ones).
#[derive(Debug)]
pub struct SegmentReader {
    blobs: Blobs,
    /// How the bytes are stored.
    sealing: Sealing,
    /// The bytes of an inline object (`segments` is then empty), and whether they are still
    /// sealed (opened at the first read).
    memory: Option<bytes::Bytes>,
    memory_sealed: bool,
    /// The object's length (an inline object's plaintext length).
    size: u64,
    segments: Vec<crate::Segment>,
    /// Index of the next segment to open.
    index: usize,
    /// The segment being read.
    source: Option<Box<dyn BlobSource>>,
    /// Bytes still to read from the current segment, and in total.
    left_in_segment: u64,
    left: u64,
    /// Offset into the next segment to open.
    skip: u64,
}

impl SegmentReader {
    /// A reader of `len` bytes from `start` of the object made of `segments`.
    pub(crate) fn new(
        blobs: Blobs,
        sealing: Sealing,
        segments: Vec<crate::Segment>,
        start: u64,
        len: u64,
    ) -> Self {
        SegmentReader {
            blobs,
            sealing,
            memory: None,
            memory_sealed: false,
            size: 0,
            segments,
            index: 0,
            source: None,
            left_in_segment: 0,
            left: len,
            skip: start,
        }
    }

    /// A reader of `len` bytes from `start` of an inline object's bytes (`size` of them once
    /// opened).
    pub(crate) fn from_memory(
        blobs: Blobs,
        sealing: Sealing,
        data: bytes::Bytes,
        size: u64,
        (start, len): (u64, u64),
    ) -> Self {
        let mut reader = SegmentReader::new(blobs, sealing, Vec::new(), start, len);
        reader.memory_sealed = !matches!(reader.sealing, Sealing::Plain);
        reader.memory = Some(data);
        reader.size = size;
        reader
    }

    fn locked() -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the object is encrypted and its key was not given",
        )
    }

    /// Opens the first segment now, so a missing blob is reported before any byte is sent.
    pub fn prepare(&mut self) -> io::Result<()> {
        if self.left > 0 && matches!(self.sealing, Sealing::Locked) {
            return Err(Self::locked());
        }
        if self.left > 0 && self.source.is_none() && self.memory.is_none() {
            self.open_next()?;
        }
        Ok(())
    }

    fn open_next(&mut self) -> io::Result<()> {
        while self.index < self.segments.len() {
            let seg = &self.segments[self.index];
            self.index += 1;
            if self.skip >= seg.size {
                self.skip -= seg.size;
                continue;
            }
            let len = (seg.size - self.skip).min(self.left);
            self.source = Some(match &self.sealing {
                Sealing::Plain => self.blobs.open(&seg.blob, self.skip, len)?,
                Sealing::Key(key) => crate::sealed::open_range(
                    &self.blobs,
                    key,
                    &seg.blob,
                    seg.size,
                    self.skip,
                    len,
                )?,
                Sealing::Locked => return Err(Self::locked()),
            });
            self.left_in_segment = len;
            self.skip = 0;
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "object segments end before the requested range",
        ))
    }

    /// Reads the next chunk (at most `max` bytes); empty when done.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Vec<u8>> {
        Ok(self.next_bytes(max)?.map(Vec::from).unwrap_or_default())
    }

    /// The next chunk (at most `max` bytes), without a copy where the store allows (a
    /// memory-mapped window of a blob file, unmapped when the `Bytes` is dropped); `None` when
    /// done.
    pub fn next_mapped(&mut self, max: usize) -> io::Result<Option<bytes::Bytes>> {
        self.next_bytes(max)
    }

    fn next_bytes(&mut self, max: usize) -> io::Result<Option<bytes::Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.memory_sealed {
            let key = match &self.sealing {
                Sealing::Key(key) => key,
                _ => return Err(Self::locked()),
            };
            let sealed = self
                .memory
                .as_ref()
                .expect("an inline reader has its bytes");
            self.memory = Some(crate::sealed::open_inline(key, sealed, self.size)?);
            self.memory_sealed = false;
        }
        if let Some(data) = &self.memory {
            let start = self.skip as usize;
            let n = (max as u64).min(self.left) as usize;
            if data.len() < start + n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "inline object shorter than its metadata says",
                ));
            }
            let chunk = data.slice(start..start + n);
            self.skip += n as u64;
            self.left -= n as u64;
            return Ok(Some(chunk));
        }
        if self.source.is_none() || self.left_in_segment == 0 {
            self.open_next()?;
        }
        let want = (max as u64).min(self.left_in_segment) as usize;
        let source = self.source.as_mut().expect("a segment is open");
        let chunk = source.next(want)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a blob is shorter than its metadata says",
            )
        })?;
        let n = chunk.len() as u64;
        self.left -= n;
        self.left_in_segment -= n;
        if self.left_in_segment == 0 {
            self.source = None;
        }
        Ok(Some(chunk))
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> u64 {
        self.left
    }
}
