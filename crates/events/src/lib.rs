//! pier's event notifications, for both APIs: what happened to an object ([`EventKind`], with
//! its B2 and S3 names), a bucket's notification rules in B2's form with B2's validation
//! ([`rule`]) and S3's on top of them, the topics S3 rules publish to ([`topic`]), what a
//! delivery carries and how it is signed ([`payload`]), where a webhook may point
//! ([`target`]), and the dispatcher that delivers the store's outbox ([`dispatch`]).
//!
//! The store records events in the transaction of the change they describe; this crate decides
//! what they are and delivers them. See `docs/design.md`, "Events".

pub mod dispatch;
pub mod kind;
pub mod payload;
pub mod rule;
pub mod target;
pub mod topic;

pub use dispatch::{
    DeliveryRecord, DispatchConfig, DispatchStats, Dispatcher, Expired, Outbox, Postponed,
};
pub use kind::EventKind;
pub use payload::{BucketFacts, Event};
pub use rule::{NotificationRule, RuleError, S3Origin};
pub use topic::Topic;
