//! [`Store`](crate::Store)'s operations, one file per kind of thing stored.

mod buckets;
mod encryption;
pub use encryption::{same_encryption, Encrypt};
mod events;
mod keys;
mod objects;
mod uploads;
