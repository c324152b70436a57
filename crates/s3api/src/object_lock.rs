//! S3 object lock: the bucket's configuration (Put/GetObjectLockConfiguration), a version's
//! retention (Put/GetObjectRetention) and legal hold (Put/GetObjectLegalHold), and the
//! `x-amz-object-lock-*` headers of uploads and reads. The rules themselves are the store's
//! (`pier_store::lock`); this module translates S3's words and validates them as AWS does.

use crate::convert::timestamp;
use crate::error::{blocking, s3_error};
use crate::versions::parse_version;
use pier_store::{
    DefaultRetention, LockMode, LockPeriod, Millis, Object, ObjectLock, Retention, Store,
};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};

fn invalid_period(message: &str) -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidRetentionPeriod".into()),
        message.to_owned(),
    );
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

/// A mode as S3 spells it (upper case only, as AWS accepts); anything else is `MalformedXML`.
fn mode_of(mode: &str) -> S3Result<LockMode> {
    match mode {
        ObjectLockRetentionMode::GOVERNANCE => Ok(LockMode::Governance),
        ObjectLockRetentionMode::COMPLIANCE => Ok(LockMode::Compliance),
        other => Err(s3_error!(
            MalformedXML,
            "The retention mode must be GOVERNANCE or COMPLIANCE, not {other:?}."
        )),
    }
}

fn mode_name(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Governance => ObjectLockRetentionMode::GOVERNANCE,
        LockMode::Compliance => ObjectLockRetentionMode::COMPLIANCE,
    }
}

fn millis_of(t: &Timestamp) -> Millis {
    let odt: time::OffsetDateTime = t.clone().into();
    (odt.unix_timestamp_nanos() / 1_000_000) as Millis
}

fn legal_hold_of(status: &str) -> S3Result<bool> {
    match status {
        ObjectLockLegalHoldStatus::ON => Ok(true),
        ObjectLockLegalHoldStatus::OFF => Ok(false),
        other => Err(s3_error!(
            MalformedXML,
            "The legal hold status must be ON or OFF, not {other:?}."
        )),
    }
}

/// The lock an upload asks for with `x-amz-object-lock-mode`, `-retain-until-date` and
/// `-legal-hold` (PUT, copy, CreateMultipartUpload): mode and date come together, and the date is
/// in the future, as AWS requires.
pub fn upload_lock(
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    legal_hold: Option<&ObjectLockLegalHoldStatus>,
) -> S3Result<(Option<Retention>, bool)> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(mode), Some(until)) => {
            let mode = match mode.as_str() {
                ObjectLockMode::GOVERNANCE => LockMode::Governance,
                ObjectLockMode::COMPLIANCE => LockMode::Compliance,
                other => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Unknown wormMode directive {other:?}."
                    ))
                }
            };
            let until = millis_of(until);
            if until <= pier_store::now_millis() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            Some(Retention { mode, until })
        }
        _ => {
            return Err(s3_error!(
            InvalidArgument,
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
        ))
        }
    };
    let hold = match legal_hold {
        None => false,
        Some(s) => match s.as_str() {
            ObjectLockLegalHoldStatus::ON => true,
            ObjectLockLegalHoldStatus::OFF => false,
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Legal Hold must be either of 'ON' or 'OFF', not {other:?}"
                ))
            }
        },
    };
    Ok((retention, hold))
}

/// The `x-amz-object-lock-*` response headers of a version (HEAD, GET): mode, retain-until date
/// and legal hold status, each when set.
pub fn lock_headers(
    o: &Object,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let retention = o.meta.retention;
    (
        retention.map(|r| ObjectLockMode::from(mode_name(r.mode).to_owned())),
        retention.map(|r| timestamp(r.until)),
        o.meta
            .legal_hold
            .then(|| ObjectLockLegalHoldStatus::from(ObjectLockLegalHoldStatus::ON.to_owned())),
    )
}

/// The store's object lock setting of an S3 configuration, validated as AWS does.
fn parse_configuration(c: ObjectLockConfiguration) -> S3Result<ObjectLock> {
    if c.object_lock_enabled.as_ref().map(|e| e.as_str()) != Some(ObjectLockEnabled::ENABLED) {
        return Err(s3_error!(
            MalformedXML,
            "ObjectLockEnabled must be Enabled (object lock cannot be turned off)."
        ));
    }
    let Some(d) = c.rule.and_then(|r| r.default_retention) else {
        return Ok(ObjectLock { default: None });
    };
    let mode = match &d.mode {
        Some(m) => mode_of(m.as_str())?,
        None => return Err(s3_error!(MalformedXML, "A DefaultRetention needs a Mode.")),
    };
    let period = match (d.days, d.years) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(s3_error!(
                MalformedXML,
                "A DefaultRetention takes exactly one of Days and Years."
            ))
        }
        (Some(days), None) => {
            let days = u32::try_from(days)
                .ok()
                .filter(|d| (1..=36_500).contains(d))
                .ok_or_else(|| invalid_period("Days must be a positive integer up to 36500."))?;
            LockPeriod::Days(days)
        }
        (None, Some(years)) => {
            let years = u32::try_from(years)
                .ok()
                .filter(|y| (1..=100).contains(y))
                .ok_or_else(|| invalid_period("Years must be a positive integer up to 100."))?;
            LockPeriod::Years(years)
        }
    };
    Ok(ObjectLock {
        default: Some(DefaultRetention { mode, period }),
    })
}

pub async fn put_configuration(
    store: &Store,
    actor: pier_store::Actor,
    input: PutObjectLockConfigurationInput,
) -> S3Result<PutObjectLockConfigurationOutput> {
    let config = input
        .object_lock_configuration
        .ok_or_else(|| s3_error!(MalformedXML, "An ObjectLockConfiguration is required."))?;
    let lock = parse_configuration(config)?;
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, object_lock: Some(lock));
    Ok(PutObjectLockConfigurationOutput::default())
}

pub fn get_configuration(
    store: &Store,
    input: GetObjectLockConfigurationInput,
) -> S3Result<GetObjectLockConfigurationOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let Some(lock) = bucket.object_lock else {
        return Err(s3_error!(
            ObjectLockConfigurationNotFoundError,
            "Object Lock configuration does not exist for this bucket"
        ));
    };
    let rule = lock.default.map(|d| ObjectLockRule {
        default_retention: Some(s3s::dto::DefaultRetention {
            mode: Some(ObjectLockRetentionMode::from(mode_name(d.mode).to_owned())),
            days: match d.period {
                LockPeriod::Days(n) => i32::try_from(n).ok(),
                LockPeriod::Years(_) => None,
            },
            years: match d.period {
                LockPeriod::Years(n) => i32::try_from(n).ok(),
                LockPeriod::Days(_) => None,
            },
        }),
    });
    Ok(GetObjectLockConfigurationOutput {
        object_lock_configuration: Some(ObjectLockConfiguration {
            object_lock_enabled: Some(ObjectLockEnabled::from(
                ObjectLockEnabled::ENABLED.to_owned(),
            )),
            rule,
        }),
    })
}

fn version_of(version_id: Option<&str>) -> S3Result<Option<pier_store::VersionRef>> {
    version_id.map(parse_version).transpose()
}

/// The version a retention or legal hold request names, read for a GET; `InvalidRequest` when
/// the bucket has no object lock.
fn locked_version(
    store: &Store,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<Object> {
    let bucket = store.bucket(bucket).map_err(s3_error)?;
    if bucket.object_lock.is_none() {
        return Err(s3_error(pier_store::StoreError::LockNotEnabled));
    }
    let found = match version_of(version_id)? {
        None => store.object(&bucket.id, key),
        Some(w) => store.version(&bucket.id, key, &w),
    }
    .map_err(s3_error)?;
    if found.marker {
        return Err(s3_error!(
            MethodNotAllowed,
            "The specified method is not allowed against a delete marker."
        ));
    }
    Ok(found)
}

pub async fn put_retention(
    store: &Store,
    input: PutObjectRetentionInput,
) -> S3Result<PutObjectRetentionOutput> {
    let retention = match input.retention {
        None => None,
        Some(r) => match (r.mode, r.retain_until_date) {
            (None, None) => None,
            (Some(mode), Some(until)) => Some(Retention {
                mode: mode_of(mode.as_str())?,
                until: millis_of(&until),
            }),
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "A Retention needs both Mode and RetainUntilDate."
                ))
            }
        },
    };
    let bypass = input.bypass_governance_retention == Some(true);
    let which = version_of(input.version_id.as_deref())?;
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let (store, key) = (store.clone(), input.key);
    blocking(move || {
        Ok(store.set_retention(&bucket.id, &key, which.as_ref(), retention, bypass)?)
    })
    .await?;
    Ok(PutObjectRetentionOutput::default())
}

pub fn get_retention(
    store: &Store,
    input: GetObjectRetentionInput,
) -> S3Result<GetObjectRetentionOutput> {
    let version = input.version_id.as_deref();
    let found = locked_version(store, &input.bucket, &input.key, version)?;
    let Some(r) = found.meta.retention else {
        return Err(s3_error!(
            NoSuchObjectLockConfiguration,
            "The specified object does not have a ObjectLock configuration"
        ));
    };
    Ok(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from(mode_name(r.mode).to_owned())),
            retain_until_date: Some(timestamp(r.until)),
        }),
    })
}

pub async fn put_legal_hold(
    store: &Store,
    input: PutObjectLegalHoldInput,
) -> S3Result<PutObjectLegalHoldOutput> {
    let status = input
        .legal_hold
        .and_then(|h| h.status)
        .ok_or_else(|| s3_error!(MalformedXML, "A LegalHold needs a Status."))?;
    let on = legal_hold_of(status.as_str())?;
    let which = version_of(input.version_id.as_deref())?;
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let (store, key) = (store.clone(), input.key);
    blocking(move || Ok(store.set_legal_hold(&bucket.id, &key, which.as_ref(), on)?)).await?;
    Ok(PutObjectLegalHoldOutput::default())
}

pub fn get_legal_hold(
    store: &Store,
    input: GetObjectLegalHoldInput,
) -> S3Result<GetObjectLegalHoldOutput> {
    let version = input.version_id.as_deref();
    let found = locked_version(store, &input.bucket, &input.key, version)?;
    let status = if found.meta.legal_hold {
        ObjectLockLegalHoldStatus::ON
    } else {
        ObjectLockLegalHoldStatus::OFF
    };
    Ok(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(ObjectLockLegalHoldStatus::from(status.to_owned())),
        }),
    })
}
