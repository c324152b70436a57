//! Percent-encoding, in the sets the APIs define, over the `percent-encoding` crate.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`): SigV4's set.
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// [`UNRESERVED`] but keeping `/`: object keys in paths, S3's `encoding-type=url`, and B2's
/// percent-encoded file names (as b2sdk writes them).
pub const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Encodes `s` with `set`.
pub fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

/// Decodes `%XX` escapes (`+` stays `+`); invalid UTF-8 becomes U+FFFD. For anything stored,
/// use [`decode_utf8`].
pub fn decode_lossy(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// The decoded text was not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotUtf8;

/// Decodes `%XX` escapes (`+` stays `+`), refusing a result that is not UTF-8, so that a name
/// is never stored other than it was sent.
pub fn decode_utf8(s: &str) -> Result<Cow<'_, str>, NotUtf8> {
    percent_decode_str(s).decode_utf8().map_err(|_| NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        assert_eq!(encode("a b/c~d+é", UNRESERVED), "a%20b%2Fc~d%2B%C3%A9");
        assert_eq!(encode("a b/c~d+é", PATH), "a%20b/c~d%2B%C3%A9");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_lossy("a%20b+c%2"), "a b+c%2");
        assert_eq!(decode_lossy("%ff"), "\u{fffd}");
        assert_eq!(decode_utf8("%C3%A9").unwrap(), "é");
        assert_eq!(decode_utf8("%ff"), Err(NotUtf8));
    }
}
