//! B2's capability names: what an application key may do. pier accepts and stores every one B2
//! lists, including those for features it does not have yet (retention, legal hold,
//! encryption, replication, notifications).

use std::fmt;

/// One capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `listKeys`.
    ListKeys,
    /// `writeKeys`.
    WriteKeys,
    /// `deleteKeys`.
    DeleteKeys,
    /// `listBuckets`.
    ListBuckets,
    /// `listAllBucketNames`.
    ListAllBucketNames,
    /// `readBuckets`.
    ReadBuckets,
    /// `writeBuckets`.
    WriteBuckets,
    /// `deleteBuckets`.
    DeleteBuckets,
    /// `readBucketEncryption`.
    ReadBucketEncryption,
    /// `writeBucketEncryption`.
    WriteBucketEncryption,
    /// `readBucketRetentions`.
    ReadBucketRetentions,
    /// `writeBucketRetentions`.
    WriteBucketRetentions,
    /// `readFileRetentions`.
    ReadFileRetentions,
    /// `writeFileRetentions`.
    WriteFileRetentions,
    /// `readFileLegalHolds`.
    ReadFileLegalHolds,
    /// `writeFileLegalHolds`.
    WriteFileLegalHolds,
    /// `readBucketReplications`.
    ReadBucketReplications,
    /// `writeBucketReplications`.
    WriteBucketReplications,
    /// `bypassGovernance`.
    BypassGovernance,
    /// `listFiles`.
    ListFiles,
    /// `readFiles`.
    ReadFiles,
    /// `shareFiles`.
    ShareFiles,
    /// `writeFiles`.
    WriteFiles,
    /// `deleteFiles`.
    DeleteFiles,
    /// `readBucketNotifications`.
    ReadBucketNotifications,
    /// `writeBucketNotifications`.
    WriteBucketNotifications,
}

impl Capability {
    /// Every capability, in B2's order.
    pub const ALL: [Capability; 26] = [
        Capability::ListKeys,
        Capability::WriteKeys,
        Capability::DeleteKeys,
        Capability::ListBuckets,
        Capability::ListAllBucketNames,
        Capability::ReadBuckets,
        Capability::WriteBuckets,
        Capability::DeleteBuckets,
        Capability::ReadBucketEncryption,
        Capability::WriteBucketEncryption,
        Capability::ReadBucketRetentions,
        Capability::WriteBucketRetentions,
        Capability::ReadFileRetentions,
        Capability::WriteFileRetentions,
        Capability::ReadFileLegalHolds,
        Capability::WriteFileLegalHolds,
        Capability::ReadBucketReplications,
        Capability::WriteBucketReplications,
        Capability::BypassGovernance,
        Capability::ListFiles,
        Capability::ReadFiles,
        Capability::ShareFiles,
        Capability::WriteFiles,
        Capability::DeleteFiles,
        Capability::ReadBucketNotifications,
        Capability::WriteBucketNotifications,
    ];

    /// B2's name (`readFiles`, ...).
    pub fn name(self) -> &'static str {
        use Capability::*;
        match self {
            ListKeys => "listKeys",
            WriteKeys => "writeKeys",
            DeleteKeys => "deleteKeys",
            ListBuckets => "listBuckets",
            ListAllBucketNames => "listAllBucketNames",
            ReadBuckets => "readBuckets",
            WriteBuckets => "writeBuckets",
            DeleteBuckets => "deleteBuckets",
            ReadBucketEncryption => "readBucketEncryption",
            WriteBucketEncryption => "writeBucketEncryption",
            ReadBucketRetentions => "readBucketRetentions",
            WriteBucketRetentions => "writeBucketRetentions",
            ReadFileRetentions => "readFileRetentions",
            WriteFileRetentions => "writeFileRetentions",
            ReadFileLegalHolds => "readFileLegalHolds",
            WriteFileLegalHolds => "writeFileLegalHolds",
            ReadBucketReplications => "readBucketReplications",
            WriteBucketReplications => "writeBucketReplications",
            BypassGovernance => "bypassGovernance",
            ListFiles => "listFiles",
            ReadFiles => "readFiles",
            ShareFiles => "shareFiles",
            WriteFiles => "writeFiles",
            DeleteFiles => "deleteFiles",
            ReadBucketNotifications => "readBucketNotifications",
            WriteBucketNotifications => "writeBucketNotifications",
        }
    }

    /// The capability named `name` (B2's exact spelling).
    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (Capability::ALL
            .iter()
            .position(|c| *c == self)
            .expect("listed") as u32)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u32);

impl Capabilities {
    /// Every capability (the admin key's).
    pub fn all() -> Capabilities {
        Capabilities(Capability::ALL.iter().fold(0, |acc, c| acc | c.bit()))
    }

    /// No capability.
    pub fn none() -> Capabilities {
        Capabilities(0)
    }

    /// True when `c` is in the set.
    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    /// The set with `c` added.
    pub fn with(self, c: Capability) -> Capabilities {
        Capabilities(self.0 | c.bit())
    }

    /// True when every capability of `self` is in `other`.
    pub fn is_subset_of(self, other: Capabilities) -> bool {
        self.0 & !other.0 == 0
    }

    /// The members, in B2's order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// The names, in B2's order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Capability::name).collect()
    }

    /// The names as a key's restrictions keep them (owned, in B2's order).
    pub fn owned_names(self) -> Vec<String> {
        self.iter().map(|c| c.name().to_owned()).collect()
    }

    /// Parses names; an unknown name is returned as the error.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Capabilities, String> {
        names
            .into_iter()
            .try_fold(Capabilities::none(), |set, name| {
                Capability::from_name(name.trim())
                    .map(|c| set.with(c))
                    .ok_or_else(|| name.to_owned())
            })
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Capabilities::none(), Capabilities::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Capability::ALL {
            assert_eq!(Capability::from_name(c.name()), Some(c));
        }
        assert_eq!(Capability::from_name("readfiles"), None);
    }

    #[test]
    fn sets() {
        let set = Capabilities::parse(["readFiles", "listFiles"]).unwrap();
        assert!(set.contains(Capability::ReadFiles));
        assert!(!set.contains(Capability::WriteFiles));
        assert_eq!(set.names(), ["listFiles", "readFiles"]);
        assert!(set.is_subset_of(Capabilities::all()));
        assert!(!Capabilities::all().is_subset_of(set));
        assert_eq!(
            Capabilities::parse(["readFiles", "nope"]),
            Err("nope".into())
        );
    }
}
