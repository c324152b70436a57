//! Access keys: the list, creating a scoped key (its secret shown once; never more than the
//! creating key has, the same rule as `b2_create_key`), deleting one, and "why was this key
//! refused?" with the access engine's full explanation.

use crate::auth::{Button, Page, Signed};
use crate::buckets::{blocking, nav};
use crate::extract::Posted;
use crate::views::{render, time, ExplainPage, KeyRow, KeysPage};
use crate::Dashboard;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::{Action, Capabilities, Capability, KeyScope};
use pier_edge::access::{Ask, RequestFacts};
use pier_store::KeyRestrictions;
use serde::Deserialize;

fn page(d: &Dashboard, who: &Signed, created: Option<(String, String)>) -> Result<Response, Page> {
    who.allow(d, Action::ListKeys, None, None, None)?;
    let names = |ids: &Option<Vec<String>>| match ids {
        None => "all".to_owned(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                d.store()
                    .bucket_by_id(id)
                    .map_or_else(|_| id.clone(), |b| b.name.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let keys = d
        .store()
        .keys()
        .map_err(Page::store)?
        .into_iter()
        .filter(|k| d.access().scope(k).is_within(&who.scope))
        .map(|k| KeyRow {
            capabilities: k
                .scope
                .capabilities
                .as_ref()
                .map_or_else(|| "all".to_owned(), |c| c.join(", ")),
            buckets: names(&k.scope.buckets),
            prefix: k.scope.name_prefix.clone().unwrap_or_default(),
            expires: k.scope.expires.map_or_else(|| "never".to_owned(), time),
            id: k.access_key,
            description: k.description,
        })
        .collect();
    let buckets = d
        .store()
        .buckets()
        .map_err(Page::store)?
        .into_iter()
        .filter(|b| b.owner == who.scope.account && who.scope.reaches_bucket(&b.id))
        .map(|b| b.name)
        .collect();
    Ok(render(&KeysPage {
        can_create: who.may(d, Action::WriteKeys, None),
        nav: nav(d, who),
        keys,
        buckets,
        capabilities: Capability::ALL.iter().map(|c| c.name()).collect(),
        created,
        actions: Action::ALL.iter().map(|a| a.iam_name()).collect(),
    }))
}

pub(crate) async fn list(State(d): State<Dashboard>, who: Signed) -> Result<Response, Page> {
    page(&d, &who, None)
}

/// Creates a key from the form (read as its fields in order: one checkbox per capability).
pub(crate) async fn create(
    State(d): State<Dashboard>,
    Posted { who, form: fields }: Posted<Vec<(String, String)>>,
) -> Result<Response, Page> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    who.allow(&d, Action::WriteKeys, None, None, None)?;
    let checked: Vec<&str> = fields
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("cap_"))
        .collect();
    let capabilities = if checked.is_empty() {
        who.scope.capabilities
    } else {
        Capabilities::parse(checked.iter().copied()).map_err(|bad| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("unknown capability {bad:?}"),
            )
        })?
    };
    let bucket = match field("bucket") {
        // Another account's bucket is answered as one that does not exist.
        Some(name) => match d.store().bucket(&name) {
            Ok(b) if b.owner == who.scope.account => Some(b),
            Ok(_) => return Err(Page::store(pier_store::StoreError::NoSuchBucket)),
            Err(e) => return Err(Page::store(e)),
        },
        None => None,
    };
    let prefix = field("prefix");
    if prefix.is_some() && bucket.is_none() {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "A name prefix needs a bucket: choose one.",
        ));
    }
    let expires = match field("days") {
        None => None,
        Some(days) => match days.parse::<i64>() {
            Ok(n @ 1..=1000) => Some(pier_store::now_millis() + n * pier_store::lifecycle::DAY),
            _ => {
                return Err(Page::new(
                    StatusCode::BAD_REQUEST,
                    "Expiry must be 1 to 1000 days.",
                ))
            }
        },
    };
    let wanted = KeyScope {
        id: String::new(),
        account: who.scope.account.clone(),
        capabilities,
        buckets: bucket
            .as_ref()
            .map(|b| vec![(b.id.clone(), b.name.clone())]),
        name_prefix: prefix.clone(),
        expires,
    };
    if !wanted.is_within(&who.scope) {
        return Err(Page::new(
            StatusCode::FORBIDDEN,
            "A key cannot create a key with more than it has (capabilities, buckets, prefix or lifetime).",
        ));
    }
    let restrictions = KeyRestrictions {
        capabilities: Some(capabilities.owned_names()),
        buckets: bucket.map(|b| vec![b.id.clone()]),
        name_prefix: prefix,
        expires,
    };
    let store = d.store().clone();
    let description = field("description").unwrap_or_else(|| "made in the dashboard".into());
    let account = who.scope.account.clone();
    let actor = who.actor("create key");
    let key = blocking(move || {
        store
            .acting(actor)
            .create_key(&account, &description, restrictions)
            .map_err(Page::store)
    })
    .await?;
    page(&d, &who, Some((key.access_key, key.secret)))
}

pub(crate) async fn delete(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
    Posted { who, .. }: Posted<Button>,
) -> Result<Response, Page> {
    who.allow(&d, Action::DeleteKeys, None, None, None)?;
    let key = d
        .store()
        .key(&id)
        .map_err(Page::store)?
        .ok_or_else(|| Page::new(StatusCode::NOT_FOUND, "No such key."))?;
    if !d.access().scope(&key).is_within(&who.scope) {
        return Err(Page::new(
            StatusCode::FORBIDDEN,
            "A key may only delete keys within its own scope.",
        ));
    }
    let store = d.store().clone();
    let gone = id.clone();
    let actor = who.actor("delete key");
    blocking(move || store.acting(actor).delete_key(&gone).map_err(Page::store)).await?;
    d.sessions().end_key(&id).map_err(Page::store)?;
    Ok(Redirect::to("/keys").into_response())
}

#[derive(Deserialize)]
pub(crate) struct ExplainQuery {
    key: String,
    action: String,
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    object: String,
}

pub(crate) async fn explain(
    State(d): State<Dashboard>,
    who: Signed,
    Query(q): Query<ExplainQuery>,
) -> Result<Response, Page> {
    who.allow(&d, Action::ListKeys, None, None, None)?;
    let action = Action::ALL
        .iter()
        .copied()
        .find(|a| a.iam_name() == q.action)
        .ok_or_else(|| {
            Page::new(
                StatusCode::BAD_REQUEST,
                format!("unknown action {:?}", q.action),
            )
        })?;
    let key = d
        .store()
        .key(q.key.trim())
        .map_err(Page::store)?
        .ok_or_else(|| Page::new(StatusCode::NOT_FOUND, "No such key."))?;
    let scope = d.access().scope(&key);
    if !scope.is_within(&who.scope) {
        return Err(Page::new(
            StatusCode::FORBIDDEN,
            "You may only explain keys within your own scope.",
        ));
    }
    let bucket = (!q.bucket.is_empty()).then_some(q.bucket.as_str());
    let object = (!q.object.is_empty()).then_some(q.object.as_str());
    let decision = d
        .access()
        .explain(
            Some(&scope),
            Ask {
                action,
                bucket,
                key: object,
                prefix: None,
            },
            RequestFacts::default(),
        )
        .map_err(Page::store)?;
    Ok(render(&ExplainPage {
        nav: nav(&d, &who),
        key: key.access_key.clone(),
        action: q.action,
        bucket: q.bucket,
        object: q.object,
        allowed: decision.allowed,
        reason: decision.reason.to_string(),
        trace: decision.trace.clone(),
    }))
}
