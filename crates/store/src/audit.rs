//! The audit log's model (`docs/design.md`, "Audit log"): who changed a key, an account's
//! caps or a bucket's settings, what it was before and after, when and from where.

use crate::Millis;

/// Who makes a change, and through what: recorded with the change, in its transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// The access key that made it (`None`: the command line, or the store itself).
    pub key_id: Option<String>,
    /// That key's account.
    pub account: Option<String>,
    /// What made it: the S3 operation (`s3:PutBucketPolicy`), the B2 call (`b2_update_bucket`),
    /// the console action (`console:caps`) or the command (`cli:caps set`).
    pub action: String,
    /// The client's address, when it came over the network.
    pub remote_addr: Option<String>,
}

impl Actor {
    /// A change made through `action` by no key (the command line).
    pub fn new(action: impl Into<String>) -> Actor {
        Actor {
            action: action.into(),
            ..Actor::default()
        }
    }

    /// A change through the store's API with no actor named: recorded as `store`.
    pub fn unattributed() -> Actor {
        Actor::new("store")
    }

    /// The same, made by `key_id` of `account`.
    pub fn by(mut self, key_id: impl Into<String>, account: impl Into<String>) -> Actor {
        self.key_id = Some(key_id.into());
        self.account = Some(account.into());
        self
    }

    /// The same, from `addr`.
    pub fn from_addr(mut self, addr: Option<impl ToString>) -> Actor {
        self.remote_addr = addr.map(|a| a.to_string());
        self
    }
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Its place in the log (increasing).
    pub n: i64,
    /// When it was committed.
    pub time: Millis,
    /// Who and through what.
    pub actor: Actor,
    /// The bucket changed (its name), if a bucket's settings or caps were.
    pub bucket: Option<String>,
    /// The account whose thing changed: the bucket's owner, the key's account, the caps'.
    pub owner: Option<String>,
    /// What changed (`bucket`, `key`, `caps`).
    pub target: String,
    /// Its settings before (only those that changed; `null` when it was made).
    pub before: serde_json::Value,
    /// After (`null` when it was removed).
    pub after: serde_json::Value,
}

/// Which entries to read: newest first, optionally of one bucket (by name) or one account
/// (made by it, or changing what it owns).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only changes to this bucket.
    pub bucket: Option<String>,
    /// Only changes made by this account or to what it owns.
    pub account: Option<String>,
    /// Only entries older than this `n` (for paging; `None`: from the newest).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: usize,
}
