//! B2 object lock ("file lock"): the bucket's `fileLockConfiguration` (`fileLockEnabled`,
//! `defaultRetention`), a file version's `fileRetention` and `legalHold` as B2 shows, accepts on
//! uploads (headers or JSON), and changes them (`b2_update_file_retention`,
//! `b2_update_file_legal_hold`). The state and its rules are the store's, shared with S3.

use crate::error::{blocking_err, B2Error, B2ErrorKind, B2Result};
use crate::{json, Call};
use http::Response;
use pier_access::{Action, KeyScope};
use pier_store::{Bucket, DefaultRetention, LockMode, LockPeriod, Object, ObjectLock, Retention};
use s3s::Body;
use serde_json::{json, Value};

fn mode_name(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Governance => "governance",
        LockMode::Compliance => "compliance",
    }
}

fn mode_of(text: &str) -> B2Result<LockMode> {
    match text {
        "governance" => Ok(LockMode::Governance),
        "compliance" => Ok(LockMode::Compliance),
        other => Err(B2Error::bad_request(format!(
            "retention mode must be governance or compliance, not {other:?}"
        ))),
    }
}

/// A file version's `fileRetention`, as file info shows it.
pub fn retention_json(o: &Object) -> Value {
    let value = match o.meta.retention {
        Some(r) => json!({"mode": mode_name(r.mode), "retainUntilTimestamp": r.until}),
        None => json!({"mode": null, "retainUntilTimestamp": null}),
    };
    json!({"isClientAuthorizedToRead": true, "value": value})
}

/// A file version's `legalHold`, as file info shows it.
pub fn legal_hold_json(o: &Object) -> Value {
    let value = if o.marker {
        Value::Null
    } else if o.meta.legal_hold {
        json!("on")
    } else {
        json!("off")
    };
    json!({"isClientAuthorizedToRead": true, "value": value})
}

/// The bucket's `fileLockConfiguration`.
pub fn bucket_lock_json(bucket: &Bucket) -> Value {
    let default = bucket.object_lock.and_then(|l| l.default);
    let retention = match default {
        None => json!({"mode": null, "period": null}),
        Some(d) => {
            let (duration, unit) = match d.period {
                LockPeriod::Days(n) => (n, "days"),
                LockPeriod::Years(n) => (n, "years"),
            };
            json!({"mode": mode_name(d.mode), "period": {"duration": duration, "unit": unit}})
        }
    };
    json!({
        "isClientAuthorizedToRead": true,
        "value": {"defaultRetention": retention, "isFileLockEnabled": bucket.object_lock.is_some()},
    })
}

/// A retention as B2 writes it (`{"mode": ..., "retainUntilTimestamp": ...}`); a null mode
/// means none.
fn parse_retention(v: &Value) -> B2Result<Option<Retention>> {
    let mode = match v.get("mode") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(m)) => mode_of(m)?,
        Some(other) => {
            return Err(B2Error::bad_request(format!(
                "fileRetention.mode must be a string, not {other}"
            )))
        }
    };
    let until = v
        .get("retainUntilTimestamp")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            B2Error::bad_request("fileRetention.retainUntilTimestamp is required with a mode")
        })?;
    Ok(Some(Retention { mode, until }))
}

fn parse_legal_hold(text: &str) -> B2Result<bool> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(B2Error::bad_request(format!(
            "legalHold must be on or off, not {other:?}"
        ))),
    }
}

fn future(r: Option<Retention>) -> B2Result<Option<Retention>> {
    if r.is_some_and(|r| r.until <= pier_store::now_millis()) {
        return Err(B2Error::bad_request(
            "retainUntilTimestamp must be in the future",
        ));
    }
    Ok(r)
}

/// The lock an upload names in its headers (`X-Bz-File-Retention-Mode`,
/// `X-Bz-File-Retention-Retain-Until-Timestamp`, `X-Bz-File-Legal-Hold`).
pub fn upload_headers(call: &Call<'_>) -> B2Result<(Option<Retention>, bool)> {
    let header = |name: &str| call.headers.get(name).and_then(|v| v.to_str().ok());
    let retention = match (
        header("x-bz-file-retention-mode"),
        header("x-bz-file-retention-retain-until-timestamp"),
    ) {
        (None, None) => None,
        (Some(mode), Some(until)) => Some(Retention {
            mode: mode_of(mode)?,
            until: until.parse().map_err(|_| {
                B2Error::bad_request(format!(
                    "X-Bz-File-Retention-Retain-Until-Timestamp must be milliseconds, not {until:?}"
                ))
            })?,
        }),
        _ => return Err(B2Error::bad_request(
            "X-Bz-File-Retention-Mode and X-Bz-File-Retention-Retain-Until-Timestamp go together",
        )),
    };
    let hold = header("x-bz-file-legal-hold")
        .map(parse_legal_hold)
        .transpose()?
        .unwrap_or(false);
    Ok((future(retention)?, hold))
}

/// The lock a JSON call names (`fileRetention`, `legalHold`: `b2_start_large_file`,
/// `b2_copy_file`).
pub fn body_lock(
    retention: Option<&Value>,
    legal_hold: Option<&str>,
) -> B2Result<(Option<Retention>, bool)> {
    let retention = match retention {
        None | Some(Value::Null) => None,
        Some(v) => parse_retention(v)?,
    };
    let hold = legal_hold
        .map(parse_legal_hold)
        .transpose()?
        .unwrap_or(false);
    Ok((future(retention)?, hold))
}

/// Checks that the caller may name this lock on an upload: `writeFileRetentions` /
/// `writeFileLegalHolds`, as B2 asks.
pub fn allow_upload_lock(
    call: &Call<'_>,
    me: &crate::KeyScope,
    bucket: &str,
    name: &str,
    lock: (Option<Retention>, bool),
) -> B2Result<()> {
    if lock.0.is_some() {
        call.allow_object(me, Action::PutObjectRetention, bucket, name)?;
    }
    if lock.1 {
        call.allow_object(me, Action::PutObjectLegalHold, bucket, name)?;
    }
    Ok(())
}

/// The bucket lock a `b2_create_bucket` or `b2_update_bucket` body asks for: `fileLockEnabled`
/// (true only; false is refused once on) and `defaultRetention`. `None` when it names neither.
pub fn bucket_setting(args: &Value, current: Option<&Bucket>) -> B2Result<Option<ObjectLock>> {
    let enabled = match args.get("fileLockEnabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(B2Error::bad_request(format!(
                "fileLockEnabled must be a boolean, not {other}"
            )))
        }
    };
    let locked_now = current.is_some_and(|b| b.object_lock.is_some());
    if enabled == Some(false) && locked_now {
        return Err(B2Error::new(
            B2ErrorKind::FileLockConflict,
            "fileLockEnabled value of false is not allowed when bucket is already file lock enabled.",
        ));
    }
    let default = match args.get("defaultRetention") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_default(v)?),
    };
    if default.is_none() && enabled != Some(true) {
        return Ok(None);
    }
    if enabled != Some(true) && !locked_now {
        return Err(B2Error::bad_request(
            "defaultRetention needs file lock enabled on the bucket (fileLockEnabled: true)",
        ));
    }
    let kept = current.and_then(|b| b.object_lock).and_then(|l| l.default);
    Ok(Some(ObjectLock {
        default: match default {
            Some(d) => d,
            None => kept,
        },
    }))
}

/// `defaultRetention`: `{"mode": null}` clears it.
fn parse_default(v: &Value) -> B2Result<Option<DefaultRetention>> {
    let mode = match v.get("mode") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(m)) => mode_of(m)?,
        Some(other) => {
            return Err(B2Error::bad_request(format!(
                "defaultRetention.mode must be a string, not {other}"
            )))
        }
    };
    let period = v
        .get("period")
        .ok_or_else(|| B2Error::bad_request("defaultRetention.period is required with a mode"))?;
    let duration = period
        .get("duration")
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| *d > 0)
        .ok_or_else(|| {
            B2Error::bad_request("defaultRetention.period.duration must be a positive integer")
        })?;
    let period = match period.get("unit").and_then(Value::as_str) {
        Some("days") => LockPeriod::Days(duration),
        Some("years") => LockPeriod::Years(duration),
        _ => {
            return Err(B2Error::bad_request(
                "defaultRetention.period.unit must be days or years",
            ))
        }
    };
    Ok(Some(DefaultRetention { mode, period }))
}

/// The version a `b2_update_file_*` call names (its `fileId` and `fileName` must agree), once
/// `me` may `action` on it: access is decided before the name is compared, and a refusal on
/// another account's bucket reads as the same "not present" as an unknown id.
fn named_version(
    call: &Call<'_>,
    args: &Value,
    me: &KeyScope,
    action: Action,
) -> B2Result<(Object, std::sync::Arc<Bucket>)> {
    let text = |name: &str| {
        args.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| B2Error::bad_request(format!("required field {name} is missing")))
    };
    let (id, name) = (text("fileId")?, text("fileName")?);
    let not_present = || {
        B2Error::new(
            B2ErrorKind::NotFound,
            format!("File not present: {name} {id}"),
        )
    };
    let o = match call.store.object_by_version(id) {
        Err(pier_store::FindError::NoSuchKey) => return Err(not_present()),
        other => other?,
    };
    let bucket = call.store.bucket_by_id(&o.bucket_id)?;
    call.allow_by_id(me, action, &bucket, &o.key, not_present)?;
    if o.key != name || o.marker {
        return Err(not_present());
    }
    Ok((o, bucket))
}

/// `b2_update_file_retention`.
pub(crate) async fn update_retention(call: &Call<'_>, args: Value) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let (o, bucket) = named_version(call, &args, &me, Action::PutObjectRetention)?;
    let retention = match args.get("fileRetention") {
        Some(v) if v.is_object() => parse_retention(v)?,
        _ => {
            return Err(B2Error::bad_request(
                "required field fileRetention is missing",
            ))
        }
    };
    let bypass = args.get("bypassGovernance").and_then(Value::as_bool) == Some(true);
    if bypass {
        call.allow_object(&me, Action::BypassGovernanceRetention, &bucket.name, &o.key)?;
    }
    let store = call.store.clone();
    let which = pier_store::VersionRef::Id(o.version_id.clone());
    let (bucket_id, key) = (o.bucket_id.clone(), o.key.clone());
    tokio::task::spawn_blocking(move || {
        store.set_retention(&bucket_id, &key, Some(&which), retention, bypass)
    })
    .await
    .map_err(blocking_err)??;
    let value = match retention {
        Some(r) => json!({"mode": mode_name(r.mode), "retainUntilTimestamp": r.until}),
        None => json!({"mode": null, "retainUntilTimestamp": null}),
    };
    Ok(json(
        json!({"fileId": o.version_id, "fileName": o.key, "fileRetention": value}),
    ))
}

/// `b2_update_file_legal_hold`.
pub(crate) async fn update_legal_hold(call: &Call<'_>, args: Value) -> B2Result<Response<Body>> {
    let me = call.account()?;
    let (o, _) = named_version(call, &args, &me, Action::PutObjectLegalHold)?;
    let on = match args.get("legalHold") {
        Some(Value::String(s)) => parse_legal_hold(s)?,
        _ => return Err(B2Error::bad_request("required field legalHold is missing")),
    };
    let store = call.store.clone();
    let which = pier_store::VersionRef::Id(o.version_id.clone());
    let (bucket_id, key) = (o.bucket_id.clone(), o.key.clone());
    tokio::task::spawn_blocking(move || store.set_legal_hold(&bucket_id, &key, Some(&which), on))
        .await
        .map_err(blocking_err)??;
    Ok(json(json!({
        "fileId": o.version_id,
        "fileName": o.key,
        "legalHold": if on { "on" } else { "off" },
    })))
}
