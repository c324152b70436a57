//! Object bytes as blobs: immutable once written, and durable in a [`BlobStore`] before the
//! metadata that makes them visible is committed. A blob nothing references is garbage, removed
//! later. Two stores exist: files in the data directory ([`FileBlobs`], the default) and an
//! S3-compatible cluster ([`S3Blobs`]). Above them, [`BlobWriter`] computes a new blob's digests
//! on the way in and [`SegmentReader`] reads an object's byte range across its blobs.

mod direct;
mod files;
mod s3;

pub use files::{Disk, FileBlobs, SystemDisk};
pub use s3::{S3Blobs, S3Location, PARTS_IN_FLIGHT, PART_SIZE};

use crate::error::Result;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use std::io;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

/// Where durable blobs live. Implementations keep a blob's bytes unchanged from
/// [`BlobSink::finish`] until [`BlobStore::remove`].
pub trait BlobStore: Send + Sync + std::fmt::Debug + 'static {
    /// Starts writing blob `id` (a fresh id nothing else uses).
    fn create(&self, id: &str) -> Result<Box<dyn BlobSink>>;
    /// Reads `len` bytes of blob `id` from `start`; a missing blob is `NotFound` here, before
    /// any byte is returned.
    fn open(&self, id: &str, start: u64, len: u64) -> io::Result<Box<dyn BlobSource>>;
    /// Removes blobs; missing ones are ignored.
    fn remove(&self, blobs: &[String]) -> Result<()>;
    /// Every blob present, with when it was written.
    fn list(&self) -> Result<Vec<StoredBlob>>;
    /// True when other processes may write blobs here too (a cluster shared by several
    /// nodes): blobs no metadata references are then removed only once old enough that no
    /// commit can still be coming for them.
    fn shared(&self) -> bool;
}

/// Where the bytes of one new blob go. Dropped before [`BlobSink::finish`], the blob is
/// discarded.
pub trait BlobSink: Send + std::fmt::Debug {
    /// Appends bytes (`shared` holds the same bytes when the caller has them in a
    /// [`bytes::Bytes`]).
    fn write(&mut self, data: &[u8], shared: Option<&bytes::Bytes>) -> Result<()>;
    /// Makes the blob durable; returns only once it is.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A byte range of one blob, read in chunks.
pub trait BlobSource: Send + std::fmt::Debug {
    /// The next chunk (at most `max` bytes); `None` at the end of the range.
    fn next(&mut self, max: usize) -> io::Result<Option<bytes::Bytes>>;
}

/// A blob as a [`BlobStore`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its id.
    pub id: String,
    /// When it was written.
    pub modified: SystemTime,
}

/// The store's blobs: a [`BlobStore`], shared by every clone.
#[derive(Clone, Debug)]
pub struct Blobs(Arc<dyn BlobStore>);

impl Blobs {
    /// The blobs kept in `store`.
    pub fn new(store: Arc<dyn BlobStore>) -> Blobs {
        Blobs(store)
    }

    /// Starts writing a new blob, computing its MD5 and SHA-1.
    pub fn create(&self) -> Result<BlobWriter> {
        self.create_hashing(true)
    }

    /// Starts writing a new blob, computing its MD5, and its SHA-1 only when `sha1` (B2 needs
    /// it; an S3 part does not, and skipping it saves a sixth of a part's CPU).
    pub fn create_hashing(&self, sha1: bool) -> Result<BlobWriter> {
        self.create_with(sha1, None)
    }

    /// [`Blobs::create_hashing`] for a blob stored sealed under `key` (its plaintext is
    /// hashed; `docs/design.md`, "Encryption at rest").
    pub fn create_sealed(&self, sha1: bool, key: &pier_crypto::DataKey) -> Result<BlobWriter> {
        self.create_with(sha1, Some(key))
    }

    fn create_with(&self, sha1: bool, key: Option<&pier_crypto::DataKey>) -> Result<BlobWriter> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sink = self.0.create(&id)?;
        Ok(BlobWriter {
            sealer: key.map(|k| pier_crypto::Sealer::new(k, &id)),
            id,
            sink: Some(sink),
            md5: Md5State::InLine(Md5::new()),
            sha1: sha1.then(Sha1::new),
            size: 0,
        })
    }

    /// Reads `len` bytes of a blob from `start`.
    pub fn open(&self, blob: &str, start: u64, len: u64) -> io::Result<Box<dyn BlobSource>> {
        self.0.open(blob, start, len)
    }

    /// Removes blobs; missing ones are ignored.
    pub fn remove(&self, blobs: &[String]) -> Result<()> {
        self.0.remove(blobs)
    }

    /// Every blob present.
    pub fn list(&self) -> Result<Vec<StoredBlob>> {
        self.0.list()
    }

    /// See [`BlobStore::shared`].
    pub fn shared(&self) -> bool {
        self.0.shared()
    }
}

/// Past this many bytes a blob's MD5 moves to a thread of its own, so that hashing runs beside
/// the file writes and the SHA-1 instead of after them (MD5 cannot be split or vectorised; it
/// is the slowest step of a large upload).
pub const MD5_THREAD_AFTER: u64 = 4 * 1024 * 1024;

/// Chunks queued for the MD5 thread at most; the writer waits beyond that, so memory per upload
/// stays bounded by this many chunks.
const MD5_QUEUE: usize = 32;

/// MD5 of a blob: computed in line for small blobs, then by a thread fed the same chunks.
#[derive(Debug)]
enum Md5State {
    InLine(Md5),
    Thread {
        chunks: SyncSender<bytes::Bytes>,
        done: JoinHandle<Md5>,
    },
    /// Only while switching.
    Moved,
}

impl Md5State {
    /// Hashes `data`, which `shared` holds too when the caller has it in a [`bytes::Bytes`]:
    /// the thread takes that without a copy; only a borrowed slice bound for the thread is
    /// copied.
    fn update(
        &mut self,
        data: &[u8],
        shared: Option<&bytes::Bytes>,
        size_before: u64,
    ) -> Result<()> {
        if let Md5State::InLine(h) = self {
            if size_before < MD5_THREAD_AFTER {
                h.update(data);
                return Ok(());
            }
            let Md5State::InLine(mut h) = std::mem::replace(self, Md5State::Moved) else {
                unreachable!("matched above")
            };
            let (tx, rx) = sync_channel::<bytes::Bytes>(MD5_QUEUE);
            let done = std::thread::Builder::new()
                .name("pier-md5".into())
                .spawn(move || {
                    for chunk in rx {
                        h.update(&chunk);
                    }
                    h
                })?;
            *self = Md5State::Thread { chunks: tx, done };
        }
        let chunk = shared
            .cloned()
            .unwrap_or_else(|| bytes::Bytes::copy_from_slice(data));
        match self {
            Md5State::Thread { chunks, .. } => chunks
                .send(chunk)
                .map_err(|_| io::Error::other("the MD5 thread stopped").into()),
            _ => unreachable!("switched to a thread above"),
        }
    }

    fn finish(self) -> Result<String> {
        let h = match self {
            Md5State::InLine(h) => h,
            Md5State::Thread { chunks, done } => {
                drop(chunks);
                done.join()
                    .map_err(|_| io::Error::other("the MD5 thread panicked"))?
            }
            Md5State::Moved => unreachable!("never left moved"),
        };
        Ok(hex::encode(h.finalize()))
    }
}

/// A blob being written. Hashes (MD5 for S3 ETags, SHA-1 for B2) are computed on the way, of
/// the plaintext; a sealed blob's bytes are stored in sealed chunks.
/// Dropping it without [`BlobWriter::finish`] discards the blob.
#[derive(Debug)]
pub struct BlobWriter {
    id: String,
    sink: Option<Box<dyn BlobSink>>,
    /// Seals the bytes before they reach the sink, for an encrypted object.
    sealer: Option<pier_crypto::Sealer>,
    md5: Md5State,
    sha1: Option<Sha1>,
    size: u64,
}

/// A durable blob, ready to be referenced by metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenBlob {
    /// Blob id.
    pub blob: String,
    /// Bytes written.
    pub size: u64,
    /// Hex MD5.
    pub md5: String,
    /// Hex SHA-1, when it was computed ([`Blobs::create_hashing`]).
    pub sha1: Option<String>,
}

impl BlobWriter {
    /// Appends bytes (copied only once the MD5 runs on its own thread; prefer
    /// [`BlobWriter::write_bytes`] for bytes already in a [`bytes::Bytes`]).
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.append(data, None)
    }

    /// Appends a chunk: written to the file and hashed (SHA-1 here, MD5 here or on its thread
    /// for large blobs, sharing the chunk without copying it).
    pub fn write_bytes(&mut self, data: bytes::Bytes) -> Result<()> {
        self.append(&data, Some(&data))
    }

    fn append(&mut self, data: &[u8], shared: Option<&bytes::Bytes>) -> Result<()> {
        let sink = self.sink.as_mut().expect("writer is open until finish");
        let len = data.len() as u64;
        self.md5.update(data, shared, self.size)?;
        match &mut self.sealer {
            Some(sealer) => sealer.push(data, |chunk| {
                let chunk = bytes::Bytes::from(chunk);
                sink.write(&chunk, Some(&chunk))
            })?,
            None => sink.write(data, shared)?,
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        self.size += len;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the blob durable (the digests are complete first) and returns what was written.
    pub fn finish(mut self) -> Result<WrittenBlob> {
        let mut sink = self.sink.take().expect("writer is open until finish");
        if let Some(last) = self.sealer.take().and_then(pier_crypto::Sealer::finish) {
            let last = bytes::Bytes::from(last);
            sink.write(&last, Some(&last))?;
        }
        // An MD5 failure drops the sink unfinished, which discards the blob.
        let md5 = std::mem::replace(&mut self.md5, Md5State::Moved).finish()?;
        sink.finish()?;
        Ok(WrittenBlob {
            blob: std::mem::take(&mut self.id),
            size: self.size,
            md5,
            sha1: self.sha1.take().map(|h| hex::encode(h.finalize())),
        })
    }
}

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
            (_, Some(key)) => PayloadWriter::Blob(Box::new(dir.create_sealed(true, key)?)),
            (_, None) => PayloadWriter::Blob(Box::new(dir.create()?)),
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
            let mut blob = match key {
                Some(key) => dir.create_sealed(true, key)?,
                None => dir.create()?,
            };
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
