//! The metadata seam: everything the store keeps besides object bytes, behind one trait so a
//! distributed SQL backend can replace SQLite without touching the API layers. Every method is
//! one atomic operation; writes that make blobs unreferenced record them as garbage in the same
//! transaction and return them, so the caller can delete the files after the commit.

use crate::error::Result;
use crate::read::Readable;
use crate::types::{
    AccessKey, Bucket, BucketUpdate, Millis, Object, Part, Upload, VersionRef, WriteCondition,
};
use std::collections::HashSet;

/// How a multipart upload is completed: the parts the client listed, checked inside the same
/// transaction as the write.
#[derive(Clone, Debug)]
pub struct Completion {
    /// `(part number, ETag without quotes)` in the order the client listed them.
    pub parts: Vec<(u32, String)>,
    /// The smallest size every part but the last must have.
    pub min_part_size: u64,
    /// Condition on the key being written.
    pub condition: WriteCondition,
    /// Version id of the finished object.
    pub version_id: String,
    /// Completion time.
    pub created: crate::Millis,
    /// The whole-object checksum made from the parts' checksums, when the upload has an
    /// algorithm: checked against the chosen parts inside the completion.
    pub checksum: Option<PartsChecksum>,
}

/// A multipart object's checksum, computed by the API from its parts' checksums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartsChecksum {
    /// The algorithm, as `ObjectMeta::checksums` names it (`sha256`, ...).
    pub algorithm: String,
    /// The whole-object value stored under that name.
    pub value: String,
    /// The checksum each listed part had when computed, in order: a part whose stored
    /// checksum differs (uploaded again meanwhile) fails the completion with `InvalidPart`.
    pub parts: Vec<String>,
}

/// Where the bytes of a new version come from.
#[derive(Clone, Debug)]
pub enum NewBytes {
    /// A durable blob file named by the object's segments.
    Blob,
    /// Small bytes stored with the row (the object's one segment is `inline`).
    Inline(Vec<u8>),
    /// The same segments as the entry with this version id (a whole-object copy): shared, not
    /// copied; the write fails with `NoSuchKey` if that entry is gone by commit time.
    SharedWith(String),
}

/// What deleting a key's current entry did.
#[derive(Clone, Debug, Default)]
pub struct Removal {
    /// The version removed for good (unversioned buckets, or the null version when suspended).
    pub removed: Option<Object>,
    /// The marker added on top (enabled and suspended buckets).
    pub marker: Option<Object>,
}

/// Where a version listing resumes.
#[derive(Clone, Debug, Default)]
pub struct VersionCursor {
    /// Key of the position.
    pub key: Vec<u8>,
    /// `Some(seq)`: entries of `key` older than `seq` come next; `None`: the next key.
    pub seq: Option<i64>,
    /// With `seq == None`: `key` itself is included.
    pub inclusive: bool,
}

/// One change the lifecycle task found due; re-checked when applied, so a change made by a
/// request in between wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleAction {
    /// Delete the current version (a marker where versioned), if it is still `version_id`.
    ExpireCurrent {
        /// The key.
        key: String,
        /// The version found current.
        version_id: String,
        /// The id of the marker to add.
        marker_id: String,
    },
    /// Delete a noncurrent entry for good.
    DeleteNoncurrent {
        /// The key.
        key: String,
        /// The entry.
        version_id: String,
    },
    /// Remove a current marker with nothing behind it.
    RemoveLoneMarker {
        /// The key.
        key: String,
        /// The marker.
        version_id: String,
    },
    /// Abort a multipart upload.
    AbortUpload {
        /// The upload.
        upload_id: String,
    },
}

/// A change to an entry's or upload's metadata, applied by [`MetaStore::rewrite_encrypted`]:
/// `true` when it changed the metadata (which is then written back). A backend may call it more
/// than once (a retried transaction), so it must not have effects.
pub type MetaRewrite =
    std::sync::Arc<dyn Fn(&mut crate::types::ObjectMeta) -> Result<bool> + Send + Sync>;

/// A change of one version's metadata: given the version as stored and the bucket's object lock,
/// the new metadata, or why not.
/// A backend may call it more than once (a retried transaction), so it must not have effects.
pub type MetaChange = Box<
    dyn Fn(&Object, Option<&crate::lock::ObjectLock>) -> Result<crate::types::ObjectMeta>
        + Send
        + Sync,
>;

/// The metadata operations pier needs. Implementations must make each call atomic and durable
/// before returning.
pub trait MetaStore: Send + Sync + 'static {
    /// Creates a bucket; `BucketExists` if the name is taken. Every change to buckets, keys and
    /// caps records `actor` in the audit log, in its transaction.
    fn create_bucket(&self, bucket: Bucket, actor: &crate::audit::Actor) -> Result<Bucket>;
    /// A bucket by name.
    fn bucket(&self, name: &str) -> Result<Option<Bucket>>;
    /// A bucket by id.
    fn bucket_by_id(&self, id: &str) -> Result<Option<Bucket>>;
    /// All buckets, by name.
    fn buckets(&self) -> Result<Vec<Bucket>>;
    /// Changes settings (bumping the revision); `PreconditionFailed` on a revision mismatch.
    fn update_bucket(
        &self,
        name: &str,
        update: BucketUpdate,
        actor: &crate::audit::Actor,
    ) -> Result<Bucket>;
    /// Deletes a bucket with no versions or markers left, aborting its unfinished uploads;
    /// `BucketNotEmpty` otherwise. Returns it and the garbage blobs (the uploads' parts).
    fn delete_bucket(
        &self,
        name: &str,
        actor: &crate::audit::Actor,
    ) -> Result<(Bucket, Vec<String>)>;

    /// The current version under a key (never a marker).
    fn object(&self, bucket_id: &str, key: &str) -> Result<Option<Object>>;
    /// The key's current entry: its current version, or the marker on top.
    fn top(&self, bucket_id: &str, key: &str) -> Result<Option<Object>>;
    /// One entry of a key, by id or the null one.
    fn version(&self, bucket_id: &str, key: &str, which: &VersionRef) -> Result<Option<Object>>;
    /// Any entry by version id.
    fn object_by_version(&self, version_id: &str) -> Result<Option<Object>>;
    /// Writes a new version as the bucket's versioning state says (`docs/design.md`), if
    /// `condition` holds against the current version; returns it as stored (seq, null flag) and
    /// the blobs that became garbage. `NoSuchBucket` if the bucket is gone.
    /// The event recorded with it is `kind`'s.
    fn put_object(
        &self,
        object: Object,
        condition: WriteCondition,
        bytes: NewBytes,
        kind: pier_events::EventKind,
    ) -> Result<(Object, Vec<String>)>;
    /// Changes the metadata of one version (the current one when `which` is `None`; its tags or
    /// lock, say) to what `change` makes of it, inside one transaction that also reads the
    /// bucket's object lock; returns the entry as found. `NoSuchKey` / `NoSuchVersion` when there
    /// is no such version (markers included).
    fn update_meta(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        change: MetaChange,
    ) -> Result<Object>;
    /// The entry a read names (the current version when `which` is `None`, never a marker
    /// then; else the entry named, marker or not), with an inline object's bytes, from one
    /// snapshot (`docs/design.md`, "Reading").
    fn read(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
    ) -> Result<Option<Readable>>;
    /// Any entry by version id, with an inline object's bytes, from one snapshot.
    fn read_by_version(&self, version_id: &str) -> Result<Option<Readable>>;
    /// Deletes a key's current entry as the bucket's versioning state says; a marker added is
    /// named `marker_id` and dated `at`.
    fn delete_current(
        &self,
        bucket_id: &str,
        key: &str,
        marker_id: String,
        at: Millis,
    ) -> Result<(Removal, Vec<String>)>;
    /// Deletes one entry for good; the newest remaining becomes current if it was. Returns the
    /// entry if it existed.
    /// `ObjectLocked` if the entry's retention or legal hold holds now (governance retention
    /// yields to `bypass_governance`).
    fn delete_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: VersionRef,
        bypass_governance: bool,
    ) -> Result<(Option<Object>, Vec<String>)>;
    /// Entries after `cursor` and before `end` (exclusive), key ascending then newest first.
    fn scan_versions(
        &self,
        bucket_id: &str,
        cursor: &VersionCursor,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>>;
    /// Applies lifecycle changes in one transaction, each re-checked; returns which applied
    /// (in order) and the garbage blobs.
    fn apply_lifecycle(
        &self,
        bucket_id: &str,
        actions: Vec<LifecycleAction>,
    ) -> Result<(Vec<bool>, Vec<String>)>;
    /// A bucket's usage counters.
    fn usage(&self, bucket_id: &str) -> Result<crate::usage::Usage>;
    /// An account's usage counters (the sum over its buckets).
    fn account_usage(&self, account: &str) -> Result<crate::usage::Usage>;
    /// Every bucket's usage counters, by bucket id (buckets that never held anything may be
    /// absent).
    fn all_usage(&self) -> Result<Vec<(String, crate::usage::Usage)>>;
    /// Folds the counters' recorded changes into their totals (the janitor's work); returns
    /// how many changes it folded.
    fn compact_usage(&self) -> Result<u64>;
    /// A bucket's usage counted from its rows, not its counters (for checks).
    fn recount_usage(&self, bucket_id: &str) -> Result<crate::usage::Usage>;
    /// The caps of one scope.
    fn caps(&self, scope: &crate::usage::CapScope) -> Result<crate::usage::Caps>;
    /// Sets a scope's caps (all `None` removes them).
    fn set_caps(
        &self,
        scope: &crate::usage::CapScope,
        caps: crate::usage::Caps,
        actor: &crate::audit::Actor,
    ) -> Result<()>;
    /// Every scope with caps.
    fn all_caps(&self) -> Result<Vec<(crate::usage::CapScope, crate::usage::Caps)>>;
    /// Counts one request of `day` against a daily cap of `limit`: false when it is reached.
    fn count_transaction(
        &self,
        scope: &crate::usage::CapScope,
        day: i64,
        limit: u64,
    ) -> Result<bool>;
    /// Requests counted on `day` against a scope's transaction cap.
    fn transactions(&self, scope: &crate::usage::CapScope, day: i64) -> Result<u64>;
    /// Current versions with `key > after` (or `>=` when `inclusive`) and `key < end`, in byte
    /// order.
    fn scan(
        &self,
        bucket_id: &str,
        after: &[u8],
        inclusive: bool,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>>;

    /// Starts a multipart upload.
    fn create_upload(&self, upload: Upload) -> Result<()>;
    /// An upload by id.
    fn upload(&self, upload_id: &str) -> Result<Option<Upload>>;
    /// Records a part (replacing one with the same number); returns the garbage blobs.
    fn put_part(&self, upload_id: &str, part: Part) -> Result<Vec<String>>;
    /// Parts with number > `after`, ascending.
    fn parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<Part>>;
    /// Uploads of a bucket whose key starts with `prefix`, after `(key, upload id)`, ordered.
    fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>>;
    /// Completes an upload into an object; returns it and the garbage blobs.
    fn complete_upload(
        &self,
        upload_id: &str,
        completion: Completion,
    ) -> Result<(Object, Vec<String>)>;
    /// The version an upload completed into, if it completed within the last day.
    fn completed_upload(&self, upload_id: &str) -> Result<Option<String>>;
    /// Abandons an upload; returns the garbage blobs.
    fn abort_upload(&self, upload_id: &str) -> Result<Vec<String>>;

    /// Stores an access key.
    fn create_key(&self, key: AccessKey, actor: &crate::audit::Actor) -> Result<()>;
    /// An access key by id.
    fn key(&self, access_key: &str) -> Result<Option<AccessKey>>;
    /// All access keys.
    fn keys(&self) -> Result<Vec<AccessKey>>;
    /// Removes an access key; `NoSuchKeyId` if absent.
    fn delete_key(&self, access_key: &str, actor: &crate::audit::Actor) -> Result<()>;
    /// Audit log entries, newest first.
    fn audit(&self, query: &crate::audit::AuditQuery) -> Result<Vec<crate::audit::AuditEntry>>;

    /// Blobs recorded as garbage at or before `released_by` (oldest first) and not yet
    /// forgotten.
    fn garbage(&self, released_by: Millis, limit: usize) -> Result<Vec<String>>;
    /// How many blobs are recorded as garbage.
    fn garbage_count(&self) -> Result<u64>;
    /// Forgets garbage whose files were deleted.
    fn forget_garbage(&self, blobs: &[String]) -> Result<()>;
    /// Every blob referenced by an entry or a part.
    fn referenced_blobs(&self) -> Result<HashSet<String>>;

    /// Takes or renews lease `name` for `holder` until `until` if it is free (never taken, or
    /// lapsed by `now`) or already `holder`'s; true if `holder` holds it now. Nodes sharing the
    /// metadata use it so that one of them does shared work (lifecycle, orphan sweeps) at a time.
    fn claim_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool>;

    /// The ids of every master key recorded as having wrapped a data key.
    fn master_keys(&self) -> Result<Vec<String>>;
    /// Records that the master key `id` wraps data keys (idempotent).
    fn record_master_key(&self, id: &str, now: Millis) -> Result<()>;

    /// Applies `change` to the metadata of every encrypted version, marker and upload, in
    /// transactions of at most 500 rows; returns how many it changed.
    fn rewrite_encrypted(&self, change: MetaRewrite) -> Result<u64>;
    /// Replaces a key ring key's wrapped form and the master key that wrapped it.
    fn rewrap_kms_key(&self, id: &str, wrapped: &str, master: &str) -> Result<()>;
    /// Forgets that the master key `id` wraps data keys (after a rotation away from it).
    fn forget_master_key(&self, id: &str) -> Result<()>;

    /// Every key of the local key ring (SSE-KMS), by id: (id, wrapped key, master key id,
    /// created).
    fn kms_keys(&self) -> Result<Vec<(String, String, String, Millis)>>;
    /// One key of the ring: (wrapped key, master key id), if it has it.
    fn kms_key(&self, id: &str) -> Result<Option<(String, String)>>;
    /// Adds a key to the ring; `false` when one of that id exists (nothing changes).
    fn create_kms_key(&self, id: &str, wrapped: &str, master: &str, now: Millis) -> Result<bool>;

    /// Up to `limit` outbox events due at `now`, in the order they were recorded, each with its
    /// attempts so far (`docs/design.md`, "Events").
    fn events_due(&self, now: Millis, limit: usize) -> Result<Vec<(pier_events::Event, u32)>>;
    /// Forgets outbox events (delivered or dropped).
    fn events_remove(&self, ids: &[String]) -> Result<()>;
    /// Counts a failed attempt on `ids`, records `error`, and makes every pending event of the
    /// rule wait until `next`.
    fn events_postpone(&self, postponed: &pier_events::Postponed) -> Result<()>;
    /// Drops the events recorded before `cutoff`, reporting them per rule.
    fn events_expire(&self, cutoff: Millis) -> Result<Vec<pier_events::Expired>>;
    /// How many events wait, and when the oldest was recorded.
    fn events_backlog(&self) -> Result<(u64, Option<Millis>)>;
    /// Marks a bucket's notification rule suspended, with the reason its readers see.
    fn suspend_rule(&self, bucket_id: &str, rule: &str, reason: &str) -> Result<()>;

    /// Queues a test event for the bucket's rule `rule`; false if it has no such rule.
    fn queue_test_event(&self, bucket_id: &str, rule: &str) -> Result<bool>;

    /// Creates a topic, or replaces the attributes of the account's topic of that name.
    fn put_topic(&self, topic: &pier_events::Topic) -> Result<()>;
    /// The account's topic of that name, if any.
    fn topic(&self, account: &str, name: &str) -> Result<Option<pier_events::Topic>>;
    /// The account's topics, by name.
    fn topics(&self, account: &str) -> Result<Vec<pier_events::Topic>>;
    /// Deletes the account's topic of that name; true if it existed.
    fn delete_topic(&self, account: &str, name: &str) -> Result<bool>;

    /// Records a dashboard session (replacing one with the same id).
    fn put_session(&self, session: crate::types::DashboardSession) -> Result<()>;
    /// The session with this id, if recorded and not ended.
    fn session(&self, id: &str) -> Result<Option<crate::types::DashboardSession>>;
    /// Marks a session seen at `at`.
    fn touch_session(&self, id: &str, at: Millis) -> Result<()>;
    /// Ends one session.
    fn end_session(&self, id: &str) -> Result<()>;
    /// Ends every session of an access key.
    fn end_sessions_of_key(&self, key_id: &str) -> Result<()>;
    /// Forgets sessions last seen before `seen_before` or created before `created_before`.
    fn expire_sessions(&self, seen_before: Millis, created_before: Millis) -> Result<()>;

    /// Finishes queued writes and stops the backend's threads (a clean shutdown).
    fn close(&self);
}
