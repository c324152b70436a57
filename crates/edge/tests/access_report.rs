//! Report-only access changes through the access door: a staged policy and public setting are
//! decided beside the live settings for every request to the bucket, and only the requests
//! whose verdict would change are kept.

use pier_access::{Action, KeyScope, ObjectGrant, Policy};
use pier_edge::access::{Access, Ask, RequestFacts};
use pier_edge::access_watch::{AccessWatch, StagedSettings};
use pier_store::{Store, Versioning, Visibility};
use std::sync::Arc;

fn ask<'a>(action: Action, bucket: &'a str, key: &'a str) -> Ask<'a> {
    Ask {
        action,
        bucket: Some(bucket),
        key: Some(key),
        prefix: None,
    }
}

/// A store with the bucket `b` of account `acct`, and a door over it.
fn door() -> (tempfile::TempDir, Store, Access) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .create_bucket("b", "acct", Visibility::Private, Versioning::Unversioned)
        .unwrap();
    let access = Access::new(store.clone(), AccessWatch::default());
    (dir, store, access)
}

/// [`door`] with `policy` and `public` staged report-only for `b`.
fn staged(policy: Option<&str>, public: Visibility) -> (tempfile::TempDir, Store, Access) {
    let (dir, store, access) = door();
    let bucket = store.bucket("b").unwrap();
    access.watch().stage(
        &bucket.id,
        StagedSettings {
            policy_text: policy.map(str::to_owned),
            policy: policy.map(|p| Arc::new(Policy::parse(p, "b").unwrap())),
            public,
        },
        "K",
    );
    (dir, store, access)
}

const DENY_DELETES: &str = r#"{"Statement":[{"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}"#;

#[test]
fn only_requests_whose_verdict_would_change_are_listed() {
    let (_dir, store, access) = staged(Some(DENY_DELETES), Visibility::PublicObjects);
    let owner = KeyScope::admin("K1", "acct");
    let facts = RequestFacts::default();
    for (key, action) in [
        (Some(&owner), Action::DeleteObject),
        (Some(&owner), Action::DeleteObject),
        (Some(&owner), Action::PutObject),
        (None, Action::GetObject),
        (None, Action::PutObject),
    ] {
        let a = ask(action, "b", "x.txt");
        let live = access.decide(key, a, facts).unwrap().allowed;
        access.report(key, a, facts, live, || ObjectGrant::None);
    }
    let bucket = store.bucket("b").unwrap();
    let report = access.watch().staged(&bucket.id).unwrap().report();
    assert_eq!(
        (report.same, report.newly_refused, report.newly_allowed),
        (2, 2, 1)
    );
    let refused: Vec<_> = report.flips.iter().filter(|f| !f.newly_allowed).collect();
    assert_eq!(refused.len(), 1, "{:?}", report.flips);
    assert_eq!(
        (
            refused[0].key.as_deref(),
            refused[0].action,
            refused[0].count
        ),
        (Some("K1"), "s3:DeleteObject", 2)
    );
    assert!(refused[0].reason.contains("NoDeletes"), "{:?}", refused[0]);
    assert!(!refused[0].trace.is_empty());
    let allowed: Vec<_> = report.flips.iter().filter(|f| f.newly_allowed).collect();
    assert_eq!(
        (allowed[0].key.as_deref(), allowed[0].action),
        (None, "s3:GetObject")
    );
}

#[test]
fn the_live_settings_still_decide() {
    let (_dir, _store, access) = staged(Some(DENY_DELETES), Visibility::PublicObjects);
    let owner = KeyScope::admin("K1", "acct");
    let facts = RequestFacts::default();
    assert!(
        access
            .decide(Some(&owner), ask(Action::DeleteObject, "b", "x"), facts)
            .unwrap()
            .allowed
    );
    assert!(
        !access
            .decide(None, ask(Action::GetObject, "b", "x"), facts)
            .unwrap()
            .allowed
    );
}

#[test]
fn a_bucket_without_a_staged_change_counts_nothing() {
    let (_dir, store, access) = staged(None, Visibility::PublicObjects);
    store
        .create_bucket(
            "other",
            "acct",
            Visibility::Private,
            Versioning::Unversioned,
        )
        .unwrap();
    let a = ask(Action::GetObject, "other", "x");
    access.report(None, a, RequestFacts::default(), false, || {
        panic!("no grant is looked up")
    });
    let bucket = store.bucket("b").unwrap();
    let report = access.watch().staged(&bucket.id).unwrap().report();
    assert_eq!((report.same, report.flips.len()), (0, 0));
}

#[test]
fn an_objects_own_acl_is_given_to_the_staged_settings_too() {
    // Staged: the bucket stays private, with a policy that changes nothing for reads.
    let (_dir, store, access) = staged(Some(DENY_DELETES), Visibility::Private);
    // Today a public-read object is read anonymously through its own ACL.
    let a = ask(Action::GetObject, "b", "public.txt");
    let mut looked_up = false;
    access.report(None, a, RequestFacts::default(), true, || {
        looked_up = true;
        ObjectGrant::Everyone
    });
    assert!(looked_up, "the staged refusal asked for the object's grant");
    let bucket = store.bucket("b").unwrap();
    let report = access.watch().staged(&bucket.id).unwrap().report();
    assert_eq!((report.same, report.flips.len()), (1, 0), "{report:?}");
}
