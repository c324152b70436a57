//! What a read works from: an entry and its bytes, from one snapshot (`docs/design.md`,
//! "Reading").

use crate::error::{Result, StoreError};
use crate::types::Object;

/// An entry as a read found it, with the bytes its metadata holds (an inline object's), both
/// from one snapshot: what a GET answers with and streams, without looking the entry up again
/// (`docs/design.md`, "Reading").
#[derive(Clone, Debug)]
pub struct Readable {
    /// The entry (a version, or a marker when the read names one).
    pub object: Object,
    /// The bytes of an inline object; `None` for any other entry.
    pub(crate) inline: Option<bytes::Bytes>,
}

impl Readable {
    /// Pairs an entry with its inline bytes, as a snapshot read them; an inline entry whose bytes
    /// are missing is corrupt.
    pub(crate) fn new(object: Object, inline: Option<Vec<u8>>) -> Result<Readable> {
        let inline = match (object.is_inline(), inline) {
            (true, Some(data)) => Some(bytes::Bytes::from(data)),
            (true, None) => {
                return Err(StoreError::Corrupt(format!(
                    "inline object {} has no bytes",
                    object.version_id
                )))
            }
            (false, _) => None,
        };
        Ok(Readable { object, inline })
    }
}

/// How often a read whose bytes were reclaimed under it reads the metadata again before giving
/// up (`StoreError::Reclaimed`); the API layers loop at most this many times.
pub const READ_ATTEMPTS: usize = 3;
