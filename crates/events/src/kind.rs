//! What happened to an object: one kind per change the store makes, with its B2 name and its S3
//! name (`docs/design.md`, "Events").

use std::fmt;

/// A change to a bucket's objects that notification rules can select.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A version written by a single upload (S3 PUT, B2 upload, the dashboard).
    Upload,
    /// A version written by a browser form upload (S3 POST Object); B2 names it an upload.
    Post,
    /// A version written by completing a multipart (large file) upload.
    MultipartUpload,
    /// A version written by copying a whole object.
    Copy,
    /// A version (or a marker) deleted for good by a client.
    Delete,
    /// A version or a lone marker deleted by a lifecycle rule.
    LifecycleDelete,
    /// A delete (hide) marker added by a client.
    Hide,
    /// A delete (hide) marker added by a lifecycle rule.
    LifecycleHide,
    /// The event sent when a rule is saved, to show its target works.
    Test,
}

/// Every kind, in B2's documentation order (an upload before a form upload, which shares its
/// B2 name).
pub const ALL: [EventKind; 9] = [
    EventKind::Upload,
    EventKind::Post,
    EventKind::MultipartUpload,
    EventKind::Copy,
    EventKind::Delete,
    EventKind::LifecycleDelete,
    EventKind::Hide,
    EventKind::LifecycleHide,
    EventKind::Test,
];

/// B2 event types a rule may name besides the exact ones: its wildcards, and the replication
/// kinds pier never emits (accepted, as B2 accepts them, and never matched).
const B2_ACCEPTED: [&str; 5] = [
    "b2:ObjectCreated:*",
    "b2:ObjectDeleted:*",
    "b2:HideMarkerCreated:*",
    "b2:ObjectCreated:Replica",
    "b2:ObjectCreated:MultipartReplica",
];

impl EventKind {
    /// B2's name (`b2:ObjectCreated:Upload`, ...).
    pub fn b2_name(self) -> &'static str {
        match self {
            EventKind::Upload | EventKind::Post => "b2:ObjectCreated:Upload",
            EventKind::MultipartUpload => "b2:ObjectCreated:MultipartUpload",
            EventKind::Copy => "b2:ObjectCreated:Copy",
            EventKind::Delete => "b2:ObjectDeleted:Delete",
            EventKind::LifecycleDelete => "b2:ObjectDeleted:LifecycleRule",
            EventKind::Hide => "b2:HideMarkerCreated:Hide",
            EventKind::LifecycleHide => "b2:HideMarkerCreated:LifecycleRule",
            EventKind::Test => "b2:TestEvent",
        }
    }

    /// S3's name (`s3:ObjectCreated:Put`, ...), as AWS writes it in `eventName` without the
    /// `s3:` prefix and in notification configurations with it.
    pub fn s3_name(self) -> &'static str {
        match self {
            EventKind::Upload => "s3:ObjectCreated:Put",
            EventKind::Post => "s3:ObjectCreated:Post",
            EventKind::MultipartUpload => "s3:ObjectCreated:CompleteMultipartUpload",
            EventKind::Copy => "s3:ObjectCreated:Copy",
            EventKind::Delete => "s3:ObjectRemoved:Delete",
            EventKind::LifecycleDelete => "s3:LifecycleExpiration:Delete",
            EventKind::Hide => "s3:ObjectRemoved:DeleteMarkerCreated",
            EventKind::LifecycleHide => "s3:LifecycleExpiration:DeleteMarkerCreated",
            EventKind::Test => "s3:TestEvent",
        }
    }

    /// The kind of a B2 name (an upload for `b2:ObjectCreated:Upload`); `None` for anything
    /// else (wildcards included).
    pub fn from_b2_name(name: &str) -> Option<EventKind> {
        ALL.into_iter().find(|k| k.b2_name() == name)
    }

    /// The kind of an S3 name, which names each kind apart (the outbox stores kinds by it);
    /// `None` for anything else.
    pub fn from_s3_name(name: &str) -> Option<EventKind> {
        ALL.into_iter().find(|k| k.s3_name() == name)
    }

    /// True when a rule naming `pattern` (an exact type or a `…:*` wildcard, in B2's names or,
    /// starting `s3:`, in S3's) selects this kind. The test event is never selected by a
    /// pattern: it goes to the rule being saved.
    pub fn matches(self, pattern: &str) -> bool {
        if self == EventKind::Test {
            return false;
        }
        let name = if pattern.starts_with("s3:") {
            self.s3_name()
        } else {
            self.b2_name()
        };
        match pattern.strip_suffix('*') {
            Some(family) => name.starts_with(family),
            None => name == pattern,
        }
    }

    /// True when `pattern` is an event type an S3 notification configuration may name: an exact
    /// S3 name, a family wildcard (`s3:ObjectCreated:*`), or one S3 defines that pier never
    /// emits (accepted, as AWS accepts them, and never matched).
    pub fn is_s3_pattern(pattern: &str) -> bool {
        const S3_ACCEPTED: [&str; 8] = [
            "s3:ObjectCreated:*",
            "s3:ObjectRemoved:*",
            "s3:LifecycleExpiration:*",
            "s3:ObjectRestore:*",
            "s3:ObjectTagging:*",
            "s3:ObjectAcl:Put",
            "s3:Replication:*",
            "s3:ReducedRedundancyLostObject",
        ];
        S3_ACCEPTED.contains(&pattern)
            || ALL
                .into_iter()
                .any(|k| k != EventKind::Test && k.s3_name() == pattern)
    }

    /// S3's `eventName` in a delivered record: the S3 name without its `s3:` prefix.
    pub fn s3_event_name(self) -> &'static str {
        &self.s3_name()[3..]
    }

    /// True when `pattern` is an event type a B2 rule may name.
    pub fn is_b2_pattern(pattern: &str) -> bool {
        B2_ACCEPTED.contains(&pattern)
            || Self::from_b2_name(pattern).is_some_and(|k| k != EventKind::Test)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.b2_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_patterns_select_by_s3_names() {
        assert!(EventKind::Upload.matches("s3:ObjectCreated:*"));
        assert!(EventKind::Upload.matches("s3:ObjectCreated:Put"));
        assert!(!EventKind::Upload.matches("s3:ObjectCreated:Copy"));
        assert!(EventKind::Hide.matches("s3:ObjectRemoved:*"));
        assert!(EventKind::Delete.matches("s3:ObjectRemoved:Delete"));
        assert!(!EventKind::LifecycleDelete.matches("s3:ObjectRemoved:*"));
        assert!(EventKind::LifecycleHide.matches("s3:LifecycleExpiration:*"));
        assert!(EventKind::is_s3_pattern("s3:ObjectCreated:Post"));
        assert!(!EventKind::is_s3_pattern("b2:ObjectCreated:*"));
        assert!(!EventKind::is_s3_pattern("s3:TestEvent"));
        assert_eq!(EventKind::Copy.s3_event_name(), "ObjectCreated:Copy");
    }

    #[test]
    fn names_round_trip() {
        for kind in ALL {
            assert_eq!(EventKind::from_s3_name(kind.s3_name()), Some(kind));
            let b2 = EventKind::from_b2_name(kind.b2_name()).unwrap();
            assert_eq!(b2.b2_name(), kind.b2_name());
            assert!(kind.s3_name().starts_with("s3:"));
        }
    }

    #[test]
    fn wildcards_select_their_family_only() {
        assert!(EventKind::Upload.matches("b2:ObjectCreated:*"));
        assert!(EventKind::Copy.matches("b2:ObjectCreated:*"));
        assert!(!EventKind::Hide.matches("b2:ObjectCreated:*"));
        assert!(EventKind::LifecycleHide.matches("b2:HideMarkerCreated:*"));
        assert!(EventKind::LifecycleDelete.matches("b2:ObjectDeleted:LifecycleRule"));
        assert!(!EventKind::Delete.matches("b2:ObjectDeleted:LifecycleRule"));
        assert!(!EventKind::Test.matches("b2:TestEvent"));
    }

    #[test]
    fn b2_patterns_are_the_documented_ones() {
        assert!(EventKind::is_b2_pattern("b2:ObjectCreated:Replica"));
        assert!(EventKind::is_b2_pattern("b2:HideMarkerCreated:*"));
        assert!(!EventKind::is_b2_pattern("b2:*"));
        assert!(!EventKind::is_b2_pattern("b2:TestEvent"));
        assert!(!EventKind::is_b2_pattern("s3:ObjectCreated:Put"));
    }
}
