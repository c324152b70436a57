//! Object bytes in files. A blob is immutable once written: bytes go to `tmp/<id>`, are fsynced,
//! renamed to `blobs/<id[..2]>/<id>`, and the directory is fsynced — all before the metadata that
//! makes the blob visible is committed. A blob nothing references is garbage, removed later.

use crate::error::Result;
use crate::stats::StoreStats;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

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

/// The directories holding blobs.
#[derive(Clone, Debug)]
pub struct BlobDir {
    root: PathBuf,
    /// Where blob fsyncs are counted.
    stats: Arc<StoreStats>,
}

impl BlobDir {
    /// Opens (creating) `root/blobs` and `root/tmp`, emptying `tmp` (partial writes of a previous
    /// run are never visible, so they can go).
    pub fn open(root: &Path, stats: Arc<StoreStats>) -> Result<BlobDir> {
        let dir = BlobDir {
            root: root.to_owned(),
            stats,
        };
        fs::create_dir_all(dir.root.join("blobs"))?;
        let tmp = dir.root.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(dir)
    }

    /// The blob directory of `root` as it is, without preparing it (admin handles).
    pub(crate) fn at(root: &Path, stats: Arc<StoreStats>) -> BlobDir {
        BlobDir {
            root: root.to_owned(),
            stats,
        }
    }

    /// Path of a blob.
    pub fn path(&self, blob: &str) -> PathBuf {
        let shard = blob.get(..2).unwrap_or("00");
        self.root.join("blobs").join(shard).join(blob)
    }

    /// Starts writing a new blob, computing its MD5 and SHA-1.
    pub fn create(&self) -> Result<BlobWriter> {
        self.create_hashing(true)
    }

    /// Starts writing a new blob, computing its MD5, and its SHA-1 only when `sha1` (B2 needs
    /// it; an S3 part does not, and skipping it saves a sixth of a part's CPU).
    pub fn create_hashing(&self, sha1: bool) -> Result<BlobWriter> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let tmp_path = self.root.join("tmp").join(&id);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)?;
        Ok(BlobWriter {
            dir: self.clone(),
            id,
            tmp_path,
            file: Some(file),
            md5: Md5State::InLine(Md5::new()),
            sha1: sha1.then(Sha1::new),
            size: 0,
        })
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, blob: &str) -> io::Result<File> {
        File::open(self.path(blob))
    }

    /// Removes blobs; missing ones are ignored.
    pub fn remove(&self, blobs: &[String]) -> Result<()> {
        for blob in blobs {
            match fs::remove_file(self.path(blob)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Every blob id present on disk.
    pub fn all_blobs(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for shard in fs::read_dir(self.root.join("blobs"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                if let Some(name) = entry?.file_name().to_str() {
                    out.push(name.to_owned());
                }
            }
        }
        Ok(out)
    }
}

/// A blob being written. Hashes (MD5 for S3 ETags, SHA-1 for B2) are computed on the way.
/// Dropping it without [`BlobWriter::finish`] removes the temporary file.
#[derive(Debug)]
pub struct BlobWriter {
    dir: BlobDir,
    id: String,
    tmp_path: PathBuf,
    file: Option<File>,
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
    /// Hex SHA-1, when it was computed ([`BlobDir::create_hashing`]).
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
        let file = self.file.as_mut().expect("writer is open until finish");
        let len = data.len() as u64;
        self.md5.update(data, shared, self.size)?;
        file.write_all(data)?;
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

    /// Makes the blob durable: fsync the file, rename it into place, fsync the directory.
    pub fn finish(mut self) -> Result<WrittenBlob> {
        let started = std::time::Instant::now();
        let file = self.file.take().expect("writer is open until finish");
        let md5 = std::mem::replace(&mut self.md5, Md5State::Moved).finish();
        let md5 = match md5 {
            Ok(m) => m,
            Err(e) => {
                let _ = fs::remove_file(&self.tmp_path);
                return Err(e);
            }
        };
        file.sync_data()?;
        drop(file);
        let final_path = self.dir.path(&self.id);
        let parent = final_path
            .parent()
            .expect("blob paths have a shard directory");
        if let Err(e) = fs::rename(&self.tmp_path, &final_path) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e.into());
            }
            fs::create_dir_all(parent)?;
            File::open(self.dir.root.join("blobs"))?.sync_all()?;
            fs::rename(&self.tmp_path, &final_path)?;
        }
        File::open(parent)?.sync_all()?;
        self.dir.stats.blob_sync(started.elapsed());
        Ok(WrittenBlob {
            blob: std::mem::take(&mut self.id),
            size: self.size,
            md5,
            sha1: self.sha1.take().map(|h| hex::encode(h.finalize())),
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp_path);
        }
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
        /// The bytes.
        data: Vec<u8>,
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
            Payload::Inline { data, .. } => data.len() as u64,
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
        dir: BlobDir,
        /// The bytes so far.
        data: Vec<u8>,
    },
    /// Into a blob file (boxed: the hashers' state is large).
    Blob(Box<BlobWriter>),
}

impl PayloadWriter {
    pub(crate) fn new(dir: &BlobDir, expected: Option<u64>) -> Result<PayloadWriter> {
        Ok(match expected {
            Some(n) if n <= INLINE_MAX => PayloadWriter::Inline {
                dir: dir.clone(),
                data: Vec::with_capacity(n as usize),
            },
            _ => PayloadWriter::Blob(Box::new(dir.create()?)),
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
        if let PayloadWriter::Inline { dir, data } = self {
            if data.len() as u64 + chunk.len() as u64 <= INLINE_MAX {
                data.extend_from_slice(chunk);
                return Ok(());
            }
            let mut blob = dir.create()?;
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
            PayloadWriter::Inline { data, .. } => Ok(Payload::Inline {
                md5: hex::encode(Md5::digest(&data)),
                sha1: hex::encode(Sha1::digest(&data)),
                data,
            }),
            PayloadWriter::Blob(w) => Ok(Payload::Blob((*w).finish()?)),
        }
    }
}

/// Reads a byte range of an object, across its segments, in chunks.
#[derive(Debug)]
pub struct SegmentReader {
    dir: BlobDir,
    /// The bytes of an inline object (`segments` is then empty).
    memory: Option<Vec<u8>>,
    segments: Vec<crate::Segment>,
    /// Index of the segment `file` reads from.
    index: usize,
    file: Option<File>,
    /// Offset of the next byte to read in the current segment's file.
    pos: u64,
    /// Bytes still to read from the current segment, and in total.
    left_in_segment: u64,
    left: u64,
    /// Offset into the next segment to open.
    skip: u64,
}

impl SegmentReader {
    /// A reader of `len` bytes from `start` of the object made of `segments`.
    pub(crate) fn new(dir: BlobDir, segments: Vec<crate::Segment>, start: u64, len: u64) -> Self {
        SegmentReader {
            dir,
            memory: None,
            segments,
            index: 0,
            file: None,
            pos: 0,
            left_in_segment: 0,
            left: len,
            skip: start,
        }
    }

    /// A reader of `len` bytes from `start` of an inline object's bytes.
    pub(crate) fn from_memory(dir: BlobDir, data: Vec<u8>, start: u64, len: u64) -> Self {
        SegmentReader {
            dir,
            memory: Some(data),
            segments: Vec::new(),
            index: 0,
            file: None,
            pos: 0,
            left_in_segment: 0,
            left: len,
            skip: start,
        }
    }

    /// Opens the first segment now, so a missing blob is reported before any byte is sent.
    pub fn prepare(&mut self) -> io::Result<()> {
        if self.left > 0 && self.file.is_none() && self.memory.is_none() {
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
            let mut file = self.dir.open_blob(&seg.blob)?;
            if self.skip > 0 {
                file.seek(SeekFrom::Start(self.skip))?;
            }
            self.left_in_segment = seg.size - self.skip;
            self.pos = self.skip;
            self.skip = 0;
            self.file = Some(file);
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "object segments end before the requested range",
        ))
    }

    /// Reads the next chunk (at most `max` bytes); empty when done.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Vec<u8>> {
        if self.left == 0 {
            return Ok(Vec::new());
        }
        if let Some(data) = &self.memory {
            let start = self.skip as usize;
            let n = (max as u64).min(self.left) as usize;
            let chunk = data
                .get(start..start + n)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "inline object shorter than its metadata says",
                    )
                })?
                .to_vec();
            self.skip += n as u64;
            self.left -= n as u64;
            return Ok(chunk);
        }
        if self.file.is_none() || self.left_in_segment == 0 {
            self.open_next()?;
        }
        let want = (max as u64).min(self.left).min(self.left_in_segment) as usize;
        // `read_to_end` on a file reads into the spare capacity without zero-filling it first.
        let mut buf = Vec::with_capacity(want);
        let file = self.file.as_mut().expect("a segment is open");
        Read::take(&mut *file, want as u64).read_to_end(&mut buf)?;
        if buf.len() != want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a blob is shorter than its metadata says",
            ));
        }
        self.advance(want as u64);
        Ok(buf)
    }

    fn advance(&mut self, n: u64) {
        self.pos += n;
        self.left -= n;
        self.left_in_segment -= n;
        if self.left_in_segment == 0 {
            self.file = None;
        }
    }

    /// The next chunk (at most `max` bytes) as a memory-mapped window of the blob file, so
    /// sending it copies the bytes once (kernel to socket) instead of twice; `None` when done.
    /// The window is unmapped when the returned `Bytes` is dropped.
    pub fn next_mapped(&mut self, max: usize) -> io::Result<Option<bytes::Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.memory.is_some() {
            return self.next_chunk(max).map(|c| Some(bytes::Bytes::from(c)));
        }
        if self.file.is_none() || self.left_in_segment == 0 {
            self.open_next()?;
        }
        let want = (max as u64).min(self.left).min(self.left_in_segment);
        let file = self.file.as_ref().expect("a segment is open");
        // SAFETY: blob files are immutable once renamed into place: nothing writes, truncates or
        // resizes them afterwards (a replaced blob is only unlinked, which leaves mapped pages
        // valid), so the mapping cannot change under us or fault past the end.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(self.pos)
                .len(want as usize)
                .map(file)?
        };
        let _ = map.advise(memmap2::Advice::WillNeed);
        self.advance(want);
        Ok(Some(bytes::Bytes::from_owner(map)))
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> u64 {
        self.left
    }
}
