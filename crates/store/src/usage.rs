//! What buckets and accounts hold, and the caps on it (`docs/design.md`, "Usage and caps").

use std::fmt;

/// What a bucket (or an account, summed over its buckets) holds, as the store's counters have it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Current versions.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Every stored version, current or not (markers are not counted).
    pub versions: u64,
    /// Their bytes.
    pub version_bytes: u64,
    /// Unfinished multipart uploads.
    pub uploads: u64,
    /// The bytes of their parts.
    pub part_bytes: u64,
}

impl Usage {
    /// The bytes a storage cap counts: every version's and every unfinished upload's parts'.
    pub fn storage(&self) -> u64 {
        self.version_bytes + self.part_bytes
    }

    /// The sum of two usages (an account's, from its buckets').
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            objects: self.objects + other.objects,
            bytes: self.bytes + other.bytes,
            versions: self.versions + other.versions,
            version_bytes: self.version_bytes + other.version_bytes,
            uploads: self.uploads + other.uploads,
            part_bytes: self.part_bytes + other.part_bytes,
        }
    }
}

/// What a cap applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CapScope {
    /// Every bucket an account owns, by the account's id.
    Account(String),
    /// One bucket, by its id (a bucket of the same name made later has its own caps).
    Bucket(String),
}

impl CapScope {
    /// The scope as stored: `account:ID` or `bucket:ID`.
    pub fn key(&self) -> String {
        match self {
            CapScope::Account(id) => format!("account:{id}"),
            CapScope::Bucket(id) => format!("bucket:{id}"),
        }
    }

    /// Reads a stored scope; `None` for one that is neither form.
    pub fn parse(key: &str) -> Option<CapScope> {
        if let Some(id) = key.strip_prefix("account:") {
            Some(CapScope::Account(id.to_owned()))
        } else {
            key.strip_prefix("bucket:")
                .map(|id| CapScope::Bucket(id.to_owned()))
        }
    }
}

impl fmt::Display for CapScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapScope::Account(id) => write!(f, "account {id}"),
            CapScope::Bucket(id) => write!(f, "bucket {id}"),
        }
    }
}

/// The caps of one scope; `None` is no cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// Most bytes stored ([`Usage::storage`]).
    pub storage: Option<u64>,
    /// Most versions stored ([`Usage::versions`]).
    pub objects: Option<u64>,
    /// Most requests per UTC day.
    pub transactions_per_day: Option<u64>,
}

impl Caps {
    /// True when no cap is set.
    pub fn is_empty(&self) -> bool {
        self.storage.is_none() && self.objects.is_none() && self.transactions_per_day.is_none()
    }
}

/// The daily transaction caps in force, by account id and by bucket id (read together, so a
/// request to a bucket without one costs a lookup, never an allocation or a metadata read).
#[derive(Clone, Debug, Default)]
pub(crate) struct TransactionCaps {
    accounts: std::collections::HashMap<String, u64>,
    buckets: std::collections::HashMap<String, u64>,
}

impl TransactionCaps {
    /// The transaction caps among `all`.
    pub(crate) fn of(all: Vec<(CapScope, Caps)>) -> TransactionCaps {
        let mut caps = TransactionCaps::default();
        for (scope, c) in all {
            let Some(limit) = c.transactions_per_day else {
                continue;
            };
            match scope {
                CapScope::Account(id) => caps.accounts.insert(id, limit),
                CapScope::Bucket(id) => caps.buckets.insert(id, limit),
            };
        }
        caps
    }

    /// True when no transaction cap is set anywhere.
    pub(crate) fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.buckets.is_empty()
    }

    /// The bucket's own cap, if it has one.
    pub(crate) fn bucket(&self, id: &str) -> Option<u64> {
        self.buckets.get(id).copied()
    }

    /// The account's cap, if it has one.
    pub(crate) fn account(&self, id: &str) -> Option<u64> {
        self.accounts.get(id).copied()
    }
}

/// Which cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapKind {
    /// The storage cap (bytes).
    Storage,
    /// The object cap (versions).
    Objects,
    /// The daily transaction cap.
    Transactions,
}

/// A write or request refused because it would pass a cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapExceeded {
    /// Which cap.
    pub kind: CapKind,
    /// Whose.
    pub scope: CapScope,
    /// The scope as people name it: the account's id, or the bucket's name.
    pub name: String,
    /// Its limit.
    pub limit: u64,
}

impl fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = match self.scope {
            CapScope::Account(_) => "account",
            CapScope::Bucket(_) => "bucket",
        };
        let (cap, unit) = match self.kind {
            CapKind::Storage => ("storage cap", "bytes"),
            CapKind::Objects => ("object cap", "objects"),
            CapKind::Transactions => ("daily transaction cap", "requests"),
        };
        write!(
            f,
            "the {cap} of {whose} {} ({} {unit}) is reached",
            self.name, self.limit
        )
    }
}

impl std::error::Error for CapExceeded {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_reads_back_as_stored() {
        for scope in [
            CapScope::Account("pier".into()),
            CapScope::Bucket("0193".into()),
        ] {
            assert_eq!(CapScope::parse(&scope.key()), Some(scope));
        }
        assert_eq!(CapScope::parse("other:x"), None);
    }

    #[test]
    fn storage_counts_every_version_and_the_parts() {
        let u = Usage {
            bytes: 1,
            version_bytes: 10,
            part_bytes: 5,
            ..Usage::default()
        };
        assert_eq!(u.storage(), 15);
    }
}
