//! Commands that reach a server: `pier presign`, `pier cors explain --bucket`, and
//! `pier bucket public|cors|events` (which edit the data directory, safe next to a running
//! server).

use crate::cli::{AccessExplainArgs, BucketCommand, ExplainArgs, PresignArgs, ServerArgs};
use anyhow::{bail, Context};
use http_body_util::BodyExt;
use pier_cors::presets::{self, Audience, Sharing};
use pier_edge::presign::{parse_duration, presign_url, Presign};
use pier_store::BucketUpdate;
use std::process::ExitCode;
use std::time::SystemTime;

fn credentials(server: &ServerArgs) -> anyhow::Result<(&str, &str)> {
    match (&server.access_key, &server.secret_key) {
        (Some(a), Some(s)) => Ok((a, s)),
        _ => bail!(
            "give --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ),
    }
}

fn split_target(target: &str) -> anyhow::Result<(&str, &str)> {
    let rest = target
        .strip_prefix("s3://")
        .with_context(|| format!("{target:?} must look like s3://bucket/key"))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("{target:?} names no bucket");
    }
    Ok((bucket, key))
}

/// `pier presign`.
pub fn presign(args: PresignArgs) -> anyhow::Result<ExitCode> {
    let (bucket, key) = split_target(&args.target)?;
    let (access_key, secret_key) = credentials(&args.server)?;
    let expires = parse_duration(&args.expires).map_err(anyhow::Error::msg)?;
    let url = presign_url(&Presign {
        endpoint: &args.server.endpoint,
        method: &args.method,
        bucket,
        key,
        query: vec![],
        content_type: args.content_type.as_deref(),
        expires,
        access_key,
        secret_key,
        region: &args.server.region,
        now: SystemTime::now(),
    })
    .map_err(anyhow::Error::msg)?;
    println!("{url}");
    Ok(ExitCode::SUCCESS)
}

/// `pier bucket ...`.
pub fn bucket(cmd: BucketCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BucketCommand::Cors {
            data,
            bucket,
            share_all_origins,
            share_origin,
            none,
            rules,
        } => {
            let text = match (share_all_origins, share_origin, none, rules) {
                (true, _, _, _) => Some(presets::rules_json(&Audience::Everyone, Sharing::Downloads)),
                (_, Some(origin), _, _) => Some(presets::rules_json(
                    &Audience::Origin(origin),
                    Sharing::Downloads,
                )),
                (_, _, true, _) => None,
                (_, _, _, Some(path)) => Some(
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
                ),
                _ => bail!("choose one of --share-all-origins, --share-origin ORIGIN, --none, --rules FILE"),
            };
            let stored = match text {
                None => None,
                Some(text) => match pier_cors::parse_detect(&text, None) {
                    Ok((config, _)) => Some(config.to_stored()),
                    Err(e) => {
                        eprintln!("invalid CORS rules:");
                        for err in &e.errors {
                            eprintln!("  {err}");
                        }
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            let store = data.open_admin()?;
            store
                .acting(pier_store::Actor::new("cli:bucket cors"))
                .update_bucket(
                    &bucket,
                    BucketUpdate {
                        cors: Some(stored.clone()),
                        ..Default::default()
                    },
                )
                .with_context(|| format!("bucket {bucket}"))?;
            store.close()?;
            println!(
                "bucket {bucket}: {}",
                if stored.is_some() {
                    "CORS rules set"
                } else {
                    "CORS rules removed"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        BucketCommand::Events {
            data,
            bucket,
            rules,
            none,
            test,
            webhook_allow_private,
        } => bucket_events(data, &bucket, (rules, none, test), webhook_allow_private),
        BucketCommand::Website {
            data,
            bucket,
            index_document,
            error_document,
            redirect_all,
            routing_rules,
            none,
        } => bucket_website(
            data,
            &bucket,
            (index_document, error_document, redirect_all),
            routing_rules.as_deref(),
            none,
        ),
        BucketCommand::Public {
            data,
            bucket,
            state,
        } => {
            let store = data.open_admin()?;
            store
                .acting(pier_store::Actor::new("cli:bucket public"))
                .update_bucket(
                    &bucket,
                    BucketUpdate {
                        public: Some(if state == "on" {
                            pier_store::Visibility::PublicObjects
                        } else {
                            pier_store::Visibility::Private
                        }),
                        ..Default::default()
                    },
                )
                .with_context(|| format!("bucket {bucket}"))?;
            store.close()?;
            println!(
                "bucket {bucket} is now {}",
                if state == "on" {
                    "public (anonymous GET and HEAD of objects)"
                } else {
                    "private"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `pier cors explain --bucket NAME ...`: asks the server's `cors-explain` extension.
pub fn explain_bucket(args: &ExplainArgs, bucket: &str) -> anyhow::Result<ExitCode> {
    let mut query = vec![("cors-explain".to_owned(), String::new())];
    if let Some(o) = &args.origin {
        query.push(("origin".into(), o.clone()));
    }
    if let Some(m) = &args.method {
        query.push(("method".into(), m.clone()));
    }
    if let Some(op) = &args.operation {
        query.push(("operation".into(), op.clone()));
    }
    if !args.headers.is_empty() {
        query.push(("headers".into(), args.headers.join(",")));
    }
    query.push(("preflight".into(), args.preflight.to_string()));
    let v = ask_server(&args.server, bucket, query)?;
    print!("{}", v["text"].as_str().unwrap_or_default());
    Ok(if v["decision"] == "refused" {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `pier cors refused`: one line per refused request, newest first.
pub fn cors_refused(server: &ServerArgs, bucket: &str) -> anyhow::Result<ExitCode> {
    let v = ask_server(server, bucket, vec![("cors-refused".into(), String::new())])?;
    let list = v["refused"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("no cross-origin request refused on {bucket} since the server started");
    }
    for r in list {
        let kind = if r["preflight"] == true {
            "preflight"
        } else {
            "request"
        };
        let headers = r["headers"].as_str().unwrap_or("");
        println!(
            "{} {} {kind}{} ×{}: {}",
            r["origin"].as_str().unwrap_or(""),
            r["method"].as_str().unwrap_or(""),
            if headers.is_empty() {
                String::new()
            } else {
                format!(" [{headers}]")
            },
            r["count"],
            r["reason"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `pier cors report`: the staged rules' tally.
pub fn cors_report(server: &ServerArgs, bucket: &str) -> anyhow::Result<ExitCode> {
    let v = ask_server(server, bucket, vec![("cors-report".into(), String::new())])?;
    let staged = &v["staged"];
    if staged.is_null() {
        println!("no report-only rules are staged on {bucket}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "report-only rules on {bucket}: same {}, would now allow {}, would now refuse {}",
        staged["same"], staged["newlyAllowed"], staged["newlyRefused"]
    );
    for e in staged["examples"].as_array().cloned().unwrap_or_default() {
        let verdict = if e["allowed"] == true {
            "would allow"
        } else {
            "would refuse"
        };
        println!(
            "  {verdict}: {} {} [{}] ×{}",
            e["origin"].as_str().unwrap_or(""),
            e["method"].as_str().unwrap_or(""),
            e["headers"].as_str().unwrap_or(""),
            e["count"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends a presigned GET of one of pier's explain extensions on `bucket` and returns its JSON.
fn ask_server(
    server: &ServerArgs,
    bucket: &str,
    query: Vec<(String, String)>,
) -> anyhow::Result<serde_json::Value> {
    let (access_key, secret_key) = credentials(server)?;
    let url = presign_url(&Presign {
        endpoint: &server.endpoint,
        method: "GET",
        bucket,
        key: "",
        query,
        content_type: None,
        expires: 60,
        access_key,
        secret_key,
        region: &server.region,
        now: SystemTime::now(),
    })
    .map_err(anyhow::Error::msg)?;
    let (status, body) = http_get(&url)?;
    if status != 200 {
        bail!("the server answered {status}: {body}");
    }
    serde_json::from_str(&body).context("the server's answer is not JSON")
}

/// `pier access explain`: asks the server's `access-explain` extension.
pub fn explain_access(args: &AccessExplainArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![
        ("access-explain".to_owned(), String::new()),
        ("action".to_owned(), args.action.clone()),
    ];
    for (name, value) in [
        ("key-id", &args.key_id),
        ("object", &args.object),
        ("prefix", &args.prefix),
        ("source-ip", &args.source_ip),
    ] {
        if let Some(v) = value {
            query.push((name.to_owned(), v.clone()));
        }
    }
    let v = ask_server(&args.server, &args.bucket, query)?;
    print!("{}", v["text"].as_str().unwrap_or_default());
    Ok(if v["decision"] == "allowed" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One GET over HTTP/1.1 with hyper's client: the status and the whole body as text (the
/// explain extensions answer small JSON documents).
fn http_get(url: &str) -> anyhow::Result<(u16, String)> {
    let uri: http::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("{url}: only http:// endpoints are supported");
    }
    let authority = uri
        .authority()
        .with_context(|| format!("{url} names no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect((authority.host(), port))
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = http::Request::get(uri)
            .header(http::header::HOST, authority.as_str())
            .body(http_body_util::Empty::<bytes::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    })
}

/// `pier bucket events`: shows the rules, or sets, removes or tests B2's.
fn bucket_events(
    data: crate::cli::DataDirArg,
    bucket: &str,
    (rules, none, test): (Option<std::path::PathBuf>, bool, Option<String>),
    allow_private: bool,
) -> anyhow::Result<ExitCode> {
    let store = data.open_admin()?;
    let found = store
        .bucket(bucket)
        .with_context(|| format!("bucket {bucket}"))?;
    let new_rules = match (rules, none, test) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let rules: Vec<pier_events::NotificationRule> = serde_json::from_str(&text)
                .with_context(|| {
                    format!("{} is not a list of B2 notification rules", path.display())
                })?;
            let rules: Vec<_> = rules
                .into_iter()
                .map(|r| pier_events::NotificationRule { s3: None, ..r })
                .collect();
            if let Err(e) = pier_events::rule::validate_for_saving(&rules, allow_private) {
                eprintln!("invalid rules: {e}");
                return Ok(ExitCode::FAILURE);
            }
            Some(rules)
        }
        (_, true, _) => Some(Vec::new()),
        (_, _, Some(rule)) => {
            if !store.send_test_event(&found.id, &rule)? {
                eprintln!("bucket {bucket} has no active rule named {rule:?}");
                return Ok(ExitCode::FAILURE);
            }
            store.close()?;
            println!("bucket {bucket}: a test event is queued for rule {rule}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => None,
    };
    let shown = match new_rules {
        Some(rules) => store
            .acting(pier_store::Actor::new("cli:bucket notifications"))
            .update_bucket(
                bucket,
                BucketUpdate {
                    notifications: Some(rules),
                    ..Default::default()
                },
            )
            .with_context(|| format!("bucket {bucket}"))?
            .notifications
            .clone(),
        None => found.notifications.clone(),
    };
    store.close()?;
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(ExitCode::SUCCESS)
}

/// `pier bucket website`: shows a bucket's website configuration, or sets or removes it.
fn bucket_website(
    data: crate::cli::DataDirArg,
    bucket: &str,
    (index, error, redirect_all): (Option<String>, Option<String>, Option<String>),
    routing_rules: Option<&str>,
    none: bool,
) -> anyhow::Result<ExitCode> {
    use pier_edge::website::{RedirectAll, Website};
    let new = match (&index, &redirect_all, none) {
        (_, _, true) => Some(None),
        (Some(_), _, _) | (_, Some(_), _) => {
            let website = Website {
                index_suffix: index,
                error_key: error,
                redirect_all: redirect_all.map(|host| match host.split_once("://") {
                    Some((scheme, host)) => RedirectAll {
                        host_name: host.trim_end_matches('/').to_owned(),
                        protocol: Some(scheme.to_owned()),
                    },
                    None => RedirectAll {
                        host_name: host,
                        protocol: None,
                    },
                }),
                rules: match pier_edge::website::s3_json::parse(routing_rules.unwrap_or("")) {
                    Ok(rules) => rules,
                    Err(why) => {
                        eprintln!("--routing-rules is not S3's JSON for routing rules: {why}");
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            if let Err(why) = website.check() {
                eprintln!("invalid website configuration: {why}");
                return Ok(ExitCode::FAILURE);
            }
            Some(Some(serde_json::to_string(&website)?))
        }
        _ => None,
    };
    let store = data.open_admin()?;
    let shown = match new {
        Some(website) => store
            .acting(pier_store::Actor::new("cli:bucket website"))
            .update_bucket(
                bucket,
                BucketUpdate {
                    website: Some(website),
                    ..Default::default()
                },
            )
            .with_context(|| format!("bucket {bucket}"))?
            .website
            .clone(),
        None => store
            .bucket(bucket)
            .with_context(|| format!("bucket {bucket}"))?
            .website
            .clone(),
    };
    store.close()?;
    match shown {
        Some(json) => {
            let website: serde_json::Value = serde_json::from_str(&json)?;
            println!("{}", serde_json::to_string_pretty(&website)?);
            println!("served at http://{bucket}.s3-website.DOMAIN/ for each --domain, and on --website-listen as host {bucket}");
        }
        None => println!("bucket {bucket} has no website configuration"),
    }
    Ok(ExitCode::SUCCESS)
}
