//! Rendering an [`Explanation`] for people: the verdict, the headers a browser would receive, and
//! for every rule tried the first condition that failed, with what the rule allows instead.

use crate::evaluate::{Decision, Explanation, Refusal, RuleOutcome};
use crate::rule::CorsRule;
use crate::Format;
use std::fmt;

impl Explanation<'_> {
    /// One line saying what was decided and why, for logs.
    pub fn summary(&self) -> String {
        match &self.decision {
            Decision::NotCors => "not a CORS request (no Origin header): no CORS headers".into(),
            Decision::Allowed { rule_index, .. } => {
                let rule = &self.config.rules()[*rule_index];
                format!("allowed by {}", rule.reference(*rule_index))
            }
            Decision::Refused(Refusal::NoRuleMatched { .. }) => {
                let reasons: Vec<String> = self
                    .trace
                    .iter()
                    .map(|t| {
                        let rule = &self.config.rules()[t.index];
                        format!(
                            "{}: {}",
                            rule.reference(t.index),
                            self.reason(rule, &t.outcome)
                        )
                    })
                    .collect();
                format!("refused: no rule matched ({})", reasons.join("; "))
            }
            Decision::Refused(refusal) => format!("refused: {}", refusal_reason(refusal)),
        }
    }

    /// For every rule tried, in order: its position, and `matched` or the condition that failed
    /// with what the rule allows instead.
    pub fn reasons(&self) -> Vec<(usize, String)> {
        self.trace
            .iter()
            .map(|t| {
                (
                    t.index,
                    self.reason(&self.config.rules()[t.index], &t.outcome),
                )
            })
            .collect()
    }

    fn reason(&self, rule: &CorsRule, outcome: &RuleOutcome<'_>) -> String {
        let fields = Format::of_dialect(rule.dialect()).fields();
        let quoted = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match outcome {
            RuleOutcome::Matched => "matched".into(),
            RuleOutcome::OperationNotAllowed => {
                let wanted = match self.operation {
                    Some(op) if rule.dialect() == crate::Dialect::B2 => op.b2_name().to_owned(),
                    Some(op) => op.s3_method().unwrap_or(op.b2_name()).to_owned(),
                    None => self.request.effective_method().to_owned(),
                };
                let allowed: Vec<String> = rule.to_spec().operations.into_iter().collect();
                format!(
                    "{wanted} is not in {} [{}]",
                    fields.operations,
                    quoted(&allowed)
                )
            }
            RuleOutcome::OriginNotAllowed => format!(
                "origin {:?} matches none of {} [{}]",
                self.request.origin.unwrap_or_default(),
                fields.origins,
                quoted(rule.origins())
            ),
            RuleOutcome::HeaderNotAllowed { header } => {
                if rule.allowed_headers().is_empty() {
                    format!(
                        "requested header {:?} is not allowed: the rule has no {} (add it, or \"*\")",
                        header.to_ascii_lowercase(),
                        fields.allowed_headers
                    )
                } else {
                    format!(
                        "requested header {:?} is not in {} [{}]",
                        header.to_ascii_lowercase(),
                        fields.allowed_headers,
                        quoted(rule.allowed_headers())
                    )
                }
            }
        }
    }
}

fn refusal_reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::MissingOrigin => "a preflight (OPTIONS) must carry an Origin header".into(),
        Refusal::MissingRequestMethod => {
            "a preflight (OPTIONS) must carry Access-Control-Request-Method".into()
        }
        Refusal::NotEnabled => {
            "the bucket has no CORS rules, so every cross-origin preflight is refused".into()
        }
        Refusal::MethodNotApplicable { method } => {
            format!("method {method} cannot be used at this URL, so no rule can allow it")
        }
        Refusal::NoRuleMatched { operation } => format!("no rule allows {operation}"),
    }
}

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.request;
        write!(
            f,
            "request: {} ",
            if r.preflight { "preflight" } else { "actual" }
        )?;
        write!(f, "{}", r.method)?;
        if let Some(m) = r.request_method {
            write!(f, " (Access-Control-Request-Method: {m})")?;
        }
        writeln!(f, " at {:?}", r.endpoint)?;
        writeln!(f, "  Origin: {}", r.origin.unwrap_or("(none)"))?;
        if let Some(h) = r.request_headers {
            writeln!(f, "  Access-Control-Request-Headers: {h}")?;
        }
        if let Some(op) = self.operation {
            writeln!(f, "  operation: {op}")?;
        }
        writeln!(f)?;
        match &self.decision {
            Decision::NotCors => {
                writeln!(f, "NOT CORS: no Origin header, so no CORS headers are sent")?
            }
            Decision::Allowed {
                rule_index,
                headers,
            } => {
                let rule = &self.config.rules()[*rule_index];
                writeln!(f, "ALLOWED by {}", rule.reference(*rule_index))?;
                writeln!(f, "headers the browser receives:")?;
                for (name, value) in headers.iter() {
                    writeln!(f, "  {name}: {value}")?;
                }
            }
            Decision::Refused(refusal) => {
                let status = if refusal.is_bad_request() { 400 } else { 403 };
                writeln!(f, "REFUSED: {}", refusal_reason(refusal))?;
                if r.preflight {
                    writeln!(
                        f,
                        "the preflight is answered {status} without CORS headers; the browser reports \"blocked by CORS policy\""
                    )?;
                } else {
                    writeln!(
                        f,
                        "the request is served without CORS headers; the page cannot read the response"
                    )?;
                }
            }
        }
        if !self.trace.is_empty() {
            writeln!(f)?;
            writeln!(f, "rules tried (first match wins):")?;
            for t in &self.trace {
                let rule = &self.config.rules()[t.index];
                writeln!(
                    f,
                    "  {}: {}",
                    rule.reference(t.index),
                    self.reason(rule, &t.outcome)
                )?;
            }
            let untried = self.config.rules().len() - self.trace.len();
            if untried > 0 {
                writeln!(f, "  ({untried} later rule(s) not tried)")?;
            }
        }
        Ok(())
    }
}
