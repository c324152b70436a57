//! The one door both APIs go through to ask the access engine ([`pier_access`]): it turns the
//! store's keys and buckets into the engine's inputs (a key's bucket ids into names, a bucket's
//! stored policy into a parsed [`Policy`], cached per bucket revision) and decides. A bucket's
//! report-only access change ([`crate::access_watch`]) is decided beside the live settings by
//! [`Access::report`].

use crate::access_watch::{AccessWatch, StagedSettings};
use pier_access::policy::Facts;
use pier_access::{
    decide, Action, BucketGrants, Capabilities, Decision, KeyScope, ObjectGrant, Policy, Principal,
    PublicAccess, Request,
};
use pier_store::{AccessKey, Bucket, Result, Store, Visibility};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// Parsed policies by bucket id, with the revision they were parsed at.
type Policies = HashMap<String, (i64, Option<Arc<Policy>>)>;

/// Most buckets whose parsed policies are kept.
const MAX_CACHED: usize = 4096;

/// Access decisions over a store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Access {
    store: Store,
    policies: Arc<RwLock<Policies>>,
    /// Which refusals are explained and logged: each distinct one once (within a budget).
    refusals: Arc<crate::refusals::RefusalLog>,
    /// Report-only access changes (shared with the console).
    watch: AccessWatch,
}

/// Facts about the request itself that policies may test.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFacts<'a> {
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// True over TLS.
    pub secure_transport: bool,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The request's headers (for `s3:x-amz-*` and `s3:RequestObjectTag/...` conditions);
    /// `None` where the API has none to offer (B2 calls, form uploads).
    pub headers: Option<&'a http::HeaderMap>,
}

/// The client address of a connection, put in each request's extensions by the HTTP front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// What is asked: an action on a bucket (by name) and maybe an object, or a listing prefix.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    /// The action.
    pub action: Action,
    /// The bucket's name (`None` for service-level actions).
    pub bucket: Option<&'a str>,
    /// The object's key.
    pub key: Option<&'a str>,
    /// The listing prefix.
    pub prefix: Option<&'a str>,
}

impl Access {
    /// Decisions over `store`'s keys and buckets, with the report-only changes staged in
    /// `watch` decided beside them.
    pub fn new(store: Store, watch: AccessWatch) -> Access {
        Access {
            store,
            policies: Arc::new(RwLock::new(HashMap::new())),
            refusals: Arc::new(crate::refusals::RefusalLog::new("access")),
            watch,
        }
    }

    /// The report-only access changes this door decides beside the live settings.
    pub fn watch(&self) -> &AccessWatch {
        &self.watch
    }

    /// Decides `ask` again under the bucket's report-only access change, if one is staged, and
    /// counts whether the verdict would differ from `live` (the request's final verdict
    /// today). `grant` gives what the object's own ACL grants to this request (S3 reads of
    /// one object; `ObjectGrant::None` for anything else), asked only when the staged settings
    /// refuse the request without it. A request to a bucket with nothing staged costs
    /// one atomic load; an error deciding is logged and the request is not counted (report-only
    /// never changes an answer).
    pub fn report(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
        live: bool,
        grant: impl FnOnce() -> ObjectGrant,
    ) {
        if self.watch.is_empty() {
            return;
        }
        let Some(name) = ask.bucket else { return };
        let Ok(bucket) = self.store.bucket(name) else {
            return;
        };
        let Some(staged) = self.watch.staged(&bucket.id) else {
            return;
        };
        let settings = Some(&staged.settings);
        let mut decided = self.run(key, ask, facts, ObjectGrant::None, Trace::Never, settings);
        let mut used = ObjectGrant::None;
        if matches!(&decided, Ok(d) if !d.allowed) {
            used = grant();
            if used != ObjectGrant::None {
                decided = self.run(key, ask, facts, used, Trace::Never, settings);
            }
        }
        let staged_allows = match decided {
            Ok(d) => d.allowed,
            Err(e) => {
                tracing::warn!(bucket = name, error = %e, "report-only access change not decided");
                return;
            }
        };
        let who = key.map(|k| k.id.as_str());
        staged.count(
            (who, ask.action.iam_name(), ask.key.or(ask.prefix)),
            live,
            staged_allows,
            || match self.run(key, ask, facts, used, Trace::Always, settings) {
                Ok(d) => (d.reason, d.trace),
                Err(e) => (format!("not explained: {e}"), Vec::new()),
            },
        );
    }

    /// Whether to explain and log a refusal of `key` (`None`: anonymous) doing `ask` for
    /// `reason` in full: the first time it is seen, within the log's budget. Every door asks
    /// before it explains and logs, so refused floods cost a counter, not a trace and a line
    /// each.
    pub fn should_explain(&self, key: Option<&str>, ask: &Ask<'_>, reason: &str) -> bool {
        let fingerprint = crate::refusals::RefusalLog::fingerprint((
            key,
            ask.action.iam_name(),
            ask.bucket,
            reason,
        ));
        self.refusals.should_explain(fingerprint)
    }

    /// The engine's view of `key`: its capabilities, its buckets as `(id, name)` (a bucket
    /// deleted since keeps its id and shows the id as name), prefix and expiry.
    pub fn scope(&self, key: &AccessKey) -> KeyScope {
        let s = &key.scope;
        let capabilities = match &s.capabilities {
            None => Capabilities::all(),
            // Unknown names were refused when the key was made; any left grant nothing.
            Some(names) => names
                .iter()
                .filter_map(|n| pier_access::Capability::from_name(n))
                .collect(),
        };
        let buckets = s.buckets.as_ref().map(|ids| {
            ids.iter()
                .map(|id| {
                    let name = self
                        .store
                        .bucket_by_id(id)
                        .map_or_else(|_| id.clone(), |b| b.name.clone());
                    (id.clone(), name)
                })
                .collect()
        });
        KeyScope {
            id: key.access_key.clone(),
            account: key.account.clone(),
            capabilities,
            buckets,
            name_prefix: s.name_prefix.clone(),
            expires: s.expires,
        }
    }

    /// The bucket's parsed policy (parsed once per revision). A stored policy that no longer
    /// parses is logged and counts as none.
    pub fn policy(&self, bucket: &Bucket) -> Option<Arc<Policy>> {
        if let Some((rev, policy)) = self.policies.read().expect("policy cache").get(&bucket.id) {
            if *rev == bucket.revision {
                return policy.clone();
            }
        }
        let policy = bucket.policy.as_deref().and_then(|text| {
            match Policy::parse(text, &bucket.name) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    tracing::error!(bucket = %bucket.name, error = %e, "stored bucket policy does not parse");
                    None
                }
            }
        });
        let mut cache = self.policies.write().expect("policy cache");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(bucket.id.clone(), (bucket.revision, policy.clone()));
        policy
    }

    /// Decides `ask` for `key` (`None`: anonymous). A refusal comes with its trace (worth
    /// logging); an allowed request's trace is left empty, for speed. A bucket that does not
    /// exist is decided without grants, so the refusal (or the handler's 404) says only what
    /// the caller may know.
    pub fn decide(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
    ) -> Result<Decision> {
        self.run(key, ask, facts, ObjectGrant::None, Trace::OnRefusal, None)
    }

    /// [`Access::decide`] without any trace, for a read that may still be decided again: with
    /// `grant`, what the object's own ACL grants (S3 object ACLs; `ObjectGrant::None` until the
    /// caller has looked it up). The caller explains the refusal it finally logs.
    pub fn decide_read(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
        grant: ObjectGrant,
    ) -> Result<Decision> {
        self.run(key, ask, facts, grant, Trace::Never, None)
    }

    /// Counts an allowed request to `bucket` against the daily transaction caps of the bucket
    /// and of its owner: `CapExceeded` when one is reached (refuse the request). Nothing is
    /// counted for a service-level request, a bucket that does not exist, or one without such
    /// a cap; while no transaction cap is set anywhere it costs one cache read
    /// ([`Store::count_request_to`]).
    pub fn count_request(&self, bucket: Option<&str>) -> Result<()> {
        match bucket {
            Some(name) => self.store.count_request_to(name).map_err(Into::into),
            None => Ok(()),
        }
    }

    /// Whether anyone, unsigned, may read `key` of `bucket` (over TLS when `secure`): what a
    /// website serves. No trace.
    pub fn anyone_may_read(&self, bucket: &str, key: &str, secure: bool) -> Result<bool> {
        let ask = Ask {
            action: Action::GetObject,
            bucket: Some(bucket),
            key: Some(key),
            prefix: None,
        };
        let facts = RequestFacts {
            secure_transport: secure,
            ..Default::default()
        };
        Ok(self
            .decide_read(None, ask, facts, ObjectGrant::None)?
            .allowed)
    }

    /// [`Access::decide`], with the full trace whatever the verdict (`access-explain`).
    pub fn explain(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
    ) -> Result<Decision> {
        self.run(key, ask, facts, ObjectGrant::None, Trace::Always, None)
    }

    /// Decides `ask`, with the bucket's policy and public setting replaced by `staged`'s
    /// when given (a report-only change).
    fn run(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
        object_grant: ObjectGrant,
        trace: Trace,
        staged: Option<&StagedSettings>,
    ) -> Result<Decision> {
        let bucket = match ask.bucket {
            Some(name) => match self.store.bucket(name) {
                Ok(b) => Some(b),
                Err(pier_store::BucketError::NoSuchBucket) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let policy = match staged {
            Some(s) => s.policy.clone(),
            None => bucket.as_ref().and_then(|b| self.policy(b)),
        };
        let visibility = |b: &Bucket| staged.map_or(b.public, |s| s.public);
        // S3's public access block: public ACLs (visibility) ignored, and a public policy
        // ignored for callers without a key.
        let block = bucket.as_ref().map_or(0, |b| b.public_block);
        let policy = policy.filter(|p| {
            key.is_some()
                || block & pier_store::PublicBlock::RESTRICT_PUBLIC_BUCKETS == 0
                || !p.is_public()
        });
        let grants = match (&bucket, ask.bucket) {
            (Some(b), _) => Some(BucketGrants {
                id: &b.id,
                name: &b.name,
                owner: Some(&b.owner),
                policy: policy.as_deref(),
                public: if block & pier_store::PublicBlock::IGNORE_PUBLIC_ACLS != 0 {
                    PublicAccess::Private
                } else {
                    public_access(visibility(b))
                },
            }),
            (None, Some(name)) => Some(BucketGrants {
                id: "",
                name,
                owner: None,
                policy: None,
                public: PublicAccess::Private,
            }),
            (None, None) => None,
        };
        // What conditions may test beyond the request line: its x-amz headers, and the tags
        // of the object it is about (looked up only when a statement tests them).
        let header = |name: &str| {
            facts
                .headers
                .and_then(|h| h.get(name))
                .and_then(|v| v.to_str().ok())
        };
        // Only a policy reads them: a bucket without one costs no allocation here.
        let headers: Vec<(&'static str, &str)> = match &policy {
            Some(_) => pier_access::policy::CONDITION_HEADERS
                .into_iter()
                .filter_map(|name| header(name).map(|v| (name, v)))
                .collect(),
            None => Vec::new(),
        };
        let object_tags = match (&bucket, &policy, ask.key) {
            (Some(b), Some(p), Some(key)) if p.reads_object_tags() => {
                match self.store.object(&b.id, key) {
                    Ok(o) => Some(o.meta.tags),
                    Err(pier_store::FindError::NoSuchKey) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        };
        let request = Request {
            principal: key.map_or(Principal::Anonymous, Principal::Key),
            action: ask.action,
            bucket: grants,
            key: ask.key,
            prefix: ask.prefix,
            now: pier_store::now_millis(),
            facts: Facts {
                key_id: None,
                source_ip: facts.source_ip,
                secure_transport: facts.secure_transport,
                referer: facts.referer,
                user_agent: facts.user_agent,
                prefix: None,
                object_tags: object_tags.as_ref(),
                request_tags: header("x-amz-tagging"),
                headers: &headers,
            },
            // IgnorePublicAcls ignores objects' ACLs as it ignores the bucket's.
            object_grant: if block & pier_store::PublicBlock::IGNORE_PUBLIC_ACLS != 0 {
                ObjectGrant::None
            } else {
                object_grant
            },
        };
        Ok(match trace {
            Trace::Always => pier_access::explain(&request),
            Trace::Never => decide(&request),
            Trace::OnRefusal => {
                let decision = decide(&request);
                if decision.allowed {
                    decision
                } else {
                    pier_access::explain(&request)
                }
            }
        })
    }
}

/// When a decision records its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trace {
    Never,
    OnRefusal,
    Always,
}

/// The engine's public access of a bucket's visibility.
pub fn public_access(v: Visibility) -> PublicAccess {
    match v {
        Visibility::Private => PublicAccess::Private,
        Visibility::PublicObjects => PublicAccess::ReadObjects,
        Visibility::PublicListing => PublicAccess::List,
        Visibility::PublicReadWrite => PublicAccess::ListAndWrite,
        Visibility::AuthenticatedListing => PublicAccess::AuthenticatedList,
    }
}
