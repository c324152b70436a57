//! Blobs as files in the data directory, the default backend. A blob's bytes go to `tmp/<id>`,
//! are fsynced, renamed to `blobs/<id[..2]>/<id>`, and the directory is fsynced, all before
//! [`BlobSink::finish`] returns. Past its first 512 KiB a blob is written with `O_DIRECT`
//! ([`super::direct`]). Reads send memory-mapped windows of the file. The steps that make a blob
//! durable go through a [`Disk`], the system's calls unless a test records them.

use super::direct::{Aligned, DirectFile};
use super::{BlobSink, BlobSource, BlobStore, StoredBlob};
use crate::error::Result;
use crate::stats::StoreStats;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads up to this size are copied out with one `pread`; larger ones are mapped.
const SMALL_READ: u64 = 256 * 1024;

/// The steps that make a blob file durable, each one call: [`FileBlobs`] takes them in the
/// order `docs/design.md` gives (sync the data, rename into the shard, sync the shard directory).
/// Every method defaults to the system's call; a test implements them to fail one, or to record
/// what a crash at each would leave.
pub trait Disk: Send + Sync + std::fmt::Debug {
    /// `fdatasync` of a blob file whose bytes are all written (`path` names it).
    fn sync_data(&self, file: &File, path: &Path) -> io::Result<()> {
        let _ = path;
        file.sync_data()
    }
    /// Renames `from` to `to` (a temporary file into its shard).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    /// Creates a directory and its parents (a shard the first time a blob goes there).
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }
    /// `fsync` of a directory: the entries renamed or created in it become durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// The operating system's calls, as they are.
#[derive(Debug, Default)]
pub struct SystemDisk;

impl Disk for SystemDisk {}

/// The `blobs/` and `tmp/` directories of a data directory.
#[derive(Debug)]
pub struct FileBlobs {
    root: PathBuf,
    /// Where blob fsyncs are counted.
    stats: Arc<StoreStats>,
    /// How the durable steps are taken.
    disk: Arc<dyn Disk>,
}

impl FileBlobs {
    /// Opens (creating) `root/blobs` and `root/tmp`, emptying `tmp` (partial writes of a previous
    /// run are never visible, so they can go).
    pub fn open(root: &Path, stats: Arc<StoreStats>) -> Result<FileBlobs> {
        FileBlobs::open_on(root, stats, Arc::new(SystemDisk))
    }

    /// [`FileBlobs::open`] with the durable steps taken through `disk`.
    pub fn open_on(root: &Path, stats: Arc<StoreStats>, disk: Arc<dyn Disk>) -> Result<FileBlobs> {
        fs::create_dir_all(root.join("blobs"))?;
        let tmp = root.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(FileBlobs {
            root: root.to_owned(),
            stats,
            disk,
        })
    }

    /// The blob directories of `root` as they are, without preparing them (admin handles).
    pub fn at(root: &Path, stats: Arc<StoreStats>) -> FileBlobs {
        FileBlobs {
            root: root.to_owned(),
            stats,
            disk: Arc::new(SystemDisk),
        }
    }

    /// Path of a blob.
    pub fn path(&self, blob: &str) -> PathBuf {
        let shard = blob.get(..2).unwrap_or("00");
        self.root.join("blobs").join(shard).join(blob)
    }
}

impl BlobStore for FileBlobs {
    fn create(&self, id: &str, _size: Option<u64>) -> Result<Box<dyn BlobSink>> {
        let tmp_path = self.root.join("tmp").join(id);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)?;
        Ok(Box::new(FileSink {
            tmp_path,
            final_path: self.path(id),
            blobs_dir: self.root.join("blobs"),
            file: Some(file),
            mode: WriteMode::Buffering(Aligned::new()),
            stats: Arc::clone(&self.stats),
            disk: Arc::clone(&self.disk),
        }))
    }

    fn open(&self, id: &str, start: u64, len: u64) -> io::Result<Box<dyn BlobSource>> {
        let file = File::open(self.path(id))?;
        Ok(Box::new(FileSource {
            file,
            pos: start,
            left: len,
        }))
    }

    fn remove(&self, blobs: &[String]) -> Result<()> {
        for blob in blobs {
            match fs::remove_file(self.path(blob)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<StoredBlob>> {
        let mut out = Vec::new();
        for shard in fs::read_dir(self.root.join("blobs"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                if let Some(name) = entry.file_name().to_str() {
                    out.push(StoredBlob {
                        id: name.to_owned(),
                        modified: entry.metadata()?.modified()?,
                    });
                }
            }
        }
        Ok(out)
    }

    fn shared(&self) -> bool {
        false
    }
}

/// How a blob file's bytes are being written.
#[derive(Debug)]
enum WriteMode {
    /// The first buffer's worth, held until it is known whether the blob is large.
    Buffering(Aligned),
    /// A large blob, past the page cache.
    Direct(DirectFile),
    /// A large blob on a file system without `O_DIRECT`: written as they come.
    Plain,
}

/// A blob file being written; dropped unfinished, its temporary file is removed.
#[derive(Debug)]
struct FileSink {
    tmp_path: PathBuf,
    final_path: PathBuf,
    blobs_dir: PathBuf,
    file: Option<File>,
    mode: WriteMode,
    stats: Arc<StoreStats>,
    disk: Arc<dyn Disk>,
}

impl BlobSink for FileSink {
    fn write(&mut self, mut data: &[u8], _shared: Option<&bytes::Bytes>) -> Result<()> {
        let file = self.file.as_mut().expect("the sink is open until finish");
        if let WriteMode::Buffering(first) = &mut self.mode {
            data = &data[first.push(data)..];
            if !first.is_full() {
                return Ok(());
            }
            let WriteMode::Buffering(first) = std::mem::replace(&mut self.mode, WriteMode::Plain)
            else {
                unreachable!("matched above")
            };
            match DirectFile::start(&self.tmp_path, first)? {
                Ok(direct) => self.mode = WriteMode::Direct(direct),
                Err(first) => file.write_all(first.data())?,
            }
        }
        match &mut self.mode {
            WriteMode::Direct(direct) => direct.write(data)?,
            _ => file.write_all(data)?,
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let started = std::time::Instant::now();
        let mut file = self.file.take().expect("the sink is open until finish");
        let written = match std::mem::replace(&mut self.mode, WriteMode::Plain) {
            WriteMode::Buffering(first) => file.write_all(first.data()),
            WriteMode::Direct(direct) => direct.finish().map(|f| file = f),
            WriteMode::Plain => Ok(()),
        };
        let synced = written.and_then(|()| self.disk.sync_data(&file, &self.tmp_path));
        drop(file);
        if let Err(e) = synced {
            let _ = fs::remove_file(&self.tmp_path);
            return Err(e.into());
        }
        let parent = self
            .final_path
            .parent()
            .expect("blob paths have a shard directory");
        if let Err(e) = self.disk.rename(&self.tmp_path, &self.final_path) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e.into());
            }
            self.disk.create_dir(parent)?;
            self.disk.sync_dir(&self.blobs_dir)?;
            self.disk.rename(&self.tmp_path, &self.final_path)?;
        }
        self.disk.sync_dir(parent)?;
        self.stats.blob_sync(started.elapsed());
        Ok(())
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

/// A byte range of a blob file, sent as memory-mapped windows.
#[derive(Debug)]
struct FileSource {
    file: File,
    pos: u64,
    left: u64,
}

impl BlobSource for FileSource {
    fn next(&mut self, max: usize) -> io::Result<Option<bytes::Bytes>> {
        if self.left == 0 {
            return Ok(None);
        }
        let want = (max as u64).min(self.left);
        if self.file.metadata()?.len() < self.pos + want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a blob is shorter than its metadata says",
            ));
        }
        if want <= SMALL_READ {
            let mut buf = vec![0u8; want as usize];
            std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut buf, self.pos)?;
            self.pos += want;
            self.left -= want;
            return Ok(Some(bytes::Bytes::from(buf)));
        }
        // SAFETY: blob files are immutable once renamed into place: nothing writes, truncates or
        // resizes them afterwards (a replaced blob is only unlinked, which leaves mapped pages
        // valid), so the mapping cannot change under us or fault past the end (checked above).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(self.pos)
                .len(want as usize)
                .map(&self.file)?
        };
        let _ = map.advise(memmap2::Advice::WillNeed);
        self.pos += want;
        self.left -= want;
        Ok(Some(bytes::Bytes::from_owner(map)))
    }

    /// One `pread` into `buf`: no mapping to fault in and copy out again.
    fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        let want = (want as u64).min(self.left) as usize;
        let at = buf.len();
        buf.resize(at + want, 0);
        if let Err(e) =
            std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut buf[at..], self.pos)
        {
            buf.truncate(at);
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "a blob is shorter than its metadata says",
                )
            } else {
                e
            });
        }
        self.pos += want as u64;
        self.left -= want as u64;
        Ok(want)
    }
}
