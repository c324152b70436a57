//! Version history through the store's public API: the three versioning states, markers,
//! deleting versions, shared bytes, version listing against a model, lifecycle passes, and a
//! crash image taken with kill -9 while versions of one key are written concurrently.

use pier_store::{
    LifecycleRule, ObjectMeta, Store, VersionQuery, VersionRef, VersionStart, Versioning,
    Visibility, WriteCondition,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use tempfile::TempDir;

mod common;
use common::Db;

const DAY: i64 = pier_store::lifecycle::DAY;

/// Puts `data` the way the APIs do (inline when small, else a blob file).
fn put(store: &Store, bucket_id: &str, key: &str, data: &[u8]) -> pier_store::Object {
    common::put_declared(store, bucket_id, key, data, data.len() as u64)
}

fn read_all(store: &Store, object: &pier_store::Object) -> Vec<u8> {
    common::read_all(store, object, 64 * 1024)
}

fn all_versions(store: &Store, bucket_id: &str, prefix: &str) -> Vec<pier_store::Object> {
    store
        .list_versions(
            bucket_id,
            &VersionQuery {
                prefix: prefix.into(),
                max_keys: 100_000,
                ..Default::default()
            },
        )
        .unwrap()
        .entries
}

/// Sets bucket `name`'s versioning to `state`.
fn set_versioning(store: &Store, name: &str, state: Versioning) {
    store
        .update_bucket(
            name,
            pier_store::BucketUpdate {
                versioning: Some(state),
                ..Default::default()
            },
        )
        .unwrap();
}

/// One page of a bucket's versions from `start`, at most `max_keys` entries.
fn version_page(
    store: &Store,
    bucket_id: &str,
    start: &VersionStart,
    max_keys: usize,
) -> pier_store::VersionPage {
    store
        .list_versions(
            bucket_id,
            &VersionQuery {
                start: start.clone(),
                max_keys,
                ..Default::default()
            },
        )
        .unwrap()
}

/// The invariants of `docs/design.md` over a whole bucket, seen through the listing: per key,
/// newest first, at most one current entry and it comes first, at most one null entry, and
/// `object()` is the first entry when that is a version.
fn check_invariants(store: &Store, bucket_id: &str) {
    let entries = all_versions(store, bucket_id, "");
    let mut by_key: HashMap<&str, Vec<&pier_store::Object>> = HashMap::new();
    for e in &entries {
        by_key.entry(&e.key).or_default().push(e);
    }
    for (key, history) in by_key {
        assert!(
            history.windows(2).all(|w| w[0].seq > w[1].seq),
            "{key}: newest first"
        );
        let current: Vec<_> = history.iter().filter(|e| e.is_current()).collect();
        assert!(current.len() <= 1, "{key}: one current entry");
        if let Some(c) = current.first() {
            assert_eq!(
                c.version_id, history[0].version_id,
                "{key}: current is newest"
            );
        }
        assert!(
            history.iter().filter(|e| e.null_version).count() <= 1,
            "{key}: one null entry"
        );
        match store.object(bucket_id, key) {
            Ok(o) => {
                assert_eq!(o.version_id, history[0].version_id);
                assert!(!history[0].marker);
            }
            Err(pier_store::FindError::NoSuchKey) => {
                assert!(history[0].marker, "{key}: absent only under a marker")
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn bucket(store: &Store, name: &str, state: Versioning) -> String {
    store
        .create_bucket(
            name,
            pier_store::DEFAULT_ACCOUNT,
            Visibility::Private,
            state,
        )
        .unwrap()
        .id
}

fn enabled_bucket_keeps_every_version_newest_first(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "enabled", Versioning::Enabled);
    let big = vec![7u8; 100_000];
    let v1 = put(&store, &b, "k", b"one");
    let v2 = put(&store, &b, "k", &big);
    let v3 = put(&store, &b, "k", b"three");
    let listed = all_versions(&store, &b, "");
    let ids: Vec<&str> = listed.iter().map(|o| o.version_id.as_str()).collect();
    assert_eq!(ids, [&v3.version_id, &v2.version_id, &v1.version_id]);
    assert!(listed[0].is_current() && !listed[1].is_current());
    assert!(listed.iter().all(|o| !o.null_version));
    assert_eq!(store.object(&b, "k").unwrap().version_id, v3.version_id);
    let old = store
        .version(&b, "k", &VersionRef::Id(v2.version_id.clone()))
        .unwrap();
    assert_eq!(read_all(&store, &old), big);
    assert_eq!(
        read_all(&store, &store.object_by_version(&v1.version_id).unwrap()),
        b"one"
    );
    check_invariants(&store, &b);
}

fn a_marker_hides_and_deleting_it_unhides(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "markers", Versioning::Enabled);
    let v1 = put(&store, &b, "k", b"one");
    let removal = store.delete_object(&b, "k").unwrap();
    let marker = removal.marker.expect("a marker on top");
    assert!(removal.removed.is_none(), "nothing is lost");
    assert!(matches!(
        store.object(&b, "k"),
        Err(pier_store::FindError::NoSuchKey)
    ));
    let top = store.top(&b, "k").unwrap().unwrap();
    assert!(top.marker && top.version_id == marker.version_id);
    assert!(store
        .list(
            &b,
            &pier_store::ListQuery {
                max_keys: 10,
                ..Default::default()
            }
        )
        .unwrap()
        .objects
        .is_empty());
    check_invariants(&store, &b);
    store
        .delete_version(&b, "k", VersionRef::Id(marker.version_id), false)
        .unwrap()
        .expect("the marker existed");
    assert_eq!(store.object(&b, "k").unwrap().version_id, v1.version_id);
    check_invariants(&store, &b);
}

fn deleting_the_current_version_promotes_the_previous(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "promote", Versioning::Enabled);
    let v1 = put(&store, &b, "k", b"one");
    let v2 = put(&store, &b, "k", b"two");
    store.delete_object(&b, "k").unwrap();
    let v4 = put(&store, &b, "k", b"four");
    store
        .delete_version(&b, "k", VersionRef::Id(v4.version_id), false)
        .unwrap();
    // The marker is newest again: the key stays absent.
    assert!(store.top(&b, "k").unwrap().unwrap().marker);
    check_invariants(&store, &b);
    let marker = store.top(&b, "k").unwrap().unwrap();
    store
        .delete_version(&b, "k", VersionRef::Id(marker.version_id), false)
        .unwrap();
    assert_eq!(store.object(&b, "k").unwrap().version_id, v2.version_id);
    store
        .delete_version(&b, "k", VersionRef::Id(v2.version_id), false)
        .unwrap();
    assert_eq!(store.object(&b, "k").unwrap().version_id, v1.version_id);
    assert!(store
        .delete_version(&b, "k", VersionRef::Id("0".repeat(32)), false)
        .unwrap()
        .is_none());
    check_invariants(&store, &b);
}

fn unversioned_writes_replace_the_null_version(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "plain", Versioning::Unversioned);
    put(&store, &b, "k", b"one");
    let v2 = put(&store, &b, "k", b"two");
    let listed = all_versions(&store, &b, "");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].null_version && listed[0].version_id == v2.version_id);
    let removal = store.delete_object(&b, "k").unwrap();
    assert!(removal.marker.is_none() && removal.removed.is_some());
    assert!(all_versions(&store, &b, "").is_empty());
    store.delete_bucket("plain").unwrap();
}

/// Each unversioned write replaces the key's only row: a blob it replaces becomes garbage, a
/// copy of the key onto itself keeps the bytes it shares, and the history a later versioned
/// write starts from is in order.
fn unversioned_overwrites_release_what_they_replace(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "over", Versioning::Unversioned);
    let big = vec![7u8; 200_000];
    let first = put(&store, &b, "k", &big);
    let in_place = store
        .copy_object(&first, &b, "k", ObjectMeta::default(), WriteCondition::None)
        .unwrap();
    assert_eq!(
        in_place.segments, first.segments,
        "a copy onto itself shares its bytes"
    );
    assert_eq!(read_all(&store, &in_place), big);
    let blob = first.segments[0].blob.clone();
    assert!(store.blob_ids().unwrap().contains(&blob));
    let small = put(&store, &b, "k", b"small now");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.blob_ids().unwrap().contains(&blob) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !store.blob_ids().unwrap().contains(&blob),
        "the replaced blob is garbage"
    );
    let last = put(&store, &b, "k", b"inline over inline");
    assert_eq!(read_all(&store, &last), b"inline over inline");
    assert!(matches!(
        store.version(&b, "k", &VersionRef::Id(small.version_id)),
        Err(pier_store::FindError::NoSuchVersion)
    ));
    set_versioning(&store, "over", Versioning::Enabled);
    let versioned = put(&store, &b, "k", b"versioned");
    let ids: Vec<String> = all_versions(&store, &b, "")
        .into_iter()
        .map(|o| o.version_id)
        .collect();
    assert_eq!(ids, [versioned.version_id, last.version_id]);
    check_invariants(&store, &b);
}

/// A suspended write over a current version that is not the null one, with no older history,
/// keeps that version as noncurrent.
fn a_suspended_write_keeps_a_lone_current_version(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "lone", Versioning::Enabled);
    let v1 = put(&store, &b, "k", b"versioned one");
    set_versioning(&store, "lone", Versioning::Suspended);
    let n2 = put(&store, &b, "k", b"null two");
    let listed = all_versions(&store, &b, "");
    let ids: Vec<&str> = listed.iter().map(|o| o.version_id.as_str()).collect();
    assert_eq!(ids, [&n2.version_id, &v1.version_id]);
    assert!(listed[0].null_version && listed[0].is_current());
    assert!(!listed[1].null_version && !listed[1].is_current());
    assert_eq!(read_all(&store, &listed[1]), b"versioned one");
    assert_eq!(read_all(&store, &listed[0]), b"null two");
    check_invariants(&store, &b);
}

fn suspended_writes_replace_only_the_null_version(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "suspend", Versioning::Unversioned);
    let n1 = put(&store, &b, "k", b"null one");
    let set = |state| set_versioning(&store, "suspend", state);
    set(Versioning::Enabled);
    let v2 = put(&store, &b, "k", b"two");
    set(Versioning::Suspended);
    let n3 = put(&store, &b, "k", b"null three");
    let listed = all_versions(&store, &b, "");
    let ids: Vec<&str> = listed.iter().map(|o| o.version_id.as_str()).collect();
    assert_eq!(
        ids,
        [&n3.version_id, &v2.version_id],
        "the old null version is gone"
    );
    assert!(matches!(
        store.version(&b, "k", &VersionRef::Id(n1.version_id)),
        Err(pier_store::FindError::NoSuchVersion)
    ));
    // A suspended delete: a null marker replaces the null version.
    let removal = store.delete_object(&b, "k").unwrap();
    assert!(removal.marker.as_ref().unwrap().null_version);
    assert_eq!(removal.removed.unwrap().version_id, n3.version_id);
    let listed = all_versions(&store, &b, "");
    assert_eq!(listed.len(), 2);
    assert!(listed[0].marker && listed[0].null_version && listed[0].is_current());
    assert_eq!(
        store
            .version(&b, "k", &VersionRef::Null)
            .unwrap()
            .version_id,
        listed[0].version_id
    );
    check_invariants(&store, &b);
    assert!(matches!(
        store.update_bucket(
            "suspend",
            pier_store::BucketUpdate {
                versioning: Some(Versioning::Unversioned),
                ..Default::default()
            },
        ),
        Err(pier_store::UpdateBucketError::InvalidVersioning)
    ));
}

fn copies_share_bytes_until_the_last_reference_goes(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "shared", Versioning::Enabled);
    let big = vec![3u8; 200_000];
    let source = put(&store, &b, "source", &big);
    let copy = store
        .copy_object(
            &source,
            &b,
            "copy",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    let copy2 = store
        .copy_object(
            &source,
            &b,
            "copy2",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    assert_eq!(copy.segments, source.segments, "no bytes copied");
    let blob = source.segments[0].blob.clone();
    let exists = |store: &Store| store.blob_ids().unwrap().contains(&blob);
    for (key, version) in [("source", &source), ("copy", &copy)] {
        store
            .delete_version(&b, key, VersionRef::Id(version.version_id.clone()), false)
            .unwrap();
        assert!(exists(&store), "still referenced after deleting {key}");
    }
    assert_eq!(read_all(&store, &copy2), big);
    store
        .delete_version(&b, "copy2", VersionRef::Id(copy2.version_id.clone()), false)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while exists(&store) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!exists(&store), "garbage once the last reference is gone");
    // A copy of an inline object gets its own bytes.
    let small = put(&store, &b, "small", b"tiny");
    let small_copy = store
        .copy_object(
            &small,
            &b,
            "small-copy",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    store
        .delete_version(&b, "small", VersionRef::Id(small.version_id), false)
        .unwrap();
    assert_eq!(read_all(&store, &small_copy), b"tiny");
    // Reopening sweeps nothing that is still referenced.
    store.close().unwrap();
    drop(store);
    let store = db.open(dir.path());
    assert_eq!(
        read_all(&store, &store.object(&b, "small-copy").unwrap()),
        b"tiny"
    );
}

fn version_pages_cover_the_history_exactly_once(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "paging", Versioning::Enabled);
    for key in ["a/1", "a/2", "b", "c/x/1", "d"] {
        for n in 0..3 {
            put(&store, &b, key, format!("{key}-{n}").as_bytes());
        }
        if key == "b" {
            store.delete_object(&b, key).unwrap();
        }
    }
    let full = all_versions(&store, &b, "");
    assert_eq!(full.len(), 16);
    for size in 1..=5 {
        // S3 paging: after (key, version).
        let mut seen = Vec::new();
        let mut start = VersionStart::Beginning;
        loop {
            let page = version_page(&store, &b, &start, size);
            seen.extend(page.entries.iter().map(|o| o.version_id.clone()));
            if !page.truncated {
                break;
            }
            let (key, entry) = page.last.unwrap();
            start = VersionStart::AfterVersion(key, VersionRef::Id(entry.unwrap().version_id));
        }
        let expected: Vec<String> = full.iter().map(|o| o.version_id.clone()).collect();
        assert_eq!(seen, expected, "S3 pages of {size}");
        // B2 paging: from the next entry, inclusive.
        let mut seen = Vec::new();
        let mut start = VersionStart::Beginning;
        loop {
            let page = version_page(&store, &b, &start, size);
            seen.extend(page.entries.iter().map(|o| o.version_id.clone()));
            let Some(next) = page.next else { break };
            start = VersionStart::FromVersion(next.key, next.version_id);
        }
        assert_eq!(seen, expected, "B2 pages of {size}");
    }
    // A delimiter rolls histories up into one prefix each.
    let page = store
        .list_versions(
            &b,
            &VersionQuery {
                delimiter: Some("/".into()),
                max_keys: 100,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.common_prefixes, ["a/", "c/"]);
    assert_eq!(page.entries.len(), 7, "b's 4 entries and d's 3");
}

fn bucket_delete_refuses_history_and_aborts_uploads(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "history", Versioning::Enabled);
    let v = put(&store, &b, "k", b"x");
    store.delete_object(&b, "k").unwrap();
    store
        .delete_version(&b, "k", VersionRef::Id(v.version_id), false)
        .unwrap();
    assert!(
        matches!(
            store.delete_bucket("history"),
            Err(pier_store::DeleteBucketError::BucketNotEmpty)
        ),
        "a lone marker keeps the bucket"
    );
    let marker = store.top(&b, "k").unwrap().unwrap();
    store
        .delete_version(&b, "k", VersionRef::Id(marker.version_id), false)
        .unwrap();
    let upload = store
        .create_upload(&b, "big", ObjectMeta::default())
        .unwrap();
    let mut w = store.new_blob().unwrap();
    w.write(b"part").unwrap();
    store
        .put_part(&upload.upload_id, 1, w.finish().unwrap(), None)
        .unwrap();
    store.delete_bucket("history").unwrap();
    assert!(matches!(
        store.upload(&upload.upload_id),
        Err(pier_store::UploadError::NoSuchUpload)
    ));
}

fn set_rules(store: &Store, bucket: &str, rules: Vec<LifecycleRule>) {
    store
        .update_bucket(
            bucket,
            pier_store::BucketUpdate {
                lifecycle: Some(rules),
                ..Default::default()
            },
        )
        .unwrap();
}

fn lifecycle_deletes_noncurrent_versions_when_due(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "aging", Versioning::Enabled);
    let big = vec![1u8; 100_000];
    put(&store, &b, "logs/a", &big);
    put(&store, &b, "logs/a", b"newer");
    let keep = put(&store, &b, "logs/a", b"newest");
    put(&store, &b, "other", b"old");
    put(&store, &b, "other", b"new");
    set_rules(
        &store,
        "aging",
        vec![LifecycleRule {
            enabled: true,
            prefix: "logs/".into(),
            noncurrent_days: Some(30),
            ..Default::default()
        }],
    );
    let now = pier_store::now_millis();
    assert_eq!(store.run_lifecycle(now + 29 * DAY).unwrap().deleted, 0);
    let report = store.run_lifecycle(now + 31 * DAY).unwrap();
    assert_eq!(report.deleted, 2);
    let left: Vec<String> = all_versions(&store, &b, "logs/")
        .into_iter()
        .map(|o| o.version_id)
        .collect();
    assert_eq!(left, [keep.version_id]);
    assert_eq!(
        all_versions(&store, &b, "other").len(),
        2,
        "outside the prefix"
    );
    assert_eq!(
        store.run_lifecycle(now + 31 * DAY).unwrap().deleted,
        0,
        "idempotent"
    );
    check_invariants(&store, &b);
}

fn lifecycle_keeps_the_newest_noncurrent_versions_asked_for(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "keepers", Versioning::Enabled);
    for n in 0..5 {
        put(&store, &b, "k", format!("v{n}").as_bytes());
    }
    set_rules(
        &store,
        "keepers",
        vec![LifecycleRule {
            enabled: true,
            noncurrent_days: Some(1),
            keep_noncurrent: Some(2),
            ..Default::default()
        }],
    );
    let report = store
        .run_lifecycle(pier_store::now_millis() + 2 * DAY)
        .unwrap();
    assert_eq!(report.deleted, 2);
    let left: Vec<Vec<u8>> = all_versions(&store, &b, "")
        .iter()
        .map(|o| read_all(&store, o))
        .collect();
    assert_eq!(left, [b"v4".to_vec(), b"v3".to_vec(), b"v2".to_vec()]);
}

fn lifecycle_expires_current_versions_then_cleans_lone_markers(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "expiry", Versioning::Enabled);
    put(&store, &b, "tmp/x", b"x");
    put(&store, &b, "keep/y", b"y");
    set_rules(
        &store,
        "expiry",
        vec![LifecycleRule {
            enabled: true,
            prefix: "tmp/".into(),
            expire_days: Some(7),
            expired_markers: true,
            noncurrent_days: Some(1),
            ..Default::default()
        }],
    );
    let now = pier_store::now_millis();
    let r = store.run_lifecycle(now + 8 * DAY).unwrap();
    assert_eq!(r.expired, 1);
    assert!(
        store.top(&b, "tmp/x").unwrap().unwrap().marker,
        "hidden, not lost"
    );
    // Later: the hidden version goes, then the marker with nothing behind it.
    let r = store.run_lifecycle(now + 10 * DAY).unwrap();
    assert_eq!(r.deleted, 1);
    let r = store.run_lifecycle(now + 10 * DAY).unwrap();
    assert_eq!(r.markers, 1);
    assert!(store.top(&b, "tmp/x").unwrap().is_none());
    assert!(store.object(&b, "keep/y").is_ok());
}

fn lifecycle_aborts_old_uploads_and_skips_disabled_rules(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "uploads", Versioning::Unversioned);
    let up = store
        .create_upload(&b, "big", ObjectMeta::default())
        .unwrap();
    put(&store, &b, "k", b"x");
    set_rules(
        &store,
        "uploads",
        vec![
            LifecycleRule {
                enabled: true,
                abort_uploads_days: Some(3),
                ..Default::default()
            },
            LifecycleRule {
                enabled: false,
                expire_days: Some(1),
                ..Default::default()
            },
        ],
    );
    let r = store
        .run_lifecycle(pier_store::now_millis() + 4 * DAY)
        .unwrap();
    assert_eq!((r.aborted, r.expired), (1, 0));
    assert!(store.upload(&up.upload_id).is_err());
    assert!(store.object(&b, "k").is_ok());
}

fn unversioned_expiry_deletes_for_good(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "plainexp", Versioning::Unversioned);
    put(&store, &b, "k", &vec![9u8; 100_000]);
    set_rules(
        &store,
        "plainexp",
        vec![LifecycleRule {
            enabled: true,
            expire_days: Some(1),
            ..Default::default()
        }],
    );
    let r = store
        .run_lifecycle(pier_store::now_millis() + 2 * DAY)
        .unwrap();
    assert_eq!(r.expired, 1);
    assert!(store.top(&b, "k").unwrap().is_none());
}

/// The child half of the crash test: writes versions of one key from four threads and prints
/// each acknowledged version until it is killed. Run only by
/// `kill_9_during_concurrent_versions_loses_nothing_acknowledged`.
#[test]
#[ignore = "run as a child process by the crash test"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var("PIER_CRASH_DIR") else {
        return;
    };
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    let b = store.bucket("crashy").unwrap().id.clone();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (store, b) = (store.clone(), b.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    let data = content(t, n);
                    let o = put(&store, &b, "k", &data);
                    println!("ack {t} {n} {}", o.version_id);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// The bytes thread `t` writes as its `n`th version: alternately inline and blob-sized.
fn content(t: u32, n: u32) -> Vec<u8> {
    let len = if n.is_multiple_of(2) { 100 } else { 70_000 };
    let seed = format!("{t}:{n}:");
    seed.bytes().cycle().take(len).collect()
}

#[test]
fn kill_9_during_concurrent_versions_loses_nothing_acknowledged() {
    let dir = TempDir::new().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        common::versioned_bucket(&store, "crashy", pier_store::DEFAULT_ACCOUNT).unwrap();
        store.close().unwrap();
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash_child_writer", "--nocapture"])
        .env("PIER_CRASH_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                let mut parts = l.strip_prefix("ack ")?.split(' ');
                let t: u32 = parts.next()?.parse().ok()?;
                let n: u32 = parts.next()?.parse().ok()?;
                Some((t, n, parts.next()?.to_owned()))
            })
            .collect::<Vec<_>>()
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acked = reader.join().unwrap();
    assert!(acked.len() > 20, "the child wrote ({} acks)", acked.len());
    let store = Store::open(dir.path()).unwrap();
    let b = store.bucket("crashy").unwrap().id.clone();
    let listed = all_versions(&store, &b, "k");
    let position: HashMap<&str, usize> = listed
        .iter()
        .enumerate()
        .map(|(i, o)| (o.version_id.as_str(), i))
        .collect();
    let mut last_position: HashMap<u32, usize> = HashMap::new();
    for (t, n, id) in &acked {
        let &at = position
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged version {id} ({t}:{n}) is listed"));
        assert_eq!(read_all(&store, &listed[at]), content(*t, *n), "byte-exact");
        // Listing is newest first: a thread's later versions come earlier.
        if let Some(previous) = last_position.insert(*t, at) {
            assert!(at < previous, "thread {t}'s versions are in write order");
        }
    }
    check_invariants(&store, &b);
}

#[test]
fn a_data_directory_from_before_versions_opens_with_null_versions() {
    let dir = TempDir::new().unwrap();
    {
        // The first schema's buckets and objects, with one small object in it.
        let conn = rusqlite::Connection::open(dir.path().join("meta.sqlite")).unwrap();
        conn.execute_batch(common::FIRST_BUCKETS_TABLE).unwrap();
        conn.execute_batch(
            "CREATE TABLE objects (bucket_id TEXT NOT NULL, key BLOB NOT NULL,
               version_id TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, etag TEXT NOT NULL,
               sha1 TEXT, created_ms INTEGER NOT NULL, meta TEXT NOT NULL,
               segments TEXT NOT NULL, PRIMARY KEY (bucket_id, key)) STRICT, WITHOUT ROWID;
             CREATE TABLE inline_data (version_id TEXT PRIMARY KEY, data BLOB NOT NULL) STRICT;
             INSERT INTO buckets VALUES ('old', 'b0', 0, 0, NULL, NULL, 1);
             INSERT INTO objects VALUES ('b0', CAST('k' AS BLOB), 'v0', 3, 'etag', NULL, 0,
               '{}', 'inline:3');
             INSERT INTO inline_data VALUES ('v0', CAST('old' AS BLOB));",
        )
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let bucket = store.bucket("old").unwrap();
    assert_eq!(bucket.versioning, Versioning::Unversioned);
    let listed = all_versions(&store, "b0", "");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].null_version && listed[0].is_current());
    assert_eq!(read_all(&store, &listed[0]), b"old");
    set_versioning(&store, "old", Versioning::Enabled);
    let new = put(&store, "b0", "k", b"new");
    let listed = all_versions(&store, "b0", "");
    let ids: Vec<&str> = listed.iter().map(|o| o.version_id.as_str()).collect();
    assert_eq!(ids, [new.version_id.as_str(), "v0"]);
    assert_eq!(
        read_all(
            &store,
            &store.version("b0", "k", &VersionRef::Null).unwrap()
        ),
        b"old"
    );
    check_invariants(&store, "b0");
}

/// A locked bucket with a one-year governance default: returns its id.
fn locked_bucket(store: &Store, name: &str) -> String {
    store
        .create_locked_bucket(
            name,
            pier_store::DEFAULT_ACCOUNT,
            Visibility::Private,
            pier_store::ObjectLock {
                default: Some(pier_store::DefaultRetention {
                    mode: pier_store::LockMode::Governance,
                    period: pier_store::LockPeriod::Years(1),
                }),
            },
        )
        .unwrap()
        .id
}

fn object_lock_holds_versions_against_deletion_and_lifecycle(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = locked_bucket(&store, "locked");
    let held = put(&store, &b, "k", b"old");
    assert!(
        held.meta.retention.is_some(),
        "the default retention applies"
    );
    put(&store, &b, "k", b"new");
    let id = || VersionRef::Id(held.version_id.clone());
    assert!(matches!(
        store.delete_version(&b, "k", id(), false),
        Err(pier_store::DeleteError::ObjectLocked(_))
    ));
    set_rules(
        &store,
        "locked",
        vec![LifecycleRule {
            enabled: true,
            noncurrent_days: Some(1),
            ..Default::default()
        }],
    );
    let now = pier_store::now_millis();
    assert_eq!(store.run_lifecycle(now + 2 * DAY).unwrap().deleted, 0);
    assert_eq!(all_versions(&store, &b, "k").len(), 2, "lifecycle skips it");
    store.delete_version(&b, "k", id(), true).unwrap();
    assert_eq!(all_versions(&store, &b, "k").len(), 1, "bypass deletes it");
    check_invariants(&store, &b);
}

fn object_lock_never_goes_off_and_keeps_versioning_on(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    locked_bucket(&store, "locked");
    let suspend = pier_store::BucketUpdate {
        versioning: Some(Versioning::Suspended),
        ..Default::default()
    };
    assert!(matches!(
        store.update_bucket("locked", suspend),
        Err(pier_store::UpdateBucketError::InvalidBucketState(_))
    ));
    bucket(&store, "plain", Versioning::Unversioned);
    let lock = pier_store::BucketUpdate {
        object_lock: Some(pier_store::ObjectLock::default()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_bucket("plain", lock),
        Err(pier_store::UpdateBucketError::InvalidBucketState(_))
    ));
    let plain = store.bucket("plain").unwrap().id.clone();
    let mut w = store.new_payload(Some(1)).unwrap();
    w.write(b"x").unwrap();
    let meta = ObjectMeta {
        legal_hold: true,
        ..Default::default()
    };
    assert!(matches!(
        store.put_object(&plain, "k", w.finish().unwrap(), meta, WriteCondition::None),
        Err(pier_store::PutError::LockNotEnabled)
    ));
}

fn lifecycle_tag_and_size_filters_take_only_matching_versions(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket(&store, "filtered", Versioning::Enabled);
    let tagged = |key: &str, data: &[u8], tag: &str| {
        let mut w = store.new_payload(Some(data.len() as u64)).unwrap();
        w.write(data).unwrap();
        let meta = ObjectMeta {
            tags: [("class".to_owned(), tag.to_owned())].into(),
            ..Default::default()
        };
        store
            .put_object(&b, key, w.finish().unwrap(), meta, WriteCondition::None)
            .unwrap()
    };
    tagged("temp", b"0123456789", "temp");
    tagged("gold", b"0123456789", "gold");
    tagged("tiny", b"x", "temp");
    set_rules(
        &store,
        "filtered",
        vec![LifecycleRule {
            enabled: true,
            expire_days: Some(1),
            tags: [("class".to_owned(), "temp".to_owned())].into(),
            size_greater_than: Some(5),
            ..Default::default()
        }],
    );
    let now = pier_store::now_millis();
    assert_eq!(store.run_lifecycle(now + 2 * DAY).unwrap().expired, 1);
    assert!(store.object(&b, "temp").is_err(), "tagged and large enough");
    assert!(store.object(&b, "gold").is_ok(), "another tag");
    assert!(store.object(&b, "tiny").is_ok(), "too small");
    check_invariants(&store, &b);
}

on_both_backends!(
    enabled_bucket_keeps_every_version_newest_first,
    a_marker_hides_and_deleting_it_unhides,
    deleting_the_current_version_promotes_the_previous,
    unversioned_writes_replace_the_null_version,
    unversioned_overwrites_release_what_they_replace,
    a_suspended_write_keeps_a_lone_current_version,
    suspended_writes_replace_only_the_null_version,
    copies_share_bytes_until_the_last_reference_goes,
    version_pages_cover_the_history_exactly_once,
    bucket_delete_refuses_history_and_aborts_uploads,
    lifecycle_deletes_noncurrent_versions_when_due,
    lifecycle_keeps_the_newest_noncurrent_versions_asked_for,
    lifecycle_expires_current_versions_then_cleans_lone_markers,
    lifecycle_aborts_old_uploads_and_skips_disabled_rules,
    unversioned_expiry_deletes_for_good,
    object_lock_holds_versions_against_deletion_and_lifecycle,
    object_lock_never_goes_off_and_keeps_versioning_on,
    lifecycle_tag_and_size_filters_take_only_matching_versions,
);
