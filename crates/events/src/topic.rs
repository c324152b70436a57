//! Topics: where S3 notification configurations publish, as Ceph RGW offers them through an
//! SNS-compatible API. A topic belongs to an account, is named by an ARN
//! (`arn:aws:sns:<region>:<account>:<name>`), and holds its attributes as given; its
//! `push-endpoint` is the webhook its events are POSTed to.

use std::collections::BTreeMap;

/// The attribute naming a topic's webhook.
pub const PUSH_ENDPOINT: &str = "push-endpoint";
/// Longest topic name (SNS's limit).
const MAX_NAME: usize = 256;
/// Most attributes on one topic.
pub const MAX_ATTRIBUTES: usize = 32;
/// Longest attribute value.
const MAX_VALUE: usize = 8192;

/// A topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    /// The account that owns it.
    pub account_id: String,
    /// Its name, unique within the account: 1 to 256 letters, digits, hyphens and underscores.
    pub name: String,
    /// Its attributes as the creator set them (`push-endpoint`, `OpaqueData`, ...).
    pub attributes: BTreeMap<String, String>,
}

impl Topic {
    /// Its ARN in `region`.
    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:sns:{region}:{}:{}", self.account_id, self.name)
    }

    /// The webhook its events go to, if it has one.
    pub fn push_endpoint(&self) -> Option<&str> {
        self.attributes.get(PUSH_ENDPOINT).map(String::as_str)
    }
}

/// The (account, name) an ARN names; `None` unless it is a topic ARN.
pub fn parse_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region) = (parts.next()?, parts.next()?, parts.next()?);
    let (account, name) = (parts.next()?, parts.next()?);
    (service == "sns" && !account.is_empty() && check_name(name).is_ok()).then_some((account, name))
}

/// Why `name` cannot name a topic, if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("topic names are 1 to 256 letters, digits, hyphens and underscores".into())
    }
}

/// Why a topic's attributes are refused, if they are: too many, too long, or a push endpoint
/// that is no webhook URL (or plain `http` when `allow_private` is off).
pub fn check_attributes(
    attributes: &BTreeMap<String, String>,
    allow_private: bool,
) -> Result<(), String> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(format!("a topic has at most {MAX_ATTRIBUTES} attributes"));
    }
    if let Some((k, _)) = attributes
        .iter()
        .find(|(k, v)| k.is_empty() || k.len() > 256 || v.len() > MAX_VALUE)
    {
        return Err(format!("attribute {k:?} is empty or too long"));
    }
    if let Some(url) = attributes.get(PUSH_ENDPOINT) {
        let (https, _, _) = crate::target::parse_url(url)?;
        if !https && !allow_private {
            return Err("the push-endpoint must use https".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip() {
        let topic = Topic {
            account_id: "pier".into(),
            name: "uploads_1".into(),
            attributes: BTreeMap::new(),
        };
        let arn = topic.arn("us-east-1");
        assert_eq!(arn, "arn:aws:sns:us-east-1:pier:uploads_1");
        assert_eq!(parse_arn(&arn), Some(("pier", "uploads_1")));
    }

    #[test]
    fn other_arns_are_not_topics() {
        assert_eq!(parse_arn("arn:aws:sqs:us-east-1:pier:q"), None);
        assert_eq!(parse_arn("arn:aws:sns:us-east-1::t"), None);
        assert_eq!(parse_arn("arn:aws:sns:us-east-1:pier:a/b"), None);
        assert_eq!(parse_arn("topic"), None);
    }

    #[test]
    fn push_endpoints_are_checked_like_webhooks() {
        let mut attrs = BTreeMap::new();
        attrs.insert(PUSH_ENDPOINT.to_owned(), "http://10.0.0.1/hook".to_owned());
        assert!(check_attributes(&attrs, false).is_err());
        assert!(check_attributes(&attrs, true).is_ok());
        attrs.insert(PUSH_ENDPOINT.to_owned(), "ftp://example.com/".to_owned());
        assert!(check_attributes(&attrs, true).is_err());
    }
}
