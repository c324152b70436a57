//! The audit log (`docs/design.md`, "Audit log"), on every backend: each change to a bucket, a
//! key or caps is recorded with its actor, only what changed before and after, and read back
//! newest first, by bucket or by account; a change that fails records nothing; a key's secret
//! is never in it.

use pier_store::{
    Actor, AuditQuery, BucketUpdate, CapScope, Caps, KeyRestrictions, Versioning, Visibility,
};
use serde_json::json;
use tempfile::TempDir;

mod common;
use common::Db;

fn admin(action: &str) -> Actor {
    Actor::new(action)
        .by("PIERADMIN", "pier")
        .from_addr(Some("192.0.2.7"))
}

fn all(store: &pier_store::Store) -> Vec<pier_store::AuditEntry> {
    store
        .audit(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
}

fn a_bucket_change_records_who_and_only_what_changed(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let acting = store.acting(admin("s3:CreateBucket"));
    acting
        .create_bucket(
            "audited",
            "pier",
            Visibility::Private,
            Versioning::Unversioned,
        )
        .unwrap();
    store
        .acting(admin("s3:PutBucketPolicy"))
        .update_bucket(
            "audited",
            BucketUpdate {
                policy: Some(Some("{\"Version\":\"2012-10-17\",\"Statement\":[]}".into())),
                ..BucketUpdate::default()
            },
        )
        .unwrap();
    let log = all(&store);
    assert_eq!(log.len(), 2);
    let change = &log[0];
    assert_eq!(change.actor.action, "s3:PutBucketPolicy");
    assert_eq!(change.actor.key_id.as_deref(), Some("PIERADMIN"));
    assert_eq!(change.actor.account.as_deref(), Some("pier"));
    assert_eq!(change.actor.remote_addr.as_deref(), Some("192.0.2.7"));
    assert_eq!(change.bucket.as_deref(), Some("audited"));
    assert_eq!(change.target, "bucket");
    assert_eq!(change.before, json!({"policy": null}));
    assert_eq!(
        change.after,
        json!({"policy": {"Version": "2012-10-17", "Statement": []}})
    );
    let made = &log[1];
    assert_eq!(made.before, serde_json::Value::Null);
    assert_eq!(made.after["owner"], json!("pier"));
    assert!(made.n < change.n && made.time <= change.time);
}

fn a_change_that_fails_records_nothing(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    common::versioned_bucket(&store, "b", "pier").unwrap();
    let before = all(&store).len();
    assert!(store
        .acting(admin("s3:PutBucketVersioning"))
        .update_bucket(
            "b",
            BucketUpdate {
                versioning: Some(Versioning::Unversioned),
                ..BucketUpdate::default()
            },
        )
        .is_err());
    assert_eq!(all(&store).len(), before);
}

fn keys_and_caps_are_recorded_without_secrets(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let key = store
        .acting(admin("console:create account"))
        .create_key("tenant", "first", KeyRestrictions::default())
        .unwrap();
    store
        .acting(Actor::new("cli:caps set"))
        .set_caps(
            &CapScope::Account("tenant".into()),
            Caps {
                storage: Some(1000),
                ..Caps::default()
            },
        )
        .unwrap();
    store
        .acting(admin("b2_delete_key"))
        .delete_key(&key.access_key)
        .unwrap();
    let log = all(&store);
    let text = format!("{log:?}");
    assert!(!text.contains(&key.secret), "a secret in the log: {text}");
    let actions: Vec<&str> = log.iter().map(|e| e.actor.action.as_str()).collect();
    assert_eq!(
        actions,
        ["b2_delete_key", "cli:caps set", "console:create account"]
    );
    assert_eq!(log[1].before["storage"], serde_json::Value::Null);
    assert_eq!(log[1].after["storage"], json!(1000));
    assert_eq!(log[1].actor.key_id, None);
    assert_eq!(log[0].before["access_key"], json!(key.access_key));
    assert_eq!(log[0].after, serde_json::Value::Null);
}

fn the_log_reads_by_bucket_and_by_account(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    for (bucket, owner) in [("one", "pier"), ("two", "tenant")] {
        store
            .acting(Actor::new("s3:CreateBucket").by(format!("KEY-{owner}"), owner))
            .create_bucket(bucket, owner, Visibility::Private, Versioning::Unversioned)
            .unwrap();
    }
    store
        .acting(admin("s3:PutBucketTagging"))
        .update_bucket(
            "two",
            BucketUpdate {
                tags: Some([("team".to_owned(), "blue".to_owned())].into()),
                ..BucketUpdate::default()
            },
        )
        .unwrap();
    let of = |bucket: Option<&str>, account: Option<&str>| -> Vec<String> {
        store
            .audit(&AuditQuery {
                bucket: bucket.map(Into::into),
                account: account.map(Into::into),
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| e.actor.action)
            .collect()
    };
    assert_eq!(
        of(Some("two"), None),
        ["s3:PutBucketTagging", "s3:CreateBucket"]
    );
    // The tenant's own changes, and the admin's change to what the tenant owns.
    assert_eq!(
        of(None, Some("tenant")),
        ["s3:PutBucketTagging", "s3:CreateBucket"]
    );
    assert_eq!(of(Some("one"), None), ["s3:CreateBucket"]);
    // Paging: older than the newest.
    let newest = all(&store)[0].n;
    let older = store
        .audit(&AuditQuery {
            before: Some(newest),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(older.len(), 2);
}

on_both_backends!(
    a_bucket_change_records_who_and_only_what_changed,
    a_change_that_fails_records_nothing,
    keys_and_caps_are_recorded_without_secrets,
    the_log_reads_by_bucket_and_by_account,
);
