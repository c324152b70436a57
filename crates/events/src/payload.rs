//! What a delivery carries: B2's `{"events": [...]}` body and its HMAC-SHA256 signature.

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
                    EventKind::Upload | EventKind::MultipartUpload | EventKind::Copy
                )
                .then_some(e.size),
                object_version_id: (!e.version_id.is_empty()).then_some(e.version_id.as_str()),
            })
            .collect(),
    };
    serde_json::to_vec(&body).expect("events serialize")
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
    fn the_signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "v1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
