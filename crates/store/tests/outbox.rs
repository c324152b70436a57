//! The events outbox (`docs/design.md`, "Events"), through the store's public API on every
//! backend: each change records its event with it, a change that does not happen records
//! nothing, rules select by type and prefix, saving a rule queues its test event, and the
//! dispatcher's view (due, postpone, remove, expire, suspend) holds.

use pier_events::dispatch::Outbox;
use pier_events::rule::Target;
use pier_events::{EventKind, NotificationRule, Topic};
use pier_store::{BucketUpdate, ObjectMeta, Store, VersionRef, WriteCondition, S3_MIN_PART_SIZE};
use std::collections::BTreeMap;
use tempfile::TempDir;

mod common;
use common::Db;

fn rule(name: &str, types: &[&str], prefix: &str) -> NotificationRule {
    let target = Target {
        hmac_sha256_signing_secret: Some("s".repeat(32)),
        ..Target::webhook("https://hooks.example.com/in")
    };
    let types = types.iter().map(|s| s.to_string()).collect();
    NotificationRule::new(name, types, prefix, target)
}

/// A versioned bucket with `rules`, its test events already taken out of the outbox.
fn bucket_with(store: &Store, rules: Vec<NotificationRule>) -> pier_store::Bucket {
    let b = common::versioned_bucket(store, "ev", "acct").unwrap();
    save_rules(store, rules);
    let tests = kinds(store);
    assert!(tests.iter().all(|(k, _, _)| *k == EventKind::Test));
    b
}

/// Saves `rules` as bucket `ev`'s B2 notification rules.
fn save_rules(store: &Store, rules: Vec<NotificationRule>) -> pier_store::Bucket {
    let update = BucketUpdate {
        notifications: Some(rules),
        ..Default::default()
    };
    store.update_bucket("ev", update).unwrap()
}

/// Every event due now, as (kind, rule, key), in order; takes them out of the outbox.
fn kinds(store: &Store) -> Vec<(EventKind, String, String)> {
    let due = store.due(i64::MAX, 10_000).unwrap();
    let ids: Vec<String> = due.iter().map(|(e, _)| e.id.clone()).collect();
    store.remove(&ids).unwrap();
    due.into_iter()
        .map(|(e, _)| (e.kind, e.rule, e.key))
        .collect()
}

fn put(store: &Store, bucket_id: &str, key: &str, data: &[u8]) -> pier_store::Object {
    common::put_declared(store, bucket_id, key, data, data.len() as u64)
}

/// A lifecycle pass records what it does as lifecycle events: the current version hidden, the
/// hidden version deleted, then the marker left alone removed.
fn lifecycle_passes_record_their_events(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let all = &["b2:HideMarkerCreated:*", "b2:ObjectDeleted:*"];
    let b = bucket_with(&store, vec![rule("aging", all, "tmp/")]);
    put(&store, &b.id, "tmp/x", b"x");
    put(&store, &b.id, "keep/y", b"y");
    let rules = vec![pier_store::LifecycleRule {
        enabled: true,
        prefix: "tmp/".into(),
        expire_days: Some(7),
        expired_markers: true,
        noncurrent_days: Some(1),
        ..Default::default()
    }];
    let update = BucketUpdate {
        lifecycle: Some(rules),
        ..Default::default()
    };
    store.update_bucket("ev", update).unwrap();
    let day = pier_store::lifecycle::DAY;
    let now = pier_store::now_millis();
    let event = |kind| vec![(kind, "aging".to_owned(), "tmp/x".to_owned())];
    store.run_lifecycle(now + 8 * day).unwrap();
    assert_eq!(kinds(&store), event(EventKind::LifecycleHide));
    store.run_lifecycle(now + 10 * day).unwrap();
    assert_eq!(kinds(&store), event(EventKind::LifecycleDelete));
    store.run_lifecycle(now + 10 * day).unwrap();
    assert_eq!(kinds(&store), event(EventKind::LifecycleDelete));
}

fn every_change_records_its_event_with_it(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let all = &[
        "b2:ObjectCreated:*",
        "b2:ObjectDeleted:*",
        "b2:HideMarkerCreated:*",
    ];
    let b = bucket_with(&store, vec![rule("everything", all, "")]);
    let first = put(&store, &b.id, "a.txt", b"one");
    put(&store, &b.id, "a.txt", b"two");
    store
        .copy_object(
            &first,
            &b.id,
            "copy.txt",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    let up = store
        .create_upload(&b.id, "big.bin", ObjectMeta::default())
        .unwrap();
    let mut w = store.new_blob().unwrap();
    w.write(&vec![1u8; S3_MIN_PART_SIZE as usize]).unwrap();
    let part = store
        .put_part(&up.upload_id, 1, w.finish().unwrap(), None)
        .unwrap();
    store
        .complete_upload(
            &up.upload_id,
            vec![(1, part.etag)],
            S3_MIN_PART_SIZE,
            WriteCondition::None,
            None,
        )
        .unwrap();
    store.delete_object(&b.id, "a.txt").unwrap();
    store
        .delete_version(
            &b.id,
            "a.txt",
            VersionRef::Id(first.version_id.clone()),
            false,
        )
        .unwrap();
    let got: Vec<(EventKind, String)> = kinds(&store)
        .into_iter()
        .map(|(k, _, key)| (k, key))
        .collect();
    assert_eq!(
        got,
        vec![
            (EventKind::Upload, "a.txt".into()),
            (EventKind::Upload, "a.txt".into()),
            (EventKind::Copy, "copy.txt".into()),
            (EventKind::MultipartUpload, "big.bin".into()),
            (EventKind::Hide, "a.txt".into()),
            (EventKind::Delete, "a.txt".into()),
        ]
    );
}

fn a_change_that_does_not_happen_records_nothing(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket_with(&store, vec![rule("uploads", &["b2:ObjectCreated:*"], "")]);
    put(&store, &b.id, "k", b"v");
    kinds(&store);
    let mut w = store.new_payload(Some(1)).unwrap();
    w.write(b"x").unwrap();
    let refused = store.put_object(
        &b.id,
        "k",
        w.finish().unwrap(),
        ObjectMeta::default(),
        WriteCondition::IfAbsent,
    );
    assert!(matches!(
        refused,
        Err(pier_store::PutError::PreconditionFailed)
    ));
    assert!(
        matches!(
            store.delete_version(&b.id, "k", VersionRef::Id("nope".into()), false),
            Ok(None) | Err(pier_store::DeleteError::NoSuchVersion)
        ),
        "nothing deleted"
    );
    assert!(kinds(&store).is_empty());
}

fn rules_select_by_type_and_prefix_and_only_while_active(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let mut paused = rule("paused-rule", &["b2:ObjectCreated:*"], "paused/");
    paused.is_enabled = false;
    let b = bucket_with(
        &store,
        vec![
            rule("images", &["b2:ObjectCreated:Upload"], "images/"),
            rule("hides", &["b2:HideMarkerCreated:*"], ""),
            paused,
        ],
    );
    put(&store, &b.id, "images/cat.jpg", b"c");
    put(&store, &b.id, "docs/readme", b"r");
    put(&store, &b.id, "paused/x", b"p");
    store.delete_object(&b.id, "docs/readme").unwrap();
    let got = kinds(&store);
    assert_eq!(
        got,
        vec![
            (EventKind::Upload, "images".into(), "images/cat.jpg".into()),
            (EventKind::Hide, "hides".into(), "docs/readme".into()),
        ]
    );
}

fn saving_a_rule_queues_its_test_event_and_resumes_it(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = common::versioned_bucket(&store, "ev", "acct").unwrap();
    let save = |rules: Vec<NotificationRule>| save_rules(&store, rules);
    save(vec![rule("uploads", &["b2:ObjectCreated:*"], "")]);
    assert_eq!(
        kinds(&store),
        vec![(EventKind::Test, "uploads".into(), String::new())]
    );
    // A test event on request (the dashboard's button), only for a rule that exists.
    assert!(store.send_test_event(&b.id, "uploads").unwrap());
    assert!(!store.send_test_event(&b.id, "no-such-rule").unwrap());
    assert_eq!(
        kinds(&store),
        vec![(EventKind::Test, "uploads".into(), String::new())]
    );
    // The dispatcher suspends it; saving it again, unchanged, resumes it without a new test.
    store.suspend(&b.id, "uploads", "target failing").unwrap();
    let suspended = store.bucket("ev").unwrap();
    assert!(suspended.notifications[0].is_suspended);
    assert_eq!(
        suspended.notifications[0].suspension_reason,
        "target failing"
    );
    put(&store, &b.id, "while-suspended", b"s");
    assert!(kinds(&store).is_empty(), "a suspended rule records nothing");
    let mut again = rule("uploads", &["b2:ObjectCreated:*"], "");
    again.target_configuration.hmac_sha256_signing_secret = None;
    let saved = save(vec![again]);
    assert!(!saved.notifications[0].is_suspended);
    assert_eq!(
        saved.notifications[0]
            .target_configuration
            .hmac_sha256_signing_secret,
        Some("s".repeat(32)),
        "a secret left out is kept"
    );
    assert_eq!(
        kinds(&store),
        vec![(EventKind::Test, "uploads".into(), String::new())],
        "resumed: the saved rule differs from the suspended one"
    );
    // Reopened, the rules are still there.
    store.close().unwrap();
    let store = db.open(dir.path());
    assert_eq!(store.bucket("ev").unwrap().notifications.len(), 1);
}

fn the_dispatchers_view_postpones_and_expires(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let b = bucket_with(&store, vec![rule("uploads", &["b2:ObjectCreated:*"], "")]);
    for i in 0..3 {
        put(&store, &b.id, &format!("k{i}"), b"v");
    }
    let due = store.due(i64::MAX, 10).unwrap();
    assert_eq!(due.len(), 3);
    assert!(due
        .windows(2)
        .all(|w| w[0].0.id < w[1].0.id || w[0].0.at_ms <= w[1].0.at_ms));
    let first = vec![due[0].0.id.clone()];
    let later = pier_store::now_millis() + 60_000;
    store
        .postpone(&pier_events::Postponed {
            bucket_id: b.id.clone(),
            rule: "uploads".into(),
            ids: first,
            next_ms: later,
            error: "the target answered 503".into(),
        })
        .unwrap();
    assert!(
        store.due(pier_store::now_millis(), 10).unwrap().is_empty(),
        "the rule waits"
    );
    let retried = store.due(later, 10).unwrap();
    assert_eq!(retried.len(), 3);
    assert_eq!(retried[0].1, 1, "one attempt counted");
    assert_eq!(store.event_backlog().unwrap().0, 3);
    let gone = store.expire(i64::MAX).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!((gone[0].count, gone[0].rule.as_str()), (3, "uploads"));
    assert_eq!(gone[0].last_error, "the target answered 503");
    assert_eq!(store.event_backlog().unwrap(), (0, None));
    assert!(store.may_deliver().unwrap());
}

fn s3_rule(name: &str, types: &[&str], prefix: &str, suffix: &str, arn: &str) -> NotificationRule {
    let types = types.iter().map(|s| s.to_string()).collect();
    NotificationRule::s3(name, types, prefix, suffix, arn)
}

fn topics_are_kept_per_account(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "push-endpoint".to_owned(),
        "https://hooks.example.com/a".to_owned(),
    );
    let topic = Topic {
        account_id: "acct".into(),
        name: "uploads".into(),
        attributes,
    };
    store.put_topic(&topic).unwrap();
    assert_eq!(store.topic("acct", "uploads").unwrap(), Some(topic.clone()));
    assert_eq!(store.topic("other", "uploads").unwrap(), None);
    let mut changed = topic.clone();
    changed
        .attributes
        .insert("push-endpoint".into(), "https://hooks.example.com/b".into());
    store.put_topic(&changed).unwrap();
    assert_eq!(store.topics("acct").unwrap(), vec![changed]);
    assert!(store.topics("other").unwrap().is_empty());
    assert!(store.delete_topic("acct", "uploads").unwrap());
    assert!(!store.delete_topic("acct", "uploads").unwrap());
    assert!(store.topics("acct").unwrap().is_empty());
}

fn s3_and_b2_rules_are_kept_apart(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = db.open(dir.path());
    let arn = "arn:aws:sns:us-east-1:acct:hooks";
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "push-endpoint".to_owned(),
        "https://hooks.example.com/s3".to_owned(),
    );
    store
        .put_topic(&Topic {
            account_id: "acct".into(),
            name: "hooks".into(),
            attributes,
        })
        .unwrap();
    let b = bucket_with(&store, vec![rule("b2-side", &["b2:ObjectCreated:*"], "")]);
    let s3_rules = vec![s3_rule(
        "jpegs",
        &["s3:ObjectCreated:Put"],
        "img/",
        ".jpg",
        arn,
    )];
    store
        .update_bucket(
            "ev",
            BucketUpdate {
                s3_notifications: Some(s3_rules),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(kinds(&store).is_empty(), "no test event for an S3 rule");
    // Saving B2's rules again keeps S3's; each API's names are the other's to keep.
    store
        .update_bucket(
            "ev",
            BucketUpdate {
                notifications: Some(vec![rule("b2-again", &["b2:ObjectCreated:*"], "")]),
                ..Default::default()
            },
        )
        .unwrap();
    let names: Vec<String> = store
        .bucket("ev")
        .unwrap()
        .notifications
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(names, ["jpegs", "b2-again"]);
    let clash = store.update_bucket(
        "ev",
        BucketUpdate {
            notifications: Some(vec![rule("jpegs", &["b2:ObjectCreated:*"], "")]),
            ..Default::default()
        },
    );
    assert!(
        matches!(
            clash,
            Err(pier_store::UpdateBucketError::InvalidBucketState(_))
        ),
        "{clash:?}"
    );
    kinds(&store);
    // The S3 rule selects by its suffix too, and records the version's ETag.
    let made = put(&store, &b.id, "img/cat.jpg", b"meow");
    put(&store, &b.id, "img/cat.png", b"meow");
    let due = store.due(i64::MAX, 100).unwrap();
    let s3_events: Vec<_> = due.iter().filter(|(e, _)| e.rule == "jpegs").collect();
    assert_eq!(s3_events.len(), 1, "{due:?}");
    assert_eq!(s3_events[0].0.key, "img/cat.jpg");
    assert_eq!(s3_events[0].0.etag, made.etag);
    // The dispatcher sees the S3 rule aimed at its topic's endpoint, and not at all once the
    // topic is gone.
    let (_, rules) = Outbox::bucket(&store, &b.id).unwrap().unwrap();
    let jpegs = rules.iter().find(|r| r.name == "jpegs").unwrap();
    assert_eq!(
        jpegs.target_configuration.url,
        "https://hooks.example.com/s3"
    );
    store.delete_topic("acct", "hooks").unwrap();
    let (_, rules) = Outbox::bucket(&store, &b.id).unwrap().unwrap();
    assert!(rules.iter().all(|r| r.name != "jpegs"));
}

on_both_backends!(
    lifecycle_passes_record_their_events,
    topics_are_kept_per_account,
    s3_and_b2_rules_are_kept_apart,
    every_change_records_its_event_with_it,
    a_change_that_does_not_happen_records_nothing,
    rules_select_by_type_and_prefix_and_only_while_active,
    saving_a_rule_queues_its_test_event_and_resumes_it,
    the_dispatchers_view_postpones_and_expires,
);
