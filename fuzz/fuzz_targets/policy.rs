//! Bucket policies as a client can send them: any text to `Policy::parse`, and every policy
//! that parses decided against a few requests. Neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pier_access::policy::Facts;
use pier_access::{decide, Action, BucketGrants, Principal, PublicAccess, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = pier_access::Policy::parse(text, "photos") else {
        return;
    };
    for action in [Action::GetObject, Action::ListBucket, Action::DeleteObject] {
        let _ = decide(&Request {
            principal: Principal::Anonymous,
            action,
            bucket: Some(BucketGrants {
                id: "b1",
                name: "photos",
                policy: Some(&policy),
                public: PublicAccess::Private,
            }),
            key: Some("public/a.txt"),
            prefix: Some("public/"),
            now: 0,
            facts: Facts {
                source_ip: Some("10.1.2.3".parse().unwrap()),
                ..Facts::default()
            },
        });
    }
});
