//! A bucket's CORS rules in the browser: the current list; B2's quick choices, which show the
//! rules they create before anything is saved; a JSON/XML editor accepting the three dialects
//! with every validation error at its rule and field, lint warnings, the rules in every dialect
//! with the equivalent CLI command, and a semantic diff (what browsers gain and lose); and the
//! simulator, which takes a request (or a pasted console error, `curl` or `fetch()` snippet)
//! and shows the verdict, the exact headers, the rule-by-rule trace and a `curl` preflight.

use crate::auth::{ActionForm, Page, Signed};
use crate::buckets::{nav, save_settings};
use crate::extract::{InBucket, PostedToBucket};
use crate::views::{
    render, time, Converted, CorsPage, Preview, RefusedRow, Simulation, StagedView,
};
use crate::Dashboard;
use axum::extract::{Query, State};
use axum::response::Response;
use http::StatusCode;
use pier_access::Action;
use pier_cors::presets::{self, Audience, Sharing};
use pier_cors::{CorsConfig, CorsRequest, Decision, Endpoint, Format};
use pier_edge::cors_watch::Seen;
use pier_store::BucketUpdate;
use serde::Deserialize;
use std::collections::BTreeSet;

fn current(d: &Dashboard, bucket: &str) -> Result<(pier_store::Bucket, Option<CorsConfig>), Page> {
    let b = d.store().bucket(bucket).map_err(Page::store)?;
    let config = pier_edge::bucket_cors(&b);
    Ok(((*b).clone(), config))
}

/// The rules as their own dialect's document (B2 rules as B2 JSON, S3 as XML, R2 as R2 JSON).
fn shown(config: &CorsConfig) -> String {
    let format = match config.rules().first().map(|r| r.dialect()) {
        Some(pier_cors::Dialect::S3) => Format::S3Xml,
        Some(pier_cors::Dialect::R2) => Format::R2Json,
        _ => Format::B2Json,
    };
    pier_cors::serialize(config, format)
        .or_else(|_| pier_cors::serialize(config, Format::B2Json))
        .unwrap_or_default()
}

/// What browsers may do under `config`: one line per origin, operation and header granted.
fn grants(config: Option<&CorsConfig>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in config.map(|c| c.rules()).unwrap_or_default() {
        for origin in rule.origins() {
            for op in rule.operations() {
                out.insert(format!("{origin} may {op}"));
                for h in rule.allowed_headers() {
                    out.insert(format!("{origin} may send header {h} with {op}"));
                }
            }
            for h in rule.expose_headers() {
                out.insert(format!("{origin} may read response header {h}"));
            }
        }
    }
    out
}

/// The CLI command that sets the same rules.
fn command(bucket: &str, format: Format) -> String {
    match format {
        Format::B2Json => format!("b2 bucket update --cors-rules \"$(cat rules.json)\" {bucket}"),
        Format::S3Json => format!(
            "aws s3api put-bucket-cors --bucket {bucket} --cors-configuration file://cors.json"
        ),
        Format::S3Xml => format!("pier bucket cors {bucket} --rules cors.xml"),
        Format::R2Json | Format::R2RestJson => {
            format!("pier bucket cors {bucket} --rules r2-cors.json")
        }
    }
}

/// A remembered request in one line.
fn describe(s: &Seen) -> String {
    let headers = if s.headers.is_empty() {
        String::new()
    } else {
        format!(" with {}", s.headers)
    };
    let kind = if s.preflight { "preflight" } else { "request" };
    format!("{} {} {kind}{headers}", s.origin, s.method)
}

/// Checks candidate rules in any dialect against the bucket's current ones and against the
/// cross-origin requests recently seen there.
fn check(
    d: &Dashboard,
    bucket: &pier_store::Bucket,
    text: &str,
    before: Option<&CorsConfig>,
) -> Preview {
    let bucket_name = bucket.name.as_str();
    match pier_cors::parse_detect(text, None) {
        Err(e) => Preview {
            text: text.to_owned(),
            errors: e.errors.iter().map(|e| e.to_string()).collect(),
            warnings: Vec::new(),
            converted: Vec::new(),
            gained: Vec::new(),
            lost: Vec::new(),
            flips: Vec::new(),
            valid: false,
        },
        Ok((config, _)) => {
            let warnings = pier_cors::lint(&config)
                .iter()
                .map(|w| w.to_string())
                .collect();
            let converted = [
                Format::B2Json,
                Format::S3Json,
                Format::S3Xml,
                Format::R2Json,
            ]
            .into_iter()
            .map(|f| Converted {
                dialect: match f {
                    Format::B2Json => "B2 corsRules",
                    Format::S3Json => "aws CLI JSON",
                    Format::S3Xml => "S3 XML",
                    _ => "R2 dashboard JSON",
                },
                text: pier_cors::serialize(&config, f).unwrap_or_else(|e| {
                    format!("cannot be expressed: {}", e.to_string().replace('\n', "; "))
                }),
                command: command(bucket_name, f),
            })
            .collect();
            let (old, new) = (grants(before), grants(Some(&config)));
            let flips = d
                .watch()
                .flips(&bucket.id, Some(&config))
                .iter()
                .map(|(s, now)| {
                    let (from, to) = if *now {
                        ("refused", "allowed")
                    } else {
                        ("allowed", "refused")
                    };
                    format!("{}: {from} → {to} ({} seen)", describe(s), s.count)
                })
                .collect();
            Preview {
                text: text.to_owned(),
                errors: Vec::new(),
                warnings,
                converted,
                gained: new.difference(&old).cloned().collect(),
                lost: old.difference(&new).cloned().collect(),
                flips,
                valid: true,
            }
        }
    }
}

fn show(
    d: &Dashboard,
    who: &Signed,
    bucket: String,
    editor: Option<String>,
    preview: Option<Preview>,
    simulation: Option<Simulation>,
    saved: bool,
) -> Result<Response, Page> {
    let (b, config) = current(d, &bucket)?;
    let current = config.as_ref().map(shown).unwrap_or_default();
    let refused = d
        .watch()
        .refused(&b.id)
        .into_iter()
        .map(|s| RefusedRow {
            kind: if s.preflight { "preflight" } else { "request" },
            last_seen: time(s.last_seen),
            origin: s.origin,
            method: s.method,
            headers: s.headers,
            reason: s.reason,
            count: s.count,
        })
        .collect();
    let staged = d.watch().staged(&b.id).map(|s| {
        let r = s.report();
        StagedView {
            text: s.text.clone(),
            since: time(s.since),
            same: r.same,
            newly_allowed: r.newly_allowed,
            newly_refused: r.newly_refused,
            examples: r
                .examples
                .iter()
                .map(|e| {
                    let verdict = if e.allowed {
                        "would allow"
                    } else {
                        "would refuse"
                    };
                    format!("{verdict}: {} ({} seen)", describe(e), e.count)
                })
                .collect(),
        }
    });
    Ok(render(&CorsPage {
        nav: nav(d, who),
        editor: editor.unwrap_or_else(|| current.clone()),
        current,
        preview,
        simulation,
        saved,
        bucket,
        refused,
        staged,
    }))
}

pub(crate) async fn page(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
) -> Result<Response, Page> {
    who.allow(&d, Action::GetBucketCors, Some(&bucket), None, None)?;
    show(&d, &who, bucket, None, None, None, false)
}

#[derive(Deserialize)]
pub(crate) struct PreviewForm {
    mode: String,
    audience: Option<String>,
    origin: Option<String>,
    sharing: Option<String>,
    rules: Option<String>,
    r_origin: Option<String>,
    r_method: Option<String>,
    r_headers: Option<String>,
}

/// The current rules (as B2 JSON) plus one rule allowing exactly a refused request.
fn rule_for(
    before: Option<&CorsConfig>,
    origin: &str,
    method: &str,
    headers: &str,
) -> Result<String, Page> {
    let op = Endpoint::S3.operation(method).ok_or_else(|| {
        Page::new(
            StatusCode::BAD_REQUEST,
            format!("{method} is not an S3 operation"),
        )
    })?;
    let mut rules: Vec<serde_json::Value> = match before {
        Some(c) => pier_cors::serialize(c, Format::B2Json)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let allowed_headers: Vec<String> = headers
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    rules.push(serde_json::json!({
        "corsRuleName": format!("allowRefused{}", rules.len() + 1),
        "allowedOrigins": [origin],
        "allowedOperations": [op.to_string()],
        "allowedHeaders": allowed_headers,
        "maxAgeSeconds": 3600
    }));
    Ok(serde_json::to_string_pretty(&rules).expect("rules serialize"))
}

/// Shows what a quick choice or pasted rules would set, without saving.
pub(crate) async fn preview(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<PreviewForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::GetBucketCors, Some(&bucket), None, None)?;
    let (b, before) = current(&d, &bucket)?;
    let text = if form.mode == "refused" {
        rule_for(
            before.as_ref(),
            form.r_origin.as_deref().unwrap_or(""),
            form.r_method.as_deref().unwrap_or("GET"),
            form.r_headers.as_deref().unwrap_or(""),
        )?
    } else if form.mode == "quick" {
        let sharing = match form.sharing.as_deref() {
            Some("uploads") => Sharing::DownloadsAndUploads,
            _ => Sharing::Downloads,
        };
        let audience = match form.audience.as_deref() {
            Some("all") => Audience::Everyone,
            Some("https") => Audience::AnyHttps,
            Some("origin") => Audience::Origin(form.origin.unwrap_or_default().trim().to_owned()),
            _ => {
                let preview = check_empty(&d, &bucket)?;
                return show(
                    &d,
                    &who,
                    bucket,
                    Some("[]".into()),
                    Some(preview),
                    None,
                    false,
                );
            }
        };
        presets::rules_json(&audience, sharing)
    } else {
        form.rules.unwrap_or_default()
    };
    let preview = check(&d, &b, &text, before.as_ref());
    show(&d, &who, bucket, Some(text), Some(preview), None, false)
}

/// The preview of removing every rule.
fn check_empty(d: &Dashboard, bucket: &str) -> Result<Preview, Page> {
    let (_, before) = current(d, bucket)?;
    Ok(Preview {
        text: "[]".into(),
        errors: Vec::new(),
        warnings: Vec::new(),
        converted: Vec::new(),
        gained: Vec::new(),
        lost: grants(before.as_ref()).into_iter().collect(),
        flips: Vec::new(),
        valid: true,
    })
}

#[derive(Deserialize)]
pub(crate) struct SaveForm {
    rules: String,
}

pub(crate) async fn save(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<SaveForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::PutBucketCors, Some(&bucket), None, None)?;
    let text = form.rules.trim();
    let stored = if text.is_empty() || text == "[]" {
        None
    } else {
        let config = parse_rules(text, "saved")?;
        config.is_enabled().then(|| config.to_stored())
    };
    set_live(&d, who.actor("cors"), &bucket, stored).await?;
    show(&d, &who, bucket, None, None, None, true)
}

/// Rules in any dialect, or a 400 page saying they were not `done` and every problem.
fn parse_rules(text: &str, done: &str) -> Result<CorsConfig, Page> {
    pier_cors::parse_detect(text, None)
        .map(|(config, _)| config)
        .map_err(|e| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "The rules were not {done}: {}",
                    e.to_string().replace('\n', "; ")
                ),
            )
        })
}

/// Makes `stored` (or no rules) the bucket's live CORS rules.
async fn set_live(
    d: &Dashboard,
    actor: pier_store::Actor,
    bucket: &str,
    stored: Option<String>,
) -> Result<(), Page> {
    let update = BucketUpdate {
        cors: Some(stored),
        ..Default::default()
    };
    save_settings(d, actor, bucket, update).await
}

/// Puts candidate rules on report-only duty beside the live ones.
pub(crate) async fn stage(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<SaveForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::PutBucketCors, Some(&bucket), None, None)?;
    let (b, _) = current(&d, &bucket)?;
    let config = parse_rules(form.rules.trim(), "staged")?;
    d.watch().stage(&b.id, config, form.rules.trim().to_owned());
    show(&d, &who, bucket, None, None, None, false)
}

/// Promotes the staged rules to live, or discards them.
pub(crate) async fn staged_action(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<ActionForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::PutBucketCors, Some(&bucket), None, None)?;
    let (b, _) = current(&d, &bucket)?;
    let Some(staged) = d.watch().unstage(&b.id) else {
        return show(&d, &who, bucket, None, None, None, false);
    };
    if form.action != "promote" {
        return show(&d, &who, bucket, None, None, None, false);
    }
    let stored = staged
        .config
        .is_enabled()
        .then(|| staged.config.to_stored());
    set_live(&d, who.actor("cors"), &bucket, stored).await?;
    show(&d, &who, bucket, None, None, None, true)
}

#[derive(Deserialize)]
pub(crate) struct SimulateQuery {
    #[serde(default)]
    origin: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    paste: String,
}

/// What a pasted console error, `curl` command or `fetch()` call says about a request:
/// `(origin, method, headers)`, each when found.
pub fn read_paste(text: &str) -> (Option<String>, Option<String>, Vec<String>) {
    let quoted_after = |marker: &str| -> Option<String> {
        let rest = &text[text.find(marker)? + marker.len()..];
        let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let rest = &rest[1..];
        Some(rest[..rest.find(quote)?].to_owned())
    };
    let mut origin = quoted_after("from origin ");
    let mut method = None;
    let mut headers = Vec::new();
    // curl: -H 'Name: value' and -X METHOD.
    for marker in ["-H ", "--header "] {
        let mut at = 0;
        while let Some(i) = text[at..].find(marker) {
            let start = at + i + marker.len();
            at = start;
            let rest = &text[start..];
            let Some(q) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
                continue;
            };
            let Some(end) = rest[1..].find(q) else { break };
            let header = &rest[1..1 + end];
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                match name.as_str() {
                    "origin" => origin = Some(value.trim().to_owned()),
                    "access-control-request-method" => method = Some(value.trim().to_owned()),
                    "access-control-request-headers" => {
                        headers.extend(value.split(',').map(|h| h.trim().to_ascii_lowercase()))
                    }
                    "accept" | "accept-language" | "user-agent" | "referer" | "cookie"
                    | "sec-fetch-mode" | "sec-fetch-site" | "sec-fetch-dest" | "connection"
                    | "pragma" | "cache-control" => {}
                    _ if !name.starts_with("sec-ch-") => headers.push(name),
                    _ => {}
                }
            }
        }
    }
    for marker in ["-X ", "--request "] {
        if let Some(i) = text.find(marker) {
            let m: String = text[i + marker.len()..]
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if !m.is_empty() {
                method = Some(m.to_ascii_uppercase());
            }
        }
    }
    // fetch(url, { method: "PUT", headers: { "Content-Type": ... } }).
    if let Some(m) = quoted_after("method: ").or_else(|| quoted_after("\"method\": ")) {
        method = Some(m.to_ascii_uppercase());
    }
    if let Some(i) = text
        .find("headers: {")
        .or_else(|| text.find("\"headers\": {"))
    {
        let block = &text[i..];
        let block = &block[..block.find('}').unwrap_or(block.len())];
        for part in block.split(',') {
            let name: String = part
                .rsplit('{')
                .next()
                .unwrap_or(part)
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\''])
                .to_ascii_lowercase();
            if !name.is_empty() && !name.starts_with("headers") {
                headers.push(name);
            }
        }
    }
    headers.sort();
    headers.dedup();
    (origin, method, headers)
}

pub(crate) async fn simulate(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
    Query(q): Query<SimulateQuery>,
) -> Result<Response, Page> {
    who.allow(&d, Action::GetBucketCors, Some(&bucket), None, None)?;
    let (pasted_origin, pasted_method, pasted_headers) = read_paste(&q.paste);
    let origin = pasted_origin.unwrap_or(q.origin).trim().to_owned();
    let method = pasted_method
        .unwrap_or(q.method)
        .trim()
        .to_ascii_uppercase();
    let method = if method.is_empty() {
        "GET".to_owned()
    } else {
        method
    };
    let headers = if pasted_headers.is_empty() {
        q.headers.trim().to_ascii_lowercase()
    } else {
        pasted_headers.join(", ")
    };
    if origin.is_empty() {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "Give the origin of the page making the request (or paste a message that names it).",
        ));
    }
    let (_, config) = current(&d, &bucket)?;
    let config = config.unwrap_or_default();
    let request = CorsRequest {
        endpoint: Endpoint::S3,
        method: "OPTIONS",
        origin: Some(&origin),
        request_method: Some(&method),
        request_headers: (!headers.is_empty()).then_some(headers.as_str()),
        preflight: true,
    };
    let explanation = config.explain(&request);
    let text = explanation.to_string();
    let (allowed, response) = match &explanation.decision {
        Decision::Allowed { headers: h, .. } => {
            let mut out = vec![
                (
                    "Access-Control-Allow-Origin".to_owned(),
                    h.allow_origin.to_owned(),
                ),
                (
                    "Access-Control-Allow-Methods".to_owned(),
                    h.allow_methods.to_owned(),
                ),
            ];
            if h.allow_credentials {
                out.push(("Access-Control-Allow-Credentials".into(), "true".into()));
            }
            if let Some(v) = &h.allow_headers {
                out.push(("Access-Control-Allow-Headers".into(), v.clone()));
            }
            if let Some(v) = h.expose_headers {
                out.push(("Access-Control-Expose-Headers".into(), v.to_owned()));
            }
            if let Some(v) = h.max_age {
                out.push(("Access-Control-Max-Age".into(), v.to_owned()));
            }
            out.push(("Vary".into(), pier_cors::VARY.to_owned()));
            (true, out)
        }
        _ => (false, Vec::new()),
    };
    let summary = text
        .lines()
        .find(|l| l.starts_with("ALLOWED") || l.starts_with("REFUSED") || l.starts_with("NOT CORS"))
        .unwrap_or("")
        .to_owned();
    let key = if q.key.is_empty() {
        "example.txt"
    } else {
        &q.key
    };
    let host = format!(
        "{}://127.0.0.1:{}",
        d.config().api_scheme(),
        d.config().api_port
    );
    let mut curl = format!(
        "curl -i -X OPTIONS '{host}/{bucket}/{key}' -H 'Origin: {origin}' -H 'Access-Control-Request-Method: {method}'"
    );
    if !headers.is_empty() {
        curl.push_str(&format!(" -H 'Access-Control-Request-Headers: {headers}'"));
    }
    let simulation = Simulation {
        origin,
        method,
        headers,
        allowed,
        summary,
        response,
        trace: text
            .lines()
            .filter(|l| l.trim_start().starts_with("rule") || l.contains("rule "))
            .map(str::to_owned)
            .collect(),
        curl,
    };
    show(&d, &who, bucket, None, None, Some(simulation), false)
}

#[cfg(test)]
mod tests {
    use super::read_paste;

    #[test]
    fn a_chrome_console_error_names_the_origin() {
        let (origin, _, _) = read_paste("Access to fetch at 'http://127.0.0.1:9000/b/k' from origin 'https://app.example.com' has been blocked by CORS policy: Response to preflight request doesn't pass access control check");
        assert_eq!(origin.as_deref(), Some("https://app.example.com"));
    }

    #[test]
    fn a_curl_command_gives_origin_method_and_headers() {
        let (origin, method, headers) = read_paste(
            "curl 'http://x/b/k' -X PUT -H 'Origin: https://a.example' -H 'Content-Type: text/plain' -H 'accept: */*' -H 'x-amz-meta-a: 1'",
        );
        assert_eq!(origin.as_deref(), Some("https://a.example"));
        assert_eq!(method.as_deref(), Some("PUT"));
        assert_eq!(headers, ["content-type", "x-amz-meta-a"]);
    }

    #[test]
    fn a_fetch_call_gives_method_and_headers() {
        let (_, method, headers) = read_paste(
            r#"fetch("http://x/b/k", { method: "PUT", headers: { "Content-Type": "text/plain", "X-Amz-Meta-A": "1" } })"#,
        );
        assert_eq!(method.as_deref(), Some("PUT"));
        assert_eq!(headers, ["content-type", "x-amz-meta-a"]);
    }
}
