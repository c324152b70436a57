//! Put/Get/DeleteBucketLifecycleConfiguration: S3's rules validated as AWS does and stored in
//! the bucket's one rule list (which B2's `lifecycleRules` also edits), and shown back in S3's
//! terms. Every rule B2 writes is expressible here, so S3 never hides one.
//!
//! Filters by prefix, tags and object size are applied by the lifecycle task. What pier cannot
//! do is refused with the reason rather than stored and ignored: transitions (pier has one
//! storage class).

use crate::convert::{timestamp, timestamp_seconds};
use crate::error::s3_error;
use pier_store::{LifecycleRule, Store};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Result};

/// AWS's limit on rules per configuration.
const MAX_RULES: usize = 1000;

fn positive(days: Option<i32>, what: &str) -> S3Result<Option<u32>> {
    match days {
        None => Ok(None),
        Some(d) if d > 0 => Ok(Some(d as u32)),
        Some(_) => Err(S3Error::with_message(
            s3s::S3ErrorCode::InvalidArgument,
            format!("'{what}' must be a positive integer"),
        )),
    }
}

/// What a rule's filter selects: a prefix, tags every version must carry, and size bounds.
struct Selection {
    prefix: String,
    tags: std::collections::BTreeMap<String, String>,
    greater_than: Option<u64>,
    less_than: Option<u64>,
}

fn size_bound(n: Option<i64>, what: &str) -> S3Result<Option<u64>> {
    n.map(|n| {
        u64::try_from(n).map_err(|_| {
            S3Error::with_message(
                s3s::S3ErrorCode::InvalidArgument,
                format!("'{what}' must be a non-negative integer"),
            )
        })
    })
    .transpose()
}

fn tag_pairs<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> S3Result<Vec<(String, String)>> {
    tags.into_iter()
        .map(|t| {
            let key = t
                .key
                .clone()
                .ok_or_else(|| s3_error!(MalformedXML, "A filter Tag needs a Key."))?;
            Ok((key, t.value.clone().unwrap_or_default()))
        })
        .collect()
}

fn selection_of(rule: &s3s::dto::LifecycleRule) -> S3Result<Selection> {
    let Some(filter) = &rule.filter else {
        return Ok(Selection {
            prefix: rule.prefix.clone().unwrap_or_default(),
            tags: Default::default(),
            greater_than: None,
            less_than: None,
        });
    };
    if rule.prefix.is_some() {
        return Err(s3_error!(
            MalformedXML,
            "A rule cannot have both a Prefix and a Filter."
        ));
    }
    let (prefix, tags, gt, lt) = match &filter.and {
        None => (
            filter.prefix.clone(),
            tag_pairs(filter.tag.iter())?,
            filter.object_size_greater_than,
            filter.object_size_less_than,
        ),
        Some(and) => {
            let stray = filter.prefix.is_some()
                || filter.tag.is_some()
                || filter.object_size_greater_than.is_some()
                || filter.object_size_less_than.is_some();
            if stray {
                return Err(s3_error!(
                    MalformedXML,
                    "A Filter with And holds its conditions inside the And."
                ));
            }
            (
                and.prefix.clone(),
                tag_pairs(and.tags.iter().flatten())?,
                and.object_size_greater_than,
                and.object_size_less_than,
            )
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    if tags.iter().any(|(k, _)| !seen.insert(k.clone())) {
        return Err(s3_error!(
            InvalidArgument,
            "Duplicate Tag Keys are not allowed."
        ));
    }
    let tags = crate::tagging::validate(tags, crate::tagging::MAX_OBJECT_TAGS)?;
    let greater_than = size_bound(gt, "ObjectSizeGreaterThan")?;
    let less_than = size_bound(lt, "ObjectSizeLessThan")?;
    if let (Some(g), Some(l)) = (greater_than, less_than) {
        if g >= l {
            return Err(s3_error!(
                InvalidArgument,
                "ObjectSizeGreaterThan must be less than ObjectSizeLessThan."
            ));
        }
    }
    Ok(Selection {
        prefix: prefix.unwrap_or_default(),
        tags,
        greater_than,
        less_than,
    })
}

/// One S3 rule in the store's terms, validated as AWS does.
fn rule_of(rule: &s3s::dto::LifecycleRule) -> S3Result<LifecycleRule> {
    if let Some(id) = &rule.id {
        if id.len() > 255 {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
    }
    let enabled = match rule.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "A rule's Status must be Enabled or Disabled."
            ))
        }
    };
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || rule
            .noncurrent_version_transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(
            InvalidRequest,
            "Transitions are not available: pier has one storage class."
        ));
    }
    let selection = selection_of(rule)?;
    let mut out = LifecycleRule {
        // A rule without an ID gets one, as S3 gives it, kept so that it reads the same later.
        id: Some(rule.id.clone().unwrap_or_else(new_rule_id)),
        enabled,
        prefix_outside_filter: rule.filter.is_none() && rule.prefix.is_some(),
        prefix: selection.prefix,
        tags: selection.tags,
        size_greater_than: selection.greater_than,
        size_less_than: selection.less_than,
        ..Default::default()
    };
    if let Some(e) = &rule.expiration {
        let marker = e.expired_object_delete_marker == Some(true);
        let given = [
            e.days.is_some(),
            e.date.is_some(),
            e.expired_object_delete_marker.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(s3_error!(
                MalformedXML,
                "Expiration takes exactly one of Days, Date or ExpiredObjectDeleteMarker."
            ));
        }
        out.expire_days = positive(e.days, "Days' for Expiration action")?;
        if let Some(date) = &e.date {
            let secs = timestamp_seconds(date);
            if secs % 86_400 != 0 {
                return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
            }
            out.expire_at = Some(secs * 1000);
        }
        // AWS removes expired delete markers under an Expiration with Days too.
        out.expired_markers = marker || out.expire_days.is_some();
    }
    if let Some(n) = &rule.noncurrent_version_expiration {
        out.noncurrent_days = positive(n.noncurrent_days, "NoncurrentDays")?;
        if out.noncurrent_days.is_none() {
            return Err(s3_error!(
                MalformedXML,
                "NoncurrentVersionExpiration needs NoncurrentDays."
            ));
        }
        out.keep_noncurrent = match n.newer_noncurrent_versions {
            None => None,
            Some(k @ 1..=100) => Some(k as u32),
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "NewerNoncurrentVersions must be between 1 and 100"
                ))
            }
        };
    }
    if let Some(a) = &rule.abort_incomplete_multipart_upload {
        out.abort_uploads_days = positive(a.days_after_initiation, "DaysAfterInitiation")?;
        if out.abort_uploads_days.is_none() {
            return Err(s3_error!(
                MalformedXML,
                "AbortIncompleteMultipartUpload needs DaysAfterInitiation."
            ));
        }
    }
    let filtered =
        !out.tags.is_empty() || out.size_greater_than.is_some() || out.size_less_than.is_some();
    let explicit_marker = rule
        .expiration
        .as_ref()
        .is_some_and(|e| e.expired_object_delete_marker == Some(true));
    if filtered && explicit_marker {
        return Err(s3_error!(
            InvalidArgument,
            "ExpiredObjectDeleteMarker cannot be specified with Tag or object size filters."
        ));
    }
    if filtered && out.abort_uploads_days.is_some() {
        return Err(s3_error!(
            InvalidRequest,
            "AbortIncompleteMultipartUpload cannot be specified with Tags or object size filters."
        ));
    }
    let acts = out.expire_days.is_some()
        || out.expire_at.is_some()
        || out.expired_markers
        || out.noncurrent_days.is_some()
        || out.abort_uploads_days.is_some();
    if !acts {
        return Err(s3_error!(
            InvalidRequest,
            "At least one action needs to be specified in a rule"
        ));
    }
    Ok(out)
}

/// The rules of a configuration, validated as a whole (count, unique IDs).
pub fn rules_of(config: &BucketLifecycleConfiguration) -> S3Result<Vec<LifecycleRule>> {
    if config.rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "A configuration needs at least one rule."
        ));
    }
    if config.rules.len() > MAX_RULES {
        return Err(s3_error!(
            InvalidRequest,
            "A configuration can have at most 1000 rules."
        ));
    }
    let rules = config
        .rules
        .iter()
        .map(rule_of)
        .collect::<S3Result<Vec<_>>>()?;
    for (i, r) in rules.iter().enumerate() {
        if let Some(id) = &r.id {
            if rules[..i].iter().any(|o| o.id.as_ref() == Some(id)) {
                return Err(s3_error!(
                    InvalidArgument,
                    "Rule ID must be unique. Found same ID for more than one rule"
                ));
            }
        }
    }
    Ok(rules)
}

/// A rule's filter as S3 writes it: a bare prefix, a single tag or size bound, or an `And`.
fn filter_view(rule: &LifecycleRule) -> LifecycleRuleFilter {
    let filtered =
        !rule.tags.is_empty() || rule.size_greater_than.is_some() || rule.size_less_than.is_some();
    if !filtered {
        return LifecycleRuleFilter {
            prefix: Some(rule.prefix.clone()),
            ..Default::default()
        };
    }
    let tags: Vec<Tag> = rule
        .tags
        .iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect();
    let conditions = usize::from(!rule.prefix.is_empty())
        + tags.len()
        + usize::from(rule.size_greater_than.is_some())
        + usize::from(rule.size_less_than.is_some());
    let gt = rule.size_greater_than.map(|n| n as i64);
    let lt = rule.size_less_than.map(|n| n as i64);
    if conditions == 1 {
        return LifecycleRuleFilter {
            tag: tags.into_iter().next(),
            object_size_greater_than: gt,
            object_size_less_than: lt,
            ..Default::default()
        };
    }
    LifecycleRuleFilter {
        and: Some(LifecycleRuleAndOperator {
            prefix: (!rule.prefix.is_empty()).then(|| rule.prefix.clone()),
            tags: (!tags.is_empty()).then_some(tags),
            object_size_greater_than: gt,
            object_size_less_than: lt,
        }),
        ..Default::default()
    }
}

/// A stored rule in S3's terms.
fn view(rule: &LifecycleRule) -> s3s::dto::LifecycleRule {
    let timed = rule.expire_days.is_some() || rule.expire_at.is_some();
    let expiration = (timed || rule.expired_markers).then(|| LifecycleExpiration {
        days: rule.expire_days.map(|d| d as i32),
        date: rule.expire_at.map(timestamp),
        expired_object_delete_marker: (!timed && rule.expired_markers).then_some(true),
    });
    s3s::dto::LifecycleRule {
        id: rule.id.clone(),
        status: ExpirationStatus::from_static(if rule.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        filter: (!rule.prefix_outside_filter).then(|| filter_view(rule)),
        expiration,
        noncurrent_version_expiration: rule.noncurrent_days.map(|d| NoncurrentVersionExpiration {
            noncurrent_days: Some(d as i32),
            newer_noncurrent_versions: rule.keep_noncurrent.map(|k| k as i32),
        }),
        abort_incomplete_multipart_upload: rule.abort_uploads_days.map(|d| {
            AbortIncompleteMultipartUpload {
                days_after_initiation: Some(d as i32),
            }
        }),
        noncurrent_version_transitions: None,
        prefix: rule.prefix_outside_filter.then(|| rule.prefix.clone()),
        transitions: None,
    }
}

/// An ID for a rule given without one: 20 characters, like S3's.
fn new_rule_id() -> String {
    let mut bytes = [0u8; 15];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn put(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketLifecycleConfigurationInput,
) -> S3Result<PutBucketLifecycleConfigurationOutput> {
    let config = input
        .lifecycle_configuration
        .ok_or_else(|| s3_error!(MalformedXML, "The lifecycle configuration is missing."))?;
    let rules = rules_of(&config)?;
    let bucket = input.bucket;
    crate::error::change_bucket!(store, actor.clone(), &bucket, lifecycle: Some(rules));
    Ok(PutBucketLifecycleConfigurationOutput::default())
}

pub fn get(
    store: &Store,
    input: GetBucketLifecycleConfigurationInput,
) -> S3Result<GetBucketLifecycleConfigurationOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    if bucket.lifecycle.is_empty() {
        return Err(s3_error!(
            NoSuchLifecycleConfiguration,
            "The lifecycle configuration does not exist"
        ));
    }
    Ok(GetBucketLifecycleConfigurationOutput {
        rules: Some(bucket.lifecycle.iter().map(view).collect()),
        ..Default::default()
    })
}

pub async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketLifecycleInput,
) -> S3Result<DeleteBucketLifecycleOutput> {
    let bucket = input.bucket;
    crate::error::change_bucket!(store, actor.clone(), &bucket, lifecycle: Some(Vec::new()));
    Ok(DeleteBucketLifecycleOutput::default())
}

/// S3's `x-amz-expiration` for `object` in `bucket`: when the earliest enabled rule that takes it
/// expires it, and that rule's ID (`expiry-date="Fri, 23 Dec 2012 00:00:00 GMT",
/// rule-id="logs"`). Only for the key's current version; `None` when no rule expires it.
pub fn expiration_header(
    bucket: &pier_store::Bucket,
    object: &pier_store::Object,
) -> Option<String> {
    if !object.is_current() {
        return None;
    }
    let (at, rule) = bucket
        .lifecycle
        .iter()
        .filter_map(|r| r.expires(object).map(|at| (at, r)))
        .min_by_key(|(at, _)| *at)?;
    let date = crate::convert::http_date(&crate::convert::timestamp(at))?;
    Some(format!(
        "expiry-date=\"{date}\", rule-id=\"{}\"",
        rule.id.as_deref().unwrap_or("")
    ))
}
