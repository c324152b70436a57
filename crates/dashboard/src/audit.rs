//! The audit log in the console: every change to keys, accounts, caps and bucket settings, by
//! bucket or by account, with who made it, through what, before and after; and the same as
//! JSON lines to download (what `pier audit` prints). Keys of the default account that may
//! manage keys see every entry; any other key sees its own account's.

use crate::auth::{Page, Signed};
use crate::buckets::{blocking, nav};
use crate::views::{render, AuditPage, AuditRow};
use crate::Dashboard;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::header;
use pier_store::AuditQuery;
use serde::Deserialize;

/// Entries shown on one page.
const PAGE: usize = 200;

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    account: String,
}

/// The query `filter` asks for, as `who` may see it: another account's entries only for the
/// default account's key managers.
fn query(d: &Dashboard, who: &Signed, filter: &Filter, limit: usize) -> AuditQuery {
    let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let account = if who.manages_accounts(d) {
        text(&filter.account)
    } else {
        Some(who.scope.account.clone())
    };
    AuditQuery {
        bucket: text(&filter.bucket),
        account,
        before: None,
        limit,
    }
}

pub(crate) async fn page(
    State(d): State<Dashboard>,
    who: Signed,
    Query(filter): Query<Filter>,
) -> Result<Response, Page> {
    let q = query(&d, &who, &filter, PAGE);
    let store = d.store().clone();
    let entries = blocking(move || store.audit(&q).map_err(Page::store)).await?;
    let rows = entries
        .iter()
        .map(|e| AuditRow {
            time: pier_edge::audit::rfc3339(e.time),
            key_id: e.actor.key_id.clone().unwrap_or_else(|| "-".into()),
            account: e.actor.account.clone().unwrap_or_else(|| "-".into()),
            action: e.actor.action.clone(),
            what: match (&e.bucket, &e.owner) {
                (Some(b), _) => format!("{} {b}", e.target),
                (None, Some(o)) => format!("{} of account {o}", e.target),
                _ => e.target.clone(),
            },
            before: e.before.to_string(),
            after: e.after.to_string(),
            remote_addr: e.actor.remote_addr.clone().unwrap_or_else(|| "-".into()),
        })
        .collect();
    let download = format!(
        "/audit.jsonl?bucket={}&account={}",
        form_urlencoded::byte_serialize(filter.bucket.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(filter.account.as_bytes()).collect::<String>()
    );
    Ok(render(&AuditPage {
        nav: nav(&d, &who),
        bucket: filter.bucket,
        account: filter.account,
        rows,
        download,
    }))
}

/// The entries as JSON lines, oldest first (at most the newest 100,000).
pub(crate) async fn download(
    State(d): State<Dashboard>,
    who: Signed,
    Query(filter): Query<Filter>,
) -> Result<Response, Page> {
    let q = query(&d, &who, &filter, 100_000);
    let store = d.store().clone();
    let entries = blocking(move || store.audit(&q).map_err(Page::store)).await?;
    let mut body = String::new();
    for entry in entries.iter().rev() {
        body.push_str(&pier_edge::audit::json_line(entry).to_string());
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"pier-audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
