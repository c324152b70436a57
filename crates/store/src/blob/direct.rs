//! Large blob files written past the page cache. A blob's bytes are copied into a small pool
//! of aligned buffers; once the first buffer fills, a writer thread writes each full buffer with
//! `O_DIRECT` while the caller fills the next, so the request's thread never pays for the
//! kernel's page-cache copy (page allocation, zeroing, writeback), and disk writes overlap
//! receiving. A blob that ends within the first buffer never leaves the ordinary path.
//!
//! Durability is the caller's: [`DirectFile::finish`] returns once every byte is written, and
//! the caller still `fdatasync`s before the blob counts (`docs/design.md`, "Writing an object").

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Alignment of direct writes (offsets, lengths, memory): the largest logical block size in
/// common use.
const ALIGN: usize = 4096;
/// Size of one buffer, and of one direct write: small enough that ten uploads at once (the
/// aws CLI's default) hold 20 MiB here, large enough that a write costs little per byte.
pub(crate) const BUFFER: usize = 512 * 1024;
/// Buffers per blob at most (the memory a large upload holds here).
const POOL: usize = 4;

/// An aligned buffer of [`BUFFER`] bytes and how much of it is filled.
#[derive(Debug)]
pub(crate) struct Aligned {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    /// An empty buffer (its pages are touched only as it fills).
    pub(crate) fn new() -> Aligned {
        let mem = vec![0u8; BUFFER + ALIGN];
        let start = mem.as_ptr().align_offset(ALIGN);
        Aligned { mem, start, len: 0 }
    }

    /// A placeholder that holds no memory (taken out of a finished file).
    fn new_empty() -> Aligned {
        Aligned {
            mem: Vec::new(),
            start: 0,
            len: 0,
        }
    }

    /// The filled bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    /// True when no byte more fits.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BUFFER
    }

    /// Copies as much of `data` as fits; returns how much.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(BUFFER - self.len);
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }
}

/// The thread writing full buffers, and the buffers it hands back.
#[derive(Debug)]
struct Writer {
    full: SyncSender<(Aligned, u64)>,
    empty: Receiver<Aligned>,
    done: JoinHandle<io::Result<()>>,
}

/// A file being written with `O_DIRECT` from aligned buffers (see the module doc).
#[derive(Debug)]
pub(crate) struct DirectFile {
    path: PathBuf,
    file: File,
    current: Aligned,
    /// File offset of `current`'s first byte.
    offset: u64,
    writer: Option<Writer>,
    /// Buffers made so far (at most [`POOL`]).
    made: usize,
}

/// Opens `path` (already created and empty) for direct writes; `None` where the file system
/// or platform does not do `O_DIRECT`.
fn open_direct(path: &Path) -> io::Result<Option<File>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Ok(None)
    }
}

impl DirectFile {
    /// Continues the empty file at `path` with direct writes, starting from `first` (a full
    /// buffer); `Err(first)` back where direct writes are not available.
    pub(crate) fn start(path: &Path, first: Aligned) -> io::Result<Result<DirectFile, Aligned>> {
        let Some(file) = open_direct(path)? else {
            return Ok(Err(first));
        };
        let mut direct = DirectFile {
            path: path.to_owned(),
            file,
            current: first,
            offset: 0,
            writer: None,
            made: 1,
        };
        if direct.current.is_full() {
            direct.hand_off()?;
        }
        Ok(Ok(direct))
    }

    /// Appends `data`; full buffers go to the writer thread.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.current.push(data);
            data = &data[n..];
            if self.current.is_full() {
                self.hand_off()?;
            }
        }
        Ok(())
    }

    fn hand_off(&mut self) -> io::Result<()> {
        let next = self.next_buffer()?;
        let full = std::mem::replace(&mut self.current, next);
        let len = full.len as u64;
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self
                .writer
                .insert(spawn_writer(self.file.try_clone()?, self.path.clone())?),
        };
        if writer.full.send((full, self.offset)).is_err() {
            return Err(self.writer_error());
        }
        self.offset += len;
        Ok(())
    }

    /// An empty buffer: a new one while the pool is not made up, else one the writer is done
    /// with (waiting for it: this is what bounds memory).
    fn next_buffer(&mut self) -> io::Result<Aligned> {
        if self.made < POOL {
            self.made += 1;
            return Ok(Aligned::new());
        }
        let back = self.writer.as_ref().map(|w| w.empty.recv());
        match back {
            Some(Ok(mut buf)) => {
                buf.len = 0;
                Ok(buf)
            }
            _ => Err(self.writer_error()),
        }
    }

    /// Why the writer stopped: its error, once it is joined.
    fn writer_error(&mut self) -> io::Error {
        match self.writer.take() {
            Some(w) => {
                drop(w.full);
                match w.done.join() {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => io::Error::other("the blob writer stopped"),
                    Err(_) => io::Error::other("the blob writer panicked"),
                }
            }
            None => io::Error::other("the blob writer stopped"),
        }
    }

    /// Writes what is left: the aligned part of the last buffer directly, the unaligned tail
    /// through an ordinary handle. Returns a handle to sync the file with.
    pub(crate) fn finish(mut self) -> io::Result<File> {
        let aligned = self.current.len / ALIGN * ALIGN;
        let tail = self.current.data()[aligned..].to_vec();
        self.current.len = aligned;
        if let Some(w) = self.writer.take() {
            let last = std::mem::replace(&mut self.current, Aligned::new_empty());
            let at = self.offset;
            let sent = aligned == 0 || w.full.send((last, at)).is_ok();
            drop(w.full);
            let joined = w
                .done
                .join()
                .map_err(|_| io::Error::other("the blob writer panicked"))?;
            joined?;
            if !sent {
                return Err(io::Error::other("the blob writer stopped"));
            }
        } else if aligned > 0 {
            write_at(&mut self.file, &self.path, self.current.data(), self.offset)?;
        }
        self.offset += aligned as u64;
        if tail.is_empty() {
            return self.file.try_clone();
        }
        let plain = OpenOptions::new().write(true).open(&self.path)?;
        plain.write_all_at(&tail, self.offset)?;
        Ok(plain)
    }
}

impl Drop for DirectFile {
    /// An unfinished file's writer is stopped and joined (it has at most [`POOL`] buffers to
    /// write); the caller removes the file.
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            drop(w.full);
            let _ = w.done.join();
        }
    }
}

/// Writes `data` at `at` through `file`; a device that refuses the direct write's alignment
/// (`EINVAL`) gets it, and every later write, through an ordinary handle instead.
fn write_at(file: &mut File, path: &Path, data: &[u8], at: u64) -> io::Result<()> {
    match file.write_all_at(data, at) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            tracing::warn!(error = %e, "direct write refused; writing through the page cache");
            *file = OpenOptions::new().write(true).open(path)?;
            file.write_all_at(data, at)
        }
        other => other,
    }
}

fn spawn_writer(mut file: File, path: PathBuf) -> io::Result<Writer> {
    let (full, full_rx) = sync_channel::<(Aligned, u64)>(POOL);
    let (empty_tx, empty) = sync_channel::<Aligned>(POOL);
    let done = std::thread::Builder::new()
        .name("pier-blob-writer".into())
        .spawn(move || {
            for (buf, at) in full_rx {
                write_at(&mut file, &path, buf.data(), at)?;
                // The caller may be gone (finishing); a buffer nobody takes is freed.
                let _ = empty_tx.try_send(buf);
            }
            Ok(())
        })?;
    Ok(Writer { full, empty, done })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    fn written(len: usize, chunk: usize) -> Vec<u8> {
        // Under target/, on the disk the data directory would be on (not a tmpfs /tmp).
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/direct-tests");
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::TempDir::new_in(&base).unwrap();
        let path = dir.path().join("blob");
        File::create(&path).unwrap();
        let data = pattern(len);
        let mut first = Aligned::new();
        let taken = first.push(&data);
        let mut rest = &data[taken..];
        match DirectFile::start(&path, first).unwrap() {
            Ok(mut direct) => {
                while !rest.is_empty() {
                    let n = rest.len().min(chunk);
                    direct.write(&rest[..n]).unwrap();
                    rest = &rest[n..];
                }
                direct.finish().unwrap().sync_data().unwrap();
            }
            Err(buffered) => {
                // No O_DIRECT here: the same bytes through an ordinary file.
                let f = OpenOptions::new().write(true).open(&path).unwrap();
                f.write_all_at(buffered.data(), 0).unwrap();
                f.write_all_at(rest, buffered.data().len() as u64).unwrap();
            }
        }
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn every_byte_lands_where_it_belongs_whatever_the_sizes() {
        for (len, chunk) in [
            (BUFFER, 1000),
            (BUFFER + 1, 65_536),
            (3 * BUFFER + ALIGN, 100_003),
            (9 * BUFFER + 12_345, BUFFER),
            (6 * BUFFER, 7),
        ] {
            let got = written(len, chunk);
            assert_eq!(got.len(), len);
            assert!(got == pattern(len), "{len} bytes in chunks of {chunk}");
        }
    }
}
