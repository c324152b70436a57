//! The decision: may this principal perform this action on this resource? Every answer comes
//! with a trace (what was checked, in order) and, for a refusal, the first condition that
//! failed, worded so it can be shown to the caller without revealing what they may not know.
//!
//! The order, as S3 and B2 combine them:
//! 1. An expired key is refused.
//! 2. An explicit `Deny` statement of the bucket policy that covers the request beats
//!    everything.
//! 3. A key's bucket and name-prefix restrictions are hard limits: nothing grants past them.
//! 4. A key of the bucket owner's account is allowed by its capability for the action, or by
//!    an `Allow` statement naming it.
//! 5. A key of another account needs its capability (what its own account lets it do) *and* a
//!    grant of the bucket: an `Allow` statement naming it, its account or `"*"`, the bucket's
//!    public or authenticated-users access, or the object's own ACL.
//! 6. An anonymous request is allowed by an `Allow` statement for `"*"`, by the bucket's public
//!    access (B2 `allPublic`: read objects; S3 `public-read`: list; `public-read-write`: list
//!    and write), or by the object's public ACL.
//! 7. Otherwise refused.

use crate::action::{Action, Level};
use crate::capability::Capabilities;
use crate::policy::{arn, Effect, Facts, Policy};
use std::fmt;

/// What a key may do: its capabilities and restrictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyScope {
    /// The access key id.
    pub id: String,
    /// The account it belongs to.
    pub account: String,
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
    /// A key of `account` that may do everything its account may, forever (an account's
    /// unrestricted key).
    pub fn admin(id: &str, account: &str) -> KeyScope {
        KeyScope {
            id: id.to_owned(),
            account: account.to_owned(),
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
    /// within its own account and scope.
    pub fn is_within(&self, parent: &KeyScope) -> bool {
        if self.account != parent.account {
            return false;
        }
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

/// A bucket's own grants to everyone (or to every key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublicAccess {
    /// None.
    #[default]
    Private,
    /// Anyone may read objects (B2 `allPublic`).
    ReadObjects,
    /// Anyone may list the bucket (S3 `public-read`; objects are read by their own ACL).
    List,
    /// Anyone may list the bucket and write and delete objects (S3 `public-read-write`).
    ListAndWrite,
    /// Any key, of any account, may list the bucket (S3 `authenticated-read`).
    AuthenticatedList,
}

impl PublicAccess {
    /// True when this access lets a caller who is not the owner's (`anonymous`: without a
    /// key) perform `action`, as the canned ACL or bucket type it comes from says.
    fn grants(self, action: Action, anonymous: bool) -> bool {
        use PublicAccess as P;
        match (self, action) {
            (P::ReadObjects, Action::GetObject) => true,
            (P::List | P::ListAndWrite, Action::ListBucket) => true,
            (P::AuthenticatedList, Action::ListBucket) => !anonymous,
            (
                P::ListAndWrite,
                Action::PutObject | Action::DeleteObject | Action::AbortMultipartUpload,
            ) => true,
            _ => false,
        }
    }

    /// How S3 or B2 names this access, for reasons.
    fn label(self) -> &'static str {
        match self {
            PublicAccess::Private => "private",
            PublicAccess::ReadObjects => "allPublic",
            PublicAccess::List => "public-read",
            PublicAccess::ListAndWrite => "public-read-write",
            PublicAccess::AuthenticatedList => "authenticated-read",
        }
    }
}

/// What an object's own ACL grants to callers outside the owner's account (S3 object ACLs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectGrant {
    /// Nothing (`private`, or an ACL the bucket's public access block ignores).
    #[default]
    None,
    /// Anyone may read it (`public-read`, `public-read-write`).
    Everyone,
    /// Any key, of any account, may read it (`authenticated-read`).
    AnyKey,
}

/// The bucket a request addresses, with what it grants.
#[derive(Clone, Copy, Debug)]
pub struct BucketGrants<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The account that owns it (`None` for a bucket that does not exist).
    pub owner: Option<&'a str>,
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
    /// What the object's own ACL grants (read actions on one object only).
    pub object_grant: ObjectGrant,
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

    let (key_id, account) = match req.principal {
        Principal::Key(k) => (Some(k.id.as_str()), Some(k.account.as_str())),
        Principal::Anonymous => (None, None),
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
                    || !s.names_principal(key_id, account)
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
            Level::Bucket if action.lists_names() && req.prefix.is_some() => {
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
    let cap = action.capability();
    let principal = Some((k.id.as_str(), k.account.as_str()));
    let foreign = match req.bucket.and_then(|b| b.owner.map(|o| (b, o))) {
        Some((b, owner)) if action.level() != Level::Service && owner != k.account => Some(b),
        _ => None,
    };
    let Some(b) = foreign else {
        // 4. The owner's key: its capability, or an Allow naming it.
        if k.capabilities.contains(cap) {
            return t.done(true, format!("key {} has {cap}", k.id));
        }
        t.step(|| format!("key {} lacks {cap}", k.id));
        if let Some(d) = policy_allow(req, resource, facts, principal, &mut t) {
            return t.done(true, d);
        }
        return t.done(false, format!("key {} lacks {cap} for {name}", k.id));
    };
    // 5. Another account's key: its capability and a grant of the bucket.
    if !k.capabilities.contains(cap) {
        return t.done(false, format!("key {} lacks {cap} for {name}", k.id));
    }
    t.step(|| {
        format!(
            "key {} has {cap}; bucket {} belongs to another account",
            k.id, b.name
        )
    });
    if let Some(d) = policy_allow(req, resource, facts, principal, &mut t) {
        return t.done(true, d);
    }
    if b.public.grants(action, false) {
        return t.done(true, format!("bucket {} is {}", b.name, b.public.label()));
    }
    if reads_object(action) && req.object_grant != ObjectGrant::None {
        return t.done(true, "the object's ACL lets any key read it".to_owned());
    }
    t.done(
        false,
        format!(
            "bucket {} belongs to another account, and nothing grants key {} {name}",
            b.name, k.id
        ),
    )
}

/// True for the actions an object's ACL can grant (reading it).
fn reads_object(action: Action) -> bool {
    matches!(action, Action::GetObject | Action::GetObjectVersion)
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
        if b.public.grants(req.action, true) {
            return t.done(true, format!("bucket {} is {}", b.name, b.public.label()));
        }
        t.step(|| format!("bucket {}'s public access does not cover {name}", b.name));
        if reads_object(req.action) && req.object_grant == ObjectGrant::Everyone {
            return t.done(true, "the object's ACL is public".to_owned());
        }
    }
    t.done(false, format!("no statement allows anonymous {name}"))
}

/// The Allow statement that grants the request, if any (as the reason).
fn policy_allow(
    req: &Request<'_>,
    resource: Option<&str>,
    facts: &Facts<'_>,
    principal: Option<(&str, &str)>,
    t: &mut Tracer,
) -> Option<String> {
    let (key_id, account) = principal.unzip();
    let bucket = req.bucket?;
    let policy = bucket.policy?;
    let resource = resource?;
    for (i, s) in policy.statements.iter().enumerate() {
        if s.effect != Effect::Allow || !s.names_principal(key_id, account) {
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
            account: "A1".into(),
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
            owner: Some("A1"),
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
            object_grant: ObjectGrant::None,
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
                object_grant: ObjectGrant::None,
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
        let admin = KeyScope::admin("ADMIN", "A1");
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
                Some(bucket(None, PublicAccess::List)),
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
                Some(bucket(None, PublicAccess::List)),
                Some("x")
            )
            .allowed
        );
        assert!(
            !ask(
                Principal::Anonymous,
                Action::GetObject,
                Some(bucket(None, PublicAccess::List)),
                Some("x")
            )
            .allowed,
            "S3's public-read lists a bucket; it does not open its objects"
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

    fn foreign(caps: &[&str]) -> KeyScope {
        KeyScope {
            id: "K2".into(),
            account: "A2".into(),
            ..key(caps)
        }
    }

    #[test]
    fn another_accounts_key_is_refused_by_a_private_bucket_whatever_its_capabilities() {
        let k = foreign(&["readFiles", "listFiles", "writeFiles"]);
        let d = ask(
            Principal::Key(&k),
            Action::GetObject,
            Some(bucket(None, PublicAccess::Private)),
            Some("a"),
        );
        assert!(!d.allowed);
        assert_eq!(
            d.reason,
            "bucket photos belongs to another account, and nothing grants key K2 s3:GetObject"
        );
    }

    #[test]
    fn another_accounts_key_needs_its_capability_and_a_grant_of_the_bucket() {
        let p = Policy::parse(
            r#"{"Statement": {"Sid": "A2Reads", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::A2:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}}"#,
            "photos",
        )
        .unwrap();
        let d = ask(
            Principal::Key(&foreign(&["readFiles"])),
            Action::GetObject,
            Some(bucket(Some(&p), PublicAccess::Private)),
            Some("a"),
        );
        assert_eq!(d.reason, "statement Sid=A2Reads allows s3:GetObject");
        let d = ask(
            Principal::Key(&foreign(&["listFiles"])),
            Action::GetObject,
            Some(bucket(Some(&p), PublicAccess::Private)),
            Some("a"),
        );
        assert_eq!(d.reason, "key K2 lacks readFiles for s3:GetObject");
    }

    #[test]
    fn authenticated_read_lets_every_key_list_but_not_anonymous() {
        let b = Some(bucket(None, PublicAccess::AuthenticatedList));
        let d = ask(
            Principal::Key(&foreign(&["listFiles"])),
            Action::ListBucket,
            b,
            None,
        );
        assert_eq!(d.reason, "bucket photos is authenticated-read");
        assert!(!ask(Principal::Anonymous, Action::ListBucket, b, None).allowed);
    }

    #[test]
    fn an_objects_acl_opens_it_to_readers_outside_the_account() {
        let read = |principal, grant| {
            decide(&Request {
                principal,
                action: Action::GetObject,
                bucket: Some(bucket(None, PublicAccess::Private)),
                key: Some("a"),
                prefix: None,
                now: 1000,
                facts: Facts::default(),
                object_grant: grant,
            })
        };
        let k = foreign(&["readFiles"]);
        assert!(read(Principal::Anonymous, ObjectGrant::Everyone).allowed);
        assert!(!read(Principal::Anonymous, ObjectGrant::AnyKey).allowed);
        assert!(read(Principal::Key(&k), ObjectGrant::AnyKey).allowed);
        assert!(!read(Principal::Key(&k), ObjectGrant::None).allowed);
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
