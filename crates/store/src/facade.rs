//! [`Store`](crate::Store)'s operations, one file per kind of thing stored.

mod acting;
pub use acting::Acting;
mod buckets;
mod encryption;
pub use encryption::{same_encryption, Encrypt, DEFAULT_KMS_KEY};
mod events;
mod keys;
mod objects;
mod uploads;
mod usage;
