//! Changes made by someone: an [`Acting`] store records who (key, account, address) and through
//! what (an S3 operation, a B2 call, a console action, a command) with each change to buckets,
//! keys and caps, in the change's transaction (`docs/design.md`, "Audit log"); and the log read
//! back.

use crate::{Actor, AuditEntry, AuditQuery, StorageError, Store};

/// The store, changing buckets, keys and caps on behalf of an [`Actor`]: every change it makes
/// is recorded in the audit log with its actor, before and after, in the same transaction.
#[derive(Debug)]
pub struct Acting<'a> {
    pub(crate) store: &'a Store,
    pub(crate) actor: Actor,
}

/// Declares `Store` methods that change something as no one in particular: each calls the
/// [`Acting`] method of the same name and arguments as [`Actor::unattributed`].
macro_rules! unattributed {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl crate::Store {
            $(
                #[doc = concat!(
                    "[`Acting::", stringify!($name), "`](crate::Acting::", stringify!($name),
                    "), recorded as made by no one in particular."
                )]
                pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.acting(crate::Actor::unattributed()).$name($($arg),*)
                }
            )*
        }
    };
}
pub(super) use unattributed;

impl Store {
    /// The store acting for `actor`.
    pub fn acting(&self, actor: Actor) -> Acting<'_> {
        Acting { store: self, actor }
    }

    /// Audit log entries as `query` asks, newest first.
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        self.meta().audit(query).map_err(StorageError::of)
    }
}
