//! `pier serve` and `pier key`: configuration loading and wiring of store, front and listener.

use crate::cli::{KeyCommand, ServeArgs};
use anyhow::Context;
use pier_server::{Config, Front, FrontOptions};
use pier_store::Store;
use std::process::ExitCode;
use std::time::Duration;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Builds the configuration: defaults, then the TOML file, then environment and flags (clap
/// has already merged those two, flags first).
pub fn load_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid configuration in {}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(m) = &args.metadata {
        config.metadata = m.clone();
    }
    if let Some(b) = &args.blobs {
        config.blobs = b.clone();
    }
    if let Some(s) = args.orphan_age_secs {
        config.orphan_age_secs = s;
    }
    if let Some(s) = args.garbage_grace_secs {
        config.garbage_grace_secs = s;
    }
    if args.public_url.is_some() {
        config.public_url = args.public_url.clone();
    }
    if let Some(r) = &args.region {
        config.region = r.clone();
    }
    let region_ok = !config.region.is_empty()
        && config
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        anyhow::bail!(
            "the region must be lower-case letters, digits and '-', not {:?}",
            config.region
        );
    }
    if let Some(l) = &args.listen {
        config.listen = l.clone();
    }
    if !args.domains.is_empty() {
        config.domains = args.domains.clone();
    }
    if args.root_access_key.is_some() {
        config.root_access_key = args.root_access_key.clone();
    }
    if args.root_secret_key.is_some() {
        config.root_secret_key = args.root_secret_key.clone();
    }
    if args.access_log.is_some() {
        config.access_log = args.access_log.clone();
    }
    if let Some(n) = args.max_connections {
        config.limits.max_connections = n;
    }
    if let Some(s) = args.header_timeout {
        config.limits.header_timeout_secs = s;
    }
    if let Some(s) = args.body_stall_timeout {
        config.limits.body_stall_secs = s;
    }
    if let Some(s) = args.lifecycle_interval {
        config.lifecycle_interval_secs = s;
    }
    if args.dashboard_listen.is_some() {
        config.dashboard_listen = args.dashboard_listen.clone();
    }
    if args.metrics_token.is_some() {
        config.metrics_token = args.metrics_token.clone();
    }
    if args.metrics_public {
        config.metrics_public = true;
    }
    if args.lifecycle_day_secs.is_some() {
        config.lifecycle_day_secs = args.lifecycle_day_secs;
    }
    if config.lifecycle_day_secs == Some(0) {
        anyhow::bail!("a lifecycle day must last at least one second");
    }
    if let Some(d) = args.lifecycle_clock_offset_days {
        config.lifecycle_clock_offset_days = d;
    }
    if args.webhook_allow_private {
        config.webhook_allow_private = true;
    }
    if args.allow_sse_c_over_http {
        config.allow_sse_c_over_http = true;
    }
    if args.master_key_file.is_some() {
        config.master_key_file = args.master_key_file.clone();
    }
    if !args.kms_keys.is_empty() {
        config.kms_keys = args.kms_keys.clone();
    }
    if let Some(h) = args.event_retry_hours {
        config.event_retry_hours = h;
    }
    for (flag, slot) in [
        (&args.tls_cert, &mut config.tls_cert),
        (&args.tls_key, &mut config.tls_key),
        (&args.dashboard_tls_cert, &mut config.dashboard_tls_cert),
        (&args.dashboard_tls_key, &mut config.dashboard_tls_key),
    ] {
        if let Some(path) = flag {
            *slot = Some(path.clone());
        }
    }
    if !args.website_domains.is_empty() {
        config.website_domains = args.website_domains.clone();
    }
    if let Some(addr) = &args.website_listen {
        config.website_listen = Some(addr.clone());
    }
    if let Some(addr) = &args.tls_listen {
        config.tls_listen = Some(addr.clone());
    }
    if config.tls_cert.is_some() != config.tls_key.is_some()
        || config.dashboard_tls_cert.is_some() != config.dashboard_tls_key.is_some()
    {
        anyhow::bail!("give a TLS certificate and its key together, or neither");
    }
    if args.tls_self_signed {
        let (cert, key) = pier_edge::tls::self_signed(&config.data_dir.join("tls"))
            .map_err(anyhow::Error::msg)?;
        tracing::warn!(certificate = %cert.display(), "serving a self-signed certificate (for development; clients must trust this file)");
        config.tls_cert = Some(cert);
        config.tls_key = Some(key);
    }
    if config.tls_listen.is_some() && config.tls_cert.is_none() {
        anyhow::bail!("--tls-listen needs --tls-cert and --tls-key (or --tls-self-signed)");
    }
    if config.listen == "off" && config.tls_listen.is_none() {
        anyhow::bail!("with --listen off, give --tls-listen (the API must listen somewhere)");
    }
    if config.event_retry_hours == 0 {
        anyhow::bail!("events must be retried for at least one hour");
    }
    if config.lifecycle_interval_secs == 0 {
        anyhow::bail!("the lifecycle interval must be at least one second");
    }
    if let Some(url) = &config.public_url {
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            anyhow::bail!("the public URL must be an http:// or https:// address, not {url:?}");
        }
    }
    if config.root_access_key.is_some() != config.root_secret_key.is_some() {
        anyhow::bail!("give both the root access key and its secret, or neither");
    }
    Ok(config)
}

/// How long a blocking thread (where store calls run) waits for more work before it exits
/// (tokio's default is 10 s). Each thread keeps the stack pages and allocator cache its
/// deepest call touched (about 100 KiB once it has run a PostgreSQL transaction), so the
/// threads a burst of requests started should not outlive it by long; starting a thread again
/// costs tens of microseconds.
const BLOCKING_THREAD_IDLE: Duration = Duration::from_secs(1);

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(BLOCKING_THREAD_IDLE)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let backends = pier_store::Backends {
            meta: pier_store::MetaBackend::parse(&config.metadata).map_err(anyhow::Error::msg)?,
            blobs: pier_store::BlobBackend::parse(
                &config.blobs,
                std::env::var("PIER_BLOBS_ACCESS_KEY_ID").ok(),
                std::env::var("PIER_BLOBS_SECRET_ACCESS_KEY").ok(),
            )
            .map_err(anyhow::Error::msg)?,
            orphan_age: Duration::from_secs(config.orphan_age_secs),
            garbage_grace: Duration::from_secs(config.garbage_grace_secs),
        };
        let store = Store::open_with(&config.data_dir, &backends).with_context(|| {
            format!(
                "opening the data directory {} with metadata in {} and blobs in {}",
                config.data_dir.display(),
                backends.meta.redacted(),
                backends.blobs.describe()
            )
        })?;
        ensure_root_key(&store, &config)?;
        let master =
            crate::encryption::master_key(&config.data_dir, config.master_key_file.as_deref())?;
        store.set_master_key(Some(master)).with_context(|| {
            format!(
                "the master key does not open the objects in {}",
                config.data_dir.display()
            )
        })?;
        for id in &config.kms_keys {
            store
                .ensure_kms_key(id)
                .with_context(|| format!("adding {id} to the key ring"))?;
        }
        let certs = Certificates::load(&config)?;
        let plain = match config.listen.as_str() {
            "off" => None,
            listen => Some(
                pier_edge::listen::bind(listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?,
            ),
        };
        let secure = match &config.tls_listen {
            Some(listen) => Some(
                pier_edge::listen::bind(listen)
                    .await
                    .with_context(|| format!("listening for HTTPS on {listen}"))?,
            ),
            None => None,
        };
        let secure_addr = secure.as_ref().map(|l| l.local_addr()).transpose()?;
        let websites = match &config.website_listen {
            Some(listen) => Some(
                pier_edge::listen::bind(listen)
                    .await
                    .with_context(|| format!("listening for websites on {listen}"))?,
            ),
            None => None,
        };
        if let Some(l) = &websites {
            tracing::info!(addr = %l.local_addr()?, "serving websites (the Host names the bucket)");
        }
        let addr = match &plain {
            Some(l) => l.local_addr()?,
            None => secure_addr.expect("checked at load: some listener is on"),
        };
        let nofile = pier_server::limits::raise_fd_limit();
        let cap = config.limits.connection_cap(nofile);
        tracing::info!(%addr, data_dir = %config.data_dir.display(), metadata = %backends.meta.redacted(), blobs = %backends.blobs.describe(), max_connections = cap, open_file_limit = nofile, "pier is serving S3 and B2");
        // Printed after the dashboard's line (tests read the two in this order).
        let listening = [
            plain.as_ref().map(|_| format!("pier listening on http://{addr}")),
            secure_addr.map(|a| format!("pier listening on https://{a}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
        let access_log = match &config.access_log {
            Some(path) => Some(
                pier_server::access_log::AccessLog::open(path)
                    .with_context(|| format!("opening the access log {}", path.display()))?,
            ),
            None => None,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_rx_for_events = stop_rx.clone();
        let cors_watch = pier_edge::cors_watch::CorsWatch::default();
        let access_watch = pier_edge::access_watch::AccessWatch::default();
        let traffic = std::sync::Arc::new(pier_edge::traffic::Traffic::new());
        let dispatcher = pier_events::Dispatcher::new(
            std::sync::Arc::new(store.clone()),
            pier_events::DispatchConfig {
                allow_private: config.webhook_allow_private,
                retry_window: Duration::from_secs(config.event_retry_hours * 3600),
                region: config.region.clone(),
                ..Default::default()
            },
        );
        let event_stats = dispatcher.stats();
        let websites_at = websites.as_ref().map(|l| l.local_addr()).transpose()?;
        let dashboard_port = start_dashboard(
            &store,
            &config,
            (addr.port(), websites_at),
            nofile,
            (cors_watch.clone(), event_stats.clone(), traffic.clone()),
            access_watch.clone(),
            (stop_rx.clone(), certs.dashboard.clone()),
        )
        .await?;
        if let (Some(a), Some(cert)) = (secure_addr, &certs.api) {
            tracing::info!(addr = %a, certificate = %cert.describe(), "serving HTTPS");
        }
        println!("{listening}");
        let mut dispatcher_stop = stop_rx_for_events.clone();
        let events = tokio::spawn(dispatcher.run(async move {
            let _ = dispatcher_stop.wait_for(|stop| *stop).await;
        }));
        let front = Front::new(
            store.clone(),
            config.domains.clone(),
            FrontOptions {
                limits: config.limits.clone(),
                access_log,
                dashboard_port,
                cors_watch,
                access_watch,
                public_url: config.public_url.clone(),
                region: config.region.clone(),
                webhook_allow_private: config.webhook_allow_private,
                allow_sse_c_over_http: config.allow_sse_c_over_http,
                website_domains: config.website_domains.clone(),
                events: Some(event_stats),
                traffic: Some(traffic),
                metrics: match (&config.metrics_token, config.metrics_public) {
                    (_, true) => pier_server::MetricsAccess::Public,
                    (Some(token), false) => pier_server::MetricsAccess::Token(token.clone()),
                    (None, false) => pier_server::MetricsAccess::Closed,
                },
            },
        );
        let lifecycle = pier_server::lifecycle::spawn(
            store.clone(),
            Duration::from_secs(config.lifecycle_interval_secs),
            config.lifecycle_clock_offset_days,
            config.lifecycle_day_secs.map(Duration::from_secs),
        );
        certs.reload_on_change(stop_rx.clone());
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let plain_served = async {
            match plain {
                Some(l) => {
                    pier_server::run(l, front.clone(), cap, stopped(stop_rx.clone()), SHUTDOWN_GRACE).await
                }
                None => Ok(()),
            }
        };
        let secure_served = async {
            match (secure, &certs.api) {
                (Some(tcp), Some(cert)) => {
                    let listening = pier_edge::listen::Listening {
                        tcp,
                        tls: Some(cert.acceptor().map_err(std::io::Error::other)?),
                    };
                    pier_server::run(listening, front.clone(), cap, stopped(stop_rx.clone()), SHUTDOWN_GRACE).await
                }
                _ => Ok(()),
            }
        };
        let websites_served = async {
            match websites {
                Some(l) => {
                    pier_server::run(
                        l,
                        front.websites_only(),
                        cap,
                        stopped(stop_rx.clone()),
                        SHUTDOWN_GRACE,
                    )
                    .await
                }
                None => Ok(()),
            }
        };
        let (a, b, c) = tokio::join!(plain_served, secure_served, websites_served);
        a?;
        b?;
        c?;
        tracing::info!("stopped accepting; in-flight requests finished");
        lifecycle.stop().await;
        let _ = events.await;
        store.close()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Starts the dashboard on its own listener unless it is `off`; returns its port. A busy
/// default port only warns (the storage server still starts); a configured one is an error.
async fn start_dashboard(
    store: &Store,
    config: &Config,
    (api_port, websites_at): (u16, Option<std::net::SocketAddr>),
    nofile: u64,
    (cors_watch, deliveries, traffic): (
        pier_edge::cors_watch::CorsWatch,
        std::sync::Arc<pier_events::DispatchStats>,
        std::sync::Arc<pier_edge::traffic::Traffic>,
    ),
    access_watch: pier_edge::access_watch::AccessWatch,
    (mut stop, cert): (
        tokio::sync::watch::Receiver<bool>,
        Option<std::sync::Arc<pier_edge::tls::Certificate>>,
    ),
) -> anyhow::Result<Option<u16>> {
    let wanted = config
        .dashboard_listen
        .as_deref()
        .unwrap_or(DEFAULT_DASHBOARD);
    if wanted == "off" {
        return Ok(None);
    }
    let listener = match pier_edge::listen::bind(wanted).await {
        Ok(l) => l,
        Err(e) if config.dashboard_listen.is_none() => {
            tracing::warn!(error = %e, address = DEFAULT_DASHBOARD, "the dashboard's default port is busy; serving without a dashboard (set --dashboard-listen)");
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("dashboard listening on {wanted}")),
    };
    let addr = listener.local_addr()?;
    let mut hosts = vec![
        addr.to_string(),
        format!("localhost:{}", addr.port()),
        format!("127.0.0.1:{}", addr.port()),
    ];
    hosts.extend(config.dashboard_hosts.iter().cloned());
    let dashboard = pier_dashboard::Dashboard::new(
        store.clone(),
        pier_edge::access::Access::new(store.clone(), access_watch),
        cors_watch,
        pier_dashboard::DashboardConfig {
            hosts,
            api_port,
            api_tls: config.listen == "off",
            secure_cookies: config.dashboard_secure_cookies,
            region: config.region.clone(),
            webhook_allow_private: config.webhook_allow_private,
            deliveries: Some(deliveries),
            traffic: Some(traffic),
            website_domains: pier_server::website::hosting_domains(
                &config.domains,
                &config.website_domains,
            ),
            website_listen: websites_at.map(|a| a.to_string()),
        },
    );
    let limits = config.limits.dashboard(nofile);
    let tls = match &cert {
        Some(cert) => Some(cert.acceptor().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listening = pier_edge::listen::Listening { tcp: listener, tls };
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        pier_dashboard::serve(listening, dashboard, limits, stopped, SHUTDOWN_GRACE).await;
    });
    tracing::info!(%addr, max_connections = limits.cap, "dashboard serving");
    println!("pier dashboard on {scheme}://{addr}");
    Ok(Some(addr.port()))
}

/// The certificates the listeners serve: the API's, and the dashboard's (its own, or the
/// API's).
struct Certificates {
    api: Option<std::sync::Arc<pier_edge::tls::Certificate>>,
    dashboard: Option<std::sync::Arc<pier_edge::tls::Certificate>>,
}

impl Certificates {
    /// Loads what the configuration names; a file that is not PEM, or a key that is not its
    /// certificate's, stops the start with the reason.
    fn load(config: &Config) -> anyhow::Result<Certificates> {
        let load =
            |cert: &Option<std::path::PathBuf>, key: &Option<std::path::PathBuf>| match (cert, key)
            {
                (Some(c), Some(k)) => pier_edge::tls::Certificate::load(c, k)
                    .map(Some)
                    .map_err(|e| anyhow::anyhow!("the TLS certificate cannot be served: {e}")),
                _ => Ok(None),
            };
        let api = load(&config.tls_cert, &config.tls_key)?;
        let dashboard =
            load(&config.dashboard_tls_cert, &config.dashboard_tls_key)?.or_else(|| api.clone());
        Ok(Certificates { api, dashboard })
    }

    /// Reloads the certificates on SIGHUP, and when their files change (looked at every two
    /// seconds), until `stop`; a reload that fails keeps the certificate served and logs why.
    fn reload_on_change(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut certs: Vec<_> = self
            .api
            .iter()
            .chain(self.dashboard.iter())
            .cloned()
            .collect();
        certs.dedup_by(|a, b| std::sync::Arc::ptr_eq(a, b));
        if certs.is_empty() {
            return;
        }
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                let forced = tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    () = hangup => true,
                    _ = tick.tick() => false,
                };
                for cert in &certs {
                    if !forced && !cert.files_changed() {
                        continue;
                    }
                    match cert.reload() {
                        Ok(()) => {
                            tracing::info!(files = %cert.describe(), "TLS certificate reloaded")
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "TLS certificate not reloaded; serving the previous one")
                        }
                    }
                }
            }
        });
    }
}

/// Where the dashboard listens unless configured.
const DEFAULT_DASHBOARD: &str = "127.0.0.1:9001";

/// Makes sure someone can sign requests: the configured root key, or on first start a new key
/// printed once.
fn ensure_root_key(store: &Store, config: &Config) -> anyhow::Result<()> {
    match (&config.root_access_key, &config.root_secret_key) {
        (Some(id), Some(secret)) => match store.key(id)? {
            Some(existing) if existing.secret == *secret => {}
            Some(_) => anyhow::bail!("access key {id} exists with a different secret"),
            None => {
                if let Err(e) = store
                    .acting(pier_store::Actor::new("serve: root key from configuration"))
                    .import_key(id, secret, "root (from configuration)")
                {
                    // Another node sharing the metadata may have imported it meanwhile.
                    match store.key(id)? {
                        Some(existing) if existing.secret == *secret => {}
                        _ => return Err(e.into()),
                    }
                }
            }
        },
        _ if store.keys()?.is_empty() => {
            let key = store
                .acting(pier_store::Actor::new("serve: first start"))
                .create_key(
                    pier_store::DEFAULT_ACCOUNT,
                    "root (created at first start)",
                    pier_store::KeyRestrictions::default(),
                )?;
            println!("created an admin access key (shown only now):");
            println!("  access key id:     {}", key.access_key);
            println!("  secret access key: {}", key.secret);
        }
        _ => {}
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}

/// The account of a key `pier key create` makes: the one named (existing or new), else the
/// owner of the buckets it is restricted to (they must share one), else the default account
/// for the first key ever made, else a new account.
fn key_account(store: &Store, named: Option<String>, buckets: &[String]) -> anyhow::Result<String> {
    let mut owners = Vec::new();
    for name in buckets {
        let owner = store
            .bucket(name)
            .with_context(|| format!("bucket {name}"))?
            .owner
            .clone();
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    if owners.len() > 1 {
        anyhow::bail!("the buckets belong to different accounts: a key has one account");
    }
    match (named, owners.pop()) {
        (Some(a), _) if !pier_store::is_account_id(&a) => {
            anyhow::bail!("{a:?} is not an account id (1 to 64 letters, digits, '.', '_' or '-')")
        }
        (Some(a), Some(owner)) if a != owner => {
            anyhow::bail!("the buckets belong to account {owner}, not {a}")
        }
        (Some(a), _) => Ok(a),
        (None, Some(owner)) => Ok(owner),
        (None, None) if store.keys()?.is_empty() => Ok(pier_store::DEFAULT_ACCOUNT.to_owned()),
        (None, None) => Ok(pier_store::new_account_id()),
    }
}

/// The restrictions `pier key create` was given, checked: capability names as B2 spells them,
/// buckets that exist (stored by id), a duration for the expiry.
fn key_scope(
    store: &Store,
    capabilities: Vec<String>,
    buckets: Vec<String>,
    prefix: Option<String>,
    expires: Option<String>,
) -> anyhow::Result<pier_store::KeyRestrictions> {
    let capabilities = if capabilities.is_empty() {
        None
    } else {
        pier_access::Capabilities::parse(capabilities.iter().map(String::as_str)).map_err(
            |bad| anyhow::anyhow!("unknown capability {bad:?} (B2's names, such as readFiles)"),
        )?;
        Some(capabilities)
    };
    let buckets = if buckets.is_empty() {
        None
    } else {
        Some(
            buckets
                .iter()
                .map(|name| {
                    store
                        .bucket(name)
                        .map(|b| b.id.clone())
                        .with_context(|| format!("bucket {name}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        )
    };
    let expires = match expires {
        Some(text) => {
            let secs = pier_edge::presign::parse_duration(&text).map_err(anyhow::Error::msg)?;
            let millis = i64::try_from(secs)
                .ok()
                .and_then(|s| s.checked_mul(1000))
                .and_then(|ms| ms.checked_add(pier_store::now_millis()))
                .ok_or_else(|| anyhow::anyhow!("{text:?} is too long an expiry"))?;
            Some(millis)
        }
        None => None,
    };
    Ok(pier_store::KeyRestrictions {
        capabilities,
        buckets,
        name_prefix: prefix.filter(|p| !p.is_empty()),
        expires,
    })
}

/// `pier key ...`.
pub fn key(cmd: KeyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeyCommand::Create {
            data,
            description,
            account,
            capabilities,
            buckets,
            prefix,
            expires,
        } => {
            let store = data.open_admin()?;
            let account = key_account(&store, account, &buckets)?;
            let scope = key_scope(&store, capabilities, buckets, prefix, expires)?;
            let key = store
                .acting(pier_store::Actor::new("cli:key create"))
                .create_key(&account, &description, scope)?;
            println!("access key id:     {}", key.access_key);
            println!("secret access key: {}", key.secret);
            println!("account:           {account}");
            store.close()?;
        }
        KeyCommand::List { data } => {
            let store = data.open_admin()?;
            for key in store.keys()? {
                let s = &key.scope;
                let caps = s
                    .capabilities
                    .as_ref()
                    .map_or_else(|| "all".to_owned(), |c| c.join(","));
                let buckets = match &s.buckets {
                    None => "all".to_owned(),
                    Some(ids) => ids
                        .iter()
                        .map(|id| {
                            store
                                .bucket_by_id(id)
                                .map_or_else(|_| id.clone(), |b| b.name.clone())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                };
                println!(
                    "{}\taccount={}\tcapabilities={caps}\tbuckets={buckets}\tprefix={}\texpires={}\t{}",
                    key.access_key,
                    key.account,
                    s.name_prefix.as_deref().unwrap_or(""),
                    s.expires
                        .map_or_else(|| "never".to_owned(), |e| e.to_string()),
                    key.description
                );
            }
            store.close()?;
        }
        KeyCommand::Delete { data, access_key } => {
            let store = data.open_admin()?;
            store
                .acting(pier_store::Actor::new("cli:key delete"))
                .delete_key(&access_key)
                .with_context(|| format!("deleting access key {access_key}"))?;
            println!("deleted {access_key}");
            store.close()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
