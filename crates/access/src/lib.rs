//! pier's access engine: who may do what, decided in one place for both APIs, with a trace that
//! says why. Pure: no I/O, no clock (the caller passes the time), no HTTP.
//!
//! - [`Capability`] / [`Capabilities`]: B2's capability names, what an application key may do.
//! - [`Action`]: what a request does, as the IAM action a bucket policy names and the
//!   capability a key needs.
//! - [`Policy`]: S3 bucket policies, parsed and validated once (field-named errors).
//! - [`decide`]: a [`Request`] (principal, action, bucket grants, object, facts) to a
//!   [`Decision`] with its reason and trace. Deny beats Allow; key restrictions are hard limits.

pub mod action;
pub mod capability;

pub use action::{Action, Level};
pub use capability::{Capabilities, Capability};
pub mod decide;
pub mod policy;

pub use decide::{
    decide, explain, BucketGrants, Decision, KeyScope, ObjectGrant, Principal, PublicAccess,
    Request,
};
pub use policy::{Facts, Policy, PolicyError};
