//! The application-key calls: `b2_create_key`, `b2_list_keys`, `b2_delete_key`. A key may
//! create (and delete) only keys within its own scope: no capability, bucket, prefix or
//! lifetime beyond its own.

use crate::args::{CreateKey, DeleteKey, ListKeys};
use crate::error::{blocking_err, B2Error, B2ErrorKind, B2Result};
use crate::{json, Call};
use http::Response;
use pier_access::{Action, Capabilities, KeyScope};
use pier_store::{AccessKey, KeyRestrictions};
use s3s::Body;
use serde_json::{json, Value};

/// The key object B2 clients read (without its secret).
fn key_json(call: &Call<'_>, key: &AccessKey, v4: bool) -> Value {
    let scope = call.access.scope(key);
    let bucket_ids: Option<Vec<&str>> = scope
        .buckets
        .as_ref()
        .map(|l| l.iter().map(|(id, _)| id.as_str()).collect());
    let mut out = json!({
        "accountId": key.account,
        "applicationKeyId": key.access_key,
        "keyName": key.description,
        "capabilities": scope.capabilities.names(),
        "expirationTimestamp": scope.expires,
        "namePrefix": scope.name_prefix,
        "options": ["s3"],
    });
    if v4 {
        out["bucketIds"] = json!(bucket_ids);
    } else {
        out["bucketId"] = json!(bucket_ids.and_then(|ids| ids.first().map(|s| s.to_string())));
    }
    out
}

fn check_key_name(name: &str) -> B2Result<()> {
    let ok = (1..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(B2Error::bad_request(format!(
            "Invalid keyName {name:?}: use 1 to 100 letters, digits and '-'"
        )))
    }
}

pub(crate) async fn create(
    call: &Call<'_>,
    args: CreateKey,
    version: &str,
) -> B2Result<Response<Body>> {
    let me = call.account()?;
    call.allow(Some(&me), Action::WriteKeys, None, None, None)?;
    check_key_name(&args.key_name)?;
    let capabilities = Capabilities::parse(args.capabilities.iter().map(String::as_str))
        .map_err(|bad| B2Error::bad_request(format!("unknown capability {bad:?}")))?;
    if capabilities == Capabilities::none() {
        return Err(B2Error::bad_request("capabilities must name at least one"));
    }
    let mut bucket_ids: Vec<String> = args.bucket_ids.unwrap_or_default();
    bucket_ids.extend(args.bucket_id);
    let mut buckets = Vec::new();
    for id in &bucket_ids {
        let b = call.store.bucket_by_id(id)?;
        if b.owner != me.account {
            // As for a bucket that does not exist: nothing about another account's buckets.
            return Err(B2Error::new(
                B2ErrorKind::BadBucketId,
                "Bucket does not exist",
            ));
        }
        buckets.push((b.id.clone(), b.name.clone()));
    }
    if args.name_prefix.is_some() && buckets.is_empty() {
        return Err(B2Error::bad_request(
            "namePrefix needs a bucket: give bucketId (or bucketIds)",
        ));
    }
    let expires = match args.valid_duration_in_seconds {
        None => None,
        Some(s @ 1..=86_400_000) => Some(pier_store::now_millis() + s * 1000),
        Some(s) => {
            return Err(B2Error::bad_request(format!(
                "validDurationInSeconds must be 1 to 86400000, not {s}"
            )))
        }
    };
    let wanted = KeyScope {
        id: String::new(),
        account: me.account.clone(),
        capabilities,
        buckets: (!buckets.is_empty()).then_some(buckets),
        name_prefix: args.name_prefix.clone().filter(|p| !p.is_empty()),
        expires,
    };
    if !wanted.is_within(&me) {
        return Err(B2Error::new(
            B2ErrorKind::Unauthorized,
            format!(
                "key {} cannot create a key with more than it has (capabilities, buckets, namePrefix or lifetime)",
                me.id
            ),
        ));
    }
    let restrictions = KeyRestrictions {
        capabilities: Some(capabilities.owned_names()),
        buckets: wanted
            .buckets
            .as_ref()
            .map(|l| l.iter().map(|(id, _)| id.clone()).collect()),
        name_prefix: wanted.name_prefix.clone(),
        expires,
    };
    let store = call.store.clone();
    let name = args.key_name.clone();
    let account = me.account.clone();
    let actor = call.actor(&me, "b2_create_key");
    let key = tokio::task::spawn_blocking(move || {
        store
            .acting(actor)
            .create_key(&account, &name, restrictions)
    })
    .await
    .map_err(blocking_err)??;
    let mut out = key_json(call, &key, version == "v4");
    out["applicationKey"] = json!(key.secret);
    Ok(json(out))
}

pub(crate) fn list(call: &Call<'_>, args: ListKeys, version: &str) -> B2Result<Response<Body>> {
    let me = call.account()?;
    call.allow(Some(&me), Action::ListKeys, None, None, None)?;
    let max = match args.max_key_count {
        None => 100,
        Some(n @ 1..=10_000) => n as usize,
        Some(_) => {
            return Err(B2Error::new(
                B2ErrorKind::OutOfRange,
                "maxKeyCount out of range: use 1 to 10000",
            ))
        }
    };
    let mut keys = call.store.keys()?;
    keys.retain(|k| k.account == me.account);
    keys.sort_by(|a, b| a.access_key.cmp(&b.access_key));
    let start = args.start_application_key_id.unwrap_or_default();
    let page: Vec<&AccessKey> = keys.iter().filter(|k| k.access_key >= start).collect();
    let next = page.get(max).map(|k| k.access_key.clone());
    let listed: Vec<Value> = page
        .iter()
        .take(max)
        .map(|k| key_json(call, k, version == "v4"))
        .collect();
    Ok(json(json!({"keys": listed, "nextApplicationKeyId": next})))
}

pub(crate) async fn delete(
    call: &Call<'_>,
    args: DeleteKey,
    version: &str,
) -> B2Result<Response<Body>> {
    let me = call.account()?;
    call.allow(Some(&me), Action::DeleteKeys, None, None, None)?;
    let key = call
        .store
        .key(&args.application_key_id)?
        .filter(|k| k.account == me.account)
        .ok_or_else(|| B2Error::bad_request(format!("no key {}", args.application_key_id)))?;
    if !call.access.scope(&key).is_within(&me) {
        return Err(B2Error::new(
            B2ErrorKind::Unauthorized,
            format!("key {} may only delete keys within its own scope", me.id),
        ));
    }
    let out = key_json(call, &key, version == "v4");
    let store = call.store.clone();
    let id = key.access_key.clone();
    let actor = call.actor(&me, "b2_delete_key");
    tokio::task::spawn_blocking(move || store.acting(actor).delete_key(&id))
        .await
        .map_err(blocking_err)??;
    Ok(json(out))
}
