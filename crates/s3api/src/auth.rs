//! Authentication and access: s3s checks signatures with secrets looked up here, and asks
//! [`PierAccess`] whether an (authenticated or anonymous) request may proceed. Every decision
//! is the access engine's ([`pier_edge::access`]); nothing here decides on its own.

use crate::endpoint::{S3Endpoint, S3Operation};
use crate::error::s3_error;
use pier_access::{Action, KeyScope, ObjectGrant};
use pier_edge::access::{Access, Ask, ClientAddr, RequestFacts};
use pier_store::Store;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Result};

/// A key only the HTTP front signs with, made at start and never stored. Once s3s has verified
/// a request's own signature and access, the front may send that request again, changed (a
/// `Range` of several ranges, served whole as S3 serves it), signed with this key and carrying
/// [`OnBehalfOf`]: it is then decided as the original caller, for GetObject and HeadObject only.
#[derive(Clone)]
pub struct FrontKey {
    /// The key id (`PIERFRONT` and 16 random hex digits).
    pub id: String,
    secret: String,
}

impl FrontKey {
    /// A fresh key for this process.
    pub fn new() -> FrontKey {
        let hex = |n: usize| -> String {
            let mut bytes = vec![0u8; n];
            getrandom::fill(&mut bytes).expect("the system's random source works");
            hex::encode_upper(bytes)
        };
        FrontKey {
            id: format!("PIERFRONT{}", hex(8)),
            secret: hex(32),
        }
    }

    /// Its secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl Default for FrontKey {
    fn default() -> FrontKey {
        FrontKey::new()
    }
}

impl std::fmt::Debug for FrontKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The caller a request signed with the [`FrontKey`] acts for (its access key id; `None`:
/// anonymous). Only the HTTP front puts it in a request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnBehalfOf(pub Option<String>);

/// Looks up secrets in the store's access keys (cached: a key deleted by another process
/// stops working within the store's cache TTL), and the front's own key. Expired keys are
/// unknown keys.
#[derive(Clone, Debug)]
pub struct StoreAuth {
    store: Store,
    front: FrontKey,
}

impl StoreAuth {
    /// Authenticates against `store`'s keys and the front's key.
    pub fn new(store: Store, front: FrontKey) -> Self {
        StoreAuth { store, front }
    }
}

#[async_trait::async_trait]
impl S3Auth for StoreAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.front.id {
            return Ok(SecretKey::from(self.front.secret.clone()));
        }
        match self.store.key(access_key).map_err(s3_error)? {
            Some(key) => Ok(SecretKey::from(key.secret.clone())),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

/// Asks the access engine about every S3 request: the operation's action on its bucket and
/// object, as the signing key (with its capabilities and restrictions) or as anonymous (bucket
/// policies and public buckets). Copies also need read access to their source, and a batch
/// delete delete access to every key it names.
#[derive(Clone, Debug)]
pub struct PierAccess {
    store: Store,
    access: Access,
    /// The id of the [`FrontKey`]: requests it signs are decided as their [`OnBehalfOf`].
    front_id: String,
}

impl PierAccess {
    /// Access decisions over `store`'s keys and buckets; requests signed with the front's key
    /// `front_id` are decided as the caller they act for.
    pub fn new(store: Store, access: Access, front_id: String) -> Self {
        PierAccess {
            store,
            access,
            front_id,
        }
    }

    /// The engine's scope of the signing key, if the request is signed.
    fn scope(&self, access_key: Option<&str>) -> S3Result<Option<KeyScope>> {
        let Some(id) = access_key else {
            return Ok(None);
        };
        let key = self.store.key(id).map_err(s3_error)?.ok_or_else(|| {
            s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        })?;
        Ok(Some(self.access.scope(&key)))
    }

    fn ask(&self, key: Option<&KeyScope>, ask: Ask<'_>, facts: RequestFacts<'_>) -> S3Result<()> {
        let decision = self.access.decide(key, ask, facts).map_err(s3_error)?;
        self.access
            .report(key, ask, facts, decision.allowed, || ObjectGrant::None);
        if decision.allowed {
            return self.access.count_request(ask.bucket).map_err(s3_error);
        }
        Err(self.refused(key, ask, facts, &decision))
    }

    /// [`PierAccess::ask`] for reading one object (`ask.bucket` and `ask.key` set), where S3
    /// adds what [`PierAccess::read_past_refusal`] says.
    fn ask_read(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        version_id: Option<&str>,
        facts: RequestFacts<'_>,
    ) -> S3Result<()> {
        let decision = self
            .access
            .decide_read(key, ask, facts, ObjectGrant::None)
            .map_err(s3_error)?;
        let allowed = decision.allowed
            || match (ask.bucket, ask.key) {
                (Some(b), Some(k)) => {
                    self.read_past_refusal(key, (ask.action, b, k, version_id), facts)?
                }
                _ => false,
            };
        // The staged settings are given the object's own ACL as the live ones were.
        let grant = || match (ask.bucket, ask.key) {
            (Some(b), Some(k)) => self
                .object_grant(b, k, version_id)
                .unwrap_or(ObjectGrant::None),
            _ => ObjectGrant::None,
        };
        self.access.report(key, ask, facts, allowed, grant);
        if allowed {
            return self.access.count_request(ask.bucket).map_err(s3_error);
        }
        Err(self.refused(key, ask, facts, &decision))
    }

    /// A final refusal, as S3's `AccessDenied`; explained (its trace) and logged the first
    /// time it is seen, within the log's budget, and only counted otherwise.
    fn refused(
        &self,
        key: Option<&KeyScope>,
        ask: Ask<'_>,
        facts: RequestFacts<'_>,
        decision: &pier_access::Decision,
    ) -> S3Error {
        let id = key.map(|k| k.id.as_str());
        if self.access.should_explain(id, &ask, &decision.reason) {
            let trace = match self.access.explain(key, ask, facts) {
                Ok(explained) => explained.trace,
                Err(e) => vec![format!("no trace: {e}")],
            };
            tracing::info!(
                key = id.unwrap_or("anonymous"),
                action = ask.action.iam_name(),
                bucket = ask.bucket.unwrap_or(""),
                object = ask.key.unwrap_or(""),
                reason = %decision.reason,
                trace = ?trace,
                "access refused (repeats are counted, not logged)"
            );
        }
        refusal(&decision.reason)
    }
}

/// S3's `AccessDenied`, saying which condition failed (the reason names only what the caller
/// sent or owns: its key, its restrictions, the statement that refused it).
pub fn refusal(reason: &str) -> S3Error {
    S3Error::with_message(
        s3s::S3ErrorCode::AccessDenied,
        format!("Access Denied: {reason}"),
    )
}

fn facts<'a>(headers: &'a http::HeaderMap, extensions: &http::Extensions) -> RequestFacts<'a> {
    let header = |name: http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    RequestFacts {
        source_ip: extensions.get::<ClientAddr>().map(|c| c.0),
        secure_transport: extensions.get::<pier_edge::listen::OverTls>().is_some(),
        referer: header(http::header::REFERER),
        user_agent: header(http::header::USER_AGENT),
        headers: Some(headers),
    }
}

#[async_trait::async_trait]
impl S3Access for PierAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        // What runs is what s3s routed; the front's parse of the same request must agree (it
        // named the operation for metrics, CORS and the fixes).
        let op = S3Operation::from_name(cx.s3_op().name()).unwrap_or(S3Operation::Unknown);
        let parsed = cx.extensions_mut().get::<S3Endpoint>().map(|e| e.op);
        if parsed.is_some_and(|p| p != op) {
            tracing::warn!(
                s3s = op.name(),
                front = parsed.map_or("", S3Operation::name),
                "the front and s3s name a request's operation differently; deciding s3s's"
            );
        }
        let mut access_key = cx.credentials().map(|c| c.access_key.clone());
        if access_key.as_deref() == Some(self.front_id.as_str()) {
            // A request the front sent again, in its original caller's name (see FrontKey).
            let acting = cx.extensions_mut().get::<OnBehalfOf>().cloned();
            match acting {
                Some(OnBehalfOf(original)) if op.reads_object() => {
                    access_key = original;
                }
                _ => return Err(refusal("the front's key acts only for a caller it names")),
            }
        }
        let Some(action) = op.action() else {
            // An operation with no action is one pier does not serve (s3s answers
            // NotImplemented). Only an unrestricted key gets that far, so that an operation
            // added later without its action can never widen a restricted key.
            let key = self.scope(access_key.as_deref())?;
            return match key {
                Some(k) if k == KeyScope::admin(&k.id, &k.account) => Ok(()),
                Some(k) => Err(refusal(&format!(
                    "{} is not available to the restricted key {}",
                    cx.s3_op().name(),
                    k.id
                ))),
                None => Err(refusal("no statement allows anonymous access")),
            };
        };
        let raw = pier_edge::RawQuery::new(cx.uri().query());
        // Only `versionId` of the query is needed below: decoded alone, not the whole
        // (presigned) query.
        let version: Option<String> = raw
            .raw("versionId")
            .map(|v| pier_edge::percent::decode_lossy(v).into_owned());
        // One version of an object is its own IAM action (s3:GetObjectVersion, ...).
        let action = if raw.has("versionId") {
            action.on_version()
        } else {
            action
        };
        if access_key.is_none() && raw.has_prefix("response-") {
            return Err(s3_error!(
                InvalidRequest,
                "Request specific response headers cannot be used for anonymous GET requests."
            ));
        }
        let key = self.scope(access_key.as_deref())?;
        let (bucket, object) = match cx.s3_path() {
            s3s::path::S3Path::Root => (None, None),
            s3s::path::S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            s3s::path::S3Path::Object { bucket, key } => {
                (Some(bucket.to_string()), Some(key.to_string()))
            }
        };
        // A bucket that does not exist has nothing to protect: the operation answers
        // NoSuchBucket (404), as S3 does for anyone, instead of AccessDenied.
        let mut owner = None;
        if action != Action::CreateBucket {
            if let Some(name) = bucket.as_deref() {
                match self.store.bucket(name) {
                    Err(pier_store::BucketError::NoSuchBucket) => return Ok(()),
                    Ok(b) => owner = Some(b.owner.clone()),
                    Err(_) => {}
                }
            }
        }
        // Listings name what they list; HeadBucket (also s3:ListBucket) lists nothing.
        let prefix = op.lists_names().then(|| {
            pier_edge::Query::parse(cx.uri().query())
                .get("prefix")
                .unwrap_or("")
                .to_owned()
        });
        let client = cx.extensions_mut().get::<ClientAddr>().copied();
        let over_tls = cx
            .extensions_mut()
            .get::<pier_edge::listen::OverTls>()
            .is_some();
        let mut facts = facts(cx.headers(), &http::Extensions::new());
        facts.source_ip = client.map(|c| c.0);
        facts.secure_transport = over_tls;
        let bypass = bypasses_governance(cx.headers());
        let bypass = bypass && op.may_bypass_governance();
        let ask = Ask {
            action,
            bucket: bucket.as_deref(),
            key: object.as_deref(),
            prefix: prefix.as_deref(),
        };
        if matches!(action, Action::GetObject | Action::GetObjectVersion) {
            self.ask_read(key.as_ref(), ask, version.as_deref(), facts)?;
        } else {
            self.ask(key.as_ref(), ask, facts)?;
        }
        // Bypassing governance retention is a permission of its own, on top of the operation's.
        if bypass {
            self.ask(
                key.as_ref(),
                Ask {
                    action: Action::BypassGovernanceRetention,
                    bucket: bucket.as_deref(),
                    key: object.as_deref(),
                    prefix: None,
                },
                facts,
            )?;
        }
        // `x-amz-expected-bucket-owner`, checked only once the request is allowed: a caller
        // refused anyway gets the same refusal whatever owner it guesses (no ownership oracle).
        if let Some(owner) = owner {
            check_expected_owner(cx.headers(), &owner)?;
        }
        Ok(())
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        self.check_source(
            req.credentials.as_ref(),
            &req.input.copy_source,
            &req.headers,
            &req.extensions,
        )
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        self.check_source(
            req.credentials.as_ref(),
            &req.input.copy_source,
            &req.headers,
            &req.extensions,
        )
    }

    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let key = self.scope(req.credentials.as_ref().map(|c| c.access_key.as_str()))?;
        let facts = facts(&req.headers, &req.extensions);
        for object in &req.input.delete.objects {
            let action = if object.version_id.is_some() {
                Action::DeleteObjectVersion
            } else {
                Action::DeleteObject
            };
            self.ask(
                key.as_ref(),
                Ask {
                    action,
                    bucket: Some(&req.input.bucket),
                    key: Some(&object.key),
                    prefix: None,
                },
                facts,
            )?;
            if bypasses_governance(&req.headers) {
                self.ask(
                    key.as_ref(),
                    Ask {
                        action: Action::BypassGovernanceRetention,
                        bucket: Some(&req.input.bucket),
                        key: Some(&object.key),
                        prefix: None,
                    },
                    facts,
                )?;
            }
        }
        Ok(())
    }
}

/// Refuses a request whose `x-amz-expected-bucket-owner` names another account than `owner`,
/// as S3 does (403 `AccessDenied`).
fn check_expected_owner(headers: &http::HeaderMap, owner: &str) -> S3Result<()> {
    match headers.get("x-amz-expected-bucket-owner") {
        Some(v) if v.as_bytes() != owner.as_bytes() => Err(refusal(
            "the bucket's owner is not the x-amz-expected-bucket-owner",
        )),
        _ => Ok(()),
    }
}

/// True when the request asks to bypass governance retention
/// (`x-amz-bypass-governance-retention: true`).
fn bypasses_governance(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-bypass-governance-retention")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

impl PierAccess {
    /// True when a read of one object the plain decision refused is allowed by what S3 adds
    /// for reads: the object's own ACL may open it to readers outside the owner's account, and
    /// a missing object is 404 (not 403) to whoever may list the bucket there. Looked up only
    /// after a refusal, so no other request pays for it.
    fn read_past_refusal(
        &self,
        key: Option<&KeyScope>,
        (action, b, k, version_id): (Action, &str, &str, Option<&str>),
        facts: RequestFacts<'_>,
    ) -> S3Result<bool> {
        let decision = match self.object_grant(b, k, version_id) {
            // A missing object is 404 to whoever may list the bucket there, as in S3
            // (403 to anyone else, so a refusal does not reveal what exists).
            None => self.access.decide_read(
                key,
                Ask {
                    action: Action::ListBucket,
                    bucket: Some(b),
                    key: None,
                    prefix: Some(k),
                },
                facts,
                ObjectGrant::None,
            ),
            Some(ObjectGrant::None) => return Ok(false),
            Some(grant) => self.access.decide_read(
                key,
                Ask {
                    action,
                    bucket: Some(b),
                    key: Some(k),
                    prefix: None,
                },
                facts,
                grant,
            ),
        }
        .map_err(s3_error)?;
        Ok(decision.allowed)
    }

    /// What the object's own ACL (current version, or the one named) grants outside the
    /// owner's account (the access engine applies the bucket's public access block); `None`
    /// when the key has no current version (missing, or hidden by a delete marker).
    fn object_grant(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Option<ObjectGrant> {
        let Ok(b) = self.store.bucket(bucket) else {
            return Some(ObjectGrant::None);
        };
        let entry = match version_id {
            None => self.store.object(&b.id, key),
            Some(v) => match crate::versions::parse_version(v) {
                Ok(which) => self.store.version(&b.id, key, &which),
                Err(_) => return Some(ObjectGrant::None),
            },
        };
        let acl = match entry {
            Ok(o) => o.meta.acl.clone(),
            Err(pier_store::FindError::NoSuchKey) if version_id.is_none() => return None,
            Err(_) => None,
        };
        Some(match acl.as_deref() {
            Some(acl) if crate::acl::is_public(acl) => ObjectGrant::Everyone,
            Some("authenticated-read") => ObjectGrant::AnyKey,
            _ => ObjectGrant::None,
        })
    }

    /// A copy reads its source: the caller needs `s3:GetObject` (or `s3:GetObjectVersion`)
    /// there too.
    fn check_source(
        &self,
        credentials: Option<&s3s::auth::Credentials>,
        source: &CopySource,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> S3Result<()> {
        let (bucket, key_name, version) = crate::objects::copy_source(source)?;
        let key = self.scope(credentials.map(|c| c.access_key.as_str()))?;
        let action = if version.is_some() {
            Action::GetObjectVersion
        } else {
            Action::GetObject
        };
        let facts = facts(headers, extensions);
        self.ask_read(
            key.as_ref(),
            Ask {
                action,
                bucket: Some(&bucket),
                key: Some(&key_name),
                prefix: None,
            },
            version.as_deref(),
            facts,
        )
    }
}
