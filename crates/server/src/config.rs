//! The server's typed configuration. The binary fills it from a TOML file, then the environment,
//! then flags (each overriding the one before).

use crate::limits::Limits;
use serde::Deserialize;
use std::path::PathBuf;

/// Everything `pier serve` needs.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where blobs live, and the metadata too unless `metadata` names a database.
    pub data_dir: PathBuf,
    /// Where the metadata lives: `sqlite` (in `data_dir`, the default) or a
    /// `postgres://USER:PASS@HOST:PORT/DB` address.
    pub metadata: String,
    /// Where blobs live: `files` (in `data_dir`, the default) or an S3-compatible cluster,
    /// `s3://BUCKET[/PREFIX]?endpoint=URL&region=R` (credentials from the environment:
    /// `PIER_BLOBS_ACCESS_KEY_ID`, `PIER_BLOBS_SECRET_ACCESS_KEY`).
    pub blobs: String,
    /// Seconds a blob no metadata references must be old before the maintenance pass removes
    /// it from a shared blob store (longer than any node takes between writing a blob and
    /// committing it).
    pub orphan_age_secs: u64,
    /// Seconds a blob released by an overwrite or delete stays readable before the janitor
    /// removes it, so that reads which began before the change can finish (`docs/design.md`,
    /// "Reading"); 0 removes it right after the commit.
    pub garbage_grace_secs: u64,
    /// The region SigV4 requests must name in their credential scope, and GetBucketLocation
    /// shows (`us-east-1`, as AWS's default, shows as no constraint).
    pub region: String,
    /// Address to listen on.
    pub listen: String,
    /// The address clients reach pier at (`https://storage.example.com`), for the URLs the B2
    /// API hands out, when a load balancer or TLS proxy is in front; none: the request's
    /// `Host`.
    pub public_url: Option<String>,
    /// Domains whose subdomains name buckets (virtual-host style), e.g. `localhost`.
    pub domains: Vec<String>,
    /// An access key to ensure exists at start (with `root_secret_key`).
    pub root_access_key: Option<String>,
    /// The secret of `root_access_key`.
    pub root_secret_key: Option<String>,
    /// Where to write the JSON-lines access log (`-` for standard output); none by default.
    pub access_log: Option<PathBuf>,
    /// Connection and request limits (`[limits]`).
    pub limits: Limits,
    /// Seconds between lifecycle passes (one also runs at start).
    pub lifecycle_interval_secs: u64,
    /// Where the dashboard listens (`off` disables it); `None`: 127.0.0.1:9001, and a busy
    /// default port only warns.
    pub dashboard_listen: Option<String>,
    /// Extra `Host` values the dashboard answers (it always answers its own address and
    /// `localhost` at its port), for a proxy or a name in front of it.
    pub dashboard_hosts: Vec<String>,
    /// The dashboard's session cookie carries `Secure` (set when a TLS proxy serves it).
    pub dashboard_secure_cookies: bool,
    /// The bearer token `/_pier/metrics` asks for; with neither it nor `metrics_public`, the
    /// metrics are not served (their labels name every account's buckets).
    pub metrics_token: Option<String>,
    /// Serve `/_pier/metrics` to anyone.
    pub metrics_public: bool,
    /// A test aid, off by default: a lifecycle rule's "day" lasts this many seconds, and passes
    /// run every half of it (as RGW's `rgw_lc_debug_interval`; ceph's s3-tests use 10).
    pub lifecycle_day_secs: Option<u64>,
    /// Days added to the clock lifecycle rules are judged by: a test aid (hidden flag), so a
    /// test can see a 30-day rule act without waiting 30 days.
    pub lifecycle_clock_offset_days: i64,
    /// Webhook targets may be plain `http` and loopback or private addresses (never the cloud
    /// metadata address).
    pub webhook_allow_private: bool,
    /// Hours an event is retried before it is dropped and its rule suspended.
    pub event_retry_hours: u64,
    /// Domains whose subdomains serve buckets' static websites (`BUCKET.DOMAIN`), besides
    /// `BUCKET.s3-website.D` for each of [`Config::domains`].
    pub website_domains: Vec<String>,
    /// A listener where every request is for the website of the bucket its `Host` names (a
    /// custom domain pointed at pier).
    pub website_listen: Option<String>,
    /// The master key file (`docs/design.md`, "Encryption at rest"); `None`: `master.key` in
    /// the data directory, made at first start.
    pub master_key_file: Option<PathBuf>,
    /// Customer keys (SSE-C) are taken over plain HTTP too.
    pub allow_sse_c_over_http: bool,
    /// Keys the key ring (SSE-KMS) is given at start when it lacks them.
    pub kms_keys: Vec<String>,
    /// Where the API also listens for HTTPS (`host:port`), if anywhere.
    pub tls_listen: Option<String>,
    /// The API's certificate (PEM: the certificate, then its chain).
    pub tls_cert: Option<PathBuf>,
    /// The key of [`Config::tls_cert`] (PEM).
    pub tls_key: Option<PathBuf>,
    /// The dashboard's certificate; with a TLS certificate for the API and none of its own,
    /// the dashboard serves the API's.
    pub dashboard_tls_cert: Option<PathBuf>,
    /// The key of [`Config::dashboard_tls_cert`].
    pub dashboard_tls_key: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("pier-data"),
            metadata: "sqlite".into(),
            blobs: "files".into(),
            orphan_age_secs: 3600,
            garbage_grace_secs: 900,
            lifecycle_day_secs: None,
            metrics_token: None,
            metrics_public: false,
            region: "us-east-1".into(),
            listen: "127.0.0.1:9000".into(),
            public_url: None,
            domains: vec!["localhost".into()],
            root_access_key: None,
            root_secret_key: None,
            access_log: None,
            limits: Limits::default(),
            lifecycle_interval_secs: 3600,
            dashboard_listen: None,
            dashboard_hosts: Vec::new(),
            dashboard_secure_cookies: false,
            lifecycle_clock_offset_days: 0,
            webhook_allow_private: false,
            event_retry_hours: 24,
            website_domains: Vec::new(),
            website_listen: None,
            master_key_file: None,
            allow_sse_c_over_http: false,
            kms_keys: Vec::new(),
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            dashboard_tls_cert: None,
            dashboard_tls_key: None,
        }
    }
}
