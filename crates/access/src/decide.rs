//! The decision: may this principal perform this action on this resource? Every answer comes
//! with a trace (what was checked, in order) and, for a refusal, the first condition that
//! failed, worded so it can be shown to the caller without revealing what they may not know.
//!
//! The order, as S3 and B2 combine them:
//! 1. An expired key is refused.
//! 2. An explicit `Deny` statement of the bucket policy that covers the request beats
//!    everything.
//! 3. A key's bucket and name-prefix restrictions are hard limits: nothing grants past them.
//! 4. A key is allowed by its capability for the action, or by an `Allow` statement naming it.
//! 5. An anonymous request is allowed by an `Allow` statement for `"*"`, or by the bucket's
//!    public access (B2 `allPublic`: read objects; S3 `public-read`: read objects and list).
//! 6. Otherwise refused.

use crate::action::{Action, Level};
use crate::capability::Capabilities;
use crate::policy::{arn, Effect, Facts, Policy};
use std::fmt;

/// What a key may do: its capabilities and restrictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyScope {
    /// The access key id.
    pub id: String,
    /// What it may do.
    pub capabilities: Capabilities,
    /// The buckets it is restricted to (`None`: every bucket): `(id, name)` pairs.
    pub buckets: Option<Vec<(String, String)>>,
    /// It may only touch names starting with this.
    pub name_prefix: Option<String>,
    /// Milliseconds since the epoch after which it no longer works.
    pub expires: Option<i64>,
}

impl KeyScope {
    /// A key that may do everything, everywhere, forever (the admin key).
    pub fn admin(id: &str) -> KeyScope {
        KeyScope {
            id: id.to_owned(),
            capabilities: Capabilities::all(),
            buckets: None,
            name_prefix: None,
            expires: None,
        }
    }

    /// True when the key may see the bucket with id `bucket_id` at all (listings of buckets
    /// show only these).
    pub fn reaches_bucket(&self, bucket_id: &str) -> bool {
        self.buckets
            .as_ref()
            .is_none_or(|list| list.iter().any(|(id, _)| id == bucket_id))
    }

    /// True when `self` grants nothing that `parent` does not: a key may only create keys
    /// within its own scope.
    pub fn is_within(&self, parent: &KeyScope) -> bool {
        let buckets_ok = match (&parent.buckets, &self.buckets) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(p), Some(c)) => c.iter().all(|(id, _)| p.iter().any(|(pid, _)| pid == id)),
        };
        let prefix_ok = match (&parent.name_prefix, &self.name_prefix) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(p), Some(c)) => c.starts_with(p.as_str()),
        };
        let expiry_ok = match (parent.expires, self.expires) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(p), Some(c)) => c <= p,
        };
        self.capabilities.is_subset_of(parent.capabilities) && buckets_ok && prefix_ok && expiry_ok
    }
}

/// Who is asking.
#[derive(Clone, Copy, Debug)]
pub enum Principal<'a> {
    /// A signed request (or a token) of this key.
    Key(&'a KeyScope),
    /// No credentials.
    Anonymous,
}

/// A bucket's own grants to everyone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublicAccess {
    /// None.
    #[default]
    Private,
    /// Anyone may read objects (B2 `allPublic`).
    ReadObjects,
    /// Anyone may read objects and list the bucket (S3 `public-read`).
    ReadAndList,
    /// Anyone may also write and delete objects (S3 `public-read-write`).
    ReadWrite,
}

/// The bucket a request addresses, with what it grants.
#[derive(Clone, Copy, Debug)]
pub struct BucketGrants<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its policy, if any.
    pub policy: Option<&'a Policy>,
    /// Its public access.
    pub public: PublicAccess,
}

/// One request to decide.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who.
    pub principal: Principal<'a>,
    /// What.
    pub action: Action,
    /// On which bucket (`None` for service-level actions).
    pub bucket: Option<BucketGrants<'a>>,
    /// On which object, for object actions.
    pub key: Option<&'a str>,
    /// The listing prefix, for listings (`Some("")` when the listing gives none); `None` for
    /// requests that list nothing (HeadBucket, which is `s3:ListBucket` too).
    pub prefix: Option<&'a str>,
    /// The time, in milliseconds since the epoch.
    pub now: i64,
    /// Request facts conditions read.
    pub facts: Facts<'a>,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Allowed or not.
    pub allowed: bool,
    /// What decided it, in a sentence safe to show the caller.
    pub reason: String,
    /// Every check made, in order.
    pub trace: Vec<String>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {}",
            if self.allowed { "ALLOWED" } else { "REFUSED" },
            self.reason
        )?;
        for step in &self.trace {
            writeln!(f, "  - {step}")?;
        }
        Ok(())
    }
}

/// Collects the trace when asked to; otherwise the steps are never even formatted.
struct Tracer {
    trace: Option<Vec<String>>,
}

impl Tracer {
    fn step(&mut self, s: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(s());
        }
    }

    fn done(self, allowed: bool, reason: String) -> Decision {
        Decision {
            allowed,
            reason,
            trace: self.trace.unwrap_or_default(),
        }
    }
}

/// Decides `req`; the decision's trace is empty (see [`explain`]). This is the hot path: it
/// formats nothing but the reason.
pub fn decide(req: &Request<'_>) -> Decision {
    run(req, Tracer { trace: None })
}

/// Decides `req` and records every check made in the decision's trace (for refusals worth
/// logging and for `access-explain`). Always the same verdict and reason as [`decide`].
pub fn explain(req: &Request<'_>) -> Decision {
    run(
        req,
        Tracer {
            trace: Some(Vec::new()),
        },
    )
}

fn run(req: &Request<'_>, mut t: Tracer) -> Decision {
    let action = req.action;
    let name = action.iam_name();
    t.step(|| {
        let who = match req.principal {
            Principal::Key(k) => format!("key {}", k.id),
            Principal::Anonymous => "anonymous".to_owned(),
        };
        format!("{who} asks for {name}")
    });

    // 1. Expiry.
    if let Principal::Key(k) = req.principal {
        if let Some(expires) = k.expires {
            if expires <= req.now {
                return t.done(false, format!("key {} has expired", k.id));
            }
        }
    }

    let key_id = match req.principal {
        Principal::Key(k) => Some(k.id.as_str()),
        Principal::Anonymous => None,
    };
    let facts = Facts {
        key_id,
        prefix: req.prefix,
        ..req.facts
    };
    let resource = req.bucket.map(|b| {
        arn(
            b.name,
            if action.level() == Level::Object {
                Some(req.key.unwrap_or(""))
            } else {
                None
            },
        )
    });

    // 2. Explicit Deny.
    if let (Some(bucket), Some(resource)) = (req.bucket, resource.as_deref()) {
        if let Some(policy) = bucket.policy {
            for (i, s) in policy.statements.iter().enumerate() {
                if s.effect != Effect::Deny
                    || !s.names_principal(key_id)
                    || !s.covers_action(action)
                    || !s.covers_resource(resource)
                {
                    continue;
                }
                match s.failed_condition(&facts) {
                    Some(c) => t.step(|| {
                        format!(
                            "{} (Deny) does not apply: condition {} does not hold",
                            s.label(i),
                            c.describe()
                        )
                    }),
                    None => {
                        return t.done(false, format!("{} denies {name}", s.label(i)));
                    }
                }
            }
            t.step(|| "no Deny statement applies".to_owned());
        }
    }

    match req.principal {
        Principal::Key(k) => decide_key(k, req, resource.as_deref(), &facts, t),
        Principal::Anonymous => decide_anonymous(req, resource.as_deref(), &facts, t),
    }
}

fn decide_key(
    k: &KeyScope,
    req: &Request<'_>,
    resource: Option<&str>,
    facts: &Facts<'_>,
    mut t: Tracer,
) -> Decision {
    let action = req.action;
    let name = action.iam_name();
    // 3. Restrictions.
    if let Some(list) = &k.buckets {
        let names: Vec<&str> = list.iter().map(|(_, n)| n.as_str()).collect();
        match (action.level(), req.bucket) {
            (Level::Service, _) if action == crate::Action::CreateBucket => {
                return t.done(
                    false,
                    format!("key {} is restricted to bucket {}", k.id, names.join(", ")),
                );
            }
            (Level::Service, _) => {}
            (_, Some(b)) if list.iter().any(|(id, _)| id == b.id) => {
                t.step(|| format!("bucket {} is one of the key's buckets", b.name));
            }
            _ => {
                return t.done(
                    false,
                    format!("key {} is restricted to bucket {}", k.id, names.join(", ")),
                );
            }
        }
    }
    if let Some(prefix) = &k.name_prefix {
        match action.level() {
            Level::Object => {
                let key = req.key.unwrap_or("");
                if !key.starts_with(prefix.as_str()) {
                    return t.done(false, format!("key {}'s namePrefix is {prefix}", k.id));
                }
                t.step(|| format!("{key:?} is under the key's namePrefix {prefix:?}"));
            }
            Level::Bucket
                if matches!(
                    action,
                    Action::ListBucket | Action::ListBucketMultipartUploads
                ) && req.prefix.is_some() =>
            {
                let asked = req.prefix.unwrap_or("");
                if !asked.starts_with(prefix.as_str()) {
                    return t.done(
                        false,
                        format!(
                            "key {}'s namePrefix is {prefix}: list with a prefix starting with it",
                            k.id
                        ),
                    );
                }
                t.step(|| format!("listing prefix {asked:?} is under the key's namePrefix"));
            }
            _ => {}
        }
    }
    // 4. Capability, or an Allow naming the key.
    let cap = action.capability();
    if k.capabilities.contains(cap) {
        return t.done(true, format!("key {} has {cap}", k.id));
    }
    t.step(|| format!("key {} lacks {cap}", k.id));
    if let Some(d) = policy_allow(req, resource, facts, Some(k.id.as_str()), &mut t) {
        return t.done(true, d);
    }
    t.done(false, format!("key {} lacks {cap} for {name}", k.id))
}

fn decide_anonymous(
    req: &Request<'_>,
    resource: Option<&str>,
    facts: &Facts<'_>,
    mut t: Tracer,
) -> Decision {
    let name = req.action.iam_name();
    if let Some(d) = policy_allow(req, resource, facts, None, &mut t) {
        return t.done(true, d);
    }
    if let Some(b) = req.bucket {
        let public = matches!(
            (b.public, req.action),
            (
                PublicAccess::ReadObjects | PublicAccess::ReadAndList | PublicAccess::ReadWrite,
                Action::GetObject
            ) | (
                PublicAccess::ReadAndList | PublicAccess::ReadWrite,
                Action::ListBucket
            ) | (
                PublicAccess::ReadWrite,
                Action::PutObject | Action::DeleteObject | Action::AbortMultipartUpload
            )
        );
        if public {
            let how = match b.public {
                PublicAccess::ReadAndList => "public-read",
                PublicAccess::ReadWrite => "public-read-write",
                _ => "allPublic",
            };
            return t.done(true, format!("bucket {} is {how}", b.name));
        }
        t.step(|| format!("bucket {}'s public access does not cover {name}", b.name));
    }
    t.done(false, format!("no statement allows anonymous {name}"))
}

/// The Allow statement that grants the request, if any (as the reason).
fn policy_allow(
    req: &Request<'_>,
    resource: Option<&str>,
    facts: &Facts<'_>,
    key_id: Option<&str>,
    t: &mut Tracer,
) -> Option<String> {
    let bucket = req.bucket?;
    let policy = bucket.policy?;
    let resource = resource?;
    for (i, s) in policy.statements.iter().enumerate() {
        if s.effect != Effect::Allow || !s.names_principal(key_id) {
            continue;
        }
        if !s.covers_action(req.action) || !s.covers_resource(resource) {
            continue;
        }
        match s.failed_condition(facts) {
            Some(c) => t.step(|| {
                format!(
                    "{} (Allow) does not apply: condition {} does not hold",
                    s.label(i),
                    c.describe()
                )
            }),
            None => return Some(format!("{} allows {}", s.label(i), req.action.iam_name())),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capability;

    fn key(caps: &[&str]) -> KeyScope {
        KeyScope {
            id: "K1".into(),
            capabilities: Capabilities::parse(caps.iter().copied()).unwrap(),
            buckets: None,
            name_prefix: None,
            expires: None,
        }
    }

    fn bucket(policy: Option<&Policy>, public: PublicAccess) -> BucketGrants<'_> {
        BucketGrants {
            id: "b1",
            name: "photos",
            policy,
            public,
        }
    }

    fn ask<'a>(
        principal: Principal<'a>,
        action: Action,
        b: Option<BucketGrants<'a>>,
        key: Option<&'a str>,
    ) -> Decision {
        decide(&Request {
            principal,
            action,
            bucket: b,
            key,
            prefix: None,
            now: 1000,
            facts: Facts::default(),
        })
    }

    #[test]
    fn capabilities_decide_for_keys() {
        let k = key(&["readFiles"]);
        let d = ask(
            Principal::Key(&k),
            Action::GetObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("a"),
        );
        assert!(d.allowed, "{d}");
        assert_eq!(d.reason, "key K1 has readFiles");
        let d = ask(
            Principal::Key(&k),
            Action::DeleteObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("a"),
        );
        assert!(!d.allowed);
        assert_eq!(d.reason, "key K1 lacks deleteFiles for s3:DeleteObject");
    }

    #[test]
    fn restrictions_are_hard_limits() {
        let mut k = key(&["readFiles", "writeBuckets"]);
        k.buckets = Some(vec![("b2".into(), "docs".into())]);
        let d = ask(
            Principal::Key(&k),
            Action::GetObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("a"),
        );
        assert_eq!(d.reason, "key K1 is restricted to bucket docs");
        assert!(!ask(Principal::Key(&k), Action::CreateBucket, None, None).allowed);
        let mut k = key(&["readFiles"]);
        k.name_prefix = Some("docs/".into());
        let d = ask(
            Principal::Key(&k),
            Action::GetObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("img/a"),
        );
        assert_eq!(d.reason, "key K1's namePrefix is docs/");
        assert!(
            ask(
                Principal::Key(&k),
                Action::GetObject,
                Some(bucket(None, PublicAccess::Private)),
                Some("docs/a")
            )
            .allowed
        );
    }

    #[test]
    fn a_prefix_limits_listings_but_not_bucket_checks() {
        let mut k = key(&["listFiles"]);
        k.name_prefix = Some("docs/".into());
        let list = |prefix| {
            decide(&Request {
                principal: Principal::Key(&k),
                action: Action::ListBucket,
                bucket: Some(bucket(None, PublicAccess::Private)),
                key: None,
                prefix,
                now: 1000,
                facts: Facts::default(),
            })
        };
        assert!(list(Some("docs/2024/")).allowed);
        assert!(!list(Some("")).allowed, "a listing of everything");
        assert!(list(None).allowed, "HeadBucket lists nothing");
    }

    #[test]
    fn expired_keys_are_refused() {
        let mut k = key(&["readFiles"]);
        k.expires = Some(999);
        let d = ask(
            Principal::Key(&k),
            Action::GetObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("a"),
        );
        assert_eq!(d.reason, "key K1 has expired");
    }

    #[test]
    fn deny_beats_every_allow() {
        let p = Policy::parse(
            r#"{"Statement": [
                {"Sid": "DenyDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*"}]}"#,
            "photos",
        )
        .unwrap();
        let admin = KeyScope::admin("ADMIN");
        let d = ask(
            Principal::Key(&admin),
            Action::DeleteObject,
            Some(bucket(Some(&p), PublicAccess::Private)),
            Some("a"),
        );
        assert!(!d.allowed);
        assert_eq!(d.reason, "statement Sid=DenyDeletes denies s3:DeleteObject");
    }

    #[test]
    fn anonymous_needs_a_statement_or_public_access() {
        let d = ask(
            Principal::Anonymous,
            Action::ListBucket,
            Some(bucket(None, PublicAccess::ReadObjects)),
            None,
        );
        assert_eq!(d.reason, "no statement allows anonymous s3:ListBucket");
        assert!(
            ask(
                Principal::Anonymous,
                Action::ListBucket,
                Some(bucket(None, PublicAccess::ReadAndList)),
                None
            )
            .allowed
        );
        assert!(
            ask(
                Principal::Anonymous,
                Action::GetObject,
                Some(bucket(None, PublicAccess::ReadObjects)),
                Some("x")
            )
            .allowed
        );
        assert!(
            !ask(
                Principal::Anonymous,
                Action::PutObject,
                Some(bucket(None, PublicAccess::ReadAndList)),
                Some("x")
            )
            .allowed
        );
        let p = Policy::parse(
            r#"{"Statement": {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/public/*"}}"#,
            "photos",
        )
        .unwrap();
        let d = ask(
            Principal::Anonymous,
            Action::GetObject,
            Some(bucket(Some(&p), PublicAccess::Private)),
            Some("public/a"),
        );
        assert_eq!(d.reason, "statement Sid=PublicRead allows s3:GetObject");
        assert!(
            !ask(
                Principal::Anonymous,
                Action::GetObject,
                Some(bucket(Some(&p), PublicAccess::Private)),
                Some("private/a")
            )
            .allowed
        );
    }

    #[test]
    fn an_allow_naming_a_key_adds_to_its_capabilities_within_its_restrictions() {
        let p = Policy::parse(
            r#"{"Statement": {"Sid": "K1Deletes", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::pier:user/K1"}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"}}"#,
            "photos",
        )
        .unwrap();
        let k = key(&["readFiles"]);
        let d = ask(
            Principal::Key(&k),
            Action::DeleteObject,
            Some(bucket(Some(&p), PublicAccess::Private)),
            Some("a"),
        );
        assert_eq!(d.reason, "statement Sid=K1Deletes allows s3:DeleteObject");
        let mut restricted = key(&["readFiles"]);
        restricted.name_prefix = Some("docs/".into());
        assert!(
            !ask(
                Principal::Key(&restricted),
                Action::DeleteObject,
                Some(bucket(Some(&p), PublicAccess::Private)),
                Some("a")
            )
            .allowed
        );
    }

    #[test]
    fn keys_create_keys_only_within_their_scope() {
        let mut parent = key(&["readFiles", "writeKeys"]);
        parent.buckets = Some(vec![("b1".into(), "photos".into())]);
        let mut child = key(&["readFiles"]);
        child.buckets = Some(vec![("b1".into(), "photos".into())]);
        assert!(child.is_within(&parent));
        child.capabilities = child.capabilities.with(Capability::DeleteFiles);
        assert!(!child.is_within(&parent));
        let mut everywhere = key(&["readFiles"]);
        everywhere.buckets = None;
        assert!(!everywhere.is_within(&parent));
    }
}
