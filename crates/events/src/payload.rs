//! What a delivery carries: B2's `{"events": [...]}` body and its HMAC-SHA256 signature, or
//! S3's event message (`{"Records": [...]}`) for rules made through the S3 API.

use crate::kind::EventKind;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The header carrying the signature (`v1=<hex>`).
pub const SIGNATURE_HEADER: &str = "x-bz-event-notification-signature";

/// One recorded event, as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unique and time-ordered: the receiver's de-duplication key.
    pub id: String,
    /// The bucket's id.
    pub bucket_id: String,
    /// The rule it was recorded for.
    pub rule: String,
    /// The object's name.
    pub key: String,
    /// The version (or marker) the change made or removed; empty for the test event.
    pub version_id: String,
    /// What happened.
    pub kind: EventKind,
    /// The version's size (0 for markers).
    pub size: u64,
    /// The version's ETag, without quotes (empty for markers and removals).
    pub etag: String,
    /// Increases with every change of the key (its history's sequence number).
    pub sequencer: i64,
    /// When it happened, in Unix milliseconds.
    pub at_ms: i64,
}

/// The bucket an event is delivered for, as its payload names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketFacts {
    /// The bucket's name.
    pub name: String,
    /// Its owner's account id.
    pub account_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct B2Event<'a> {
    account_id: &'a str,
    bucket_id: &'a str,
    bucket_name: &'a str,
    event_id: &'a str,
    event_timestamp: i64,
    event_type: &'static str,
    event_version: u32,
    matched_rule_name: &'a str,
    object_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_version_id: Option<&'a str>,
}

#[derive(Serialize)]
struct B2Body<'a> {
    events: Vec<B2Event<'a>>,
}

/// The JSON body of one delivery of `events` (all of one bucket and rule), in B2's form.
pub fn b2_body(bucket: &BucketFacts, events: &[Event]) -> Vec<u8> {
    let body = B2Body {
        events: events
            .iter()
            .map(|e| B2Event {
                account_id: &bucket.account_id,
                bucket_id: &e.bucket_id,
                bucket_name: &bucket.name,
                event_id: &e.id,
                event_timestamp: e.at_ms,
                event_type: e.kind.b2_name(),
                event_version: 1,
                matched_rule_name: &e.rule,
                object_name: &e.key,
                object_size: matches!(
                    e.kind,
                    EventKind::Upload
                        | EventKind::Post
                        | EventKind::MultipartUpload
                        | EventKind::Copy
                )
                .then_some(e.size),
                object_version_id: (!e.version_id.is_empty()).then_some(e.version_id.as_str()),
            })
            .collect(),
    };
    serde_json::to_vec(&body).expect("events serialize")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Record<'a> {
    event_version: &'static str,
    event_source: &'static str,
    aws_region: &'a str,
    event_time: String,
    event_name: &'static str,
    user_identity: Principal<'a>,
    request_parameters: serde_json::Value,
    response_elements: serde_json::Value,
    s3: S3Entity<'a>,
    /// Ceph's addition: the receiver's de-duplication key.
    event_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Principal<'a> {
    principal_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Entity<'a> {
    s3_schema_version: &'static str,
    configuration_id: &'a str,
    bucket: S3Bucket<'a>,
    object: S3Object<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Bucket<'a> {
    name: &'a str,
    owner_identity: Principal<'a>,
    arn: String,
    id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct S3Object<'a> {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e_tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<&'a str>,
    sequencer: String,
}

/// A time as S3's records write it: `2026-12-06T07:00:00.123Z`.
fn s3_time(at_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// An object's key as S3's records carry it: URL-encoded as a form value (a space is `+`),
/// with `/` kept, as AWS writes `photos/red+flower.jpg`.
pub fn s3_key(key: &str) -> String {
    key.split('/')
        .map(|part| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

/// The JSON body of one delivery of `events` (all of one bucket and rule) in S3's event message
/// format, as published in `region`.
pub fn s3_body(bucket: &BucketFacts, region: &str, events: &[Event]) -> Vec<u8> {
    let records: Vec<S3Record<'_>> = events
        .iter()
        .map(|e| {
            let created = matches!(
                e.kind,
                EventKind::Upload | EventKind::Post | EventKind::MultipartUpload | EventKind::Copy
            );
            S3Record {
                event_version: "2.2",
                event_source: "aws:s3",
                aws_region: region,
                event_time: s3_time(e.at_ms),
                event_name: e.kind.s3_event_name(),
                user_identity: Principal {
                    principal_id: &bucket.account_id,
                },
                request_parameters: serde_json::json!({ "sourceIPAddress": "" }),
                response_elements: serde_json::json!({ "x-amz-request-id": "", "x-amz-id-2": "" }),
                s3: S3Entity {
                    s3_schema_version: "1.0",
                    configuration_id: &e.rule,
                    bucket: S3Bucket {
                        name: &bucket.name,
                        owner_identity: Principal {
                            principal_id: &bucket.account_id,
                        },
                        arn: format!("arn:aws:s3:::{}", bucket.name),
                        id: &e.bucket_id,
                    },
                    object: S3Object {
                        key: s3_key(&e.key),
                        size: created.then_some(e.size),
                        e_tag: (created && !e.etag.is_empty()).then_some(e.etag.as_str()),
                        version_id: (!e.version_id.is_empty()).then_some(e.version_id.as_str()),
                        sequencer: format!("{:016X}", e.sequencer),
                    },
                },
                event_id: &e.id,
            }
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Records": records })).expect("records serialize")
}

/// The signature header's value for `body` under `secret`: `v1=` and the hex HMAC-SHA256.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event {
            id: "0190aa".into(),
            bucket_id: "b1".into(),
            rule: "uploads".into(),
            key: "photos/cat.jpg".into(),
            version_id: "v1".into(),
            kind,
            size: 42,
            etag: "9b2cf535f27731c974343645a3985328".into(),
            sequencer: 3,
            at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn the_body_has_b2s_fields() {
        let bucket = BucketFacts {
            name: "photos".into(),
            account_id: "acct".into(),
        };
        let body = b2_body(&bucket, &[event(EventKind::Upload), event(EventKind::Hide)]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let first = &v["events"][0];
        assert_eq!(first["eventType"], "b2:ObjectCreated:Upload");
        assert_eq!(first["objectSize"], 42);
        assert_eq!(first["bucketName"], "photos");
        assert_eq!(first["accountId"], "acct");
        assert_eq!(first["eventVersion"], 1);
        assert_eq!(first["matchedRuleName"], "uploads");
        assert_eq!(first["objectVersionId"], "v1");
        assert!(
            v["events"][1].get("objectSize").is_none(),
            "markers have no size"
        );
    }

    #[test]
    fn the_s3_record_has_awss_fields() {
        let bucket = BucketFacts {
            name: "photos".into(),
            account_id: "acct".into(),
        };
        let mut upload = event(EventKind::Upload);
        upload.key = "a b/ü+.jpg".into();
        let body = s3_body(&bucket, "us-east-1", &[upload]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let r = &v["Records"][0];
        assert_eq!(r["eventVersion"], "2.2");
        assert_eq!(r["eventSource"], "aws:s3");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["eventName"], "ObjectCreated:Put");
        assert_eq!(r["eventTime"], "2023-11-14T22:13:20.000Z");
        assert_eq!(r["s3"]["configurationId"], "uploads");
        assert_eq!(r["s3"]["bucket"]["name"], "photos");
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::photos");
        assert_eq!(r["s3"]["object"]["key"], "a+b/%C3%BC%2B.jpg");
        assert_eq!(r["s3"]["object"]["size"], 42);
        assert_eq!(
            r["s3"]["object"]["eTag"],
            "9b2cf535f27731c974343645a3985328"
        );
        assert_eq!(r["s3"]["object"]["versionId"], "v1");
        assert_eq!(r["s3"]["object"]["sequencer"], "0000000000000003");
    }

    #[test]
    fn an_s3_removal_has_no_size_or_etag() {
        let bucket = BucketFacts {
            name: "photos".into(),
            account_id: "acct".into(),
        };
        let body = s3_body(&bucket, "us-east-1", &[event(EventKind::Hide)]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let object = &v["Records"][0]["s3"]["object"];
        assert_eq!(
            v["Records"][0]["eventName"],
            "ObjectRemoved:DeleteMarkerCreated"
        );
        assert!(object.get("size").is_none() && object.get("eTag").is_none());
    }

    #[test]
    fn the_signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "v1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
