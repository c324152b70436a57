//! The store's object operations: collecting bytes, put and copy under write conditions, reads
//! (one snapshot each), per-version settings, deletes and listings.

use crate::{
    check_key, list, lock, new_id, now_millis, ChangeError, DeleteError, FindError, ListPage,
    ListQuery, MetaChange, NewBytes, Object, ObjectMeta, Part, Payload, PayloadWriter, PutError,
    ReadError, Readable, Removal, Result, Retention, Segment, SegmentReader, StorageError, Store,
    StoreError, VersionPage, VersionQuery, VersionRef, WriteCondition, WrittenBlob, INLINE_BLOB,
};
use pier_events::EventKind;

/// How a put's metadata failure reads as a [`PutError`].
fn put_error(e: StoreError) -> PutError {
    match e {
        StoreError::PreconditionFailed => PutError::PreconditionFailed,
        StoreError::NoSuchKey => PutError::NoSuchKey,
        StoreError::NoSuchBucket => PutError::NoSuchBucket,
        StoreError::LockNotEnabled => PutError::LockNotEnabled,
        StoreError::CapExceeded(c) => PutError::CapExceeded(c),
        other => PutError::Storage(StorageError::of(other)),
    }
}

impl Store {
    /// Starts collecting an object's bytes; `expected` (the declared length) decides whether
    /// they are kept inline.
    pub fn new_payload(&self, expected: Option<u64>) -> Result<PayloadWriter, StorageError> {
        PayloadWriter::new(&self.inner.blobs, expected, None).map_err(StorageError::of)
    }

    /// [`Store::new_payload`] for an encrypted object: its bytes are stored sealed under `key`
    /// (from [`Store::new_data_key`]), its digests are of the plaintext.
    pub fn new_sealed_payload(
        &self,
        expected: Option<u64>,
        key: &pier_crypto::DataKey,
    ) -> Result<PayloadWriter, StorageError> {
        PayloadWriter::new(&self.inner.blobs, expected, Some(key)).map_err(StorageError::of)
    }

    /// [`Store::new_part_payload`] for a part of an encrypted upload (its SHA-1 is computed
    /// here, as a sealed part cannot be hashed from its blob later).
    pub fn new_sealed_part_payload(
        &self,
        declared: Option<u64>,
        key: &pier_crypto::DataKey,
    ) -> Result<PayloadWriter, StorageError> {
        Ok(PayloadWriter::Blob(Box::new(
            self.inner
                .blobs
                .create_with(declared, true, Some(key))
                .map_err(StorageError::of)?,
        )))
    }

    /// Starts writing a part: always a blob, with its MD5 (an S3 part's ETag), and its SHA-1
    /// when `sha1` (B2 asks for it with each part; for an S3 part [`Store::part_sha1`] computes
    /// it if B2 ever asks). `declared`: the part's length when the client gave it, which lets a
    /// blob cluster take the bytes as they come ([`crate::blob::Blobs::create_with`]).
    pub fn new_part_payload(
        &self,
        declared: Option<u64>,
        sha1: bool,
    ) -> Result<PayloadWriter, StorageError> {
        Ok(PayloadWriter::Blob(Box::new(
            self.inner
                .blobs
                .create_with(declared, sha1, None)
                .map_err(StorageError::of)?,
        )))
    }

    /// A part's SHA-1: as stored, or read back and computed for a part written without one
    /// (an S3 part listed or finished through B2).
    pub fn part_sha1(&self, part: &Part) -> Result<String, StorageError> {
        if let Some(sha1) = &part.sha1 {
            return Ok(sha1.clone());
        }
        self.hash_part(part).map_err(StorageError::of)
    }

    fn hash_part(&self, part: &Part) -> Result<String> {
        use sha1::Digest as _;
        let mut source = self.inner.blobs.open(&part.blob, 0, part.size)?;
        let mut h = sha1::Sha1::new();
        while let Some(chunk) = source.next(1024 * 1024)? {
            h.update(&chunk);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Makes `payload` the object under `key` (if `condition` holds); its event is an upload.
    pub fn put_object(
        &self,
        bucket_id: &str,
        key: &str,
        payload: Payload,
        meta: ObjectMeta,
        condition: WriteCondition,
    ) -> std::result::Result<Object, PutError> {
        self.put_new(EventKind::Upload, bucket_id, key, payload, meta, condition)
    }

    /// [`Store::put_object`] for a browser form upload (S3 POST Object): its event is S3's
    /// `ObjectCreated:Post` (B2's upload).
    pub fn put_posted_object(
        &self,
        bucket_id: &str,
        key: &str,
        payload: Payload,
        meta: ObjectMeta,
    ) -> std::result::Result<Object, PutError> {
        self.put_new(
            EventKind::Post,
            bucket_id,
            key,
            payload,
            meta,
            WriteCondition::None,
        )
    }

    fn put_new(
        &self,
        kind: EventKind,
        bucket_id: &str,
        key: &str,
        payload: Payload,
        meta: ObjectMeta,
        condition: WriteCondition,
    ) -> std::result::Result<Object, PutError> {
        let storage = |e: StoreError| PutError::Storage(StorageError::of(e));
        if let Err(e) = check_key(key) {
            self.discard_payload(payload)?;
            return Err(match e {
                StoreError::InvalidName(n) => PutError::InvalidName(n),
                other => storage(other),
            });
        }
        let (segment, inline, blob) = match payload {
            Payload::Inline {
                data,
                size,
                md5,
                sha1,
            } => (
                Segment {
                    blob: INLINE_BLOB.to_owned(),
                    size,
                },
                Some((data, md5, sha1)),
                None,
            ),
            Payload::Blob(b) => (
                Segment {
                    blob: b.blob.clone(),
                    size: b.size,
                },
                None,
                Some(b),
            ),
        };
        let (md5, sha1) = match (&inline, &blob) {
            (Some((_, md5, sha1)), _) => (md5.clone(), Some(sha1.clone())),
            (_, Some(b)) => (b.md5.clone(), b.sha1.clone()),
            _ => unreachable!("a payload is inline or a blob"),
        };
        let object = Object {
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            version_id: new_id(),
            size: segment.size,
            // An SSE-C object's ETag is not its MD5 (as on AWS).
            etag: match &meta.encryption {
                Some(envelope) => envelope.etag(&md5),
                None => md5,
            },
            sha1,
            created: now_millis(),
            meta,
            segments: vec![segment],
            ..Object::default()
        };
        let bytes = match inline {
            Some((data, _, _)) => NewBytes::Inline(data),
            None => NewBytes::Blob,
        };
        match self.meta().put_object(object, condition, bytes, kind) {
            Ok((object, garbage)) => {
                self.discard(garbage).map_err(storage)?;
                Ok(object)
            }
            Err(e) => {
                // A commit whose outcome is unknown may name the blob: the sweep decides.
                if let Some(b) = blob.filter(|_| !e.may_have_committed()) {
                    self.inner.blobs.remove(&[b.blob]).map_err(storage)?;
                }
                Err(put_error(e))
            }
        }
    }

    /// Makes a new version of `key` with the bytes of `source` (any version of any key),
    /// sharing its blobs rather than copying them, and so its encryption (whatever `meta`
    /// says of it); [`Store::copy_object_rewritten`] copies into another encryption.
    pub fn copy_object(
        &self,
        source: &Object,
        bucket_id: &str,
        key: &str,
        mut meta: ObjectMeta,
        condition: WriteCondition,
    ) -> std::result::Result<Object, PutError> {
        meta.encryption = source.meta.encryption.clone();
        let storage = |e: StoreError| PutError::Storage(StorageError::of(e));
        check_key(key).map_err(|e| match e {
            StoreError::InvalidName(n) => PutError::InvalidName(n),
            other => storage(other),
        })?;
        if source.marker {
            return Err(PutError::SourceGone);
        }
        let object = Object {
            bucket_id: bucket_id.to_owned(),
            key: key.to_owned(),
            version_id: new_id(),
            size: source.size,
            etag: source.etag.clone(),
            sha1: source.sha1.clone(),
            created: now_millis(),
            meta,
            segments: source.segments.clone(),
            ..Object::default()
        };
        let (object, garbage) = self
            .meta()
            .put_object(
                object,
                condition,
                NewBytes::SharedWith(source.version_id.clone()),
                EventKind::Copy,
            )
            .map_err(|e| match e {
                StoreError::NoSuchKey => PutError::SourceGone,
                other => put_error(other),
            })?;
        self.discard(garbage).map_err(storage)?;
        Ok(object)
    }

    /// Discards a payload that will not be used (a failed checksum, say).
    pub fn discard_payload(&self, payload: Payload) -> Result<(), StorageError> {
        match payload {
            Payload::Blob(b) => self.inner.blobs.remove(&[b.blob]).map_err(StorageError::of),
            Payload::Inline { .. } => Ok(()),
        }
    }

    /// The current version under `key`; `NoSuchKey` if absent (or a marker is on top).
    pub fn object(&self, bucket_id: &str, key: &str) -> Result<Object, FindError> {
        self.meta()
            .object(bucket_id, key)
            .map_err(FindError::narrow)?
            .ok_or(FindError::NoSuchKey)
    }

    /// The key's current entry, version or marker; `None` if it has no history.
    pub fn top(&self, bucket_id: &str, key: &str) -> Result<Option<Object>, StorageError> {
        self.meta().top(bucket_id, key).map_err(StorageError::of)
    }

    /// One entry of `key` by id or the null one; `NoSuchVersion` if absent.
    pub fn version(
        &self,
        bucket_id: &str,
        key: &str,
        which: &VersionRef,
    ) -> Result<Object, FindError> {
        self.meta()
            .version(bucket_id, key, which)
            .map_err(FindError::narrow)?
            .ok_or(FindError::NoSuchVersion)
    }

    /// Replaces the tags of the current version of `key`, or of the version named; returns the
    /// entry as it was found (its version id). A marker has no tags: `NoSuchKey` for the
    /// current one, `NoSuchVersion` for one named.
    pub fn set_tags(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<Object, ChangeError> {
        self.change_meta(bucket_id, key, which, move |_, _, meta| {
            meta.tags = tags.clone();
            Ok(())
        })
    }

    /// Edits the metadata of the current version of `key`, or of the version named, with
    /// `edit` (given the entry as found and the bucket's object lock; it may refuse), in one
    /// transaction; returns the entry as it was found.
    fn change_meta(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        edit: impl Fn(&Object, Option<&lock::ObjectLock>, &mut ObjectMeta) -> Result<()>
            + Send
            + Sync
            + 'static,
    ) -> Result<Object, ChangeError> {
        let change: MetaChange = Box::new(move |entry, lock| {
            let mut meta = entry.meta.clone();
            edit(entry, lock, &mut meta)?;
            Ok(meta)
        });
        self.meta()
            .update_meta(bucket_id, key, which, change)
            .map_err(ChangeError::narrow)
    }

    /// Replaces the canned ACL of the current version of `key`, or of the version named;
    /// returns the entry as it was found (markers as for [`Store::set_tags`]).
    pub fn set_acl(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        acl: Option<String>,
    ) -> Result<Object, ChangeError> {
        self.change_meta(bucket_id, key, which, move |_, _, meta| {
            meta.acl = acl.clone();
            Ok(())
        })
    }

    /// Sets (or with `None` removes) the retention of the current version of `key`, or of the
    /// version named, as object lock allows at this moment ([`lock::check_retention_change`]):
    /// `ObjectLocked` when it does not, `LockNotEnabled` for a bucket without lock. Returns the
    /// entry as it was found.
    pub fn set_retention(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<Object, ChangeError> {
        self.change_meta(bucket_id, key, which, move |entry, lock, meta| {
            if lock.is_none() {
                return Err(StoreError::LockNotEnabled);
            }
            let old = entry.meta.retention;
            lock::check_retention_change(old, retention, now_millis(), bypass_governance)
                .map_err(StoreError::ObjectLocked)?;
            meta.retention = retention;
            Ok(())
        })
    }

    /// Turns the legal hold of the current version of `key`, or of the version named, on or
    /// off; `LockNotEnabled` for a bucket without lock. Returns the entry as it was found.
    pub fn set_legal_hold(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        on: bool,
    ) -> Result<Object, ChangeError> {
        self.change_meta(bucket_id, key, which, move |_, lock, meta| {
            if lock.is_none() {
                return Err(StoreError::LockNotEnabled);
            }
            meta.legal_hold = on;
            Ok(())
        })
    }

    /// Any entry by version id (B2 `fileId`); `NoSuchKey` if absent.
    pub fn object_by_version(&self, version_id: &str) -> Result<Object, FindError> {
        self.meta()
            .object_by_version(version_id)
            .map_err(FindError::narrow)?
            .ok_or(FindError::NoSuchKey)
    }

    /// The current version under `key`, ready to read (its inline bytes from the same
    /// snapshot); `NoSuchKey` if absent (or a marker is on top).
    pub fn read_object(&self, bucket_id: &str, key: &str) -> Result<Readable, ReadError> {
        let entry = self
            .meta()
            .read(bucket_id, key, None)
            .map_err(ReadError::narrow)?
            .ok_or(ReadError::NoSuchKey)?;
        self.unlocked(entry).map_err(ReadError::narrow)
    }

    /// One entry of `key` by id or the null one, ready to read (a marker too: the caller
    /// decides what reading one means); `NoSuchVersion` if absent.
    pub fn read_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: &VersionRef,
    ) -> Result<Readable, ReadError> {
        let entry = self
            .meta()
            .read(bucket_id, key, Some(which))
            .map_err(ReadError::narrow)?
            .ok_or(ReadError::NoSuchVersion)?;
        self.unlocked(entry).map_err(ReadError::narrow)
    }

    /// Any entry by version id (B2 `fileId`), ready to read; `NoSuchKey` if absent.
    pub fn read_by_version(&self, version_id: &str) -> Result<Readable, ReadError> {
        let entry = self
            .meta()
            .read_by_version(version_id)
            .map_err(ReadError::narrow)?
            .ok_or(ReadError::NoSuchKey)?;
        self.unlocked(entry).map_err(ReadError::narrow)
    }

    /// A reader of `len` bytes of `entry` from `start`, from what its snapshot named.
    /// An encrypted entry's bytes are opened with its data key; without it (an SSE-C entry not
    /// unlocked) every read fails.
    pub fn reader(&self, entry: &Readable, start: u64, len: u64) -> SegmentReader {
        match &entry.inline {
            Some(data) => SegmentReader::from_memory(
                self.inner.blobs.clone(),
                entry.sealing(),
                data.clone(),
                entry.object.size,
                (start, len),
            ),
            None => SegmentReader::new(
                self.inner.blobs.clone(),
                entry.sealing(),
                entry.object.segments.clone(),
                start,
                len,
            ),
        }
    }

    /// What a failure to read `entry`'s bytes means: a blob missing because the entry is gone
    /// since it was read (its bytes reclaimed after the grace period) is
    /// [`StoreError::Reclaimed`], so the caller reads the metadata again; a blob missing while
    /// its entry still exists is an error of the machine.
    pub(crate) fn read_failure(&self, entry: &Readable, e: std::io::Error) -> StoreError {
        if e.kind() == std::io::ErrorKind::NotFound {
            match self.meta().read_by_version(&entry.object.version_id) {
                Ok(None) => return StoreError::Reclaimed,
                Ok(Some(_)) => {}
                Err(other) => return other,
            }
        }
        StoreError::Io(e)
    }

    /// Makes a new version of `key` with the bytes of `source` (unlocked, if encrypted) read and
    /// written again: sealed under `into` (a new data key and its envelope), or stored as sent
    /// when `None`. Blocking; for a copy whose encryption differs from its source's. Its event
    /// is a copy.
    pub fn copy_object_rewritten(
        &self,
        source: &Readable,
        bucket_id: &str,
        key: &str,
        mut meta: ObjectMeta,
        condition: WriteCondition,
        into: Option<(pier_crypto::Envelope, pier_crypto::DataKey)>,
    ) -> std::result::Result<Object, PutError> {
        let storage = |e: StoreError| PutError::Storage(StorageError::of(e));
        if source.object.marker {
            return Err(PutError::SourceGone);
        }
        let size = source.object.size;
        let mut writer = match &into {
            Some((_, data_key)) => self.new_sealed_payload(Some(size), data_key),
            None => self.new_payload(Some(size)),
        }?;
        let mut reader = self.reader(source, 0, size);
        loop {
            let chunk =
                reader
                    .next_chunk(1024 * 1024)
                    .map_err(|e| match self.read_failure(source, e) {
                        StoreError::Reclaimed => PutError::SourceGone,
                        other => storage(other),
                    })?;
            if chunk.is_empty() {
                break;
            }
            writer.write(&chunk).map_err(storage)?;
        }
        let payload = writer.finish().map_err(storage)?;
        meta.encryption = into.map(|(envelope, _)| envelope);
        self.put_new(EventKind::Copy, bucket_id, key, payload, meta, condition)
    }

    /// Copies `len` bytes of `entry` (unlocked, if encrypted) from `start` into a new durable
    /// blob (blocking), sealed under `into` when given (a part of an encrypted upload).
    /// `Reclaimed` when the entry went away and its bytes with it: read it again.
    pub fn copy_bytes(
        &self,
        entry: &Readable,
        start: u64,
        len: u64,
        into: Option<&pier_crypto::DataKey>,
    ) -> Result<WrittenBlob, ReadError> {
        self.copy_range(entry, start, len, into)
            .map_err(ReadError::narrow)
    }

    fn copy_range(
        &self,
        entry: &Readable,
        start: u64,
        len: u64,
        into: Option<&pier_crypto::DataKey>,
    ) -> Result<WrittenBlob> {
        let mut reader = self.reader(entry, start, len);
        let mut writer = self.inner.blobs.create_with(Some(len), true, into)?;
        loop {
            let chunk = reader
                .next_chunk(1024 * 1024)
                .map_err(|e| self.read_failure(entry, e))?;
            if chunk.is_empty() {
                break;
            }
            writer.write(&chunk)?;
        }
        writer.finish()
    }

    /// Deletes the current entry of `key` as the bucket's versioning state says (S3 DELETE
    /// without a version id, B2 hide): removed for good when unversioned, a marker on top
    /// otherwise.
    pub fn delete_object(&self, bucket_id: &str, key: &str) -> Result<Removal, DeleteError> {
        let (removal, garbage) = self
            .meta()
            .delete_current(bucket_id, key, new_id(), now_millis())
            .map_err(DeleteError::narrow)?;
        self.discard(garbage).map_err(DeleteError::narrow)?;
        Ok(removal)
    }

    /// Deletes one entry of `key` for good; returns it if it existed. If it was current, the
    /// newest remaining entry becomes current. `ObjectLocked` while its retention or legal hold
    /// holds (a governance retention yields to `bypass_governance`).
    pub fn delete_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: VersionRef,
        bypass_governance: bool,
    ) -> Result<Option<Object>, DeleteError> {
        let (removed, garbage) = self
            .meta()
            .delete_version(bucket_id, key, which, bypass_governance)
            .map_err(DeleteError::narrow)?;
        self.discard(garbage).map_err(DeleteError::narrow)?;
        Ok(removed)
    }

    /// One page of a version listing (every entry, markers too).
    pub fn list_versions(
        &self,
        bucket_id: &str,
        query: &VersionQuery,
    ) -> Result<VersionPage, StorageError> {
        list::list_versions(self.meta(), bucket_id, query).map_err(StorageError::of)
    }

    /// One page of a listing.
    pub fn list(&self, bucket_id: &str, query: &ListQuery) -> Result<ListPage, StorageError> {
        list::list(self.meta(), bucket_id, query).map_err(StorageError::of)
    }
}
