//! The audit log as it is exported (`pier audit`, the console's download): one JSON object per
//! change, with its time in RFC 3339.

use pier_store::AuditEntry;
use serde_json::{json, Value};

/// RFC 3339 (UTC, milliseconds) of a time in milliseconds since the epoch.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// One change as its exported JSON object: `time`, `key_id`, `account`, `action`, `bucket`,
/// `owner`, `target`, `before`, `after`, `remote_addr`.
pub fn json_line(entry: &AuditEntry) -> Value {
    json!({
        "time": rfc3339(entry.time),
        "key_id": entry.actor.key_id,
        "account": entry.actor.account,
        "action": entry.actor.action,
        "bucket": entry.bucket,
        "owner": entry.owner,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "remote_addr": entry.actor.remote_addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_765_000_000_123), "2025-12-06T05:46:40.123Z");
    }
}
