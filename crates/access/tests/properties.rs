//! Properties of the access engine over generated keys, policies and requests.

use pier_access::policy::Facts;
use pier_access::{
    decide, Action, BucketGrants, Capabilities, Capability, KeyScope, ObjectGrant, Policy,
    Principal, PublicAccess, Request,
};
use proptest::prelude::*;

fn capabilities() -> impl Strategy<Value = Capabilities> {
    proptest::collection::vec(proptest::sample::select(Capability::ALL.to_vec()), 0..8)
        .prop_map(|caps| caps.into_iter().collect())
}

fn action() -> impl Strategy<Value = Action> {
    proptest::sample::select(Action::ALL.to_vec())
}

fn object_key() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["", "docs/a.txt", "img/b.png", "docs/", "public/x"])
        .prop_map(str::to_owned)
}

fn public() -> impl Strategy<Value = PublicAccess> {
    proptest::sample::select(vec![
        PublicAccess::Private,
        PublicAccess::ReadObjects,
        PublicAccess::List,
        PublicAccess::ListAndWrite,
        PublicAccess::AuthenticatedList,
    ])
}

fn policy() -> impl Strategy<Value = Option<Policy>> {
    let statement = (
        proptest::sample::select(vec!["Allow", "Deny"]),
        proptest::sample::select(vec![r#""*""#, r#"{"AWS": "K1"}"#, r#"{"AWS": "K2"}"#]),
        proptest::sample::select(vec!["s3:*", "s3:GetObject", "s3:Delete*", "s3:ListBucket", "b2:*"]),
        proptest::sample::select(vec![
            "arn:aws:s3:::photos/*",
            "arn:aws:s3:::photos",
            "arn:aws:s3:::photos/docs/*",
        ]),
    )
        .prop_map(|(effect, principal, action, resource)| {
            format!(
                r#"{{"Effect": "{effect}", "Principal": {principal}, "Action": "{action}", "Resource": "{resource}"}}"#
            )
        });
    proptest::option::of(proptest::collection::vec(statement, 1..4)).prop_map(|s| {
        s.map(|s| {
            Policy::parse(&format!(r#"{{"Statement": [{}]}}"#, s.join(",")), "photos")
                .expect("generated policies are valid")
        })
    })
}

fn request<'a>(
    principal: Principal<'a>,
    action: Action,
    policy: Option<&'a Policy>,
    public: PublicAccess,
    key: &'a str,
) -> Request<'a> {
    Request {
        principal,
        action,
        bucket: Some(BucketGrants {
            id: "b1",
            name: "photos",
            owner: Some("A1"),
            policy,
            public,
        }),
        key: Some(key),
        prefix: Some(key),
        now: 1_000,
        facts: Facts::default(),
        object_grant: ObjectGrant::None,
    }
}

proptest! {
    #[test]
    fn adding_a_restriction_never_grants_more(
        caps in capabilities(), action in action(), policy in policy(), public in public(),
        key in object_key(), restrict_bucket in any::<bool>(), prefix in proptest::option::of(object_key()),
    ) {
        let free = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: None, expires: None };
        let mut restricted = free.clone();
        if restrict_bucket {
            restricted.buckets = Some(vec![("b9".into(), "other".into())]);
        }
        restricted.name_prefix = prefix;
        let before = decide(&request(Principal::Key(&free), action, policy.as_ref(), public, &key));
        let after = decide(&request(Principal::Key(&restricted), action, policy.as_ref(), public, &key));
        prop_assert!(before.allowed || !after.allowed, "restricting granted: {after}");
    }

    #[test]
    fn removing_a_capability_never_grants_more(
        caps in capabilities(), drop in proptest::sample::select(Capability::ALL.to_vec()),
        action in action(), policy in policy(), key in object_key(),
    ) {
        let full = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: None, expires: None };
        let fewer = KeyScope {
            capabilities: caps.iter().filter(|c| *c != drop).collect(),
            ..full.clone()
        };
        let before = decide(&request(Principal::Key(&full), action, policy.as_ref(), PublicAccess::Private, &key));
        let after = decide(&request(Principal::Key(&fewer), action, policy.as_ref(), PublicAccess::Private, &key));
        prop_assert!(before.allowed || !after.allowed);
    }

    #[test]
    fn an_applicable_deny_always_wins(
        caps in capabilities(), action in action(), public in public(), key in object_key(), anonymous in any::<bool>(),
    ) {
        let deny_all = Policy::parse(
            r#"{"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]},
                {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]}]}"#,
            "photos",
        ).unwrap();
        let k = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: None, expires: None };
        let principal = if anonymous { Principal::Anonymous } else { Principal::Key(&k) };
        let d = decide(&request(principal, action, Some(&deny_all), public, &key));
        // Service-level actions are not about the bucket; everything else is denied.
        if action.level() != pier_access::Level::Service {
            prop_assert!(!d.allowed, "{d}");
        }
    }

    #[test]
    fn explaining_never_changes_the_verdict(
        caps in capabilities(), action in action(), policy in policy(), public in public(), key in object_key(),
    ) {
        let k = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: None, expires: None };
        let req = request(Principal::Key(&k), action, policy.as_ref(), public, &key);
        let (fast, full) = (decide(&req), pier_access::explain(&req));
        prop_assert_eq!((fast.allowed, &fast.reason), (full.allowed, &full.reason));
        prop_assert!(fast.trace.is_empty() && !full.trace.is_empty());
    }

    #[test]
    fn a_prefixed_key_never_lists_outside_its_prefix(
        caps in capabilities(), policy in policy(), public in public(),
        action in proptest::sample::select(
            Action::ALL.iter().copied().filter(|a| a.lists_names()).collect::<Vec<_>>(),
        ),
        listing in proptest::sample::select(vec!["", "d", "docs", "docs/", "docs/a", "img/", "public/"]),
        own in proptest::sample::select(vec!["docs/", "public/", "img/b"]),
    ) {
        // Issue 23: a listing returns only names under its prefix, so a key whose namePrefix
        // that prefix does not start with must be refused, whatever grants the bucket makes.
        let caps: Capabilities = caps.iter().chain([action.capability()]).collect();
        let k = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: Some(own.into()), expires: None };
        let mut req = request(Principal::Key(&k), action, policy.as_ref(), public, "");
        req.key = None;
        req.prefix = Some(listing);
        let d = decide(&req);
        if d.allowed {
            prop_assert!(listing.starts_with(own), "{action:?} with prefix {listing:?}: {d}");
        }
    }

    #[test]
    fn anonymous_never_writes_without_a_statement_or_public_read_write(action in action(), public in public(), key in object_key()) {
        let d = decide(&request(Principal::Anonymous, action, None, public, &key));
        if d.allowed && public != PublicAccess::ListAndWrite {
            prop_assert!(matches!(action, Action::GetObject | Action::ListBucket), "{d}");
        }
    }

    #[test]
    fn another_accounts_key_never_gets_more_than_the_owners(
        caps in capabilities(), action in action(), policy in policy(), public in public(),
        key in object_key(), object_public in any::<bool>(),
    ) {
        let own = KeyScope { id: "K1".into(), account: "A1".into(), capabilities: caps, buckets: None, name_prefix: None, expires: None };
        let foreign = KeyScope { account: "A2".into(), ..own.clone() };
        let grant = if object_public { ObjectGrant::Everyone } else { ObjectGrant::None };
        let mut as_owner = request(Principal::Key(&own), action, policy.as_ref(), public, &key);
        as_owner.object_grant = grant;
        let mut as_foreign = request(Principal::Key(&foreign), action, policy.as_ref(), public, &key);
        as_foreign.object_grant = grant;
        let (o, f) = (decide(&as_owner), decide(&as_foreign));
        prop_assert!(o.allowed || !f.allowed, "the other account's key got {f}");
    }
}
