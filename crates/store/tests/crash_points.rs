//! Faults and crashes at every step of the write protocol (`docs/design.md`, "Writing"), on the
//! embedded store with blob files.
//!
//! A recording [`Disk`] sits under the blob files: before each durable step (a data sync, a
//! rename, a directory creation or sync) it freezes the image a power cut at that moment would
//! leave: a blob renamed into a shard whose directory was not synced since is absent, a file
//! whose data was not synced is torn (half its bytes), a shard directory created but not synced
//! into `blobs/` is lost with its entries. The metadata is SQLite's own (WAL, `synchronous=FULL`):
//! what it committed is in the image. Each image is then opened as a store and checked against
//! the recovery invariants: it opens; every entry reads back whole, with the bytes written for
//! it; every acknowledged write (and no acknowledged delete) is there; the usage counters equal
//! a recount of the rows; no blob is left that no entry references.
//!
//! The same disk fails the Nth step instead, and a blob store wrapper fails the Nth write of a
//! blob's bytes: the failed write is refused, everything acknowledged stays readable, and the
//! next start leaves no orphan.

use pier_store::blob::{BlobSink, BlobSource, BlobStore, Disk, StoredBlob, SystemDisk};
use pier_store::{
    Backends, FileBlobs, ObjectMeta, Store, StoreStats, VersionQuery, VersionRef, Versioning,
    Visibility, WriteCondition,
};
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// The durable steps taken so far and what a crash now would keep.
#[derive(Default)]
struct Durability {
    /// Steps taken (the next one's index).
    steps: usize,
    /// The step `fail_at` names was reached and failed (a run's step count varies: a shard
    /// directory is created, and synced, only by the first blob whose random name falls in it).
    failed: bool,
    /// Paths (as named now) whose data was synced.
    synced: HashSet<PathBuf>,
    /// Entries renamed into a directory that was not synced since.
    unsynced_entries: HashSet<PathBuf>,
    /// Directories created whose parent was not synced since.
    unsynced_dirs: HashSet<PathBuf>,
    /// The images frozen so far, with how many writes the workload had acknowledged then.
    images: Vec<(PathBuf, usize)>,
}

/// A [`Disk`] that takes each step for real after freezing the image a crash just before it
/// would leave (when `images` is set), or fails the step numbered `fail_at`. With `lying_dir_sync`
/// it claims directory syncs it never makes: the checker must then find acknowledged writes lost.
#[derive(Debug)]
struct RecordingDisk {
    root: PathBuf,
    images: Option<PathBuf>,
    fail_at: Option<usize>,
    lying_dir_sync: bool,
    /// How many writes the workload has acknowledged (it bumps this).
    acknowledged: Arc<AtomicUsize>,
    state: Mutex<DurabilityCell>,
}

#[derive(Default)]
struct DurabilityCell(Durability);

impl std::fmt::Debug for DurabilityCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} steps", self.0.steps)
    }
}

impl RecordingDisk {
    /// Counts a step; freezes an image first, or fails it if it is the chosen one.
    fn step(&self) -> io::Result<std::sync::MutexGuard<'_, DurabilityCell>> {
        let mut cell = self.state.lock().unwrap();
        let n = cell.0.steps;
        cell.0.steps += 1;
        if self.fail_at == Some(n) {
            cell.0.failed = true;
            return Err(io::Error::other(format!("injected failure at step {n}")));
        }
        if let Some(images) = &self.images {
            let image = images.join(format!("{n:04}"));
            freeze(&self.root, &image, &cell.0);
            let acknowledged = self.acknowledged.load(Ordering::SeqCst);
            cell.0.images.push((image, acknowledged));
        }
        Ok(cell)
    }
}

impl Disk for RecordingDisk {
    fn sync_data(&self, file: &File, path: &Path) -> io::Result<()> {
        let mut cell = self.step()?;
        file.sync_data()?;
        cell.0.synced.insert(path.to_owned());
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut cell = self.step()?;
        SystemDisk.rename(from, to)?;
        if cell.0.synced.remove(from) {
            cell.0.synced.insert(to.to_owned());
        }
        cell.0.unsynced_entries.insert(to.to_owned());
        Ok(())
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let mut cell = self.step()?;
        let existed = dir.exists();
        SystemDisk.create_dir(dir)?;
        if !existed {
            cell.0.unsynced_dirs.insert(dir.to_owned());
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut cell = self.step()?;
        if self.lying_dir_sync {
            return Ok(());
        }
        SystemDisk.sync_dir(dir)?;
        cell.0.unsynced_entries.retain(|p| p.parent() != Some(dir));
        cell.0.unsynced_dirs.retain(|p| p.parent() != Some(dir));
        Ok(())
    }
}

/// Copies `root` to `image` as a crash now would leave it.
fn freeze(root: &Path, image: &Path, d: &Durability) {
    fs::create_dir_all(image).unwrap();
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let path = entry.path();
        if name == "blobs" || name == "tmp" {
            continue;
        }
        let transient = name == "LOCK" || name.to_string_lossy().ends_with("-shm");
        if path.is_file() && !transient {
            fs::copy(&path, image.join(&name)).unwrap();
        }
    }
    for dir in ["blobs", "tmp"] {
        fs::create_dir_all(image.join(dir)).unwrap();
    }
    for file in walk(&root.join("tmp")) {
        torn_copy(&file, &image.join("tmp").join(file.file_name().unwrap()));
    }
    for shard in fs::read_dir(root.join("blobs")).unwrap() {
        let shard = shard.unwrap().path();
        if d.unsynced_dirs.contains(&shard) {
            continue;
        }
        let to = image.join("blobs").join(shard.file_name().unwrap());
        fs::create_dir_all(&to).unwrap();
        for blob in walk(&shard) {
            if d.unsynced_entries.contains(&blob) {
                continue;
            }
            let target = to.join(blob.file_name().unwrap());
            if d.synced.contains(&blob) {
                fs::copy(&blob, target).unwrap();
            } else {
                torn_copy(&blob, &target);
            }
        }
    }
}

/// A torn write: the first half of the file's bytes.
fn torn_copy(from: &Path, to: &Path) {
    let bytes = fs::read(from).unwrap();
    fs::write(to, &bytes[..bytes.len() / 2]).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// What the workload did, as far as it was acknowledged: the bytes of every version written,
/// in order, and the versions deleted.
#[derive(Default)]
struct Journal {
    /// (key, version id, bytes) of every acknowledged put, in order.
    puts: Vec<(String, String, Vec<u8>)>,
    /// Acknowledged deletes: the index in `puts` they followed, and the version id.
    deletes: Vec<(usize, String)>,
}

impl Journal {
    /// The versions that must be present once `acknowledged` puts were: every put among them
    /// whose delete was not acknowledged by then.
    fn expected(&self, acknowledged: usize) -> BTreeMap<String, (String, Vec<u8>)> {
        let deleted: HashSet<&str> = self
            .deletes
            .iter()
            .filter(|(after, _)| *after <= acknowledged)
            .map(|(_, v)| v.as_str())
            .collect();
        self.puts[..acknowledged]
            .iter()
            .filter(|(_, v, _)| !deleted.contains(v.as_str()))
            .map(|(k, v, b)| (v.clone(), (k.clone(), b.clone())))
            .collect()
    }
}

fn backends() -> Backends {
    Backends {
        // Released blobs stay until the next start: the live store changes nothing behind the
        // recorder's back, and every image tests the start's garbage collection.
        garbage_grace: std::time::Duration::from_secs(3600),
        ..Backends::default()
    }
}

/// Bytes for the `i`th write: some inline (small), most in blob files, one past the 512 KiB
/// direct-I/O threshold.
fn content(i: usize) -> Vec<u8> {
    let len = match i % 4 {
        0 => 300,
        1 => 70_000,
        2 => 600_000,
        _ => 140_001,
    };
    (0..len).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
}

/// Writes and deletes through the store: overwrites in a versioned bucket, deletes of older
/// versions (their blobs become garbage), and a failed write continues the workload. Bumps
/// `acknowledged` after each acknowledged put and records it in the journal.
fn workload(store: &Store, acknowledged: &AtomicUsize, journal: &Mutex<Journal>) -> usize {
    let bucket = store
        .create_bucket("b", "acct", Visibility::Private, Versioning::Enabled)
        .unwrap();
    let mut refused = 0;
    for i in 0..12 {
        let key = format!("k{}", i % 5);
        let data = content(i);
        let put = (|| -> Result<pier_store::Object, String> {
            let mut w = store
                .new_payload(Some(data.len() as u64))
                .map_err(|e| e.to_string())?;
            for chunk in data.chunks(65_536) {
                w.write(chunk).map_err(|e| e.to_string())?;
            }
            let payload = w.finish().map_err(|e| e.to_string())?;
            store
                .put_object(
                    &bucket.id,
                    &key,
                    payload,
                    ObjectMeta::default(),
                    WriteCondition::None,
                )
                .map_err(|e| e.to_string())
        })();
        match put {
            Ok(object) => {
                let mut j = journal.lock().unwrap();
                j.puts.push((key.clone(), object.version_id, data));
                acknowledged.store(j.puts.len(), Ordering::SeqCst);
            }
            Err(_) => refused += 1,
        }
        if i % 3 == 2 {
            let mut j = journal.lock().unwrap();
            let oldest = j
                .puts
                .iter()
                .find(|(k, v, _)| *k == key && !j.deletes.iter().any(|(_, d)| d == v))
                .map(|(_, v, _)| v.clone());
            if let Some(version) = oldest {
                if store
                    .delete_version(&bucket.id, &key, VersionRef::Id(version.clone()), false)
                    .is_ok()
                {
                    let after = j.puts.len();
                    j.deletes.push((after, version));
                }
            }
        }
    }
    refused
}

/// The recovery invariants of a data directory after a crash or a failure; the problems found.
fn check(root: &Path, journal: &Journal, acknowledged: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let store = match Store::open(root) {
        Ok(store) => store,
        Err(e) => return vec![format!("the store does not open: {e}")],
    };
    let Ok(bucket) = store.bucket("b") else {
        if acknowledged > 0 {
            problems.push("the bucket is gone".into());
        }
        return problems;
    };
    let all: BTreeMap<String, (String, Vec<u8>)> = journal.expected(journal.puts.len());
    let written: BTreeMap<&str, &[u8]> = journal
        .puts
        .iter()
        .map(|(_, v, b)| (v.as_str(), b.as_slice()))
        .collect();
    let page = store
        .list_versions(
            &bucket.id,
            &VersionQuery {
                max_keys: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
    let mut present = HashSet::new();
    let mut blob_backed = 0;
    for entry in &page.entries {
        present.insert(entry.version_id.clone());
        if entry
            .segments
            .iter()
            .any(|s| s.blob != pier_store::INLINE_BLOB)
        {
            blob_backed += 1;
        }
        let Some(expected) = written.get(entry.version_id.as_str()) else {
            // A put whose commit happened but was not yet acknowledged: impossible here, as
            // every step a crash is frozen at comes before a commit or after its answer.
            problems.push(format!("{} is no write of the workload", entry.version_id));
            continue;
        };
        let readable = match store.read_by_version(&entry.version_id) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{} does not read: {e}", entry.version_id));
                continue;
            }
        };
        let mut reader = store.reader(&readable, 0, entry.size);
        let mut bytes = Vec::new();
        loop {
            match reader.next_chunk(1 << 20) {
                Ok(chunk) if chunk.is_empty() => break,
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => {
                    problems.push(format!("{} fails mid-read: {e}", entry.version_id));
                    break;
                }
            }
        }
        if bytes != *expected {
            problems.push(format!(
                "{} reads {} bytes, not the {} written",
                entry.version_id,
                bytes.len(),
                expected.len()
            ));
        }
    }
    // The usage counters commit with the rows they count (`docs/design.md`, "Usage and caps").
    match (store.usage(&bucket.id), store.recount_usage(&bucket.id)) {
        (Ok(counted), Ok(fresh)) if counted == fresh => {}
        (counted, fresh) => problems.push(format!(
            "the usage counters {counted:?} disagree with a recount {fresh:?}"
        )),
    }
    for (version, (key, _)) in journal.expected(acknowledged) {
        if !present.contains(&version) {
            problems.push(format!("acknowledged {key} {version} is lost"));
        }
    }
    for version in &present {
        if !all.contains_key(version)
            && journal
                .deletes
                .iter()
                .any(|(after, d)| d == version && *after <= acknowledged)
        {
            problems.push(format!(
                "{version} was deleted with acknowledgement, yet is back"
            ));
        }
    }
    let files = store.blob_ids().unwrap().len();
    if files != blob_backed {
        problems.push(format!(
            "{files} blob files after the start, {blob_backed} entries in files"
        ));
    }
    store.close().unwrap();
    problems
}

/// Runs the workload over a recording disk; returns the disk, the journal and the directory.
fn run(
    fail_at: Option<usize>,
    images: bool,
    lying_dir_sync: bool,
) -> (Arc<RecordingDisk>, Journal, TempDir, usize) {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("data");
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let disk = Arc::new(RecordingDisk {
        root: root.clone(),
        images: images.then(|| dir.path().join("images")),
        fail_at,
        lying_dir_sync,
        acknowledged: Arc::clone(&acknowledged),
        state: Mutex::default(),
    });
    fs::create_dir_all(&root).unwrap();
    let blobs = FileBlobs::open_on(
        &root,
        Arc::new(StoreStats::default()),
        Arc::clone(&disk) as Arc<dyn Disk>,
    )
    .unwrap();
    let store = Store::open_with_blob_store(&root, &backends(), Arc::new(blobs)).unwrap();
    let journal = Mutex::new(Journal::default());
    let refused = workload(&store, &acknowledged, &journal);
    store.close().unwrap();
    (disk, journal.into_inner().unwrap(), dir, refused)
}

#[test]
fn a_crash_at_every_durable_step_leaves_an_image_that_recovers() {
    let (disk, journal, _dir, refused) = run(None, true, false);
    assert_eq!(refused, 0);
    let images = std::mem::take(&mut disk.state.lock().unwrap().0.images);
    assert!(images.len() >= 24, "{} images", images.len());
    for (image, acknowledged) in &images {
        let problems = check(image, &journal, *acknowledged);
        assert!(problems.is_empty(), "{}: {problems:#?}", image.display());
    }
}

#[test]
fn the_checker_finds_bytes_lost_when_directory_syncs_are_skipped() {
    let (disk, journal, _dir, _) = run(None, true, true);
    let images = std::mem::take(&mut disk.state.lock().unwrap().0.images);
    let unreadable: Vec<String> = images
        .iter()
        .flat_map(|(image, acknowledged)| check(image, &journal, *acknowledged))
        .collect();
    assert!(
        unreadable
            .iter()
            .any(|p| p.contains("mid-read") || p.contains("does not read")),
        "no image lost an acknowledged write's bytes: {unreadable:#?}"
    );
}

#[test]
fn a_failure_at_any_durable_step_refuses_that_write_alone() {
    let (disk, ..) = run(None, false, false);
    let steps = disk.state.lock().unwrap().0.steps;
    let mut failed = 0;
    for n in 0..steps {
        let (disk, journal, dir, refused) = run(Some(n), false, false);
        let reached = disk.state.lock().unwrap().0.failed;
        failed += usize::from(reached);
        assert_eq!(refused, usize::from(reached), "step {n}");
        let problems = check(&dir.path().join("data"), &journal, journal.puts.len());
        assert!(problems.is_empty(), "step {n}: {problems:#?}");
    }
    assert!(
        failed * 10 >= steps * 8,
        "only {failed} of {steps} steps were reached and failed"
    );
}

/// A blob store whose `fail_at`th write of bytes fails (a full disk, an I/O error).
#[derive(Debug)]
struct FailingWrites {
    inner: FileBlobs,
    fail_at: usize,
    writes: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct FailingSink {
    inner: Box<dyn BlobSink>,
    fail_at: usize,
    writes: Arc<AtomicUsize>,
}

impl BlobSink for FailingSink {
    fn write(&mut self, data: &[u8], shared: Option<&bytes::Bytes>) -> pier_store::Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) == self.fail_at {
            return Err(io::Error::other("injected write failure").into());
        }
        self.inner.write(data, shared)
    }

    fn finish(self: Box<Self>) -> pier_store::Result<()> {
        self.inner.finish()
    }
}

impl BlobStore for FailingWrites {
    fn create(&self, id: &str, size: Option<u64>) -> pier_store::Result<Box<dyn BlobSink>> {
        Ok(Box::new(FailingSink {
            inner: self.inner.create(id, size)?,
            fail_at: self.fail_at,
            writes: Arc::clone(&self.writes),
        }))
    }

    fn open(&self, id: &str, start: u64, len: u64) -> io::Result<Box<dyn BlobSource>> {
        self.inner.open(id, start, len)
    }

    fn remove(&self, blobs: &[String]) -> pier_store::Result<()> {
        self.inner.remove(blobs)
    }

    fn list(&self) -> pier_store::Result<Vec<StoredBlob>> {
        self.inner.list()
    }

    fn shared(&self) -> bool {
        false
    }
}

#[test]
fn a_failed_write_of_bytes_refuses_that_write_alone() {
    for fail_at in [0, 1, 5, 9] {
        let dir = TempDir::new().unwrap();
        let root = dir.path().join("data");
        fs::create_dir_all(&root).unwrap();
        let blobs = FailingWrites {
            inner: FileBlobs::open(&root, Arc::new(StoreStats::default())).unwrap(),
            fail_at,
            writes: Arc::default(),
        };
        let store = Store::open_with_blob_store(&root, &backends(), Arc::new(blobs)).unwrap();
        let journal = Mutex::new(Journal::default());
        let refused = workload(&store, &AtomicUsize::new(0), &journal);
        store.close().unwrap();
        assert_eq!(refused, 1, "write {fail_at}");
        let journal = journal.into_inner().unwrap();
        let problems = check(&root, &journal, journal.puts.len());
        assert!(problems.is_empty(), "write {fail_at}: {problems:#?}");
        assert!(
            fs::read_dir(root.join("tmp")).unwrap().next().is_none(),
            "tmp/ is emptied at start"
        );
    }
}
