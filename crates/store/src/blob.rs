//! Object bytes as blobs: immutable once written, and durable in a [`BlobStore`] before the
//! metadata that makes them visible is committed. A blob nothing references is garbage, removed
//! later. Two stores exist: files in the data directory ([`FileBlobs`], the default) and an
//! S3-compatible cluster ([`S3Blobs`]). Above them, [`BlobWriter`] computes a new blob's digests
//! on the way in and [`SegmentReader`] reads an object's byte range across its blobs.

#[cfg(feature = "s3-blobs")]
mod aws_chunked;
#[cfg(feature = "s3-blobs")]
mod cluster_wait;
mod direct;
mod files;
mod location;
#[cfg(feature = "s3-blobs")]
mod s3;
#[cfg(feature = "s3-blobs")]
mod streamed_put;

pub use files::{Disk, FileBlobs, SystemDisk};
pub use location::{BodyCheck, S3Location};
#[cfg(feature = "s3-blobs")]
pub use s3::{S3Blobs, PARTS_IN_FLIGHT, PART_SIZE, STREAMED_AFTER, STREAMED_MAX};

use crate::error::Result;
use crate::md5_lanes::LaneStream;
use sha1::{Digest as _, Sha1};
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

/// Where durable blobs live. Implementations keep a blob's bytes unchanged from
/// [`BlobSink::finish`] until [`BlobStore::remove`].
pub trait BlobStore: Send + Sync + std::fmt::Debug + 'static {
    /// Starts writing blob `id` (a fresh id nothing else uses). `size`, when known, is exactly
    /// the bytes that will be written: a store may then stream them on as they come, and may
    /// refuse more ([`crate::StoreError::LongerThanDeclared`]) or fewer.
    fn create(&self, id: &str, size: Option<u64>) -> Result<Box<dyn BlobSink>>;
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

    /// Appends the next `want` bytes of the range to `buf` (fewer only where the range ends),
    /// for a reader that changes the bytes anyway (sealed chunks): a store may copy them
    /// straight in. Returns how many it appended.
    fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        let mut got = 0;
        while got < want {
            match self.next(want - got)? {
                Some(piece) => {
                    got += piece.len();
                    buf.extend_from_slice(&piece);
                }
                None => break,
            }
        }
        Ok(got)
    }
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

    /// Starts writing a new blob of unknown length, computing its MD5 and SHA-1.
    pub fn create(&self) -> Result<BlobWriter> {
        self.create_with(None, true, None)
    }

    /// Starts writing a new blob, computing its MD5, and its SHA-1 only when `sha1` (B2 needs
    /// it; an S3 part does not, and skipping it saves a sixth of a part's CPU). `size`, when
    /// known, is exactly the plaintext bytes that will be written (the client's declared
    /// length): a cluster then gets them as they come, in one request; a blob given more is
    /// refused ([`crate::StoreError::LongerThanDeclared`]), one given fewer fails to finish.
    /// Sealed under `key` when given (its plaintext is hashed; `docs/design.md`, "Encryption
    /// at rest").
    pub fn create_with(
        &self,
        size: Option<u64>,
        sha1: bool,
        key: Option<&pier_crypto::DataKey>,
    ) -> Result<BlobWriter> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let stored = match key {
            Some(_) => size.map(pier_crypto::sealed_len),
            None => size,
        };
        let sink = self.0.create(&id, stored)?;
        Ok(BlobWriter {
            sealer: key.map(|k| pier_crypto::Sealer::new(k, &id)),
            id,
            sink: Some(sink),
            md5: Md5Progress::InLine(md5_many::Md5State::new()),
            sha1: sha1.then(Sha1::new),
            size: 0,
            declared: size,
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

/// Past this many bytes a blob's MD5 moves to the process's hashing thread
/// ([`crate::md5_lanes`]), which hashes every large blob being written side by side in SIMD
/// lanes, beside the file writes and the SHA-1; below it, hashing in line is cheaper than the
/// hand-over.
pub const MD5_LANES_AFTER: u64 = 256 * 1024;

/// MD5 of a blob: computed in line for small blobs, then on the hashing thread, fed the same
/// chunks.
#[derive(Debug)]
enum Md5Progress {
    InLine(md5_many::Md5State),
    Lanes(LaneStream),
    /// Only while switching.
    Moved,
}

impl Md5Progress {
    /// Hashes `data`, which `shared` holds too when the caller has it in a [`bytes::Bytes`]:
    /// the hashing thread takes that without a copy; only a borrowed slice bound for it is
    /// copied.
    fn update(
        &mut self,
        data: &[u8],
        shared: Option<&bytes::Bytes>,
        size_before: u64,
    ) -> Result<()> {
        if let Md5Progress::InLine(h) = self {
            if size_before < MD5_LANES_AFTER {
                h.update(data);
                return Ok(());
            }
            let Md5Progress::InLine(h) = std::mem::replace(self, Md5Progress::Moved) else {
                unreachable!("matched above")
            };
            *self = Md5Progress::Lanes(LaneStream::start(h)?);
        }
        let chunk = shared
            .cloned()
            .unwrap_or_else(|| bytes::Bytes::copy_from_slice(data));
        match self {
            Md5Progress::Lanes(stream) => Ok(stream.update(chunk)?),
            _ => unreachable!("moved to the lanes above"),
        }
    }

    fn finish(self) -> Result<String> {
        let digest = match self {
            Md5Progress::InLine(h) => h.finalize(),
            Md5Progress::Lanes(stream) => stream.finish()?,
            Md5Progress::Moved => unreachable!("never left moved"),
        };
        Ok(hex::encode(digest))
    }
}

/// A blob being written. Hashes (MD5 for S3 ETags, SHA-1 for B2) are computed on the way, of
/// the plaintext; a sealed blob's bytes are stored in sealed chunks. A blob created with its
/// length ([`Blobs::create_with`]) takes exactly that many bytes: one more is refused with
/// [`crate::StoreError::LongerThanDeclared`], and fewer fail [`BlobWriter::finish`].
/// Dropping it without [`BlobWriter::finish`] discards the blob.
#[derive(Debug)]
pub struct BlobWriter {
    id: String,
    sink: Option<Box<dyn BlobSink>>,
    /// Seals the bytes before they reach the sink, for an encrypted object.
    sealer: Option<pier_crypto::Sealer>,
    md5: Md5Progress,
    sha1: Option<Sha1>,
    size: u64,
    /// The plaintext length declared at creation, which the writes must match exactly.
    declared: Option<u64>,
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
    /// Hex SHA-1, when it was computed ([`Blobs::create_with`]).
    pub sha1: Option<String>,
}

impl BlobWriter {
    /// Appends bytes (copied once, for the hashing thread and the store, past
    /// [`MD5_LANES_AFTER`]; prefer [`BlobWriter::write_bytes`] for bytes already in a
    /// [`bytes::Bytes`]).
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.append(data, None)
    }

    /// Appends a chunk: written to the file and hashed (SHA-1 here, MD5 here or, for large
    /// blobs, on the hashing thread, which shares the chunk without copying it).
    pub fn write_bytes(&mut self, data: bytes::Bytes) -> Result<()> {
        self.append(&data, Some(&data))
    }

    fn append(&mut self, data: &[u8], shared: Option<&bytes::Bytes>) -> Result<()> {
        let sink = self.sink.as_mut().expect("writer is open until finish");
        let len = data.len() as u64;
        if let Some(declared) = self.declared.filter(|d| self.size + len > *d) {
            return Err(crate::StoreError::LongerThanDeclared(declared));
        }
        // Past the threshold the hashing thread needs the bytes in a `Bytes`, and so does a
        // cluster streaming them: a borrowed slice is copied once, for both.
        let owned;
        let shared = match shared {
            None if self.size >= MD5_LANES_AFTER => {
                owned = bytes::Bytes::copy_from_slice(data);
                Some(&owned)
            }
            shared => shared,
        };
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
    /// A blob given fewer bytes than declared is not kept (callers check a body's length
    /// first, so this is a fault of the server's, an error).
    pub fn finish(mut self) -> Result<WrittenBlob> {
        if let Some(declared) = self.declared.filter(|d| self.size != *d) {
            return Err(crate::StoreError::Io(io::Error::other(format!(
                "a blob declared as {declared} bytes was given {}",
                self.size
            ))));
        }
        let mut sink = self.sink.take().expect("writer is open until finish");
        if let Some(last) = self.sealer.take().and_then(pier_crypto::Sealer::finish) {
            let last = bytes::Bytes::from(last);
            sink.write(&last, Some(&last))?;
        }
        // An MD5 failure drops the sink unfinished, which discards the blob.
        let md5 = std::mem::replace(&mut self.md5, Md5Progress::Moved).finish()?;
        sink.finish()?;
        Ok(WrittenBlob {
            blob: std::mem::take(&mut self.id),
            size: self.size,
            md5,
            sha1: self.sha1.take().map(|h| hex::encode(h.finalize())),
        })
    }
}
