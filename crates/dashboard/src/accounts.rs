//! Accounts, for keys of the default account that may manage keys: every account with its keys,
//! buckets, usage and caps; creating an account (its first key shown once); setting caps on an
//! account or a bucket; deleting an account's keys (its buckets kept, and said so before).

use crate::auth::{Button, Page, Signed};
use crate::buckets::{blocking, nav};
use crate::extract::Posted;
use crate::views::{render, size, AccountView, AccountsPage, BucketUsageRow, CapsView, NewAccount};
use crate::Dashboard;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use pier_access::Action;
use pier_store::{CapScope, Caps, KeyRestrictions, Usage, DEFAULT_ACCOUNT};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Refuses anyone but a key of the default account that may `action` on keys.
fn admin(d: &Dashboard, who: &Signed, action: Action) -> Result<(), Page> {
    who.allow(d, action, None, None, None)?;
    if who.scope.account != DEFAULT_ACCOUNT {
        return Err(Page::new(
            StatusCode::FORBIDDEN,
            "Only keys of the default account manage accounts.",
        ));
    }
    Ok(())
}

/// A cap as its form field shows it: empty for none, whole GiB or MiB when it is one.
fn limit_text(v: Option<u64>, size: bool) -> String {
    match v {
        None => String::new(),
        Some(v) if size && v > 0 && v % (1 << 30) == 0 => format!("{}GiB", v >> 30),
        Some(v) if size && v > 0 && v % (1 << 20) == 0 => format!("{}MiB", v >> 20),
        Some(v) => v.to_string(),
    }
}

fn caps_view(d: &Dashboard, scope: &CapScope, caps: Caps) -> Result<CapsView, Page> {
    let today = if caps.transactions_per_day.is_some() {
        d.store().transactions_today(scope).map_err(Page::store)?
    } else {
        0
    };
    Ok(CapsView {
        storage: limit_text(caps.storage, true),
        objects: limit_text(caps.objects, false),
        transactions: limit_text(caps.transactions_per_day, false),
        storage_cap: caps.storage.map(size),
        today,
    })
}

fn page(
    d: &Dashboard,
    who: &Signed,
    created: Option<NewAccount>,
    error: Option<String>,
) -> Result<Response, Page> {
    admin(d, who, Action::ListKeys)?;
    let store = d.store();
    let keys = store.keys().map_err(Page::store)?;
    let buckets = store.buckets().map_err(Page::store)?;
    let usage: HashMap<String, Usage> = store
        .all_usage()
        .map_err(Page::store)?
        .into_iter()
        .collect();
    let caps: HashMap<CapScope, Caps> =
        store.all_caps().map_err(Page::store)?.into_iter().collect();
    let mut accounts: BTreeMap<String, AccountView> = BTreeMap::new();
    let entry = |accounts: &mut BTreeMap<String, AccountView>, id: &str| -> Result<(), Page> {
        if !accounts.contains_key(id) {
            let scope = CapScope::Account(id.to_owned());
            let view = AccountView {
                id: id.to_owned(),
                default: id == DEFAULT_ACCOUNT,
                mine: id == who.scope.account,
                keys: Vec::new(),
                buckets: Vec::new(),
                objects: 0,
                stored: String::new(),
                caps: caps_view(d, &scope, caps.get(&scope).copied().unwrap_or_default())?,
            };
            accounts.insert(id.to_owned(), view);
        }
        Ok(())
    };
    for key in &keys {
        entry(&mut accounts, &key.account)?;
        if let Some(a) = accounts.get_mut(&key.account) {
            a.keys.push(key.access_key.clone());
        }
    }
    let mut totals: HashMap<String, Usage> = HashMap::new();
    for b in buckets {
        entry(&mut accounts, &b.owner)?;
        let used = usage.get(&b.id).copied().unwrap_or_default();
        let total = totals.entry(b.owner.clone()).or_default();
        *total = total.plus(used);
        let scope = CapScope::Bucket(b.id.clone());
        let row = BucketUsageRow {
            name: b.name.clone(),
            objects: used.objects,
            size: size(used.bytes),
            stored: size(used.storage()),
            uploads: used.uploads,
            caps: caps_view(d, &scope, caps.get(&scope).copied().unwrap_or_default())?,
        };
        if let Some(a) = accounts.get_mut(&b.owner) {
            a.buckets.push(row);
        }
    }
    for (id, a) in accounts.iter_mut() {
        let total = totals.get(id).copied().unwrap_or_default();
        a.objects = total.objects;
        a.stored = size(total.storage());
    }
    let can_write = who.may(d, Action::WriteKeys, None);
    Ok(render(&AccountsPage {
        nav: nav(d, who),
        accounts: accounts.into_values().collect(),
        created,
        error,
        can_write,
    }))
}

pub(crate) async fn list(State(d): State<Dashboard>, who: Signed) -> Result<Response, Page> {
    page(&d, &who, None, None)
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    description: String,
}

/// Makes a new account by making its first key (an account exists while a key names it); the
/// key's secret is shown once.
pub(crate) async fn create(
    State(d): State<Dashboard>,
    Posted { who, form }: Posted<CreateForm>,
) -> Result<Response, Page> {
    admin(&d, &who, Action::WriteKeys)?;
    let account = pier_store::new_account_id();
    let store = d.store().clone();
    let made = account.clone();
    let description = if form.description.trim().is_empty() {
        format!("first key of account {account}")
    } else {
        form.description.trim().to_owned()
    };
    let actor = who.actor("create account");
    let key = blocking(move || {
        store
            .acting(actor)
            .create_key(&made, &description, KeyRestrictions::default())
            .map_err(Page::store)
    })
    .await?;
    page(
        &d,
        &who,
        Some(NewAccount {
            account,
            key_id: key.access_key,
            secret: key.secret,
        }),
        None,
    )
}

#[derive(Deserialize)]
pub(crate) struct CapsForm {
    /// `account` or `bucket`.
    kind: String,
    /// The account's id or the bucket's name.
    id: String,
    #[serde(default)]
    storage: String,
    #[serde(default)]
    objects: String,
    #[serde(default)]
    transactions: String,
}

/// Sets an account's or a bucket's caps from its form; a value that does not read is shown at
/// the top of the page, naming its field.
pub(crate) async fn set_caps(
    State(d): State<Dashboard>,
    Posted { who, form }: Posted<CapsForm>,
) -> Result<Response, Page> {
    admin(&d, &who, Action::WriteKeys)?;
    let scope = match form.kind.as_str() {
        "account" if pier_store::is_account_id(&form.id) => CapScope::Account(form.id.clone()),
        "account" => {
            return Err(Page::new(
                StatusCode::BAD_REQUEST,
                format!("{:?} is not an account id", form.id),
            ))
        }
        "bucket" => CapScope::Bucket(d.store().bucket(&form.id).map_err(Page::store)?.id.clone()),
        other => {
            return Err(Page::new(
                StatusCode::BAD_REQUEST,
                format!("caps are for an account or a bucket, not {other:?}"),
            ))
        }
    };
    let read = |field: &str, text: &str, size: bool| {
        pier_edge::limits::parse_limit(text, size)
            .map_err(|why| format!("{field} cap of {} {}: {why}", form.kind, form.id))
    };
    let caps = (|| {
        Ok::<_, String>(Caps {
            storage: read("Storage", &form.storage, true)?,
            objects: read("Object", &form.objects, false)?,
            transactions_per_day: read("Transaction", &form.transactions, false)?,
        })
    })();
    let caps = match caps {
        Ok(caps) => caps,
        Err(why) => {
            let mut response = page(&d, &who, None, Some(why))?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let store = d.store().clone();
    let actor = who.actor("caps");
    blocking(move || {
        store
            .acting(actor)
            .set_caps(&scope, caps)
            .map_err(Page::store)
    })
    .await?;
    Ok(Redirect::to(&format!("/accounts#{}-{}", form.kind, form.id)).into_response())
}

/// Deletes an account's keys (and ends their sessions): the account is then gone. Its buckets
/// are kept with everything in them, owned by it, and reachable by no key until a key of the
/// account is made again (`pier key create --account ID`); the form says so before.
pub(crate) async fn delete(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
    Posted { who, .. }: Posted<Button>,
) -> Result<Response, Page> {
    admin(&d, &who, Action::DeleteKeys)?;
    if id == DEFAULT_ACCOUNT {
        return Err(Page::new(
            StatusCode::BAD_REQUEST,
            "The default account cannot be deleted.",
        ));
    }
    let store = d.store().clone();
    let account = id.clone();
    let actor = who.actor("delete account");
    let gone = blocking(move || {
        let mut gone = Vec::new();
        for key in store.keys().map_err(Page::store)? {
            if key.account == account {
                store
                    .acting(actor.clone())
                    .delete_key(&key.access_key)
                    .map_err(Page::store)?;
                gone.push(key.access_key);
            }
        }
        Ok(gone)
    })
    .await?;
    if gone.is_empty() {
        return Err(Page::new(StatusCode::NOT_FOUND, "No such account."));
    }
    for key in gone {
        d.sessions().end_key(&key).map_err(Page::store)?;
    }
    Ok(Redirect::to("/accounts").into_response())
}
