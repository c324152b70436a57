//! The object-name rules B2 applies to every name it creates, which are also the names every API
//! and tool can carry: the B2 API and the dashboard both create names under them (S3 keeps its
//! own, wider rules, as AWS does).

/// Bucket names S3 may not create: path-style S3 URLs of these would be the B2 API's paths
/// (`/b2api/...`, `/file/...`) on the same port.
pub const RESERVED_BUCKET_NAMES: [&str; 2] = ["b2api", "file"];

/// Why `name` is not a name B2 would create, if it is not: empty or over 1,024 bytes, a control
/// character, a leading or trailing `/` or a `//`, or a `/`-separated part over 250 bytes.
pub fn b2_name_refusal(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 1024 {
        Some("it must be 1 to 1024 bytes of UTF-8")
    } else if name.chars().any(|c| (c as u32) < 32 || c == '\u{7f}') {
        Some("it contains a control character")
    } else if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        Some("it must not start or end with '/' or contain '//'")
    } else if name.split('/').any(|seg| seg.len() > 250) {
        Some("a '/'-separated part is longer than 250 bytes")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::b2_name_refusal;

    #[test]
    fn names_b2_refuses() {
        for bad in [
            "",
            "a\u{1}b",
            "tab\there",
            "del\u{7f}",
            "/lead",
            "trail/",
            "a//b",
        ] {
            assert!(b2_name_refusal(bad).is_some(), "{bad:?}");
        }
        assert!(b2_name_refusal(&"x".repeat(1025)).is_some());
        assert!(b2_name_refusal(&format!("{}/b", "x".repeat(251))).is_some());
        for good in ["a", "photos/cat.jpg", "ünïcode/名前.txt", "a b+c"] {
            assert!(b2_name_refusal(good).is_none(), "{good:?}");
        }
    }
}
