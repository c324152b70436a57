//! The metadata as SQL: [`SqlMeta`] implements [`MetaStore`] once, over any [`Engine`], with
//! the queries every engine shares (`docs/design.md`, "On disk" and "Metadata backends").

use super::history::{self, OBJECT_SELECT};
use super::rows::{add_garbage, meta_json, parse_meta};
use super::{audit, outbox, usage, write_state};
use super::{values, Engine, Row, Sql};
use crate::audit::{Actor, AuditEntry, AuditQuery};
use crate::error::{Result, StoreError};
use crate::meta::{Completion, LifecycleAction, MetaStore, NewBytes, Removal, VersionCursor};
use crate::read::Readable;
use crate::types::{
    AccessKey, Bucket, BucketUpdate, KeyRestrictions, LifecycleRule, Millis, Object, Part, Segment,
    Upload, VersionRef, Versioning, Visibility, WriteCondition,
};
use crate::usage::{CapScope, Caps, Usage};
use md5::{Digest as _, Md5};
use pier_events::EventKind;
use std::collections::HashSet;

/// The metadata store over one engine.
pub struct SqlMeta<E> {
    engine: E,
}

impl<E: Engine> SqlMeta<E> {
    /// The store over `engine` (its schema already in place).
    pub fn new(engine: E) -> SqlMeta<E> {
        SqlMeta { engine }
    }

    /// The store over `engine`, with rows written by earlier versions brought to today's form
    /// first (segment lists as JSON), a thousand rows per transaction.
    pub fn open(engine: E) -> Result<SqlMeta<E>> {
        let meta = SqlMeta { engine };
        for table in super::rows::SEGMENT_TABLES {
            let mut after = String::new();
            loop {
                let from = after.clone();
                let last = meta
                    .engine
                    .write(move |conn| super::rows::upgrade_segments(conn, table, &from, 1000))?;
                match last {
                    Some(last) => after = last,
                    None => break,
                }
            }
            if !after.is_empty() {
                tracing::info!(table, "segment lists rewritten as JSON");
            }
        }
        Ok(meta)
    }

    /// The engine underneath.
    pub fn engine(&self) -> &E {
        &self.engine
    }
}

/// Records what deleting a key's current entry did: the marker added (a hide), or else the
/// version removed for good; by a lifecycle rule when `lifecycle`. `rules` are the bucket's.
fn record_removal(
    conn: &dyn Sql,
    rules: &[pier_events::NotificationRule],
    removal: &Removal,
    lifecycle: bool,
) -> Result<()> {
    let (hide, delete) = if lifecycle {
        (EventKind::LifecycleHide, EventKind::LifecycleDelete)
    } else {
        (EventKind::Hide, EventKind::Delete)
    };
    if let Some(marker) = &removal.marker {
        outbox::record_for(conn, rules, hide, marker)?;
    } else if let Some(removed) = &removal.removed {
        outbox::record_for(conn, rules, delete, removed)?;
    }
    Ok(())
}

fn corrupt_json(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn bucket_from_row(mut row: Row) -> Result<Bucket> {
    let code = row.int(3)?;
    let versioning = row.int(8)?;
    Ok(Bucket {
        name: row.text(0)?,
        id: row.text(1)?,
        created: row.int(2)?,
        public: Visibility::from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown bucket visibility {code}")))?,
        cors: row.opt_text(4)?,
        info: row.opt_text(5)?,
        revision: row.int(6)?,
        policy: row.opt_text(7)?,
        versioning: Versioning::from_code(versioning).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown bucket versioning {versioning}"))
        })?,
        lifecycle: match row.opt_text(9)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| corrupt_json("bucket lifecycle rules", e))?,
        },
        tags: match row.opt_text(10)? {
            None => Default::default(),
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| corrupt_json("bucket tags", e))?
            }
        },
        public_block: u8::try_from(row.int(11)?).unwrap_or(0),
        object_lock: match row.opt_text(12)? {
            None => None,
            Some(text) => Some(
                serde_json::from_str(&text).map_err(|e| corrupt_json("bucket object lock", e))?,
            ),
        },
        ownership: row.opt_text(13)?,
        owner: row.text(14)?,
        notifications: match row.opt_text(15)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| corrupt_json("bucket notification rules", e))?,
        },
        website: row.opt_text(16)?,
        encryption: match row.opt_text(17)? {
            None => None,
            Some(text) => Some(
                crate::types::DefaultEncryption::from_text(&text).ok_or_else(|| {
                    StoreError::Corrupt(format!("bucket default encryption {text:?}"))
                })?,
            ),
        },
    })
}

const BUCKET_COLUMNS: &str =
    "name, id, created_ms, public, cors, info, revision, policy, versioning, lifecycle, tags, \
     public_block, object_lock, ownership, owner, notifications, website, encryption";

/// The stored text of a bucket's default encryption (`NULL` when none).
fn encryption_text(default: Option<&crate::types::DefaultEncryption>) -> Option<String> {
    default.map(crate::types::DefaultEncryption::to_text)
}

/// The stored text of a bucket's tags (`NULL` when none).
fn tags_json(tags: &std::collections::BTreeMap<String, String>) -> Option<String> {
    (!tags.is_empty()).then(|| serde_json::to_string(tags).expect("tags serialize"))
}

/// The stored text of a bucket's object lock (`NULL` when off).
fn lock_json(lock: Option<&crate::lock::ObjectLock>) -> Option<String> {
    lock.map(|l| serde_json::to_string(l).expect("object lock serializes"))
}

/// The stored text of a lifecycle rule list (`NULL` when empty).
fn lifecycle_json(rules: &[LifecycleRule]) -> Option<String> {
    (!rules.is_empty()).then(|| serde_json::to_string(rules).expect("rules serialize"))
}

/// `current` with the rules of one API replaced by `new` (S3's when `s3`, B2's otherwise),
/// refusing a name the other API's rules already use: the outbox knows a rule by its name.
fn replace_rules(
    current: &[pier_events::NotificationRule],
    new: Vec<pier_events::NotificationRule>,
    s3: bool,
) -> Result<Vec<pier_events::NotificationRule>> {
    let kept: Vec<_> = current
        .iter()
        .filter(|r| r.s3.is_some() != s3)
        .cloned()
        .collect();
    if let Some(clash) = new.iter().find(|r| kept.iter().any(|k| k.name == r.name)) {
        return Err(StoreError::InvalidBucketState(format!(
            "a notification rule named {:?} was made through the {} API",
            clash.name,
            if s3 { "B2" } else { "S3" }
        )));
    }
    Ok(kept.into_iter().chain(new).collect())
}

/// A bucket's columns, in `BUCKET_COLUMNS` order.
fn bucket_values(bucket: &Bucket) -> [super::Value; 18] {
    [
        (&bucket.name).into(),
        (&bucket.id).into(),
        bucket.created.into(),
        bucket.public.code().into(),
        (&bucket.cors).into(),
        (&bucket.info).into(),
        bucket.revision.into(),
        (&bucket.policy).into(),
        bucket.versioning.code().into(),
        lifecycle_json(&bucket.lifecycle).into(),
        tags_json(&bucket.tags).into(),
        bucket.public_block.into(),
        lock_json(bucket.object_lock.as_ref()).into(),
        (&bucket.ownership).into(),
        (&bucket.owner).into(),
        super::outbox::rules_json(&bucket.notifications).into(),
        (&bucket.website).into(),
        encryption_text(bucket.encryption.as_ref()).into(),
    ]
}

/// A bucket's settings as the audit log shows them (every stored column but its name and id).
fn bucket_json(bucket: &Bucket) -> serde_json::Value {
    let mut json = audit::columns_json(BUCKET_COLUMNS, &bucket_values(bucket));
    if let serde_json::Value::Object(map) = &mut json {
        map.remove("name");
        map.remove("id");
    }
    json
}

fn bucket_change(bucket: &Bucket) -> audit::Change<'_> {
    audit::Change {
        target: "bucket",
        bucket: Some(&bucket.name),
        owner: Some(&bucket.owner),
    }
}

/// A key as the audit log shows it: never its secret.
fn key_json(key: &AccessKey) -> serde_json::Value {
    serde_json::json!({
        "access_key": key.access_key,
        "account": key.account,
        "description": key.description,
        "capabilities": key.scope.capabilities,
        "buckets": key.scope.buckets,
        "name_prefix": key.scope.name_prefix,
        "expires_ms": key.scope.expires,
    })
}

fn key_change(key: &AccessKey) -> audit::Change<'_> {
    audit::Change {
        target: "key",
        bucket: None,
        owner: Some(&key.account),
    }
}

fn caps_json(caps: Caps) -> serde_json::Value {
    serde_json::json!({
        "storage": caps.storage,
        "objects": caps.objects,
        "transactions_per_day": caps.transactions_per_day,
    })
}

fn query_bucket(conn: &dyn Sql, column: &str, value: &str) -> Result<Option<Bucket>> {
    conn.first(
        &format!("SELECT {BUCKET_COLUMNS} FROM buckets WHERE {column} = ?1"),
        values![value],
    )?
    .map(bucket_from_row)
    .transpose()
}

const KEY_COLUMNS: &str = "access_key, secret, created_ms, description, capabilities, buckets, \
     name_prefix, expires_ms, account";

fn key_from_row(mut r: Row) -> Result<AccessKey> {
    let access_key = r.text(0)?;
    let list = |text: Option<String>, what: &str| -> Result<Option<Vec<String>>> {
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("key {access_key} {what}: {e}")))
        })
        .transpose()
    };
    let capabilities = list(r.opt_text(4)?, "capabilities")?;
    let buckets = list(r.opt_text(5)?, "buckets")?;
    Ok(AccessKey {
        secret: r.text(1)?,
        created: r.int(2)?,
        description: r.text(3)?,
        scope: KeyRestrictions {
            capabilities,
            buckets,
            name_prefix: r.opt_text(6)?,
            expires: r.opt_int(7)?,
        },
        account: r.text(8)?,
        access_key,
    })
}

const PART_COLUMNS: &str = "part_number, size, etag, sha1, blob, created_ms, checksum";

fn part_from_row(mut row: Row) -> Result<Part> {
    Ok(Part {
        part_number: u32::try_from(row.int(0)?)
            .map_err(|_| StoreError::Corrupt("a part number out of range".into()))?,
        size: row.int(1)? as u64,
        etag: row.text(2)?,
        // The column is NOT NULL: a part written without a SHA-1 keeps an empty one.
        sha1: Some(row.text(3)?).filter(|s| !s.is_empty()),
        blob: row.text(4)?,
        created: row.int(5)?,
        checksum: row.opt_text(6)?,
    })
}

const UPLOAD_COLUMNS: &str = "upload_id, bucket_id, key, created_ms, meta";

fn upload_from_row(mut row: Row) -> Result<Upload> {
    let key = row.bytes(2)?;
    Ok(Upload {
        upload_id: row.text(0)?,
        bucket_id: row.text(1)?,
        key: String::from_utf8_lossy(&key).into_owned(),
        created: row.int(3)?,
        meta: parse_meta(&row.text(4)?)?,
    })
}

fn query_upload(conn: &dyn Sql, upload_id: &str) -> Result<Option<Upload>> {
    conn.first(
        &format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?1"),
        values![upload_id],
    )?
    .map(upload_from_row)
    .transpose()
}

fn all_parts(conn: &dyn Sql, upload_id: &str) -> Result<Vec<Part>> {
    conn.query(
        &format!("SELECT {PART_COLUMNS} FROM parts WHERE upload_id = ?1 ORDER BY part_number"),
        values![upload_id],
    )?
    .into_iter()
    .map(part_from_row)
    .collect()
}

/// Removes an upload and its parts; returns the parts' blobs, recorded as garbage.
fn abort(conn: &dyn Sql, upload_id: &str) -> Result<Vec<String>> {
    let blobs: Vec<String> = all_parts(conn, upload_id)?
        .into_iter()
        .map(|p| p.blob)
        .collect();
    add_garbage(conn, &blobs)?;
    conn.execute("DELETE FROM parts WHERE upload_id = ?1", values![upload_id])?;
    conn.execute(
        "DELETE FROM uploads WHERE upload_id = ?1",
        values![upload_id],
    )?;
    Ok(blobs)
}

/// The S3 ETag of a multipart object: MD5 of the parts' binary MD5s, then `-N`.
pub fn multipart_etag<'a>(part_etags: impl ExactSizeIterator<Item = &'a str>) -> String {
    let count = part_etags.len();
    let mut md5 = Md5::new();
    for etag in part_etags {
        md5.update(hex::decode(etag).unwrap_or_default());
    }
    format!("{}-{count}", hex::encode(md5.finalize()))
}

impl<E: Engine> MetaStore for SqlMeta<E> {
    fn create_bucket(&self, bucket: Bucket, actor: &Actor) -> Result<Bucket> {
        let actor = actor.clone();
        self.engine.write(move |conn| {
            if query_bucket(conn, "name", &bucket.name)?.is_some() {
                return Err(StoreError::BucketExists);
            }
            conn.execute(
                &format!(
                    "INSERT INTO buckets ({BUCKET_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                             ?16, ?17, ?18)"
                ),
                &bucket_values(&bucket),
            )?;
            audit::record(
                conn,
                &actor,
                bucket_change(&bucket),
                &serde_json::Value::Null,
                &bucket_json(&bucket),
            )?;
            Ok(bucket.clone())
        })
    }

    fn bucket(&self, name: &str) -> Result<Option<Bucket>> {
        let name = name.to_owned();
        self.engine
            .read_one(move |conn| query_bucket(conn, "name", &name))
    }

    fn bucket_by_id(&self, id: &str) -> Result<Option<Bucket>> {
        let id = id.to_owned();
        self.engine
            .read_one(move |conn| query_bucket(conn, "id", &id))
    }

    fn buckets(&self) -> Result<Vec<Bucket>> {
        self.engine.read(|conn| {
            conn.query(
                &format!("SELECT {BUCKET_COLUMNS} FROM buckets ORDER BY name"),
                &[],
            )?
            .into_iter()
            .map(bucket_from_row)
            .collect()
        })
    }

    fn update_bucket(&self, name: &str, update: BucketUpdate, actor: &Actor) -> Result<Bucket> {
        let (name, actor) = (name.to_owned(), actor.clone());
        self.engine.write(move |conn| {
            let update = update.clone();
            let mut bucket = query_bucket(conn, "name", &name)?.ok_or(StoreError::NoSuchBucket)?;
            let was = bucket_json(&bucket);
            if update.if_revision.is_some_and(|r| r != bucket.revision) {
                return Err(StoreError::PreconditionFailed);
            }
            if let Some(public) = update.public {
                bucket.public = public;
            }
            if let Some(cors) = update.cors {
                bucket.cors = cors;
            }
            if let Some(info) = update.info {
                bucket.info = info;
            }
            if let Some(policy) = update.policy {
                bucket.policy = policy;
            }
            if let Some(versioning) = update.versioning {
                if versioning == Versioning::Unversioned
                    && bucket.versioning != Versioning::Unversioned
                {
                    return Err(StoreError::InvalidVersioning);
                }
                if versioning != Versioning::Enabled && bucket.object_lock.is_some() {
                    return Err(StoreError::InvalidBucketState(
                        "versioning cannot be suspended on a bucket with object lock".into(),
                    ));
                }
                bucket.versioning = versioning;
            }
            if let Some(lock) = update.object_lock {
                if bucket.versioning != Versioning::Enabled {
                    return Err(StoreError::InvalidBucketState(
                        "object lock needs versioning enabled on the bucket".into(),
                    ));
                }
                bucket.object_lock = Some(lock);
            }
            if let Some(rules) = update.lifecycle {
                bucket.lifecycle = rules;
            }
            if let Some(tags) = update.tags {
                bucket.tags = tags;
            }
            if let Some(bits) = update.public_block {
                bucket.public_block = bits;
            }
            if let Some(ownership) = update.ownership {
                bucket.ownership = ownership;
            }
            if let Some(website) = update.website {
                bucket.website = website;
            }
            if let Some(encryption) = update.encryption {
                bucket.encryption = encryption;
            }
            if let Some(rules) = update.notifications {
                let saved = pier_events::rule::saved_over(rules, &bucket.notifications);
                for rule in saved.iter().filter(|r| r.is_enabled) {
                    if !bucket.notifications.contains(rule) {
                        super::outbox::record_test(conn, &bucket.id, &rule.name)?;
                    }
                }
                bucket.notifications = replace_rules(&bucket.notifications, saved, false)?;
            }
            if let Some(rules) = update.s3_notifications {
                bucket.notifications = replace_rules(&bucket.notifications, rules, true)?;
            }
            bucket.revision += 1;
            // Every column in BUCKET_COLUMNS order; the name, id and owner never change.
            conn.execute(
                "UPDATE buckets SET id = ?2, created_ms = ?3, public = ?4, cors = ?5, info = ?6,
                   revision = ?7, policy = ?8, versioning = ?9, lifecycle = ?10, tags = ?11,
                   public_block = ?12, object_lock = ?13, ownership = ?14, owner = ?15,
                   notifications = ?16, website = ?17, encryption = ?18
                 WHERE name = ?1",
                &bucket_values(&bucket),
            )?;
            let (before, after) = audit::diff(&was, &bucket_json(&bucket), &["revision"]);
            audit::record(conn, &actor, bucket_change(&bucket), &before, &after)?;
            Ok(bucket)
        })
    }

    fn delete_bucket(&self, name: &str, actor: &Actor) -> Result<(Bucket, Vec<String>)> {
        let (name, actor) = (name.to_owned(), actor.clone());
        self.engine.write(move |conn| {
            let bucket = query_bucket(conn, "name", &name)?.ok_or(StoreError::NoSuchBucket)?;
            let busy = conn.first(
                "SELECT 1 FROM objects WHERE bucket_id = ?1 UNION ALL
                 SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1",
                values![&bucket.id],
            )?;
            if busy.is_some() {
                return Err(StoreError::BucketNotEmpty);
            }
            // S3 aborts what is still uploading (B2 refuses earlier, at its edge).
            let mut garbage = Vec::new();
            let uploads = conn.query(
                "SELECT upload_id FROM uploads WHERE bucket_id = ?1",
                values![&bucket.id],
            )?;
            for mut row in uploads {
                garbage.extend(abort(conn, &row.text(0)?)?);
            }
            conn.execute("DELETE FROM buckets WHERE name = ?1", values![&name])?;
            // Empty now, so its counters are all zero; its caps go with it.
            for table in ["bucket_usage", "usage_deltas"] {
                conn.execute(
                    &format!("DELETE FROM {table} WHERE bucket_id = ?1"),
                    values![&bucket.id],
                )?;
            }
            conn.execute(
                "DELETE FROM caps WHERE scope = ?1",
                values![CapScope::Bucket(bucket.id.clone()).key()],
            )?;
            audit::record(
                conn,
                &actor,
                bucket_change(&bucket),
                &bucket_json(&bucket),
                &serde_json::Value::Null,
            )?;
            Ok((bucket, garbage))
        })
    }

    fn object(&self, bucket_id: &str, key: &str) -> Result<Option<Object>> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.engine
            .read_one(move |conn| history::current(conn, &bucket_id, &key))
    }

    fn top(&self, bucket_id: &str, key: &str) -> Result<Option<Object>> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.engine
            .read_one(move |conn| history::top(conn, &bucket_id, &key))
    }

    fn version(&self, bucket_id: &str, key: &str, which: &VersionRef) -> Result<Option<Object>> {
        let (bucket_id, key, which) = (bucket_id.to_owned(), key.to_owned(), which.clone());
        self.engine
            .read(move |conn| history::entry(conn, &bucket_id, &key, &which))
    }

    fn object_by_version(&self, version_id: &str) -> Result<Option<Object>> {
        let version_id = version_id.to_owned();
        self.engine
            .read(move |conn| history::by_id(conn, &version_id))
    }

    fn put_object(
        &self,
        object: Object,
        condition: WriteCondition,
        bytes: NewBytes,
        kind: EventKind,
    ) -> Result<(Object, Vec<String>)> {
        self.engine.write(move |conn| {
            let (bucket, newest) = history::put_state(conn, &object.bucket_id, &object.key)?;
            let (made, garbage) =
                history::put(conn, &bucket, newest, object.clone(), &condition, &bytes)?;
            if bucket.capped {
                usage::check_storage(conn, &made.bucket_id)?;
            }
            outbox::record_for(conn, &bucket.rules, kind, &made)?;
            Ok((made, garbage))
        })
    }

    fn update_meta(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
        change: crate::meta::MetaChange,
    ) -> Result<Object> {
        let (bucket_id, key, which) = (bucket_id.to_owned(), key.to_owned(), which.cloned());
        self.engine.write(move |conn| {
            history::update_meta(conn, &bucket_id, &key, which.as_ref(), &change)
        })
    }

    fn read(
        &self,
        bucket_id: &str,
        key: &str,
        which: Option<&VersionRef>,
    ) -> Result<Option<Readable>> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        match which {
            None => self
                .engine
                .read_one(move |conn| history::read_current(conn, &bucket_id, &key)),
            Some(which) => {
                let which = which.clone();
                self.engine.read(move |conn| {
                    let found = history::entry(conn, &bucket_id, &key, &which)?;
                    history::with_bytes(conn, found)
                })
            }
        }
    }

    fn read_by_version(&self, version_id: &str) -> Result<Option<Readable>> {
        let version_id = version_id.to_owned();
        self.engine.read(move |conn| {
            let found = history::by_id(conn, &version_id)?;
            history::with_bytes(conn, found)
        })
    }

    fn delete_current(
        &self,
        bucket_id: &str,
        key: &str,
        marker_id: String,
        at: Millis,
    ) -> Result<(Removal, Vec<String>)> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.engine.write(move |conn| {
            let bucket = write_state::read(conn, &bucket_id)?;
            let (removal, garbage) =
                history::delete_current(conn, &bucket, &bucket_id, &key, &marker_id, at)?;
            record_removal(conn, &bucket.rules, &removal, false)?;
            Ok((removal, garbage))
        })
    }

    fn delete_version(
        &self,
        bucket_id: &str,
        key: &str,
        which: VersionRef,
        bypass_governance: bool,
    ) -> Result<(Option<Object>, Vec<String>)> {
        let (bucket_id, key) = (bucket_id.to_owned(), key.to_owned());
        self.engine.write(move |conn| {
            let now = crate::now_millis();
            let (removed, garbage) =
                history::delete_version(conn, &bucket_id, &key, &which, now, bypass_governance)?;
            if let Some(entry) = &removed {
                outbox::record(conn, EventKind::Delete, entry)?;
            }
            Ok((removed, garbage))
        })
    }

    fn scan_versions(
        &self,
        bucket_id: &str,
        cursor: &VersionCursor,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>> {
        let (bucket_id, cursor, end) = (
            bucket_id.to_owned(),
            cursor.clone(),
            end.map(<[u8]>::to_vec),
        );
        self.engine.read(move |conn| {
            history::scan_versions(conn, &bucket_id, &cursor, end.as_deref(), limit)
        })
    }

    fn apply_lifecycle(
        &self,
        bucket_id: &str,
        actions: Vec<LifecycleAction>,
    ) -> Result<(Vec<bool>, Vec<String>)> {
        let bucket_id = bucket_id.to_owned();
        self.engine.write(move |conn| {
            let mut applied = Vec::with_capacity(actions.len());
            let mut garbage = Vec::new();
            // The bucket as the batch's writes see it, read once, when the first one needs it.
            let mut bucket: Option<write_state::WriteState> = None;
            for action in &actions {
                let done = match action {
                    LifecycleAction::ExpireCurrent {
                        key,
                        version_id,
                        marker_id,
                    } => {
                        let still = history::current(conn, &bucket_id, key)?
                            .is_some_and(|c| &c.version_id == version_id);
                        if still {
                            let at = crate::now_millis();
                            let bucket = write_state::read_once(&mut bucket, conn, &bucket_id)?;
                            let (removal, g) = history::delete_current(
                                conn, bucket, &bucket_id, key, marker_id, at,
                            )?;
                            record_removal(conn, &bucket.rules, &removal, true)?;
                            garbage.extend(g);
                        }
                        still
                    }
                    LifecycleAction::DeleteNoncurrent { key, version_id } => {
                        let which = VersionRef::Id(version_id.clone());
                        let found = history::entry(conn, &bucket_id, key, &which)?;
                        // A version held by object lock is skipped until it is free.
                        let now = crate::now_millis();
                        let due = found.is_some_and(|e| {
                            !e.is_current()
                                && crate::lock::check_delete(e.meta.lock(), now, false).is_ok()
                        });
                        if due {
                            let (removed, g) =
                                history::delete_version(conn, &bucket_id, key, &which, now, false)?;
                            if let Some(entry) = &removed {
                                let bucket = write_state::read_once(&mut bucket, conn, &bucket_id)?;
                                let kind = EventKind::LifecycleDelete;
                                outbox::record_for(conn, &bucket.rules, kind, entry)?;
                            }
                            garbage.extend(g);
                        }
                        due
                    }
                    LifecycleAction::RemoveLoneMarker { key, version_id } => {
                        let removed =
                            history::remove_lone_marker(conn, &bucket_id, key, version_id)?;
                        if removed {
                            let marker = Object {
                                bucket_id: bucket_id.clone(),
                                key: key.clone(),
                                version_id: version_id.clone(),
                                marker: true,
                                ..Object::default()
                            };
                            let bucket = write_state::read_once(&mut bucket, conn, &bucket_id)?;
                            let kind = EventKind::LifecycleDelete;
                            outbox::record_for(conn, &bucket.rules, kind, &marker)?;
                        }
                        removed
                    }
                    LifecycleAction::AbortUpload { upload_id } => {
                        let exists = query_upload(conn, upload_id)?.is_some();
                        if exists {
                            garbage.extend(abort(conn, upload_id)?);
                        }
                        exists
                    }
                };
                applied.push(done);
            }
            Ok((applied, garbage))
        })
    }

    fn usage(&self, bucket_id: &str) -> Result<Usage> {
        let bucket_id = bucket_id.to_owned();
        self.engine
            .read(move |conn| usage::of_bucket(conn, &bucket_id))
    }

    fn account_usage(&self, account: &str) -> Result<Usage> {
        let account = account.to_owned();
        self.engine
            .read(move |conn| usage::of_account(conn, &account))
    }

    fn all_usage(&self) -> Result<Vec<(String, Usage)>> {
        self.engine.read(|conn| usage::all(conn))
    }

    fn compact_usage(&self) -> Result<u64> {
        self.engine.write(|conn| usage::compact(conn))
    }

    fn recount_usage(&self, bucket_id: &str) -> Result<Usage> {
        let bucket_id = bucket_id.to_owned();
        self.engine
            .read(move |conn| usage::recount(conn, &bucket_id))
    }

    fn caps(&self, scope: &CapScope) -> Result<Caps> {
        let scope = scope.clone();
        self.engine.read(move |conn| usage::caps(conn, &scope))
    }

    fn set_caps(&self, scope: &CapScope, caps: Caps, actor: &Actor) -> Result<()> {
        let (scope, actor) = (scope.clone(), actor.clone());
        self.engine.write(move |conn| {
            let was = usage::caps(conn, &scope)?;
            usage::set_caps(conn, &scope, caps)?;
            let (bucket, owner) = match &scope {
                CapScope::Account(id) => (None, Some(id.clone())),
                CapScope::Bucket(id) => match query_bucket(conn, "id", id)? {
                    Some(b) => (Some(b.name), Some(b.owner)),
                    None => (None, None),
                },
            };
            let change = audit::Change {
                target: "caps",
                bucket: bucket.as_deref(),
                owner: owner.as_deref(),
            };
            audit::record(conn, &actor, change, &caps_json(was), &caps_json(caps))
        })
    }

    fn all_caps(&self) -> Result<Vec<(CapScope, Caps)>> {
        self.engine.read(|conn| usage::all_caps(conn))
    }

    fn count_transaction(&self, scope: &CapScope, day: i64, limit: u64) -> Result<bool> {
        let scope = scope.clone();
        self.engine
            .write(move |conn| usage::count_transaction(conn, &scope, day, limit))
    }

    fn transactions(&self, scope: &CapScope, day: i64) -> Result<u64> {
        let scope = scope.clone();
        self.engine
            .read(move |conn| usage::transactions(conn, &scope, day))
    }

    fn scan(
        &self,
        bucket_id: &str,
        after: &[u8],
        inclusive: bool,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Object>> {
        let (bucket_id, after, end) = (
            bucket_id.to_owned(),
            after.to_vec(),
            end.map(<[u8]>::to_vec),
        );
        self.engine.read(move |conn| {
            let op = if inclusive { ">=" } else { ">" };
            let rows = match end {
                Some(end) => conn.query(
                    &format!(
                        "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key {op} ?2
                         AND key < ?3 ORDER BY key LIMIT ?4"
                    ),
                    values![&bucket_id, after, end, limit as i64],
                )?,
                None => conn.query(
                    &format!(
                        "SELECT {OBJECT_SELECT} FROM objects WHERE bucket_id = ?1 AND key {op} ?2
                         ORDER BY key LIMIT ?3"
                    ),
                    values![&bucket_id, after, limit as i64],
                )?,
            };
            rows.into_iter().map(history::entry_from_row).collect()
        })
    }

    fn create_upload(&self, upload: Upload) -> Result<()> {
        self.engine.write(move |conn| {
            conn.execute(
                &format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
                values![
                    &upload.upload_id,
                    &upload.bucket_id,
                    upload.key.as_bytes(),
                    upload.created,
                    meta_json(&upload.meta)
                ],
            )?;
            Ok(())
        })
    }

    fn upload(&self, upload_id: &str) -> Result<Option<Upload>> {
        let upload_id = upload_id.to_owned();
        self.engine
            .read_one(move |conn| query_upload(conn, &upload_id))
    }

    fn put_part(&self, upload_id: &str, part: Part) -> Result<Vec<String>> {
        let upload_id = upload_id.to_owned();
        self.engine.write(move |conn| {
            let Some(upload) = query_upload(conn, &upload_id)? else {
                return Err(StoreError::NoSuchUpload);
            };
            let old = conn.first(
                "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                values![&upload_id, part.part_number],
            )?;
            conn.execute(
                &format!(
                    "INSERT INTO parts (upload_id, {PART_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size,
                       etag = excluded.etag, sha1 = excluded.sha1, blob = excluded.blob,
                       created_ms = excluded.created_ms, checksum = excluded.checksum"
                ),
                values![
                    &upload_id,
                    part.part_number,
                    part.size as i64,
                    &part.etag,
                    part.sha1.as_deref().unwrap_or_default(),
                    &part.blob,
                    part.created,
                    &part.checksum
                ],
            )?;
            let garbage = match old {
                Some(mut row) => vec![row.text(0)?],
                None => Vec::new(),
            };
            add_garbage(conn, &garbage)?;
            usage::check_storage(conn, &upload.bucket_id)?;
            Ok(garbage)
        })
    }

    fn parts(&self, upload_id: &str, after: u32, limit: usize) -> Result<Vec<Part>> {
        let upload_id = upload_id.to_owned();
        self.engine.read(move |conn| {
            conn.query(
                &format!(
                    "SELECT {PART_COLUMNS} FROM parts
                     WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3"
                ),
                values![&upload_id, after, limit as i64],
            )?
            .into_iter()
            .map(part_from_row)
            .collect()
        })
    }

    fn uploads(
        &self,
        bucket_id: &str,
        prefix: &str,
        after: (&str, &str),
        limit: usize,
    ) -> Result<Vec<Upload>> {
        let (bucket_id, prefix) = (bucket_id.to_owned(), prefix.to_owned());
        let (after_key, after_id) = (after.0.to_owned(), after.1.to_owned());
        self.engine.read(move |conn| {
            // Reads from the prefix on, a page (plus what the prefix skips) at a time.
            let start = if after_key.as_str() < prefix.as_str() {
                (prefix.clone(), String::new())
            } else {
                (after_key, after_id)
            };
            let rows = conn.query(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM uploads
                     WHERE bucket_id = ?1 AND (key > ?2 OR (key = ?2 AND upload_id > ?3))
                     ORDER BY key, upload_id LIMIT ?4"
                ),
                values![&bucket_id, start.0.as_bytes(), &start.1, limit as i64],
            )?;
            let mut out = Vec::new();
            for row in rows {
                let upload = upload_from_row(row)?;
                // From the start on, keys under the prefix come first, then every key after it.
                if !upload.key.starts_with(&prefix) {
                    break;
                }
                out.push(upload);
            }
            Ok(out)
        })
    }

    fn complete_upload(
        &self,
        upload_id: &str,
        completion: Completion,
    ) -> Result<(Object, Vec<String>)> {
        let upload_id = upload_id.to_owned();
        self.engine.write(move |conn| {
            let upload = query_upload(conn, &upload_id)?.ok_or(StoreError::NoSuchUpload)?;
            let parts = all_parts(conn, &upload_id)?;
            let mut chosen: Vec<&Part> = Vec::with_capacity(completion.parts.len());
            let mut last = 0u32;
            for (number, etag) in &completion.parts {
                if *number <= last {
                    return Err(StoreError::InvalidPartOrder);
                }
                last = *number;
                let part = parts
                    .iter()
                    .find(|p| p.part_number == *number && p.etag == etag.trim_matches('"'))
                    .ok_or(StoreError::InvalidPart(*number))?;
                chosen.push(part);
            }
            if chosen.is_empty() {
                return Err(StoreError::InvalidPart(0));
            }
            for part in &chosen[..chosen.len() - 1] {
                if part.size < completion.min_part_size {
                    return Err(StoreError::EntityTooSmall(part.part_number));
                }
            }
            let mut meta = upload.meta.clone();
            if let Some(c) = &completion.checksum {
                for (part, expected) in chosen.iter().zip(&c.parts) {
                    if part.checksum.as_ref() != Some(expected) {
                        return Err(StoreError::InvalidPart(part.part_number));
                    }
                }
                meta.checksums = [(c.algorithm.clone(), c.value.clone())].into();
                meta.part_checksums = c.parts.clone();
            }
            let object = Object {
                bucket_id: upload.bucket_id.clone(),
                key: upload.key.clone(),
                version_id: completion.version_id.clone(),
                size: chosen.iter().map(|p| p.size).sum(),
                etag: multipart_etag(chosen.iter().map(|p| p.etag.as_str())),
                sha1: None,
                created: completion.created,
                meta,
                segments: chosen
                    .iter()
                    .map(|p| Segment {
                        blob: p.blob.clone(),
                        size: p.size,
                    })
                    .collect(),
                ..Object::default()
            };
            let (bucket, newest) = history::put_state(conn, &object.bucket_id, &object.key)?;
            let (object, mut garbage) = history::put(
                conn,
                &bucket,
                newest,
                object,
                &completion.condition,
                &NewBytes::Blob,
            )?;
            outbox::record_for(conn, &bucket.rules, EventKind::MultipartUpload, &object)?;
            let unused: Vec<String> = parts
                .iter()
                .filter(|p| !chosen.iter().any(|c| c.part_number == p.part_number))
                .map(|p| p.blob.clone())
                .collect();
            add_garbage(conn, &unused)?;
            garbage.extend(unused);
            conn.execute(
                "DELETE FROM parts WHERE upload_id = ?1",
                values![&upload_id],
            )?;
            conn.execute(
                "DELETE FROM uploads WHERE upload_id = ?1",
                values![&upload_id],
            )?;
            // Remembered for a day, so completing again answers as the first time did.
            conn.execute(
                "DELETE FROM completed_uploads WHERE completed_ms < ?1",
                values![completion.created - 86_400_000],
            )?;
            conn.execute(
                "INSERT INTO completed_uploads (upload_id, version_id, completed_ms)
                 VALUES (?1, ?2, ?3)",
                values![&upload_id, &object.version_id, completion.created],
            )?;
            if bucket.capped {
                usage::check_storage(conn, &object.bucket_id)?;
            }
            Ok((object, garbage))
        })
    }

    fn completed_upload(&self, upload_id: &str) -> Result<Option<String>> {
        let upload_id = upload_id.to_owned();
        self.engine.read(move |conn| {
            conn.first(
                "SELECT version_id FROM completed_uploads WHERE upload_id = ?1",
                values![&upload_id],
            )?
            .map(|mut r| r.text(0))
            .transpose()
        })
    }

    fn abort_upload(&self, upload_id: &str) -> Result<Vec<String>> {
        let upload_id = upload_id.to_owned();
        self.engine.write(move |conn| {
            if query_upload(conn, &upload_id)?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            abort(conn, &upload_id)
        })
    }

    fn create_key(&self, key: AccessKey, actor: &Actor) -> Result<()> {
        let actor = actor.clone();
        self.engine.write(move |conn| {
            let taken = conn.first(
                "SELECT 1 FROM access_keys WHERE access_key = ?1",
                values![&key.access_key],
            )?;
            if taken.is_some() {
                return Err(StoreError::Database(format!(
                    "access key {} exists already",
                    key.access_key
                )));
            }
            let list = |v: &Option<Vec<String>>| {
                v.as_ref()
                    .map(|v| serde_json::to_string(v).expect("strings serialize"))
            };
            conn.execute(
                &format!(
                    "INSERT INTO access_keys ({KEY_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                values![
                    &key.access_key,
                    &key.secret,
                    key.created,
                    &key.description,
                    list(&key.scope.capabilities),
                    list(&key.scope.buckets),
                    &key.scope.name_prefix,
                    key.scope.expires,
                    &key.account
                ],
            )?;
            audit::record(
                conn,
                &actor,
                key_change(&key),
                &serde_json::Value::Null,
                &key_json(&key),
            )?;
            Ok(())
        })
    }

    fn key(&self, access_key: &str) -> Result<Option<AccessKey>> {
        let access_key = access_key.to_owned();
        self.engine.read_one(move |conn| {
            conn.first(
                &format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key = ?1"),
                values![&access_key],
            )?
            .map(key_from_row)
            .transpose()
        })
    }

    fn keys(&self) -> Result<Vec<AccessKey>> {
        self.engine.read(|conn| {
            conn.query(
                &format!("SELECT {KEY_COLUMNS} FROM access_keys ORDER BY created_ms, access_key"),
                &[],
            )?
            .into_iter()
            .map(key_from_row)
            .collect()
        })
    }

    fn delete_key(&self, access_key: &str, actor: &Actor) -> Result<()> {
        let (access_key, actor) = (access_key.to_owned(), actor.clone());
        self.engine.write(move |conn| {
            let key = conn
                .first(
                    &format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key = ?1"),
                    values![&access_key],
                )?
                .map(key_from_row)
                .transpose()?
                .ok_or(StoreError::NoSuchKeyId)?;
            conn.execute(
                "DELETE FROM access_keys WHERE access_key = ?1",
                values![&access_key],
            )?;
            audit::record(
                conn,
                &actor,
                key_change(&key),
                &key_json(&key),
                &serde_json::Value::Null,
            )
        })
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let query = query.clone();
        self.engine.read(move |conn| audit::list(conn, &query))
    }

    fn garbage(&self, released_by: Millis, limit: usize) -> Result<Vec<String>> {
        self.engine.read_one(move |conn| {
            conn.query(
                "SELECT blob FROM garbage WHERE since_ms <= ?1 ORDER BY since_ms, blob LIMIT ?2",
                values![released_by, limit as i64],
            )?
            .into_iter()
            .map(|mut r| r.text(0))
            .collect()
        })
    }

    fn garbage_count(&self) -> Result<u64> {
        self.engine.read_one(|conn| {
            let mut row = conn
                .first("SELECT count(*) FROM garbage", &[])?
                .ok_or_else(|| StoreError::Database("count(*) returned no row".into()))?;
            Ok(row.int(0)? as u64)
        })
    }

    fn forget_garbage(&self, blobs: &[String]) -> Result<()> {
        let blobs = blobs.to_vec();
        self.engine.write(move |conn| {
            for blob in &blobs {
                conn.execute("DELETE FROM garbage WHERE blob = ?1", values![blob])?;
            }
            Ok(())
        })
    }

    fn referenced_blobs(&self) -> Result<HashSet<String>> {
        self.engine.read(|conn| {
            let mut set = HashSet::new();
            history::referenced_blobs(conn, &mut set)?;
            for mut row in conn.query("SELECT blob FROM parts", &[])? {
                set.insert(row.text(0)?);
            }
            Ok(set)
        })
    }

    fn claim_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.engine.write(move |conn| {
            let current = conn.first(
                "SELECT holder, until_ms FROM leases WHERE name = ?1",
                values![&name],
            )?;
            match current {
                None => {
                    conn.execute(
                        "INSERT INTO leases (name, holder, until_ms) VALUES (?1, ?2, ?3)",
                        values![&name, &holder, until],
                    )?;
                }
                Some(mut row) => {
                    let (owner, lapses) = (row.text(0)?, row.int(1)?);
                    if owner != holder && lapses > now {
                        return Ok(false);
                    }
                    conn.execute(
                        "UPDATE leases SET holder = ?2, until_ms = ?3 WHERE name = ?1",
                        values![&name, &holder, until],
                    )?;
                }
            }
            Ok(true)
        })
    }

    fn master_keys(&self) -> Result<Vec<String>> {
        self.engine.read(|conn| {
            conn.query("SELECT id FROM master_keys ORDER BY since_ms", &[])?
                .into_iter()
                .map(|mut row| row.text(0))
                .collect()
        })
    }

    fn record_master_key(&self, id: &str, now: Millis) -> Result<()> {
        let id = id.to_owned();
        self.engine.write(move |conn| {
            if conn
                .first("SELECT 1 FROM master_keys WHERE id = ?1", values![&id])?
                .is_none()
            {
                conn.execute(
                    "INSERT INTO master_keys (id, since_ms) VALUES (?1, ?2)",
                    values![&id, now],
                )?;
            }
            Ok(())
        })
    }

    fn rewrite_encrypted(&self, change: crate::meta::MetaRewrite) -> Result<u64> {
        let mut changed = 0;
        for (table, id) in [
            ("objects", "version_id"),
            ("versions", "version_id"),
            ("uploads", "upload_id"),
        ] {
            let mut after = String::new();
            loop {
                let (from, change) = (after.clone(), change.clone());
                let select = format!(
                    "SELECT {id}, meta FROM {table} WHERE {id} > ?1 AND meta LIKE '%\"encryption\"%'
                     ORDER BY {id} LIMIT 500"
                );
                let update = format!("UPDATE {table} SET meta = ?2 WHERE {id} = ?1");
                let (n, last) = self.engine.write(move |conn| {
                    let (mut n, mut last) = (0u64, None);
                    for mut row in conn.query(&select, values![&from])? {
                        let row_id = row.text(0)?;
                        let mut meta = parse_meta(&row.text(1)?)?;
                        if change(&mut meta)? {
                            conn.execute(&update, values![&row_id, meta_json(&meta)])?;
                            n += 1;
                        }
                        last = Some(row_id);
                    }
                    Ok((n, last))
                })?;
                changed += n;
                match last {
                    Some(l) => after = l,
                    None => break,
                }
            }
        }
        Ok(changed)
    }

    fn rewrap_kms_key(&self, id: &str, wrapped: &str, master: &str) -> Result<()> {
        let (id, wrapped, master) = (id.to_owned(), wrapped.to_owned(), master.to_owned());
        self.engine.write(move |conn| {
            conn.execute(
                "UPDATE kms_keys SET wrapped = ?2, master_key = ?3 WHERE id = ?1",
                values![&id, &wrapped, &master],
            )?;
            Ok(())
        })
    }

    fn forget_master_key(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.engine.write(move |conn| {
            conn.execute("DELETE FROM master_keys WHERE id = ?1", values![&id])?;
            Ok(())
        })
    }

    fn kms_keys(&self) -> Result<Vec<(String, String, String, Millis)>> {
        self.engine.read(|conn| {
            conn.query(
                "SELECT id, wrapped, master_key, created_ms FROM kms_keys ORDER BY id",
                &[],
            )?
            .into_iter()
            .map(|mut row| Ok((row.text(0)?, row.text(1)?, row.text(2)?, row.int(3)?)))
            .collect()
        })
    }

    fn kms_key(&self, id: &str) -> Result<Option<(String, String)>> {
        let id = id.to_owned();
        self.engine.read(move |conn| {
            conn.first(
                "SELECT wrapped, master_key FROM kms_keys WHERE id = ?1",
                values![&id],
            )?
            .map(|mut row| Ok((row.text(0)?, row.text(1)?)))
            .transpose()
        })
    }

    fn create_kms_key(&self, id: &str, wrapped: &str, master: &str, now: Millis) -> Result<bool> {
        let (id, wrapped, master) = (id.to_owned(), wrapped.to_owned(), master.to_owned());
        self.engine.write(move |conn| {
            if conn
                .first("SELECT 1 FROM kms_keys WHERE id = ?1", values![&id])?
                .is_some()
            {
                return Ok(false);
            }
            conn.execute(
                "INSERT INTO kms_keys (id, wrapped, master_key, created_ms) VALUES (?1, ?2, ?3, ?4)",
                values![&id, &wrapped, &master, now],
            )?;
            Ok(true)
        })
    }

    fn events_due(&self, now: Millis, limit: usize) -> Result<Vec<(pier_events::Event, u32)>> {
        self.engine.read(move |conn| outbox::due(conn, now, limit))
    }

    fn events_remove(&self, ids: &[String]) -> Result<()> {
        let ids = ids.to_vec();
        self.engine.write(move |conn| outbox::remove(conn, &ids))
    }

    fn events_postpone(&self, postponed: &pier_events::Postponed) -> Result<()> {
        let postponed = postponed.clone();
        self.engine
            .write(move |conn| outbox::postpone(conn, &postponed))
    }

    fn events_expire(&self, cutoff: Millis) -> Result<Vec<pier_events::Expired>> {
        self.engine.write(move |conn| outbox::expire(conn, cutoff))
    }

    fn events_backlog(&self) -> Result<(u64, Option<Millis>)> {
        self.engine.read(outbox::backlog)
    }

    fn suspend_rule(&self, bucket_id: &str, rule: &str, reason: &str) -> Result<()> {
        let (bucket_id, rule, reason) = (bucket_id.to_owned(), rule.to_owned(), reason.to_owned());
        self.engine
            .write(move |conn| outbox::suspend(conn, &bucket_id, &rule, &reason))
    }

    fn queue_test_event(&self, bucket_id: &str, rule: &str) -> Result<bool> {
        let (bucket_id, rule) = (bucket_id.to_owned(), rule.to_owned());
        self.engine
            .write(move |conn| outbox::queue_test(conn, &bucket_id, &rule))
    }

    fn put_topic(&self, topic: &pier_events::Topic) -> Result<()> {
        let topic = topic.clone();
        self.engine
            .write(move |conn| super::topics::put(conn, &topic))
    }

    fn topic(&self, account: &str, name: &str) -> Result<Option<pier_events::Topic>> {
        let (account, name) = (account.to_owned(), name.to_owned());
        self.engine
            .read(move |conn| super::topics::get(conn, &account, &name))
    }

    fn topics(&self, account: &str) -> Result<Vec<pier_events::Topic>> {
        let account = account.to_owned();
        self.engine
            .read(move |conn| super::topics::list(conn, &account))
    }

    fn delete_topic(&self, account: &str, name: &str) -> Result<bool> {
        let (account, name) = (account.to_owned(), name.to_owned());
        self.engine
            .write(move |conn| super::topics::delete(conn, &account, &name))
    }

    fn put_session(&self, session: crate::types::DashboardSession) -> Result<()> {
        self.engine.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", values![&session.id])?;
            conn.execute(
                "INSERT INTO sessions (id, key_id, csrf, created_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                values![
                    &session.id,
                    &session.key_id,
                    &session.csrf,
                    session.created,
                    session.last_seen
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, id: &str) -> Result<Option<crate::types::DashboardSession>> {
        let id = id.to_owned();
        self.engine.read_one(move |conn| {
            conn.first(
                "SELECT id, key_id, csrf, created_ms, last_seen_ms FROM sessions WHERE id = ?1",
                values![&id],
            )?
            .map(|mut r| {
                Ok(crate::types::DashboardSession {
                    id: r.text(0)?,
                    key_id: r.text(1)?,
                    csrf: r.text(2)?,
                    created: r.int(3)?,
                    last_seen: r.int(4)?,
                })
            })
            .transpose()
        })
    }

    fn touch_session(&self, id: &str, at: Millis) -> Result<()> {
        let id = id.to_owned();
        self.engine.write(move |conn| {
            conn.execute(
                "UPDATE sessions SET last_seen_ms = ?2 WHERE id = ?1 AND last_seen_ms < ?2",
                values![&id, at],
            )?;
            Ok(())
        })
    }

    fn end_session(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.engine.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", values![&id])?;
            Ok(())
        })
    }

    fn end_sessions_of_key(&self, key_id: &str) -> Result<()> {
        let key_id = key_id.to_owned();
        self.engine.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE key_id = ?1", values![&key_id])?;
            Ok(())
        })
    }

    fn expire_sessions(&self, seen_before: Millis, created_before: Millis) -> Result<()> {
        self.engine.write(move |conn| {
            conn.execute(
                "DELETE FROM sessions WHERE last_seen_ms < ?1 OR created_ms < ?2",
                values![seen_before, created_before],
            )?;
            Ok(())
        })
    }

    fn close(&self) {
        self.engine.close();
    }
}
