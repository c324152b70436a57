//! pier's CORS engine: pure, synchronous, no I/O.
//!
//! # Overview
//! - [`CorsConfig`] is a bucket's ordered list of [`CorsRule`]s. Each rule remembers the
//!   [`Dialect`] it was written in (B2 `corsRules`, S3 `CORSConfiguration`, R2's JSON policy),
//!   because the dialects read the same strings differently (see [`origin`]), and keeps its
//!   strings as written so reading a configuration back returns what was set.
//! - [`parse`] / [`parse_detect`] read a document in any [`Format`], validating with that
//!   dialect's own rules and reporting **every** problem as a [`ValidationError`] naming the rule
//!   (index and name) and field. [`serialize`] writes any format, converting with [`convert`],
//!   which refuses (with reasons) what the target dialect cannot express.
//! - [`CorsConfig::evaluate`] decides a [`CorsRequest`] (first matching rule wins) and returns the
//!   exact headers to send; [`CorsConfig::explain`] also returns the trace of every rule tried
//!   and the first condition that failed. Patterns are compiled when rules are stored, so
//!   evaluation only compares.
//! - [`lint`] warns about valid but risky rules.
//!
//! # Choices where providers' behaviour is unconfirmed
//! Where the reference digest marks a behaviour unconfirmed, the safe reading was taken:
//! - S3 origins and methods are compared case-sensitively (AWS, LocalStack); B2 and R2 origins
//!   are URL-parsed, so their scheme and host compare case-insensitively and a default port
//!   equals no port.
//! - A `*` in a B2 or R2 origin never crosses `:` or `/`: `https://*` is any host on the default
//!   port only (B2's documented meaning) and ports must be listed explicitly (R2).
//! - `Access-Control-Allow-Origin` is `*` when the matched rule has a `*` origin (AWS);
//!   otherwise the request's origin is echoed, with `Access-Control-Allow-Credentials: true`
//!   **only** when the matching pattern names hosts. AWS also sends credentials for patterns
//!   such as `https://*` or B2's `https`; pier does not, since that reflects arbitrary origins
//!   with credentials.
//! - A preflight without `Access-Control-Request-Method` is refused as a bad request (400), as
//!   AWS answers in ceph's s3-tests (`test_cors_origin_response`); the reference digest had 403.
//! - B2's 1000-byte rule limit counts the name, origins, allowed and exposed headers.
//! - S3 refuses a negative `MaxAgeSeconds`; R2 checks headers as S3 does.
//! - B2 download operations accept `GET`, `HEAD` and `POST`; uploads accept `POST`.
//! - `Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method` is part of
//!   every allowed answer.

mod config;
pub mod convert;
pub mod dialect;
pub mod error;
pub mod evaluate;
mod explain;
pub mod header;
mod index;
pub mod lint;
pub mod operation;
pub mod origin;
pub mod presets;
pub mod rule;
mod stored;
pub mod validate;

pub use config::CorsConfig;
pub use convert::{convert, Converted};
pub use dialect::{parse, parse_detect, serialize, Format};
pub use error::{ConfigError, ConversionError, ErrorKind, RuleRef, ValidationError};
pub use evaluate::{
    CorsHeaders, CorsRequest, Decision, Endpoint, Explanation, Refusal, RuleOutcome, RuleTrace,
    VARY,
};
pub use lint::{lint, Warning};
pub use operation::{Operation, OperationSet};
pub use rule::{CorsRule, Dialect, RuleSpec};
