//! Usage counters and caps (`docs/design.md`, "Usage and caps"), on every backend: the counters
//! equal a full recount after every kind of write, an account's usage sums its buckets',
//! storage and object caps refuse the write that would pass them (puts, parts, completions)
//! and nothing else, and the daily transaction cap counts requests.

use pier_store::{
    CapKind, CapScope, Caps, ObjectMeta, PartError, PutError, RequestError, Store, Usage,
    VersionRef, WriteCondition, S3_MIN_PART_SIZE,
};
use tempfile::TempDir;

mod common;
use common::{put_declared, Db};

fn put(store: &Store, bucket_id: &str, key: &str, size: usize) -> pier_store::Object {
    put_declared(store, bucket_id, key, &vec![7u8; size], size as u64)
}

fn try_put(store: &Store, bucket_id: &str, key: &str, size: usize) -> Result<(), PutError> {
    let mut w = store.new_payload(Some(size as u64)).unwrap();
    w.write(&vec![1u8; size]).unwrap();
    store
        .put_object(
            bucket_id,
            key,
            w.finish().unwrap(),
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .map(|_| ())
}

/// The counters agree with a recount of the rows.
fn assert_counted(store: &Store, bucket_id: &str) -> Usage {
    let counted = store.usage(bucket_id).unwrap();
    assert_eq!(counted, store.recount_usage(bucket_id).unwrap());
    counted
}

fn counters_follow_every_kind_of_write(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::versioned_bucket(&store, "u", "acct").unwrap();
    assert_eq!(assert_counted(&store, &b.id), Usage::default());
    let small = put(&store, &b.id, "a", 100);
    put(&store, &b.id, "a", 200); // a second version of a
    let big = put(&store, &b.id, "big", 300_000); // a blob, not inline
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.objects, usage.bytes), (2, 300_200));
    assert_eq!((usage.versions, usage.version_bytes), (3, 300_300));
    store
        .copy_object(
            &big,
            &b.id,
            "copy",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    store.delete_object(&b.id, "big").unwrap(); // a marker: big's bytes stay stored
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.objects, usage.versions), (2, 4));
    store
        .delete_version(&b.id, "a", VersionRef::Id(small.version_id), false)
        .unwrap();
    let up = store
        .create_upload(&b.id, "mp", ObjectMeta::default())
        .unwrap();
    let mut etags = Vec::new();
    for n in 1..=2 {
        let mut w = store.new_blob().unwrap();
        w.write(&vec![n as u8; S3_MIN_PART_SIZE as usize]).unwrap();
        etags.push((
            n,
            store
                .put_part(&up.upload_id, n, w.finish().unwrap(), None)
                .unwrap()
                .etag,
        ));
    }
    // Part 2 again, replacing the first upload of it.
    let mut w = store.new_blob().unwrap();
    w.write(b"last").unwrap();
    etags[1].1 = store
        .put_part(&up.upload_id, 2, w.finish().unwrap(), None)
        .unwrap()
        .etag;
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.uploads, usage.part_bytes), (1, S3_MIN_PART_SIZE + 4));
    store
        .complete_upload(
            &up.upload_id,
            etags,
            S3_MIN_PART_SIZE,
            WriteCondition::None,
            None,
        )
        .unwrap();
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.uploads, usage.part_bytes), (0, 0));
    assert_eq!(usage.objects, 3);
    let abandoned = store
        .create_upload(&b.id, "gone", ObjectMeta::default())
        .unwrap();
    store.abort_upload(&abandoned.upload_id).unwrap();
    assert_counted(&store, &b.id);
}

fn counters_of_an_unversioned_overwrite(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::private_bucket(&store, "u", "acct").unwrap();
    put(&store, &b.id, "k", 1000);
    put(&store, &b.id, "k", 10);
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.objects, usage.bytes, usage.versions), (1, 10, 1));
    // The same size again: on PostgreSQL the overwrite appends no change.
    put(&store, &b.id, "k", 10);
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.objects, usage.bytes, usage.versions), (1, 10, 1));
    store.delete_object(&b.id, "k").unwrap();
    assert_eq!(assert_counted(&store, &b.id), Usage::default());
}

fn an_account_holds_what_its_buckets_hold(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let one = common::private_bucket(&store, "one", "acct").unwrap();
    let two = common::private_bucket(&store, "two", "acct").unwrap();
    let other = common::private_bucket(&store, "other", "else").unwrap();
    put(&store, &one.id, "k", 10);
    put(&store, &two.id, "k", 20);
    put(&store, &other.id, "k", 40);
    let acct = store.account_usage("acct").unwrap();
    assert_eq!((acct.objects, acct.bytes), (2, 30));
}

fn counters_survive_reopening(db: &Db) {
    let dir = TempDir::new().unwrap();
    let id = {
        let store = db.open(dir.path());
        let b = common::versioned_bucket(&store, "u", "acct").unwrap();
        for i in 0..20 {
            put(&store, &b.id, &format!("k{}", i % 7), 100 + i);
        }
        store.close().unwrap();
        b.id
    };
    let store = db.open(dir.path());
    assert_eq!(assert_counted(&store, &id).versions, 20);
}

fn a_storage_cap_refuses_the_put_that_would_pass_it(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::versioned_bucket(&store, "u", "acct").unwrap();
    let scope = CapScope::Bucket(b.id.clone());
    store
        .set_caps(
            &scope,
            Caps {
                storage: Some(1000),
                ..Caps::default()
            },
        )
        .unwrap();
    try_put(&store, &b.id, "a", 600).unwrap();
    try_put(&store, &b.id, "b", 400).unwrap(); // exactly at the cap
    match try_put(&store, &b.id, "c", 1) {
        Err(PutError::CapExceeded(cap)) => {
            assert_eq!(
                (cap.kind, cap.scope, cap.limit),
                (CapKind::Storage, scope, 1000)
            )
        }
        other => panic!("{other:?}"),
    }
    // The refused write left nothing behind, and deleting is never refused.
    let usage = assert_counted(&store, &b.id);
    assert_eq!((usage.objects, usage.storage()), (2, 1000));
    store.delete_object(&b.id, "a").unwrap();
}

fn an_account_cap_counts_all_its_buckets(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let one = common::private_bucket(&store, "one", "acct").unwrap();
    let two = common::private_bucket(&store, "two", "acct").unwrap();
    store
        .set_caps(
            &CapScope::Account("acct".into()),
            Caps {
                objects: Some(2),
                ..Caps::default()
            },
        )
        .unwrap();
    try_put(&store, &one.id, "a", 1).unwrap();
    try_put(&store, &two.id, "a", 1).unwrap();
    assert!(matches!(
        try_put(&store, &two.id, "b", 1),
        Err(PutError::CapExceeded(c)) if c.kind == CapKind::Objects
    ));
    // An overwrite in an unversioned bucket adds no object.
    try_put(&store, &two.id, "a", 5).unwrap();
    // Removing the cap lets writes through again.
    store
        .set_caps(&CapScope::Account("acct".into()), Caps::default())
        .unwrap();
    try_put(&store, &two.id, "b", 1).unwrap();
}

fn a_storage_cap_refuses_a_part(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::private_bucket(&store, "u", "acct").unwrap();
    store
        .set_caps(
            &CapScope::Bucket(b.id.clone()),
            Caps {
                storage: Some(S3_MIN_PART_SIZE + 10),
                ..Caps::default()
            },
        )
        .unwrap();
    let up = store
        .create_upload(&b.id, "mp", ObjectMeta::default())
        .unwrap();
    let mut w = store.new_blob().unwrap();
    w.write(&vec![1u8; S3_MIN_PART_SIZE as usize]).unwrap();
    store
        .put_part(&up.upload_id, 1, w.finish().unwrap(), None)
        .unwrap();
    let mut w = store.new_blob().unwrap();
    w.write(&[2u8; 11]).unwrap();
    assert!(matches!(
        store.put_part(&up.upload_id, 2, w.finish().unwrap(), None),
        Err(PartError::CapExceeded(c)) if c.kind == CapKind::Storage
    ));
    assert_eq!(assert_counted(&store, &b.id).part_bytes, S3_MIN_PART_SIZE);
}

fn a_transaction_cap_counts_requests_per_day(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::private_bucket(&store, "u", "acct").unwrap();
    let bucket = store.bucket("u").unwrap();
    // No cap: nothing counted.
    store.count_request(&bucket).unwrap();
    let scope = CapScope::Bucket(b.id.clone());
    assert_eq!(store.transactions_today(&scope).unwrap(), 0);
    store
        .set_caps(
            &scope,
            Caps {
                transactions_per_day: Some(3),
                ..Caps::default()
            },
        )
        .unwrap();
    for _ in 0..3 {
        store.count_request(&bucket).unwrap();
    }
    assert!(matches!(
        store.count_request(&bucket),
        Err(RequestError::CapExceeded(c)) if c.kind == CapKind::Transactions && c.limit == 3
    ));
    assert_eq!(store.transactions_today(&scope).unwrap(), 3);
}

fn a_deleted_bucket_takes_its_caps_and_counters(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::private_bucket(&store, "u", "acct").unwrap();
    put(&store, &b.id, "k", 10);
    store
        .set_caps(
            &CapScope::Bucket(b.id.clone()),
            Caps {
                storage: Some(100),
                ..Caps::default()
            },
        )
        .unwrap();
    store.delete_object(&b.id, "k").unwrap();
    store.delete_bucket("u").unwrap();
    assert!(store.all_caps().unwrap().is_empty());
    assert!(store.all_usage().unwrap().iter().all(|(id, _)| id != &b.id));
}

/// Writes a few entries, then takes the counters away as a data directory from before they
/// existed would be, and opens it again: the open counts what is there.
fn a_store_from_before_counters_is_counted_at_open(db: &Db) {
    let dir = TempDir::new().unwrap();
    let id = {
        let store = db.open(dir.path());
        let b = common::versioned_bucket(&store, "u", "acct").unwrap();
        for i in 0..5 {
            put(&store, &b.id, &format!("k{}", i % 3), 1000 + i);
        }
        store.delete_object(&b.id, "k0").unwrap();
        let up = store
            .create_upload(&b.id, "mp", ObjectMeta::default())
            .unwrap();
        let mut w = store.new_blob().unwrap();
        w.write(b"part").unwrap();
        store
            .put_part(&up.upload_id, 1, w.finish().unwrap(), None)
            .unwrap();
        store.close().unwrap();
        b.id
    };
    match db {
        Db::Sqlite => {
            let conn = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
            let triggers: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for t in triggers {
                conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
            }
            conn.execute_batch("DROP TABLE bucket_usage; DROP TABLE usage_deltas")
                .unwrap();
        }
        Db::Postgres(url) | Db::PostgresS3(url, _) => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client
                .batch_execute(
                    // Back to the schema before migration 9 (counters) and what came after.
                    "DROP TABLE bucket_usage, usage_deltas, caps, transaction_counts, audit;
                     DROP FUNCTION usage_change, usage_of_objects,
                       usage_of_versions, usage_of_uploads, usage_of_parts CASCADE;
                     UPDATE schema_version SET version = 8;",
                )
                .unwrap();
        }
    }
    let store = db.open(dir.path());
    let usage = assert_counted(&store, &id);
    assert_eq!((usage.versions, usage.uploads, usage.part_bytes), (5, 1, 4));
    // And the triggers are back: a new write is counted.
    put(&store, &id, "new", 10);
    assert_eq!(assert_counted(&store, &id).versions, 6);
}

fn compaction_folds_changes_without_changing_a_reading(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::versioned_bucket(&store, "u", "acct").unwrap();
    for i in 0..10 {
        put(&store, &b.id, &format!("k{}", i % 4), 100 + i);
    }
    let before = assert_counted(&store, &b.id);
    // The janitor may have folded some already; whatever is left is folded now.
    store.compact_usage().unwrap();
    assert_eq!(store.compact_usage().unwrap(), 0, "nothing left to fold");
    assert_eq!(assert_counted(&store, &b.id), before);
    store.delete_object(&b.id, "k0").unwrap();
    put(&store, &b.id, "k9", 1);
    let after = assert_counted(&store, &b.id);
    assert_eq!(after.versions, before.versions + 1);
    store.compact_usage().unwrap();
    assert_eq!(assert_counted(&store, &b.id), after);
}

on_both_backends!(
    counters_follow_every_kind_of_write,
    counters_of_an_unversioned_overwrite,
    an_account_holds_what_its_buckets_hold,
    counters_survive_reopening,
    a_storage_cap_refuses_the_put_that_would_pass_it,
    an_account_cap_counts_all_its_buckets,
    a_storage_cap_refuses_a_part,
    a_transaction_cap_counts_requests_per_day,
    a_deleted_bucket_takes_its_caps_and_counters,
    a_store_from_before_counters_is_counted_at_open,
    compaction_folds_changes_without_changing_a_reading,
);

/// A SQLite data directory whose triggers appended each change to `usage_deltas` (an older
/// build's) gets triggers that add in place at open; what was appended is still counted.
#[test]
fn sqlite_appending_triggers_are_replaced_at_open() {
    let dir = TempDir::new().unwrap();
    let id = {
        let store = Db::Sqlite.open(dir.path());
        let b = common::versioned_bucket(&store, "u", "acct").unwrap();
        put(&store, &b.id, "a", 100);
        store.close().unwrap();
        b.id
    };
    {
        // As the older build left it: one change appended, not yet folded, and a trigger that
        // appends.
        let conn = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
        conn.execute_batch(&format!(
            "DROP TRIGGER usage_objects_insert;
             CREATE TRIGGER usage_objects_insert AFTER INSERT ON objects BEGIN
               INSERT INTO usage_deltas
                 (bucket_id, objects, bytes, versions, version_bytes, uploads, part_bytes)
               VALUES (NEW.bucket_id, 1, NEW.size, 1, NEW.size, 0, 0);
             END;
             UPDATE bucket_usage SET objects = 0, bytes = 0, versions = 0, version_bytes = 0
               WHERE bucket_id = '{id}';
             INSERT INTO usage_deltas
               (bucket_id, objects, bytes, versions, version_bytes, uploads, part_bytes)
               VALUES ('{id}', 1, 100, 1, 100, 0, 0);"
        ))
        .unwrap();
    }
    let store = Db::Sqlite.open(dir.path());
    assert_eq!(assert_counted(&store, &id).versions, 1);
    put(&store, &id, "b", 10);
    assert_eq!(assert_counted(&store, &id).versions, 2);
    let conn = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
    let appending: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%usage_deltas%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(appending, 0, "no trigger appends any more");
}
