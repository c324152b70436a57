//! b2_authorize_account and the bucket calls.

use crate::args::{ByBucket, CreateBucket, ListBuckets};
use crate::error::{blocking_err, B2Error, B2ErrorKind, B2Result};
use crate::token::{self, Scope};
use crate::{json, Call};
use base64::Engine as _;
use http::Response;
use pier_access::Action;
use pier_cors::{CorsConfig, Dialect, Format};
use pier_store::{Bucket, BucketUpdate, Versioning, Visibility};
use s3s::Body;
use serde_json::{json, Value};

/// Part sizes pier tells clients: B2's minimum, and 10 MB recommended (smaller than B2's 100 MB: a
/// self-hosted server is usually near its clients), so files over 20 MB upload in parts.
const RECOMMENDED_PART: u64 = 10_000_000;
const MINIMUM_PART: u64 = 5_000_000;

pub(crate) fn authorize(call: &Call<'_>, version: &str) -> B2Result<Response<Body>> {
    let unauthorized = || {
        B2Error::new(
            B2ErrorKind::Unauthorized,
            "Invalid application key id or key",
        )
    };
    let basic = call
        .auth_header()
        .and_then(|h| h.strip_prefix("Basic "))
        .ok_or_else(unauthorized)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .map_err(|_| unauthorized())?;
    let decoded = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(unauthorized)?;
    let key = call.store.key(id)?.ok_or_else(unauthorized)?;
    if !pier_edge::secret_eq(key.secret.as_bytes(), secret.as_bytes()) {
        return Err(unauthorized());
    }
    let scope = call.scope_of(id).map_err(|_| unauthorized())?;
    let account = key.account.as_str();
    let token = call.issue(id, Scope::Account, token::ACCOUNT_TOKEN_MILLIS)?;
    let capabilities = scope.capabilities.names();
    let buckets = scope.buckets.as_ref().map(|list| {
        list.iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect::<Vec<_>>()
    });
    // v2 and v3 can say one bucket only: the first of a multi-bucket key's.
    let first = scope.buckets.as_ref().and_then(|l| l.first());
    let (bucket_id, bucket_name) = (first.map(|b| &b.0), first.map(|b| &b.1));
    let prefix = scope.name_prefix.clone();
    let expiration = scope.expires;
    let storage = json!({
        "apiUrl": call.base,
        "downloadUrl": call.base,
        "s3ApiUrl": call.base,
        "recommendedPartSize": RECOMMENDED_PART,
        "absoluteMinimumPartSize": MINIMUM_PART,
        "bucketId": bucket_id,
        "bucketName": bucket_name,
        "capabilities": capabilities,
        "namePrefix": prefix,
        "infoType": "storageApi",
    });
    let body = match version {
        "v1" | "v2" => json!({
            "accountId": account,
            "authorizationToken": token,
            "apiUrl": call.base,
            "downloadUrl": call.base,
            "s3ApiUrl": call.base,
            "recommendedPartSize": RECOMMENDED_PART,
            "absoluteMinimumPartSize": MINIMUM_PART,
            "minimumPartSize": RECOMMENDED_PART,
            "allowed": {"bucketId": bucket_id, "bucketName": bucket_name, "capabilities": capabilities, "namePrefix": prefix},
        }),
        "v3" => json!({
            "accountId": account,
            "authorizationToken": token,
            "applicationKeyExpirationTimestamp": expiration,
            "apiInfo": {"storageApi": storage, "groupsApi": {}},
        }),
        _ => {
            let mut storage = storage;
            storage["allowed"] =
                json!({"buckets": buckets, "capabilities": capabilities, "namePrefix": prefix});
            json!({
                "accountId": account,
                "authorizationToken": token,
                "applicationKeyExpirationTimestamp": expiration,
                "apiInfo": {"storageApi": storage, "groupsApi": {}},
            })
        }
    };
    Ok(json(body))
}

/// The bucket object B2 clients read.
pub(crate) fn bucket_json(bucket: &Bucket) -> B2Result<Value> {
    let cors = pier_edge::bucket_cors(bucket)
        .map(|c| c.view_as(Dialect::B2))
        .unwrap_or_default();
    let cors_rules: Value = if cors.is_enabled() {
        serde_json::from_str(
            &pier_cors::serialize(&cors, Format::B2Json).map_err(B2Error::internal)?,
        )
        .unwrap_or(Value::Array(vec![]))
    } else {
        Value::Array(vec![])
    };
    let info: Value = bucket
        .info
        .as_deref()
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or_else(|| json!({}));
    Ok(json!({
        "accountId": bucket.owner,
        "bucketId": bucket.id,
        "bucketName": bucket.name,
        "bucketType": if bucket.public.reads_objects() { "allPublic" } else { "allPrivate" },
        "bucketInfo": info,
        "corsRules": cors_rules,
        "lifecycleRules": crate::lifecycle::view(&bucket.lifecycle),
        "options": ["s3"],
        "revision": bucket.revision,
        "defaultServerSideEncryption": crate::sse::bucket_json(bucket),
        "fileLockConfiguration": crate::file_lock::bucket_lock_json(bucket),
        "replicationConfiguration": null,
    }))
}

/// B2's bucket names: 6 to 63 lower-case letters, digits and `-`, not starting with `b2-`.
fn check_name(name: &str) -> B2Result<()> {
    let ok = (6..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with("b2-");
    if ok {
        Ok(())
    } else {
        Err(B2Error::new(B2ErrorKind::BadRequest,
            format!("Invalid bucket name {name:?}: use 6 to 63 lower-case letters, digits and '-', not starting with 'b2-'"),
        ))
    }
}

fn bucket_type(args: &Value) -> B2Result<Option<Visibility>> {
    match args.get("bucketType") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if t == "allPublic" => Ok(Some(Visibility::PublicObjects)),
        Some(Value::String(t)) if t == "allPrivate" => Ok(Some(Visibility::Private)),
        Some(other) => Err(B2Error::bad_request(format!(
            "bucketType must be allPublic or allPrivate, not {other}"
        ))),
    }
}

/// The bucket settings of a `b2_create_bucket` or `b2_update_bucket` body, parsed and validated
/// once: `bucketType`, `corsRules` (B2's rules, every problem reported), `bucketInfo`,
/// `lifecycleRules` (validated as B2 does) and `ifRevisionIs`. A field of the wrong type is an
/// error, never ignored.
pub fn bucket_settings(args: &Value) -> B2Result<BucketUpdate> {
    Ok(BucketUpdate {
        public: bucket_type(args)?,
        cors: cors_rules(args)?,
        info: bucket_info(args)?,
        policy: None,
        tags: None,
        public_block: None,
        object_lock: None,
        ownership: None,
        notifications: None,
        s3_notifications: None,
        website: None,
        encryption: crate::sse::bucket_default(args)?,
        versioning: None,
        lifecycle: match args.get("lifecycleRules") {
            None | Some(Value::Null) => None,
            Some(rules) => Some(crate::lifecycle::parse(rules)?),
        },
        if_revision: match args.get("ifRevisionIs") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| {
                B2Error::bad_request(format!("ifRevisionIs must be an integer, not {v}"))
            })?),
        },
    })
}

/// `corsRules`, validated with B2's rules; every problem is reported.
fn cors_rules(args: &Value) -> B2Result<Option<Option<String>>> {
    let Some(rules) = args.get("corsRules") else {
        return Ok(None);
    };
    let config = pier_cors::parse(&rules.to_string(), Format::B2Json)
        .map_err(|e| B2Error::bad_request(e.to_string().replace('\n', "; ")))?;
    let config: CorsConfig = config;
    Ok(Some(config.is_enabled().then(|| config.to_stored())))
}

fn bucket_info(args: &Value) -> B2Result<Option<Option<String>>> {
    match args.get("bucketInfo") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(Some(Value::Object(m.clone()).to_string()))),
        Some(_) => Err(B2Error::bad_request("bucketInfo must be an object")),
    }
}

pub(crate) async fn create(call: &Call<'_>, args: Value) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let settings = bucket_settings(&args)?;
    let lock = crate::file_lock::bucket_setting(&args, None)?;
    let name = crate::args::parse::<CreateBucket>(args)?.bucket_name;
    check_name(&name)?;
    call.allow(Some(&me), Action::CreateBucket, None, None, None)?;
    if lock.is_some() {
        call.allow(
            Some(&me),
            Action::PutBucketObjectLockConfiguration,
            None,
            None,
            None,
        )?;
    }
    let public = settings
        .public
        .ok_or_else(|| B2Error::bad_request("required field bucketType is missing"))?;
    let (cors, info, lifecycle, encryption) = (
        settings.cors,
        settings.info,
        settings.lifecycle,
        settings.encryption,
    );
    let store = call.store.clone();
    let owner = me.account.clone();
    let actor = call.actor(&me, "b2_create_bucket");
    let bucket = tokio::task::spawn_blocking(move || -> B2Result<Bucket> {
        let store = store.acting(actor);
        // B2 keeps every version: its buckets start with versioning enabled.
        match lock {
            Some(lock) => store.create_locked_bucket(&name, &owner, public, lock)?,
            None => store.create_bucket(&name, &owner, public, Versioning::Enabled)?,
        };
        Ok(store.update_bucket(
            &name,
            BucketUpdate {
                cors,
                info,
                lifecycle,
                encryption,
                ..Default::default()
            },
        )?)
    })
    .await
    .map_err(blocking_err)??;
    Ok(json(bucket_json(&bucket)?))
}

pub(crate) async fn update(call: &Call<'_>, args: Value) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let mut update = bucket_settings(&args)?;
    let bucket = call
        .store
        .bucket_by_id(&crate::args::parse::<ByBucket>(args.clone())?.bucket_id)?;
    update.object_lock = crate::file_lock::bucket_setting(&args, Some(&bucket))?;
    // Each setting changed is the S3 action that changes it.
    let mut actions = Vec::new();
    if update.object_lock.is_some() {
        actions.push(Action::PutBucketObjectLockConfiguration);
    }
    if update.cors.is_some() {
        actions.push(Action::PutBucketCors);
    }
    if let Some(why) = update
        .public
        .and_then(|v| pier_edge::public_block::refuses_visibility(&bucket, v))
    {
        return Err(B2Error::new(B2ErrorKind::AccessDenied, why));
    }
    if update.lifecycle.is_some() {
        actions.push(Action::PutLifecycleConfiguration);
        // Replacing the list would silently drop rules B2 cannot show.
        let hidden = crate::lifecycle::refusals(&bucket.lifecycle);
        if !hidden.is_empty() {
            return Err(B2Error::bad_request(format!(
                "lifecycleRules cannot be replaced through the B2 API: the bucket has rules set through S3 that B2 cannot express ({}); change them with PutBucketLifecycleConfiguration",
                hidden.join("; ")
            )));
        }
    }
    if update.public.is_some() || update.info.is_some() || actions.is_empty() {
        actions.push(Action::PutBucketAcl);
    }
    for action in actions {
        call.allow(Some(&me), action, Some(&bucket.name), None, None)?;
    }
    let store = call.store.clone();
    let name = bucket.name.clone();
    let actor = call.actor(&me, "b2_update_bucket");
    let bucket =
        tokio::task::spawn_blocking(move || store.acting(actor).update_bucket(&name, update))
            .await
            .map_err(blocking_err)??;
    Ok(json(bucket_json(&bucket)?))
}

/// The buckets of the key's account it reaches (a restricted key sees only its own), filtered
/// by id or name.
pub(crate) fn list(call: &Call<'_>, args: ListBuckets) -> B2Result<Response<Body>> {
    let me = call.account()?;
    call.allow(Some(&me), Action::ListAllMyBuckets, None, None, None)?;
    let by_id = args.bucket_id.as_deref();
    let by_name = args.bucket_name.as_deref();
    let mut out = Vec::new();
    for b in call.store.buckets()? {
        if by_id.is_some_and(|id| id != b.id) || by_name.is_some_and(|n| n != b.name) {
            continue;
        }
        if b.owner != me.account || !me.reaches_bucket(&b.id) {
            continue;
        }
        out.push(bucket_json(&b)?);
    }
    Ok(json(json!({ "buckets": out })))
}

pub(crate) async fn delete(call: &Call<'_>, args: ByBucket) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let bucket = call.store.bucket_by_id(&args.bucket_id)?;
    call.allow(
        Some(&me),
        Action::DeleteBucket,
        Some(&bucket.name),
        None,
        None,
    )?;
    let store = call.store.clone();
    let name = bucket.name.clone();
    let actor = call.actor(&me, "b2_delete_bucket");
    let deleted = tokio::task::spawn_blocking(move || store.acting(actor).delete_bucket(&name))
        .await
        .map_err(blocking_err)??;
    Ok(json(bucket_json(&deleted)?))
}
