//! Bucket policies as a client can send them: any text to `Policy::parse`, and every policy
//! that parses decided against a few requests. Neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pier_access::policy::Facts;
use pier_access::{
    decide, Action, BucketGrants, Capabilities, KeyScope, ObjectGrant, Principal, PublicAccess,
    Request,
};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = pier_access::Policy::parse(text, "photos") else {
        return;
    };
    // Another account's key, and the facts conditions read: the object's tags, the
    // request's tags and headers.
    let key = KeyScope {
        id: "K2".into(),
        account: "a2".into(),
        capabilities: Capabilities::all(),
        buckets: None,
        name_prefix: None,
        expires: None,
    };
    let tags: BTreeMap<String, String> = [("security".into(), "public".into())].into();
    let headers = [("x-amz-copy-source", "/photos/public/b%20c.txt"), ("x-amz-acl", "private")];
    for principal in [Principal::Anonymous, Principal::Key(&key)] {
        for action in [Action::GetObject, Action::ListBucket, Action::DeleteObject] {
            let _ = decide(&Request {
                principal,
                action,
                bucket: Some(BucketGrants {
                    id: "b1",
                    name: "photos",
                    owner: Some("pier"),
                    policy: Some(&policy),
                    public: PublicAccess::Private,
                }),
                key: Some("public/a.txt"),
                prefix: Some("public/"),
                now: 0,
                facts: Facts {
                    source_ip: Some("10.1.2.3".parse().unwrap()),
                    object_tags: Some(&tags),
                    request_tags: Some("security=public&x=%ZZ"),
                    headers: &headers,
                    ..Facts::default()
                },
                object_grant: ObjectGrant::None,
            });
        }
    }
});
