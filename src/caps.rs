//! `pier caps`: storage, object and daily transaction caps per account or bucket, and what each
//! holds (`docs/design.md`, "Usage and caps"); and `pier audit`, who changed them and every other
//! setting ("Audit log").

use crate::cli::{AuditArgs, CapScopeArgs, CapsCommand};
use anyhow::Context as _;
use pier_store::{CapScope, Caps, Store, Usage};
use std::process::ExitCode;

/// `pier caps ...`.
pub fn caps(cmd: CapsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CapsCommand::Set {
            data,
            scope,
            storage,
            objects,
            transactions_per_day,
        } => {
            let store = data.open_admin()?;
            let scope = resolve(&store, &scope)?;
            let mut caps = store.caps(&scope)?;
            if let Some(v) = storage {
                caps.storage = parse_limit(&v, true).context("--storage")?;
            }
            if let Some(v) = objects {
                caps.objects = parse_limit(&v, false).context("--objects")?;
            }
            if let Some(v) = transactions_per_day {
                caps.transactions_per_day =
                    parse_limit(&v, false).context("--transactions-per-day")?;
            }
            store
                .acting(pier_store::Actor::new("cli:caps set"))
                .set_caps(&scope, caps)?;
            println!("{}", describe(&store, &scope, caps, None)?);
            store.close()?;
        }
        CapsCommand::Show {
            data,
            account,
            bucket,
            recount,
        } => {
            let store = data.open_admin()?;
            let scopes = match (account, bucket) {
                (Some(account), _) => vec![CapScope::Account(account)],
                (_, Some(name)) => vec![CapScope::Bucket(store.bucket(&name)?.id.clone())],
                (None, None) => {
                    let mut all: Vec<CapScope> =
                        store.all_caps()?.into_iter().map(|(s, _)| s).collect();
                    if recount {
                        for b in store.buckets()? {
                            let scope = CapScope::Bucket(b.id);
                            if !all.contains(&scope) {
                                all.push(scope);
                            }
                        }
                    }
                    all
                }
            };
            let mut disagree = false;
            for scope in scopes {
                let caps = store.caps(&scope)?;
                let recounted = match (&scope, recount) {
                    (CapScope::Bucket(id), true) => Some(store.recount_usage(id)?),
                    _ => None,
                };
                println!("{}", describe(&store, &scope, caps, recounted)?);
                if let (CapScope::Bucket(id), Some(fresh)) = (&scope, recounted) {
                    disagree |= store.usage(id)? != fresh;
                }
            }
            store.close()?;
            if disagree {
                eprintln!("the counters disagree with a recount of the rows");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `pier audit`: the log as JSON lines, oldest first (read newest first, in pages).
pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let store = args.data.open_admin()?;
    let wanted = args.limit.unwrap_or(usize::MAX);
    let mut entries = Vec::new();
    let mut before = None;
    while entries.len() < wanted {
        let page = store.audit(&pier_store::AuditQuery {
            bucket: args.bucket.clone(),
            account: args.account.clone(),
            before,
            limit: (wanted - entries.len()).min(1000),
        })?;
        let Some(last) = page.last() else {
            break;
        };
        before = Some(last.n);
        entries.extend(page);
    }
    store.close()?;
    for entry in entries.iter().rev() {
        println!("{}", pier_edge::audit::json_line(entry));
    }
    Ok(ExitCode::SUCCESS)
}

/// The scope the arguments name; a bucket by its name, which must exist.
fn resolve(store: &Store, args: &CapScopeArgs) -> anyhow::Result<CapScope> {
    match (&args.account, &args.bucket) {
        (Some(account), _) if !pier_store::is_account_id(account) => anyhow::bail!(
            "{account:?} is not an account id (1 to 64 letters, digits, '.', '_' or '-')"
        ),
        (Some(account), _) => Ok(CapScope::Account(account.clone())),
        (_, Some(name)) => {
            let bucket = store
                .bucket(name)
                .with_context(|| format!("bucket {name:?}"))?;
            Ok(CapScope::Bucket(bucket.id.clone()))
        }
        (None, None) => anyhow::bail!("name --account or --bucket"),
    }
}

/// One line: the scope (a bucket by name), its caps, its usage and today's requests.
fn describe(
    store: &Store,
    scope: &CapScope,
    caps: Caps,
    recounted: Option<Usage>,
) -> anyhow::Result<String> {
    let (name, usage) = match scope {
        CapScope::Account(id) => (format!("account {id}"), store.account_usage(id)?),
        CapScope::Bucket(id) => {
            let name = store
                .bucket_by_id(id)
                .map(|b| b.name.clone())
                .unwrap_or_else(|_| format!("(deleted {id})"));
            (format!("bucket {name}"), store.usage(id)?)
        }
    };
    let limit = |v: Option<u64>| v.map_or("none".to_owned(), |v| v.to_string());
    let mut line = format!(
        "{name}: storage {} of {} bytes, objects {} of {}, requests today {} of {}; \
         current {} objects / {} bytes, unfinished uploads {}",
        usage.storage(),
        limit(caps.storage),
        usage.versions,
        limit(caps.objects),
        store.transactions_today(scope)?,
        limit(caps.transactions_per_day),
        usage.objects,
        usage.bytes,
        usage.uploads,
    );
    if let Some(fresh) = recounted {
        line += if fresh == usage {
            "; recount agrees"
        } else {
            "; RECOUNT DISAGREES"
        };
    }
    Ok(line)
}

/// A cap from the command line (`pier_edge::limits::parse_limit`).
fn parse_limit(text: &str, size: bool) -> anyhow::Result<Option<u64>> {
    pier_edge::limits::parse_limit(text, size).map_err(anyhow::Error::msg)
}
