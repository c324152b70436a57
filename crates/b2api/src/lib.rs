//! pier's Backblaze B2 native API over the store: `/b2api/v2…v4/b2_*` and `/file/BUCKET/NAME`.
//!
//! - [`B2Api::handle`] answers a request; [`is_b2_path`] tells the front which requests are ours.
//! - [`request`]: a request parsed once ([`B2Request`]): the call, and for the CORS layer which
//!   CORS operation and bucket it is.
//! - [`token`]: stateless, HMAC-signed account, upload and download-authorization tokens.
//! - [`args`]: each JSON call's arguments, deserialized once into a struct.
//! - `buckets`, `files`, `large` and `keys`: the calls. Each asks the access engine
//!   (`Call::allow`) before it acts; every error is B2's JSON ([`error`], [`B2ErrorKind`]).
//!
//! One bucket, two APIs: objects uploaded through S3 are files here and the other way round; a
//! file's `fileId` is the object's version id. Only the current version of a name is kept:
//! `b2_list_file_versions` lists current versions, and `b2_hide_file` removes the current version
//! (S3 then sees the key deleted) and answers with a hide marker.

pub mod args;
mod buckets;
pub use buckets::bucket_settings;
pub mod error;
mod file_lock;
mod files;
mod keys;
mod large;
pub mod lifecycle;
mod notifications;
pub mod request;
mod sse;
pub mod token;

pub use error::{B2Error, B2ErrorKind, B2Result};
pub use request::{B2Call, B2Request, CorsBucket, JsonCall};

use bytes::Bytes;
use http::{header, Method, Request, Response};
use http_body_util::BodyExt;
use pier_access::{Action, KeyScope, ObjectGrant};
use pier_edge::access::{Access, Ask, ClientAddr, RequestFacts};
use pier_store::Store;
use s3s::Body;
use serde_json::Value;

/// Largest JSON request body read.
const MAX_JSON: usize = 1024 * 1024;

/// True when `path` belongs to the B2 API.
pub fn is_b2_path(path: &str) -> bool {
    path.starts_with("/b2api/") || path.starts_with("/file/")
}

/// The B2 API over a store.
#[derive(Clone, Debug)]
pub struct B2Api {
    store: Store,
    access: Access,
    /// The address clients reach the server at (behind a load balancer or TLS proxy); `None`:
    /// the request's own `Host`, over plain HTTP.
    public_url: Option<String>,
    /// Webhook targets may be plain `http` or private addresses (`--webhook-allow-private`).
    webhook_allow_private: bool,
}

/// What a handler sees of the request besides its body.
pub(crate) struct Call<'a> {
    pub store: &'a Store,
    /// `http(s)://host:port` as the client addressed us; URLs we hand out point back here.
    pub base: String,
    pub method: &'a Method,
    pub headers: &'a http::HeaderMap,
    pub query: &'a pier_edge::Query,
    /// The access engine's door.
    pub access: &'a Access,
    /// The client's address, for bucket policy conditions.
    pub client: Option<std::net::IpAddr>,
    /// The request came over TLS (`aws:SecureTransport`).
    pub secure: bool,
    /// Webhook targets may be plain `http` or private addresses.
    pub webhook_allow_private: bool,
    /// The request may carry a customer's encryption key (TLS, or allowed by the operator).
    pub customer_keys_allowed: bool,
}

impl Call<'_> {
    /// The `Authorization` header (B2 sends the raw token).
    pub fn auth_header(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// A new token for the access key `key_id`, signed with its secret, valid for `millis`
    /// but never past the key's own expiry.
    pub fn issue(&self, key_id: &str, scope: token::Scope, millis: i64) -> B2Result<String> {
        let key = self
            .store
            .key(key_id)?
            .ok_or_else(|| B2Error::new(B2ErrorKind::BadAuthToken, "the access key was deleted"))?;
        let millis = match key.scope.expires {
            Some(at) => millis.min(at - pier_store::now_millis()).max(0),
            None => millis,
        };
        Ok(token::issue(key_id, &key.secret, scope, millis))
    }

    /// The engine's scope of the key `key_id` (from a verified token): `expired_auth_token`
    /// once the key has expired, `bad_auth_token` once it is deleted.
    pub fn scope_of(&self, key_id: &str) -> B2Result<KeyScope> {
        let key = self
            .store
            .key(key_id)?
            .ok_or_else(|| B2Error::new(B2ErrorKind::BadAuthToken, "the access key was deleted"))?;
        let scope = self.access.scope(&key);
        if scope
            .expires
            .is_some_and(|at| at <= pier_store::now_millis())
        {
            return Err(B2Error::new(
                B2ErrorKind::ExpiredAuthToken,
                "the application key has expired",
            ));
        }
        Ok(scope)
    }

    /// The caller's key, from an account token in `Authorization`.
    pub fn account(&self) -> B2Result<KeyScope> {
        let token = self.auth_header().ok_or_else(|| {
            B2Error::new(B2ErrorKind::BadAuthToken, "Missing Authorization header")
        })?;
        match token::verify(self.store, token)? {
            (key, token::Scope::Account) => self.scope_of(&key),
            _ => Err(B2Error::new(
                B2ErrorKind::Unauthorized,
                "This token cannot be used for this call",
            )),
        }
    }

    /// Asks the access engine whether `who` (`None`: anonymous) may do `action` on `bucket`
    /// (by name) and `name`, or list under `prefix`; a refusal is B2's 401 `unauthorized` with
    /// the engine's reason.
    pub fn allow(
        &self,
        who: Option<&KeyScope>,
        action: Action,
        bucket: Option<&str>,
        name: Option<&str>,
        prefix: Option<&str>,
    ) -> B2Result<()> {
        let ask = Ask {
            action,
            bucket,
            key: name,
            prefix,
        };
        let d = self.access.decide(who, ask, self.facts())?;
        self.access
            .report(who, ask, self.facts(), d.allowed, || ObjectGrant::None);
        if d.allowed {
            return Ok(self.access.count_request(bucket)?);
        }
        let id = who.map(|k| k.id.as_str());
        // Explained and logged the first time it is seen (within a budget); else counted.
        if self.access.should_explain(id, &ask, &d.reason) {
            let trace = match self.access.explain(who, ask, self.facts()) {
                Ok(explained) => explained.trace,
                Err(e) => vec![format!("no trace: {e}")],
            };
            tracing::info!(
                key = id.unwrap_or("anonymous"),
                action = action.iam_name(),
                bucket = bucket.unwrap_or(""),
                name = name.unwrap_or(""),
                reason = %d.reason,
                trace = ?trace,
                "access refused (repeats are counted, not logged)"
            );
        }
        Err(B2Error::new(B2ErrorKind::Unauthorized, d.reason))
    }

    /// [`Call::allow`] for `me` and an object: `action` on `name` in the bucket named `bucket`.
    pub fn allow_object(
        &self,
        me: &KeyScope,
        action: Action,
        bucket: &str,
        name: &str,
    ) -> B2Result<()> {
        self.allow(Some(me), action, Some(bucket), Some(name), None)
    }

    /// [`Call::allow_object`] for a call that names the object by its id (a `fileId`): a
    /// refusal on a bucket of another account is answered `missing()`, what an id that does not
    /// exist gets, so an id reveals neither its bucket nor that it exists.
    pub fn allow_by_id(
        &self,
        me: &KeyScope,
        action: Action,
        bucket: &pier_store::Bucket,
        name: &str,
        missing: impl FnOnce() -> B2Error,
    ) -> B2Result<()> {
        match self.allow_object(me, action, &bucket.name, name) {
            Err(e) if e.kind == B2ErrorKind::Unauthorized && bucket.owner != me.account => {
                Err(missing())
            }
            other => other,
        }
    }

    /// Who a call acts as, for the audit log: the signing key and its account, the B2 call,
    /// the client's address.
    pub(crate) fn actor(&self, me: &pier_access::KeyScope, call: &str) -> pier_store::Actor {
        pier_store::Actor::new(call)
            .by(me.id.clone(), me.account.clone())
            .from_addr(self.client)
    }

    fn facts(&self) -> RequestFacts<'_> {
        let header = |n: header::HeaderName| self.headers.get(n).and_then(|v| v.to_str().ok());
        RequestFacts {
            source_ip: self.client,
            secure_transport: self.secure,
            referer: header(header::REFERER),
            user_agent: header(header::USER_AGENT),
            headers: None,
        }
    }
}

/// Decodes a percent-encoded B2 value (`+` stays `+`), refusing a result that is not UTF-8 (a
/// name must never be stored other than it was sent); `what` names the value in the error.
pub fn percent_decode_strict(s: &str, what: &str) -> B2Result<String> {
    pier_edge::percent::decode_utf8(s)
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| B2Error::bad_request(format!("{what} is not percent-encoded UTF-8")))
}

/// Percent-encodes like b2sdk (`/` and unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    pier_edge::percent::encode(s, pier_edge::percent::PATH)
}

/// A JSON 200 response.
pub(crate) fn json(value: Value) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(Bytes::from(value.to_string())))
        .expect("static response parts are valid")
}

impl B2Api {
    /// Serves `store`, with access decided by `access`.
    pub fn new(store: Store, access: Access) -> Self {
        B2Api {
            store,
            access,
            public_url: None,
            webhook_allow_private: false,
        }
    }

    /// Lets notification rules name plain `http` targets and loopback or private addresses
    /// (`--webhook-allow-private`; the cloud metadata address stays refused).
    pub fn with_webhook_allow_private(mut self, allow: bool) -> Self {
        self.webhook_allow_private = allow;
        self
    }

    /// Hands out URLs (`apiUrl`, `downloadUrl`, upload URLs) under `url` instead of the
    /// request's `Host`: the address of the load balancer or TLS proxy in front of the nodes.
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    /// Answers one B2 request, parsed by the caller (the front parses it once, for CORS too).
    pub async fn handle(
        &self,
        request: Result<B2Request, B2Error>,
        req: Request<Body>,
    ) -> Response<Body> {
        let routed = match request {
            Ok(request) => self.route(&request, req).await,
            Err(e) => Err(e),
        };
        routed.unwrap_or_else(B2Error::into_response)
    }

    async fn route(&self, request: &B2Request, req: Request<Body>) -> B2Result<Response<Body>> {
        let (parts, body) = req.into_parts();
        let host = pier_edge::request_host(&parts.headers, &parts.uri)
            .unwrap_or("127.0.0.1")
            .to_owned();
        let scheme = if parts
            .extensions
            .get::<pier_edge::listen::OverTls>()
            .is_some()
        {
            "https"
        } else {
            "http"
        };
        let base = match &self.public_url {
            Some(url) => url.clone(),
            None => format!("{scheme}://{host}"),
        };
        let call = Call {
            store: &self.store,
            base,
            method: &parts.method,
            headers: &parts.headers,
            query: &request.query,
            access: &self.access,
            client: parts.extensions.get::<ClientAddr>().map(|c| c.0),
            secure: parts
                .extensions
                .get::<pier_edge::listen::OverTls>()
                .is_some(),
            webhook_allow_private: self.webhook_allow_private,
            customer_keys_allowed: parts
                .extensions
                .get::<pier_edge::listen::CustomerKeysAllowed>()
                .is_some(),
        };
        let op = match &request.call {
            B2Call::DownloadByName { bucket, name } => {
                return files::download_by_name(&call, bucket, name).await
            }
            B2Call::DownloadById { file_id } => return files::download_by_id(&call, file_id).await,
            B2Call::UploadFile { bucket_id } => {
                return files::upload_file(&call, bucket_id, body).await
            }
            B2Call::UploadPart { file_id } => {
                return large::upload_part(&call, file_id, body).await
            }
            B2Call::Authorize => return buckets::authorize(&call, request.version),
            B2Call::Json(op) => *op,
        };
        let args = read_json(body, call.method, call.query).await?;
        // A call that names an account must name the caller's own: B2 refuses another's
        // (`unauthorized`) rather than answering for the caller's.
        if let Some(named) = args.get("accountId").and_then(Value::as_str) {
            if named != call.account()?.account {
                return Err(B2Error::new(
                    B2ErrorKind::Unauthorized,
                    "accountId does not match the account of the authorization token",
                ));
            }
        }
        use args::parse;
        match op {
            JsonCall::CreateBucket => buckets::create(&call, args).await,
            JsonCall::UpdateBucket => buckets::update(&call, args).await,
            JsonCall::SetBucketNotificationRules => notifications::set(&call, args).await,
            JsonCall::GetBucketNotificationRules => notifications::get(&call, parse(args)?),
            JsonCall::ListBuckets => buckets::list(&call, parse(args)?),
            JsonCall::DeleteBucket => buckets::delete(&call, parse(args)?).await,
            JsonCall::GetUploadUrl => files::get_upload_url(&call, parse(args)?),
            JsonCall::ListFileNames => files::list(&call, parse(args)?, false),
            JsonCall::ListFileVersions => files::list(&call, parse(args)?, true),
            JsonCall::GetFileInfo => files::get_file_info(&call, parse(args)?),
            JsonCall::DeleteFileVersion => files::delete_file_version(&call, parse(args)?).await,
            JsonCall::HideFile => files::hide_file(&call, parse(args)?).await,
            JsonCall::GetDownloadAuthorization => {
                files::get_download_authorization(&call, parse(args)?)
            }
            JsonCall::StartLargeFile => large::start(&call, parse(args)?).await,
            JsonCall::GetUploadPartUrl => large::get_upload_part_url(&call, parse(args)?),
            JsonCall::ListParts => large::list_parts(&call, parse(args)?),
            JsonCall::FinishLargeFile => large::finish(&call, parse(args)?).await,
            JsonCall::CancelLargeFile => large::cancel(&call, parse(args)?).await,
            JsonCall::ListUnfinishedLargeFiles => large::list_unfinished(&call, parse(args)?),
            JsonCall::CopyFile => large::copy(&call, parse(args)?).await,
            JsonCall::UpdateFileRetention => file_lock::update_retention(&call, args).await,
            JsonCall::UpdateFileLegalHold => file_lock::update_legal_hold(&call, args).await,
            JsonCall::DownloadFileById => {
                let id = parse::<args::ByFile>(args)?.file_id;
                files::download_by_id(&call, &id).await
            }
            JsonCall::CreateKey => keys::create(&call, parse(args)?, request.version).await,
            JsonCall::ListKeys => keys::list(&call, parse(args)?, request.version),
            JsonCall::DeleteKey => keys::delete(&call, parse(args)?, request.version).await,
        }
    }
}

/// The call's parameters: the JSON body of a POST, or the query string of a GET.
async fn read_json(body: Body, method: &Method, query: &pier_edge::Query) -> B2Result<Value> {
    if *method == Method::GET {
        return Ok(Value::Object(
            query
                .pairs()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ));
    }
    let limited = http_body_util::Limited::new(body, MAX_JSON);
    let bytes = limited
        .collect()
        .await
        .map_err(|_| B2Error::bad_request("the request body is too large or incomplete"))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        B2Error::new(
            B2ErrorKind::BadJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(B2Error::new(
            B2ErrorKind::BadJson,
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}
