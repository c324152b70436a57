//! S3 `CORSConfiguration` XML (what PutBucketCors carries) and the aws CLI's JSON shape
//! (`{"CORSRules": [...]}`, as `aws s3api put-bucket-cors --cors-configuration` takes it).

use super::json::{read_rule, shape_error, Slot};
use crate::error::{ConfigError, ErrorKind, RuleRef, ValidationError};
use crate::rule::{CorsRule, Dialect, RuleSpec};
use crate::validate::{PASCAL_FIELDS, S3_XML_FIELDS};
use crate::CorsConfig;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

/// The largest CORS document S3 accepts, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The namespace S3 documents carry.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Reads a `CORSConfiguration` document.
pub(crate) fn from_xml(text: &str) -> Result<CorsConfig, ConfigError> {
    check_size(text)?;
    let mut reader = Reader::from_str(text);
    let mut errors = Vec::new();
    let mut specs = Vec::new();
    let mut seen_root = false;
    loop {
        match next(&mut reader)? {
            Event::Start(e) if !seen_root => {
                if e.local_name().as_ref() != b"CORSConfiguration" {
                    return Err(shape_error(format!(
                        "the root element must be <CORSConfiguration>, found <{}>",
                        String::from_utf8_lossy(e.local_name().as_ref())
                    )));
                }
                seen_root = true;
                read_rules(&mut reader, &mut specs, &mut errors)?;
            }
            Event::Empty(e) if !seen_root && e.local_name().as_ref() == b"CORSConfiguration" => {
                seen_root = true;
            }
            Event::Eof => break,
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            _ if seen_root => {
                return Err(shape_error("unexpected content after </CORSConfiguration>"))
            }
            _ => return Err(shape_error("expected a <CORSConfiguration> document")),
        }
    }
    if !seen_root {
        return Err(shape_error("expected a <CORSConfiguration> document"));
    }
    if specs.is_empty() {
        errors.push(ValidationError::new(
            ErrorKind::Schema,
            "a CORSConfiguration must contain at least one <CORSRule> (to remove CORS, delete the configuration)",
        ));
    }
    super::finish(Dialect::S3, &S3_XML_FIELDS, specs, errors)
}

fn check_size(text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(shape_error(format!(
            "the document is {} bytes; a CORS configuration can be at most {MAX_DOCUMENT_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

fn next<'a>(reader: &mut Reader<&'a [u8]>) -> Result<Event<'a>, ConfigError> {
    reader.read_event().map_err(|e| {
        ConfigError::one(ValidationError::new(
            ErrorKind::Syntax,
            format!(
                "not well-formed XML (near byte {}): {e}",
                reader.error_position()
            ),
        ))
    })
}

fn read_rules(
    reader: &mut Reader<&[u8]>,
    specs: &mut Vec<RuleSpec>,
    errors: &mut Vec<ValidationError>,
) -> Result<(), ConfigError> {
    loop {
        match next(reader)? {
            Event::Start(e) if e.local_name().as_ref() == b"CORSRule" => {
                let spec = read_rule_xml(reader, specs.len(), errors)?;
                specs.push(spec);
            }
            Event::Empty(e) if e.local_name().as_ref() == b"CORSRule" => {
                specs.push(RuleSpec::default());
            }
            Event::Start(e) => {
                errors.push(unexpected_in_root(e.local_name().as_ref()));
                skip_element(reader)?;
            }
            Event::Empty(e) => errors.push(unexpected_in_root(e.local_name().as_ref())),
            Event::End(_) => return Ok(()),
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => return Err(shape_error("the document ends inside <CORSConfiguration>")),
            _ => errors.push(ValidationError::new(
                ErrorKind::Schema,
                "text is not allowed directly inside <CORSConfiguration>",
            )),
        }
    }
}

fn unexpected_in_root(name: &[u8]) -> ValidationError {
    ValidationError::new(
        ErrorKind::Schema,
        format!(
            "unexpected element <{}> in <CORSConfiguration>; only <CORSRule> elements belong there",
            String::from_utf8_lossy(name)
        ),
    )
}

fn skip_element(reader: &mut Reader<&[u8]>) -> Result<(), ConfigError> {
    let mut depth = 1usize;
    while depth > 0 {
        match next(reader)? {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            Event::Eof => return Err(shape_error("the document ends inside an element")),
            _ => {}
        }
    }
    Ok(())
}

fn read_rule_xml(
    reader: &mut Reader<&[u8]>,
    index: usize,
    errors: &mut Vec<ValidationError>,
) -> Result<RuleSpec, ConfigError> {
    let mut spec = RuleSpec::default();
    let mut local: Vec<ValidationError> = Vec::new();
    let mut max_age_seen = false;
    let mut id_seen = false;
    loop {
        let (name, value) = match next(reader)? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                (name, read_text(reader)?)
            }
            Event::Empty(e) => (
                String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                Ok(String::new()),
            ),
            Event::End(_) => break,
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
            Event::Comment(_) | Event::PI(_) => continue,
            Event::Eof => return Err(shape_error("the document ends inside <CORSRule>")),
            _ => {
                local.push(ValidationError::new(
                    ErrorKind::Schema,
                    "text is not allowed directly inside <CORSRule>; put it in an element such as <AllowedOrigin>",
                ));
                continue;
            }
        };
        let value = match value {
            Ok(v) => v,
            Err(message) => {
                local.push(ValidationError::new(ErrorKind::Schema, message).at_field(name));
                continue;
            }
        };
        match name.as_str() {
            "ID" if id_seen => local.push(
                ValidationError::new(ErrorKind::Schema, "appears more than once").at_field(name),
            ),
            "ID" => {
                id_seen = true;
                spec.name = Some(value);
            }
            "AllowedOrigin" => spec.origins.push(value),
            "AllowedMethod" => spec.operations.push(value),
            "AllowedHeader" => spec.allowed_headers.push(value),
            "ExposeHeader" => spec.expose_headers.push(value),
            "MaxAgeSeconds" if max_age_seen => local.push(
                ValidationError::new(ErrorKind::Schema, "appears more than once").at_field(name),
            ),
            "MaxAgeSeconds" => {
                max_age_seen = true;
                match value.trim().parse::<i64>() {
                    Ok(n) => spec.max_age_seconds = Some(n),
                    Err(_) => local.push(
                        ValidationError::new(
                            ErrorKind::Schema,
                            format!("{value:?} is not a whole number of seconds"),
                        )
                        .at_field(name),
                    ),
                }
            }
            other => {
                let hint = [
                    "ID",
                    "AllowedOrigin",
                    "AllowedMethod",
                    "AllowedHeader",
                    "ExposeHeader",
                    "MaxAgeSeconds",
                ]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(other) || other.eq_ignore_ascii_case(&format!("{k}s")))
                .map(|k| format!("; did you mean <{k}>?"))
                .unwrap_or_else(|| "; a <CORSRule> holds ID, AllowedOrigin, AllowedMethod, AllowedHeader, ExposeHeader and MaxAgeSeconds".into());
                local.push(ValidationError::new(
                    ErrorKind::Schema,
                    format!("unknown element <{other}>{hint}"),
                ));
            }
        }
    }
    let at = RuleRef {
        index,
        name: spec.name.clone(),
    };
    errors.extend(local.into_iter().map(|e| e.at_rule(at.clone())));
    Ok(spec)
}

/// Reads the text of a leaf element up to its end tag. `Err(message)` (an inner `Result`) when
/// the element holds child elements; the outer error is for broken XML.
fn read_text(reader: &mut Reader<&[u8]>) -> Result<Result<String, String>, ConfigError> {
    let mut text = String::new();
    let mut nested = false;
    let mut depth = 0usize;
    loop {
        match next(reader)? {
            Event::Text(t) => {
                let decoded = t
                    .xml10_content()
                    .map_err(|e| shape_error(format!("text is not valid UTF-8: {e}")))?;
                text.push_str(&decoded);
            }
            Event::CData(c) => {
                let decoded = c
                    .decode()
                    .map_err(|e| shape_error(format!("text is not valid UTF-8: {e}")))?;
                text.push_str(&decoded);
            }
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| shape_error(format!("bad entity: {e}")))?;
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    text.push_str(s);
                } else {
                    return Err(ConfigError::one(ValidationError::new(
                        ErrorKind::Syntax,
                        format!("unknown entity &{name};"),
                    )));
                }
            }
            Event::Start(_) => {
                nested = true;
                depth += 1;
            }
            Event::Empty(_) => nested = true,
            Event::End(_) if depth > 0 => depth -= 1,
            Event::End(_) => break,
            Event::Eof => return Err(shape_error("the document ends inside an element")),
            _ => {}
        }
    }
    Ok(if nested {
        Err("must hold text, not other elements".into())
    } else {
        Ok(text)
    })
}

/// Writes S3 rules (all already in the S3 dialect) as a `CORSConfiguration` document.
pub(crate) fn to_xml(rules: &[CorsRule]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<CORSConfiguration xmlns=\"{S3_XMLNS}\">\n"));
    for rule in rules {
        out.push_str("  <CORSRule>\n");
        let mut element = |name: &str, value: &str| {
            out.push_str(&format!("    <{name}>{}</{name}>\n", escape(value)));
        };
        if let Some(id) = rule.name() {
            element("ID", id);
        }
        for o in rule.origins() {
            element("AllowedOrigin", o);
        }
        for op in rule.operations() {
            element("AllowedMethod", op.s3_method().unwrap_or(op.b2_name()));
        }
        for h in rule.allowed_headers() {
            element("AllowedHeader", h);
        }
        for h in rule.expose_headers() {
            element("ExposeHeader", h);
        }
        if let Some(age) = rule.max_age_seconds() {
            element("MaxAgeSeconds", &age.to_string());
        }
        out.push_str("  </CORSRule>\n");
    }
    out.push_str("</CORSConfiguration>\n");
    out
}

/// XML-escapes text, including carriage returns and tabs so they survive a re-read unchanged.
fn escape(value: &str) -> String {
    quick_xml::escape::escape(value)
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
}

/// Reads the aws CLI's JSON shape, `{"CORSRules": [ {AllowedOrigins, AllowedMethods, ...} ]}`.
pub(crate) fn from_json(value: &Value) -> Result<CorsConfig, ConfigError> {
    let rules = match value {
        Value::Object(obj) => match obj.get("CORSRules") {
            Some(Value::Array(rules)) => rules,
            _ => {
                return Err(shape_error(
                    "expected {\"CORSRules\": [ ... ]}, the aws CLI's CORS configuration shape",
                ))
            }
        },
        _ => return Err(shape_error("expected {\"CORSRules\": [ ... ]}")),
    };
    let mut errors = Vec::new();
    if let Value::Object(obj) = value {
        for key in obj.keys().filter(|k| *k != "CORSRules") {
            errors.push(
                ValidationError::new(
                    ErrorKind::Schema,
                    "unknown field; only CORSRules belongs here",
                )
                .at_field(key.clone()),
            );
        }
    }
    let specs: Vec<_> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| read_rule(i, r, PASCAL_TABLE, &[], &mut errors))
        .collect();
    if specs.is_empty() {
        errors.push(ValidationError::new(
            ErrorKind::Schema,
            "CORSRules must contain at least one rule (to remove CORS, delete the configuration)",
        ));
    }
    super::finish(Dialect::S3, &PASCAL_FIELDS, specs, errors)
}

/// The PascalCase rule keys shared by the aws CLI's JSON and R2's dashboard.
pub(crate) const PASCAL_TABLE: &[(&str, Slot)] = &[
    ("ID", Slot::Name),
    ("AllowedOrigins", Slot::Origins),
    ("AllowedMethods", Slot::Operations),
    ("AllowedHeaders", Slot::AllowedHeaders),
    ("ExposeHeaders", Slot::ExposeHeaders),
    ("MaxAgeSeconds", Slot::MaxAge),
];

/// Writes rules in the PascalCase JSON rule shape (fields left out when empty).
pub(crate) fn pascal_rules(rules: &[CorsRule]) -> Vec<Value> {
    rules
        .iter()
        .map(|r| {
            let mut obj = serde_json::Map::new();
            if let Some(id) = r.name() {
                obj.insert("ID".into(), id.into());
            }
            obj.insert("AllowedOrigins".into(), r.origins().into());
            let methods: Vec<&str> = r
                .operations()
                .iter()
                .map(|op| op.s3_method().unwrap_or(op.b2_name()))
                .collect();
            obj.insert("AllowedMethods".into(), methods.into());
            if !r.allowed_headers().is_empty() {
                obj.insert("AllowedHeaders".into(), r.allowed_headers().into());
            }
            if !r.expose_headers().is_empty() {
                obj.insert("ExposeHeaders".into(), r.expose_headers().into());
            }
            if let Some(age) = r.max_age_seconds() {
                obj.insert("MaxAgeSeconds".into(), age.into());
            }
            Value::Object(obj)
        })
        .collect()
}

/// Writes S3 rules in the aws CLI's JSON shape.
pub(crate) fn to_json(rules: &[CorsRule]) -> String {
    let doc = serde_json::json!({ "CORSRules": pascal_rules(rules) });
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data serializes");
    text.push('\n');
    text
}
