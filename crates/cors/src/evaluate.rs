//! Evaluation: given a request's CORS-relevant facts, decide which rule (if any) allows it and
//! which headers to send; optionally record why every rule tried did or did not match.
//!
//! The procedure (the digest's §8, AWS's observed behaviour for S3):
//! 1. no `Origin`: an actual request is not a CORS request (nothing is added); a preflight is a
//!    bad request (400);
//! 2. a preflight without `Access-Control-Request-Method` is refused;
//! 3. no rules: CORS is not enabled, refused;
//! 4. the effective method is `Access-Control-Request-Method` when present (even on non-OPTIONS
//!    requests, like AWS), else the request method; the endpoint maps it to an operation;
//! 5. the first rule whose operations include it, whose origins match, and which allows every
//!    name in `Access-Control-Request-Headers`, decides.

use crate::header::requested_header_names;
use crate::operation::Operation;
use crate::origin::strip_default_port;
use crate::rule::CorsRule;
use crate::CorsConfig;

/// Which API surface a request arrived on, and for the B2 native API which kind of URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Any S3 API request (bucket or object); the method decides the operation (`s3_get`, ...).
    S3,
    /// `/file/BUCKET/NAME`.
    B2DownloadFileByName,
    /// `/b2api/vN/b2_download_file_by_id`.
    B2DownloadFileById,
    /// A `b2_upload_file` upload URL.
    B2UploadFile,
    /// A `b2_upload_part` upload URL.
    B2UploadPart,
}

impl Endpoint {
    /// The operation a request with (effective) `method` performs here, or `None` when the method
    /// has no meaning at this endpoint.
    pub fn operation(self, method: &str) -> Option<Operation> {
        let download = matches!(method, "GET" | "HEAD" | "POST");
        match self {
            Endpoint::S3 => Operation::from_s3_method(method),
            Endpoint::B2DownloadFileByName => download.then_some(Operation::B2DownloadFileByName),
            Endpoint::B2DownloadFileById => download.then_some(Operation::B2DownloadFileById),
            Endpoint::B2UploadFile => (method == "POST").then_some(Operation::B2UploadFile),
            Endpoint::B2UploadPart => (method == "POST").then_some(Operation::B2UploadPart),
        }
    }

    /// The endpoint a B2 native operation is performed at; `S3` for the `s3_*` operations.
    pub fn of_operation(op: Operation) -> Endpoint {
        match op {
            Operation::B2DownloadFileByName => Endpoint::B2DownloadFileByName,
            Operation::B2DownloadFileById => Endpoint::B2DownloadFileById,
            Operation::B2UploadFile => Endpoint::B2UploadFile,
            Operation::B2UploadPart => Endpoint::B2UploadPart,
            _ => Endpoint::S3,
        }
    }

    /// True for the B2 native endpoints.
    pub fn is_b2_native(self) -> bool {
        self != Endpoint::S3
    }
}

/// The CORS-relevant facts of one HTTP request. Header values are passed as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorsRequest<'a> {
    /// Where the request arrived.
    pub endpoint: Endpoint,
    /// The HTTP method (`OPTIONS` for a preflight).
    pub method: &'a str,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<&'a str>,
    /// `Access-Control-Request-Headers`, unparsed.
    pub request_headers: Option<&'a str>,
    /// True for a preflight (`OPTIONS`), which is answered from the rules alone.
    pub preflight: bool,
}

impl<'a> CorsRequest<'a> {
    /// A preflight (`OPTIONS`) at `endpoint`.
    pub fn preflight(
        endpoint: Endpoint,
        origin: &'a str,
        method: &'a str,
        headers: Option<&'a str>,
    ) -> Self {
        CorsRequest {
            endpoint,
            method: "OPTIONS",
            origin: Some(origin),
            request_method: Some(method),
            request_headers: headers,
            preflight: true,
        }
    }

    /// An actual (non-preflight) request with `Origin`.
    pub fn actual(endpoint: Endpoint, origin: &'a str, method: &'a str) -> Self {
        CorsRequest {
            endpoint,
            method,
            origin: Some(origin),
            request_method: None,
            request_headers: None,
            preflight: false,
        }
    }

    /// The method the rules are asked about: `Access-Control-Request-Method` when present.
    pub fn effective_method(&self) -> &'a str {
        self.request_method.unwrap_or(self.method)
    }
}

/// `Vary` on every answer that a rule decided: caches must key on all three request headers.
pub const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The CORS headers of an allowed request, for a preflight answer or added to an actual response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorsHeaders<'a> {
    /// `Access-Control-Allow-Origin`: `*` for a rule with a `*` origin, else the request's origin.
    pub allow_origin: &'a str,
    /// `Access-Control-Allow-Credentials: true`: only with an echoed origin that names hosts.
    pub allow_credentials: bool,
    /// `Access-Control-Allow-Methods`: the rule's methods for this surface.
    pub allow_methods: &'a str,
    /// `Access-Control-Allow-Headers`: the requested names, lower-case, in request order; only
    /// when headers were requested. Never `*`, which would not cover `Authorization`.
    pub allow_headers: Option<String>,
    /// `Access-Control-Expose-Headers`, when the rule exposes any.
    pub expose_headers: Option<&'a str>,
    /// `Access-Control-Max-Age`, when the rule sets one.
    pub max_age: Option<&'a str>,
}

impl CorsHeaders<'_> {
    /// Every header to send, `Vary` included, as (name, value) pairs in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("Access-Control-Allow-Origin", Some(self.allow_origin)),
            (
                "Access-Control-Allow-Credentials",
                self.allow_credentials.then_some("true"),
            ),
            (
                "Access-Control-Allow-Methods",
                Some(self.allow_methods).filter(|m| !m.is_empty()),
            ),
            (
                "Access-Control-Allow-Headers",
                self.allow_headers.as_deref(),
            ),
            ("Access-Control-Expose-Headers", self.expose_headers),
            ("Access-Control-Max-Age", self.max_age),
            ("Vary", Some(VARY)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
}

/// Why a CORS request was not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A preflight without `Origin` (S3: 400 `BadRequest`).
    MissingOrigin,
    /// A preflight without `Access-Control-Request-Method` (S3: 400 `BadRequest`).
    MissingRequestMethod,
    /// The bucket has no CORS rules.
    NotEnabled,
    /// The effective method means nothing at this endpoint (e.g. `PUT` on a B2 download URL).
    MethodNotApplicable {
        /// The effective method.
        method: String,
    },
    /// Rules exist but none allows this operation, origin and header set.
    NoRuleMatched {
        /// The operation the rules were asked about.
        operation: Operation,
    },
}

impl Refusal {
    /// True when the refusal means the request itself is malformed (HTTP 400), not forbidden:
    /// a preflight without `Origin` or without `Access-Control-Request-Method` (S3 answers
    /// both 400, as ceph's s3-tests observe against AWS).
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Refusal::MissingOrigin | Refusal::MissingRequestMethod)
    }

    /// The one-line reason, in the wording S3 uses where S3 has one.
    pub fn message(&self) -> String {
        match self {
            Refusal::MissingOrigin => {
                "Insufficient information. Origin request header needed.".into()
            }
            Refusal::MissingRequestMethod => {
                "CORSResponse: a preflight must carry Access-Control-Request-Method.".into()
            }
            Refusal::NotEnabled => "CORSResponse: CORS is not enabled for this bucket.".into(),
            Refusal::MethodNotApplicable { method } => format!(
                "CORSResponse: This CORS request is not allowed. Method {method} is not supported here."
            ),
            Refusal::NoRuleMatched { .. } => "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.".into(),
        }
    }
}

/// The outcome of evaluating one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// No `Origin` on an actual request: add no CORS headers at all.
    NotCors,
    /// A rule allows the request.
    Allowed {
        /// Position of the deciding rule.
        rule_index: usize,
        /// The headers to send.
        headers: CorsHeaders<'a>,
    },
    /// Not allowed. A preflight gets 403 (400 for [`Refusal::MissingOrigin`]); an actual request
    /// is served normally without CORS headers.
    Refused(Refusal),
}

/// How one rule fared, for the explanation trace. Only the first failing condition is named, in
/// the order they are checked: operation, origin, headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleOutcome<'a> {
    /// This rule decided the request.
    Matched,
    /// The rule does not list the request's operation (or method).
    OperationNotAllowed,
    /// No origin pattern of the rule matches the request's `Origin`.
    OriginNotAllowed,
    /// This requested header is covered by none of the rule's allowed headers.
    HeaderNotAllowed {
        /// The requested name, as sent.
        header: &'a str,
    },
}

/// One line of the trace: a rule and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTrace<'a> {
    /// Position of the rule.
    pub index: usize,
    /// What happened.
    pub outcome: RuleOutcome<'a>,
}

/// A decision with its reasons: every rule tried, in order, and how it fared.
#[derive(Clone, Debug)]
pub struct Explanation<'a> {
    /// The request explained.
    pub request: CorsRequest<'a>,
    /// The operation the rules were asked about, when the method maps to one.
    pub operation: Option<Operation>,
    /// The decision, the same as [`CorsConfig::evaluate`] gives.
    pub decision: Decision<'a>,
    /// The rules tried, in order (evaluation stops at the first match).
    pub trace: Vec<RuleTrace<'a>>,
    /// The configuration evaluated, for rendering.
    pub config: &'a CorsConfig,
}

impl CorsConfig {
    /// Decides `request`. Only compares: the patterns were compiled when the rules were stored.
    /// Allocates only for an allowed request that named headers (`Access-Control-Allow-Headers`).
    pub fn evaluate<'a>(&'a self, request: &CorsRequest<'a>) -> Decision<'a> {
        self.run::<false>(request, |_, _| {})
    }

    /// Decides `request` and records why, rule by rule.
    pub fn explain<'a>(&'a self, request: &CorsRequest<'a>) -> Explanation<'a> {
        let mut trace = Vec::new();
        let decision = self.run::<true>(request, |index, outcome| {
            trace.push(RuleTrace { index, outcome })
        });
        Explanation {
            request: *request,
            operation: request.endpoint.operation(request.effective_method()),
            decision,
            trace,
            config: self,
        }
    }

    /// The procedure; with `TRACING` every rule is visited in order and reported to `observe`,
    /// without it the index narrows the rules to candidates first.
    fn run<'a, const TRACING: bool>(
        &'a self,
        request: &CorsRequest<'a>,
        mut observe: impl FnMut(usize, RuleOutcome<'a>),
    ) -> Decision<'a> {
        let Some(origin) = request.origin else {
            return if request.preflight {
                Decision::Refused(Refusal::MissingOrigin)
            } else {
                Decision::NotCors
            };
        };
        if request.preflight && request.request_method.is_none() {
            return Decision::Refused(Refusal::MissingRequestMethod);
        }
        if !self.is_enabled() {
            return Decision::Refused(Refusal::NotEnabled);
        }
        let method = request.effective_method();
        let Some(operation) = request.endpoint.operation(method) else {
            return Decision::Refused(Refusal::MethodNotApplicable {
                method: method.to_owned(),
            });
        };
        let url_origin = strip_default_port(origin);
        if let (Some(index), false) = (self.index(), TRACING) {
            // Fast path: only the candidate rules, in order; same decision as the scan below.
            for i in index.candidates(operation, origin, url_origin).iter() {
                let rule = &self.rules()[i];
                if let Ok(pattern) =
                    check_rule(rule, operation, origin, url_origin, request.request_headers)
                {
                    return Decision::Allowed {
                        rule_index: i,
                        headers: headers_for(rule, pattern, origin, request),
                    };
                }
            }
            return Decision::Refused(Refusal::NoRuleMatched { operation });
        }
        for (index, rule) in self.rules().iter().enumerate() {
            match check_rule(rule, operation, origin, url_origin, request.request_headers) {
                Err(outcome) => observe(index, outcome),
                Ok(pattern) => {
                    observe(index, RuleOutcome::Matched);
                    return Decision::Allowed {
                        rule_index: index,
                        headers: headers_for(rule, pattern, origin, request),
                    };
                }
            }
        }
        Decision::Refused(Refusal::NoRuleMatched { operation })
    }
}

/// Checks one rule; `Ok(i)` names the origin pattern that matched.
fn check_rule<'a>(
    rule: &CorsRule,
    operation: Operation,
    origin: &str,
    url_origin: &str,
    requested: Option<&'a str>,
) -> Result<usize, RuleOutcome<'a>> {
    if !rule.operation_set().contains(operation) {
        return Err(RuleOutcome::OperationNotAllowed);
    }
    let candidate = if rule.dialect().is_url_aware() {
        url_origin
    } else {
        origin
    };
    let pattern = rule
        .origin_patterns()
        .iter()
        .position(|p| p.matches(candidate))
        .ok_or(RuleOutcome::OriginNotAllowed)?;
    if let Some(requested) = requested {
        for name in requested_header_names(requested) {
            if !rule.header_patterns().iter().any(|p| p.matches(name)) {
                return Err(RuleOutcome::HeaderNotAllowed { header: name });
            }
        }
    }
    Ok(pattern)
}

fn headers_for<'a>(
    rule: &'a CorsRule,
    pattern: usize,
    origin: &'a str,
    request: &CorsRequest<'a>,
) -> CorsHeaders<'a> {
    let (allow_origin, allow_credentials) = if rule.allows_any_origin() {
        ("*", false)
    } else {
        (origin, rule.credentials_allowed(pattern))
    };
    let allow_headers = request.request_headers.and_then(|value| {
        let mut joined = String::with_capacity(value.len() + 8);
        for name in requested_header_names(value) {
            if !joined.is_empty() {
                joined.push_str(", ");
            }
            joined.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        }
        (!joined.is_empty()).then_some(joined)
    });
    CorsHeaders {
        allow_origin,
        allow_credentials,
        allow_methods: rule.allow_methods(request.endpoint.is_b2_native()),
        allow_headers,
        expose_headers: rule.expose_value(),
        max_age: rule.max_age_value(),
    }
}
