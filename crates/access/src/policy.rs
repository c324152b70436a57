//! S3 bucket policies: the subset of the IAM JSON grammar object stores need, parsed and
//! validated once when stored. Anything pier would not enforce is refused with the field named
//! (an unknown condition key is never silently ignored).
//!
//! Supported: `Version` (`2012-10-17` or `2008-10-17`), `Statement` (object or list) with
//! `Sid`, `Effect`, `Principal` (`"*"`, `{"AWS": "*"}`, `{"AWS": [key ids or ARNs ending in
//! /KEYID]}`), `Action` / `NotAction` (with `*` and `?`), `Resource` (ARNs of this bucket,
//! with `*` and `?`), and `Condition` with `Null`, `StringEquals`, `StringNotEquals`, `StringLike`,
//! `StringNotLike`, `IpAddress`, `NotIpAddress` and `Bool` over `aws:SourceIp`,
//! `aws:SecureTransport`, `aws:Referer`, `aws:UserAgent`, `aws:userid` and `s3:prefix`.

use crate::action::Action;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// The longest policy accepted, in bytes (S3's limit).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// Why a policy was refused: the field (a JSON path such as `Statement[1].Condition`) and what
/// is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Where.
    pub field: String,
    /// What.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for PolicyError {}

fn err(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        field: field.into(),
        message: message.into(),
    }
}

/// Allow or Deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, beating every Allow.
    Deny,
}

/// Who a statement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone, anonymous included.
    Anyone,
    /// These access key ids or account ids (an ARN is kept as the key or account it ends in).
    Keys(Vec<String>),
}

/// The S3 request headers policies may test (`s3:x-amz-acl`, ...), as the header names.
pub const CONDITION_HEADERS: [&str; 12] = [
    "x-amz-acl",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-storage-class",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-aws-kms-key-id",
];

/// A condition key pier can evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionKey {
    /// `aws:SourceIp`.
    SourceIp,
    /// `aws:SecureTransport`.
    SecureTransport,
    /// `aws:Referer`.
    Referer,
    /// `aws:UserAgent`.
    UserAgent,
    /// `aws:userid` (the access key id).
    UserId,
    /// `s3:prefix` (ListBucket's prefix).
    Prefix,
    /// `s3:ExistingObjectTag/<key>`: the value of the object's tag `key`.
    ExistingObjectTag(String),
    /// `s3:RequestObjectTag/<key>`: the value of tag `key` in the request's `x-amz-tagging`.
    RequestObjectTag(String),
    /// `s3:x-amz-acl`, `s3:x-amz-copy-source`, ...: a request header (one of
    /// [`CONDITION_HEADERS`]).
    Header(&'static str),
}

impl ConditionKey {
    fn parse(name: &str) -> Option<ConditionKey> {
        // Tag keys keep their case: the part after the slash is the tag's key.
        if let Some((kind, tag)) = name.split_once('/') {
            return match kind.to_ascii_lowercase().as_str() {
                "s3:existingobjecttag" if !tag.is_empty() => {
                    Some(ConditionKey::ExistingObjectTag(tag.to_owned()))
                }
                "s3:requestobjecttag" if !tag.is_empty() => {
                    Some(ConditionKey::RequestObjectTag(tag.to_owned()))
                }
                _ => None,
            };
        }
        let lower = name.to_ascii_lowercase();
        if let Some(header) = lower
            .strip_prefix("s3:")
            .and_then(|h| CONDITION_HEADERS.into_iter().find(|c| *c == h))
        {
            return Some(ConditionKey::Header(header));
        }
        Some(match lower.as_str() {
            "aws:sourceip" => ConditionKey::SourceIp,
            "aws:securetransport" => ConditionKey::SecureTransport,
            "aws:referer" => ConditionKey::Referer,
            "aws:useragent" => ConditionKey::UserAgent,
            "aws:userid" => ConditionKey::UserId,
            "s3:prefix" => ConditionKey::Prefix,
            _ => return None,
        })
    }

    /// The key as policies spell it.
    pub fn name(&self) -> String {
        match self {
            ConditionKey::SourceIp => "aws:SourceIp".into(),
            ConditionKey::SecureTransport => "aws:SecureTransport".into(),
            ConditionKey::Referer => "aws:Referer".into(),
            ConditionKey::UserAgent => "aws:UserAgent".into(),
            ConditionKey::UserId => "aws:userid".into(),
            ConditionKey::Prefix => "s3:prefix".into(),
            ConditionKey::ExistingObjectTag(t) => format!("s3:ExistingObjectTag/{t}"),
            ConditionKey::RequestObjectTag(t) => format!("s3:RequestObjectTag/{t}"),
            ConditionKey::Header(h) => format!("s3:{h}"),
        }
    }
}

/// A condition operator pier can evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `StringEquals`.
    StringEquals,
    /// `StringNotEquals`.
    StringNotEquals,
    /// `StringLike` (`*`, `?`).
    StringLike,
    /// `StringNotLike`.
    StringNotLike,
    /// `IpAddress` (CIDR).
    IpAddress,
    /// `NotIpAddress`.
    NotIpAddress,
    /// `Bool`.
    Bool,
    /// `Null`: `"true"` holds when the key has no value in the request, `"false"` when it has.
    Null,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            "IpAddress" => Operator::IpAddress,
            "NotIpAddress" => Operator::NotIpAddress,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            _ => return None,
        })
    }
}

/// One condition: `operator` applied to `key` against any of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The key.
    pub key: ConditionKey,
    /// The values (any may match; for the `Not` operators, none may).
    pub values: Vec<String>,
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, if given.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Who.
    pub principals: Principals,
    /// Action patterns (`s3:Get*`).
    pub actions: Vec<String>,
    /// True for `NotAction`: the statement covers every action *not* matched.
    pub not_action: bool,
    /// Resource patterns, as ARNs (`arn:aws:s3:::bucket/prefix/*`).
    pub resources: Vec<String>,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// A bucket policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// What a statement is matched against (besides principal and action).
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// The request's access key id (`None`: anonymous).
    pub key_id: Option<&'a str>,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// True over TLS.
    pub secure_transport: bool,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// ListBucket's `prefix` (empty when absent).
    pub prefix: Option<&'a str>,
    /// The tags of the object the request is about, when a policy tests them
    /// (`s3:ExistingObjectTag/...`; `None`: no such object, or not looked up).
    pub object_tags: Option<&'a BTreeMap<String, String>>,
    /// The request's `x-amz-tagging` (`k=v&k2=v2`, percent-encoded).
    pub request_tags: Option<&'a str>,
    /// The request's headers among [`CONDITION_HEADERS`], as `(name, value)`.
    pub headers: &'a [(&'static str, &'a str)],
}

impl Statement {
    /// `Sid=NAME` or `statement N` (1-based), for explanations.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) => format!("statement Sid={sid}"),
            None => format!("statement {}", index + 1),
        }
    }

    /// True when the statement is about the key `key_id` of `account` (`None`: anonymous):
    /// `"*"`, the key's id, or its account's id.
    pub fn names_principal(&self, key_id: Option<&str>, account: Option<&str>) -> bool {
        match (&self.principals, key_id) {
            (Principals::Anyone, _) => true,
            (Principals::Keys(keys), Some(id)) => {
                keys.iter().any(|k| k == id || Some(k.as_str()) == account)
            }
            (Principals::Keys(_), None) => false,
        }
    }

    /// True when the statement covers `action`.
    pub fn covers_action(&self, action: Action) -> bool {
        let name = action.iam_name();
        let matched = self
            .actions
            .iter()
            .any(|p| wildcard_match(&p.to_ascii_lowercase(), &name.to_ascii_lowercase()));
        matched != self.not_action
    }

    /// True when the statement covers the resource `arn`.
    pub fn covers_resource(&self, arn: &str) -> bool {
        self.resources.iter().any(|p| wildcard_match(p, arn))
    }

    /// The first condition that does not hold, if any.
    pub fn failed_condition(&self, facts: &Facts<'_>) -> Option<&Condition> {
        self.conditions.iter().find(|c| !c.holds(facts))
    }
}

impl Condition {
    /// True when the condition holds for `facts`. A key the request has no value for fails
    /// every positive operator and passes every negated one, as IAM evaluates missing keys.
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        let value: Option<String> = match &self.key {
            ConditionKey::SourceIp => facts.source_ip.map(|ip| ip.to_string()),
            ConditionKey::SecureTransport => Some(facts.secure_transport.to_string()),
            ConditionKey::Referer => facts.referer.map(str::to_owned),
            ConditionKey::UserAgent => facts.user_agent.map(str::to_owned),
            ConditionKey::UserId => facts.key_id.map(str::to_owned),
            ConditionKey::Prefix => Some(facts.prefix.unwrap_or("").to_owned()),
            ConditionKey::ExistingObjectTag(tag) => {
                facts.object_tags.and_then(|t| t.get(tag).cloned())
            }
            ConditionKey::RequestObjectTag(tag) => facts.request_tags.and_then(|text| {
                form_urlencoded::parse(text.as_bytes())
                    .find(|(k, _)| k == tag)
                    .map(|(_, v)| v.into_owned())
            }),
            ConditionKey::Header(name) => facts
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| header_value(name, v)),
        };
        let any = |f: &dyn Fn(&str, &str) -> bool| {
            value
                .as_deref()
                .is_some_and(|v| self.values.iter().any(|p| f(p, v)))
        };
        match self.operator {
            Operator::StringEquals => any(&|p, v| p == v),
            Operator::StringNotEquals => !any(&|p, v| p == v),
            Operator::StringLike => any(&wildcard_match),
            Operator::StringNotLike => !any(&wildcard_match),
            Operator::Bool => any(&|p, v| p.eq_ignore_ascii_case(v)),
            Operator::Null => self
                .values
                .iter()
                .any(|p| p.eq_ignore_ascii_case("true") == value.is_none()),
            Operator::IpAddress => facts
                .source_ip
                .is_some_and(|ip| self.values.iter().any(|c| cidr_contains(c, ip))),
            Operator::NotIpAddress => !facts
                .source_ip
                .is_some_and(|ip| self.values.iter().any(|c| cidr_contains(c, ip))),
        }
    }

    /// How the condition reads, for explanations.
    pub fn describe(&self) -> String {
        format!("{:?} {} {:?}", self.operator, self.key.name(), self.values)
    }
}

/// A header's value as conditions compare it: `x-amz-copy-source` without its leading slash
/// and percent-decoded (`bucket/key`), as S3 evaluates it; other headers as sent.
fn header_value(name: &str, value: &str) -> String {
    if name != "x-amz-copy-source" {
        return value.to_owned();
    }
    let path = value.split_once('?').map_or(value, |(p, _)| p);
    let path = path.strip_prefix('/').unwrap_or(path);
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

impl Policy {
    /// True when a statement tests the object's tags (`s3:ExistingObjectTag/...`): only then
    /// are they looked up for a decision.
    pub fn reads_object_tags(&self) -> bool {
        self.statements.iter().any(|s| {
            s.conditions
                .iter()
                .any(|c| matches!(c.key, ConditionKey::ExistingObjectTag(_)))
        })
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one character; case-sensitive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = parse_cidr(cidr) else {
        return false;
    };
    let ip = match (net, ip) {
        (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => return false,
        },
        (_, ip) => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// `arn:aws:s3:::BUCKET` or `arn:aws:s3:::BUCKET/KEY`.
pub fn arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("arn:aws:s3:::{bucket}/{k}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| err(format!("{field}[{i}]"), "must be a string"))
            })
            .collect(),
        _ => Err(err(
            field,
            "must be a string or a non-empty list of strings",
        )),
    }
}

/// The key id an `AWS` principal names: a bare key id, or an ARN whose last `/` part is one.
fn principal_key(text: &str) -> String {
    // An account's ARN (`arn:aws:iam::ACCOUNT:root`) names the account.
    if let Some(account) = text
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
    {
        return account.to_owned();
    }
    if text.starts_with("arn:") {
        text.rsplit(['/', ':']).next().unwrap_or(text).to_owned()
    } else {
        text.to_owned()
    }
}

impl Policy {
    /// Parses and validates a policy for `bucket`.
    pub fn parse(text: &str, bucket: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(err(
                "",
                format!(
                    "Policies must be no more than {MAX_POLICY_BYTES} bytes, not {}",
                    text.len()
                ),
            ));
        }
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| err("", format!("Policies must be valid JSON: {e}")))?;
        let Value::Object(doc) = doc else {
            return Err(err("", "Policies must be a JSON object"));
        };
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(err(key.as_str(), "unknown field"));
            }
        }
        match doc.get("Version") {
            None => {}
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
            Some(other) => {
                return Err(err(
                    "Version",
                    format!("must be \"2012-10-17\" or \"2008-10-17\", not {other}"),
                ))
            }
        }
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) if !items.is_empty() => items.clone(),
            Some(Value::Object(o)) => vec![Value::Object(o.clone())],
            _ => return Err(err("Statement", "must be a statement or a non-empty list")),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s, &format!("Statement[{i}]"), bucket))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// True when some Allow statement grants anonymous (`"*"`) access without conditions on
    /// the caller's network: S3's "is public" test for GetBucketPolicyStatus.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && s.principals == Principals::Anyone
                && !s
                    .conditions
                    .iter()
                    .any(|c| matches!(c.key, ConditionKey::SourceIp | ConditionKey::UserId))
        })
    }
}

fn parse_statement(v: &Value, at: &str, bucket: &str) -> Result<Statement, PolicyError> {
    let Value::Object(s) = v else {
        return Err(err(at, "must be an object"));
    };
    for key in s.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "NotAction" | "Resource" | "Condition" => {}
            "NotPrincipal" => return Err(err(
                format!("{at}.NotPrincipal"),
                "NotPrincipal is not supported; name the principals with Principal and use Deny",
            )),
            "NotResource" => {
                return Err(err(
                    format!("{at}.NotResource"),
                    "NotResource is not supported; list the resources with Resource",
                ))
            }
            other => return Err(err(format!("{at}.{other}"), "unknown field")),
        }
    }
    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(err(format!("{at}.Sid"), "must be a string")),
    };
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(err(format!("{at}.Effect"), "must be \"Allow\" or \"Deny\"")),
    };
    let principals = parse_principal(s.get("Principal"), &format!("{at}.Principal"))?;
    let (actions, not_action) = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), None) => (strings(a, &format!("{at}.Action"))?, false),
        (None, Some(a)) => (strings(a, &format!("{at}.NotAction"))?, true),
        _ => {
            return Err(err(
                format!("{at}.Action"),
                "give exactly one of Action and NotAction",
            ))
        }
    };
    for (i, a) in actions.iter().enumerate() {
        let lower = a.to_ascii_lowercase();
        // A real S3 action that pier does not serve is accepted, as S3 accepts it: it simply
        // never matches a request here.
        if !(lower.starts_with("s3:") || lower.starts_with("b2:") || lower == "*") {
            let kind = if not_action { "NotAction" } else { "Action" };
            return Err(err(
                format!("{at}.{kind}[{i}]"),
                format!("{a:?} is not an s3: action"),
            ));
        }
    }
    let resources = strings(
        s.get("Resource")
            .ok_or_else(|| err(format!("{at}.Resource"), "is required"))?,
        &format!("{at}.Resource"),
    )?;
    for (i, r) in resources.iter().enumerate() {
        let field = format!("{at}.Resource[{i}]");
        let Some(rest) = r.strip_prefix("arn:aws:s3:::") else {
            return Err(err(
                field,
                format!("{r:?} is not an S3 ARN (arn:aws:s3:::BUCKET/KEY)"),
            ));
        };
        let named = rest.split('/').next().unwrap_or("");
        if !wildcard_match(named, bucket) {
            return Err(err(
                field,
                format!("Policy has invalid resource: {r:?} is not in bucket {bucket}"),
            ));
        }
    }
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(ops)) => parse_conditions(ops, &format!("{at}.Condition"))?,
        Some(_) => return Err(err(format!("{at}.Condition"), "must be an object")),
    };
    Ok(Statement {
        sid,
        effect,
        principals,
        actions,
        not_action,
        resources,
        conditions,
    })
}

fn parse_principal(v: Option<&Value>, at: &str) -> Result<Principals, PolicyError> {
    match v {
        None => Err(err(at, "is required")),
        Some(Value::String(s)) if s == "*" => Ok(Principals::Anyone),
        Some(Value::Object(m)) => {
            for key in m.keys() {
                if key != "AWS" {
                    return Err(err(
                        format!("{at}.{key}"),
                        "only AWS principals (access keys) exist here",
                    ));
                }
            }
            let names = strings(
                m.get("AWS")
                    .ok_or_else(|| err(at, "must name AWS principals"))?,
                &format!("{at}.AWS"),
            )?;
            if names.iter().any(|n| n == "*") {
                return Ok(Principals::Anyone);
            }
            Ok(Principals::Keys(
                names.iter().map(|n| principal_key(n)).collect(),
            ))
        }
        Some(_) => Err(err(at, "must be \"*\" or {\"AWS\": [...]}")),
    }
}

fn parse_conditions(ops: &Map<String, Value>, at: &str) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let operator = Operator::parse(op_name).ok_or_else(|| {
            err(
                format!("{at}.{op_name}"),
                format!("unknown or unsupported condition operator {op_name:?}"),
            )
        })?;
        let Value::Object(keys) = keys else {
            return Err(err(format!("{at}.{op_name}"), "must be an object"));
        };
        for (key_name, values) in keys {
            let field = format!("{at}.{op_name}.{key_name}");
            let key = ConditionKey::parse(key_name).ok_or_else(|| {
                err(
                    field.clone(),
                    format!("unknown or unsupported condition key {key_name:?}"),
                )
            })?;
            let values = match values {
                Value::Bool(b) => vec![b.to_string()],
                other => strings(other, &field)?,
            };
            let ip_op = matches!(operator, Operator::IpAddress | Operator::NotIpAddress);
            if ip_op != (key == ConditionKey::SourceIp) {
                return Err(err(
                    field,
                    format!("{op_name} cannot be used with {key_name}"),
                ));
            }
            if ip_op {
                if let Some(bad) = values.iter().find(|v| parse_cidr(v).is_none()) {
                    return Err(err(field, format!("{bad:?} is not an IP address or CIDR")));
                }
            }
            if operator == Operator::Bool
                && values
                    .iter()
                    .any(|v| !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false"))
            {
                return Err(err(field, "Bool takes true or false"));
            }
            out.push(Condition {
                operator,
                key,
                values,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "arn:aws:s3:::b/public/*",
            "arn:aws:s3:::b/public/a/b.txt"
        ));
        assert!(!wildcard_match(
            "arn:aws:s3:::b/public/*",
            "arn:aws:s3:::b/private/a"
        ));
        assert!(wildcard_match("s3:get*", "s3:getobject"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(cidr_contains("10.0.0.0/8", ip("10.1.2.3")));
        assert!(!cidr_contains("10.0.0.0/8", ip("11.1.2.3")));
        assert!(cidr_contains("127.0.0.1", ip("127.0.0.1")));
        assert!(cidr_contains("::/0", ip("::1")));
        assert!(cidr_contains("127.0.0.0/8", ip("::ffff:127.0.0.1")));
        assert!(cidr_contains("0.0.0.0/0", ip("8.8.8.8")));
    }

    const PUBLIC_PREFIX: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::photos/public/*"
        }]
    }"#;

    #[test]
    fn a_public_prefix_policy_parses() {
        let p = Policy::parse(PUBLIC_PREFIX, "photos").unwrap();
        let s = &p.statements[0];
        assert_eq!(s.sid.as_deref(), Some("PublicRead"));
        assert!(s.covers_action(Action::GetObject));
        assert!(!s.covers_action(Action::ListBucket));
        assert!(s.covers_resource(&arn("photos", Some("public/a.jpg"))));
        assert!(!s.covers_resource(&arn("photos", Some("private/a.jpg"))));
        assert!(p.is_public());
    }

    #[test]
    fn malformed_policies_name_the_field() {
        let cases = [
            ("{", ""),
            ("[]", ""),
            (r#"{"Statement": []}"#, "Statement"),
            (r#"{"Version": "2020-01-01", "Statement": {}}"#, "Version"),
            (
                r#"{"Statement": {"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos"}}"#,
                "Statement[0].Effect",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "s3:*", "Resource": "arn:aws:s3:::photos"}}"#,
                "Statement[0].NotPrincipal",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}}"#,
                "Statement[0].Resource[0]",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "x"}}}}"#,
                "Statement[0].Condition.StringEquals.aws:PrincipalTag/team",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}}}}"#,
                "Statement[0].Condition.DateGreaterThan",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*", "Condition": {"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}}}}"#,
                "Statement[0].Condition.IpAddress.aws:SourceIp",
            ),
        ];
        for (text, field) in cases {
            let e = Policy::parse(text, "photos").unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
        let big = format!(
            "{{\"Statement\": [], \"Id\": \"{}\"}}",
            "x".repeat(MAX_POLICY_BYTES)
        );
        assert!(Policy::parse(&big, "photos")
            .unwrap_err()
            .message
            .contains("20480"));
    }

    #[test]
    fn conditions_hold_as_iam_evaluates_them() {
        let text = r#"{"Statement": {"Sid": "Office", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"],
            "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}, "Bool": {"aws:SecureTransport": false}}}}"#;
        let p = Policy::parse(text, "photos").unwrap();
        let s = &p.statements[0];
        let outside = Facts {
            source_ip: Some("192.168.1.1".parse().unwrap()),
            ..Facts::default()
        };
        assert!(s.failed_condition(&outside).is_none());
        let inside = Facts {
            source_ip: Some("10.1.1.1".parse().unwrap()),
            ..Facts::default()
        };
        assert_eq!(
            s.failed_condition(&inside).unwrap().key,
            ConditionKey::SourceIp
        );
    }

    #[test]
    fn object_tag_conditions_read_the_objects_tags_and_the_requests() {
        let text = r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::photos/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}}}"#;
        let p = Policy::parse(text, "photos").unwrap();
        assert!(p.reads_object_tags());
        let s = &p.statements[0];
        let public: BTreeMap<String, String> = [("security".into(), "public".into())].into();
        let private: BTreeMap<String, String> = [("security".into(), "private".into())].into();
        let with = |tags| Facts {
            object_tags: tags,
            ..Facts::default()
        };
        assert!(s.failed_condition(&with(Some(&public))).is_none());
        assert!(s.failed_condition(&with(Some(&private))).is_some());
        assert!(
            s.failed_condition(&with(None)).is_some(),
            "no object, no tag"
        );
        let text = r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::photos/*",
            "Condition": {"StringEquals": {"s3:RequestObjectTag/Project": "x y"}}}}"#;
        let p = Policy::parse(text, "photos").unwrap();
        assert!(!p.reads_object_tags());
        let tagged = Facts {
            request_tags: Some("Team=a&Project=x%20y"),
            ..Facts::default()
        };
        assert!(p.statements[0].failed_condition(&tagged).is_none());
    }

    #[test]
    fn header_conditions_compare_the_copy_source_as_bucket_and_key() {
        let text = r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::photos/*",
            "Condition": {"StringLike": {"s3:x-amz-copy-source": "src/public/*"},
                          "StringNotLike": {"s3:x-amz-acl": "public*"}}}}"#;
        let p = Policy::parse(text, "photos").unwrap();
        let s = &p.statements[0];
        let copy = |source, acl| {
            let headers = [("x-amz-copy-source", source), ("x-amz-acl", acl)];
            s.failed_condition(&Facts {
                headers: &headers,
                ..Facts::default()
            })
            .map(|c| c.key.name())
        };
        assert_eq!(copy("/src/public/a%20b.txt", "private"), None);
        assert_eq!(
            copy("src/private/a", "private").as_deref(),
            Some("s3:x-amz-copy-source")
        );
        assert_eq!(
            copy("src/public/a", "public-read").as_deref(),
            Some("s3:x-amz-acl")
        );
    }

    #[test]
    fn null_holds_when_a_header_is_absent_as_an_encryption_policy_needs() {
        // Deny uploads that do not ask for server-side encryption.
        let text = r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::photos/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}}}"#;
        let p = Policy::parse(text, "photos").unwrap();
        let s = &p.statements[0];
        let none: [(&str, &str); 0] = [];
        let applies = |facts: Facts| s.failed_condition(&facts).is_none();
        assert!(
            applies(Facts {
                headers: &none,
                ..Facts::default()
            }),
            "no header: the deny applies"
        );
        let sealed = [("x-amz-server-side-encryption", "AES256")];
        assert!(!applies(Facts {
            headers: &sealed,
            ..Facts::default()
        }));
    }
}
