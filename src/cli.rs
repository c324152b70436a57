//! The command line: one definition drives parsing and `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Exit status for a usage error (clap uses the same for its own).
pub const EXIT_USAGE: u8 = 2;

/// pier: object storage with exact, explainable CORS, speaking S3 and Backblaze B2.
#[derive(Debug, Parser)]
#[command(name = "pier", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Manage access keys (works next to a running server).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Bucket settings that have no S3 call of their own.
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// The local key ring SSE-KMS encrypts with (works next to a running server).
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Storage, object and daily transaction caps per account or bucket, and what each holds
    /// (works next to a running server).
    #[command(subcommand)]
    Caps(CapsCommand),
    /// Print the audit log as JSON lines, oldest first: every change to keys, accounts, caps
    /// and bucket settings, who made it (key, account, address), through what, before and
    /// after (works next to a running server).
    Audit(AuditArgs),
    /// Print a presigned URL a browser (or curl) can use directly.
    Presign(PresignArgs),
    /// Check, convert, explain and lint CORS rules (B2, S3 or R2 dialect) offline.
    #[command(subcommand)]
    Cors(CorsCommand),
    /// Ask a running server who may do what, and why.
    #[command(subcommand)]
    Access(AccessCommand),
}

/// `pier access ...`.
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Explain whether a key (or anonymous) may perform an action: the verdict and every check
    /// made. Signed with a key that has listKeys. Exit 0 when allowed, 1 when refused.
    Explain(AccessExplainArgs),
}

/// `pier access explain`.
#[derive(Debug, Args)]
pub struct AccessExplainArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The bucket.
    #[arg(long)]
    pub bucket: String,
    /// The access key asking (anonymous when absent).
    #[arg(long)]
    pub key_id: Option<String>,
    /// The action: s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket, ...
    #[arg(long)]
    pub action: String,
    /// The object name, for object actions.
    #[arg(long)]
    pub object: Option<String>,
    /// The listing prefix, for s3:ListBucket.
    #[arg(long)]
    pub prefix: Option<String>,
    /// The client address, for aws:SourceIp conditions.
    #[arg(long)]
    pub source_ip: Option<String>,
}

/// `pier serve`: every setting can come from the TOML file, the environment or a flag (flags
/// win over the environment, which wins over the file).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (keys: data_dir, metadata, blobs, orphan_age_secs,
    /// garbage_grace_secs, region, public_url,
    /// listen, domains, root_access_key,
    /// root_secret_key, access_log, lifecycle_interval_secs, dashboard_listen, dashboard_hosts,
    /// metrics_token, metrics_public, dashboard_secure_cookies, webhook_allow_private,
    /// website_domains, website_listen, tls_listen, tls_cert, tls_key, master_key_file,
    /// allow_sse_c_over_http, and a [limits] table: max_connections,
    /// header_timeout_secs, body_stall_secs, http2_max_streams).
    #[arg(long, env = "PIER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where metadata and object bytes live [default: pier-data].
    #[arg(long, env = "PIER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the metadata lives: `sqlite` (in the data directory) or a
    /// postgres://USER:PASS@HOST:PORT/DB address [default: sqlite].
    #[arg(long, env = "PIER_METADATA", hide_env_values = true)]
    pub metadata: Option<String>,
    /// Where object bytes live: `files` (in the data directory) or an S3-compatible cluster,
    /// s3://BUCKET[/PREFIX]?endpoint=URL&region=R, signed with PIER_BLOBS_ACCESS_KEY_ID and
    /// PIER_BLOBS_SECRET_ACCESS_KEY; `&payload=signed` signs each chunk of a streamed upload
    /// instead of ending it with a CRC32C trailer [default: files].
    #[arg(long, env = "PIER_BLOBS")]
    pub blobs: Option<String>,
    /// Seconds an unreferenced blob in a shared blob store must be old before it is swept
    /// [default: 3600].
    #[arg(long, env = "PIER_ORPHAN_AGE_SECS")]
    pub orphan_age_secs: Option<u64>,
    /// Seconds a blob released by an overwrite or delete stays readable before it is removed,
    /// so reads that began before the change finish (0: removed right after the commit)
    /// [default: 900].
    #[arg(long, env = "PIER_GARBAGE_GRACE_SECS")]
    pub garbage_grace_secs: Option<u64>,
    /// The address clients reach pier at (e.g. https://storage.example.com behind a load
    /// balancer), for the URLs the B2 API hands out [default: the request's Host].
    #[arg(long, env = "PIER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The region S3 clients sign for (a request naming another is told which, as AWS tells
    /// it) [default: us-east-1].
    #[arg(long, env = "PIER_REGION")]
    pub region: Option<String>,
    /// Address to listen on for plain HTTP [default: 127.0.0.1:9000]; port 0 picks a free
    /// port; `off` for none (then give --tls-listen). Given twice, the last one counts.
    #[arg(long, env = "PIER_LISTEN", overrides_with = "listen")]
    pub listen: Option<String>,
    /// A domain whose subdomains name buckets (virtual-host style); repeatable
    /// [default: localhost].
    #[arg(long = "domain", env = "PIER_DOMAINS", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// An access key id to create at start if missing (with --root-secret-key).
    #[arg(long, env = "PIER_ROOT_ACCESS_KEY")]
    pub root_access_key: Option<String>,
    /// The secret for --root-access-key.
    #[arg(long, env = "PIER_ROOT_SECRET_KEY", hide_env_values = true)]
    pub root_secret_key: Option<String>,
    /// Write a JSON-lines access log to this file (`-` for standard output).
    #[arg(long, env = "PIER_ACCESS_LOG")]
    pub access_log: Option<PathBuf>,
    /// Most connections served at once [default: from the open-file limit, at most 10000].
    #[arg(long, env = "PIER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a connection may take to send a request head, counted from when it opens or
    /// finishes its previous request (also the idle keep-alive timeout) [default: 30].
    #[arg(long, env = "PIER_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a request body may send nothing before the request fails [default: 60].
    #[arg(long, env = "PIER_BODY_STALL_TIMEOUT")]
    pub body_stall_timeout: Option<u64>,
    /// Seconds between passes applying buckets' lifecycle rules; one also runs at start
    /// [default: 3600].
    #[arg(long, env = "PIER_LIFECYCLE_INTERVAL")]
    pub lifecycle_interval: Option<u64>,
    /// Where the web dashboard listens, or `off` [default: 127.0.0.1:9001].
    #[arg(long, env = "PIER_DASHBOARD_LISTEN")]
    pub dashboard_listen: Option<String>,
    /// Serve `/_pier/metrics` to requests with `Authorization: Bearer TOKEN` (the metrics name
    /// every account's buckets, so they are not served to anyone by default).
    #[arg(long, env = "PIER_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/_pier/metrics` to anyone (a listener only a monitoring network reaches).
    #[arg(long, env = "PIER_METRICS_PUBLIC", value_parser = clap::builder::FalseyValueParser::new())]
    pub metrics_public: bool,
    /// Test aid (off by default): a lifecycle rule's "day" lasts this many seconds, and passes
    /// run every half of it, as RGW's rgw_lc_debug_interval (ceph's s3-tests use 10).
    #[arg(long, env = "PIER_LIFECYCLE_DAY_SECS")]
    pub lifecycle_day_secs: Option<u64>,
    /// Test aid: judge lifecycle rules as if this many days had passed.
    #[arg(long, hide = true)]
    pub lifecycle_clock_offset_days: Option<i64>,
    /// Let event notification webhooks use plain http and loopback or private addresses (the
    /// cloud metadata address stays refused).
    #[arg(long, env = "PIER_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::FalseyValueParser::new())]
    pub webhook_allow_private: bool,
    /// Hours an undelivered event is retried before it is dropped and its rule suspended
    /// [default: 24].
    #[arg(long, env = "PIER_EVENT_RETRY_HOURS")]
    pub event_retry_hours: Option<u64>,
    /// A domain whose subdomains serve buckets' static websites (`BUCKET.DOMAIN`, on the API's
    /// listeners); repeatable.
    #[arg(
        long = "website-domain",
        env = "PIER_WEBSITE_DOMAINS",
        value_delimiter = ','
    )]
    pub website_domains: Vec<String>,
    /// Also listen here for websites only: the `Host` names the bucket (a custom domain such
    /// as www.example.com pointed at pier serves bucket www.example.com).
    #[arg(long, env = "PIER_WEBSITE_LISTEN")]
    pub website_listen: Option<String>,
    /// Also serve the API over HTTPS here (`host:port`); with `--listen off`, only here.
    #[arg(long, env = "PIER_TLS_LISTEN")]
    pub tls_listen: Option<String>,
    /// The certificate (PEM: the certificate, then its chain); reloaded on SIGHUP and when
    /// the file changes.
    #[arg(long, env = "PIER_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "PIER_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve a self-signed certificate for localhost and 127.0.0.1, made at first start in the
    /// data directory (tls/self-signed.pem, which clients may trust): for development.
    #[arg(long, env = "PIER_TLS_SELF_SIGNED", value_parser = clap::builder::FalseyValueParser::new(), conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// The master key that wraps server-side encrypted objects' keys (a file of 64 hex digits)
    /// [default: DATA_DIR/master.key, made at first start].
    #[arg(long, env = "PIER_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Make sure the key ring (SSE-KMS) has these keys, made at start when missing
    /// (repeatable; comma-separated in the environment).
    #[arg(long = "kms-key", env = "PIER_KMS_KEYS", value_delimiter = ',')]
    pub kms_keys: Vec<String>,
    /// Take customer encryption keys (SSE-C) over plain HTTP too, not only over HTTPS (for
    /// tests, or behind a TLS proxy).
    #[arg(long, env = "PIER_ALLOW_SSE_C_OVER_HTTP", value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_sse_c_over_http: bool,
    /// The dashboard's certificate [default: the API's, when it has one].
    #[arg(long, env = "PIER_DASHBOARD_TLS_CERT")]
    pub dashboard_tls_cert: Option<PathBuf>,
    /// The dashboard certificate's private key [default: the API's].
    #[arg(long, env = "PIER_DASHBOARD_TLS_KEY")]
    pub dashboard_tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an access key pair and print it. The first key ever made belongs to the default
    /// account (`pier`); later ones start an account of their own unless `--account` or
    /// `--bucket` names one. Without restrictions a key may do everything in its account; B2
    /// calls it an application key.
    Create {
        #[command(flatten)]
        data: DataDirArg,
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
        /// The account the key belongs to: an existing account's id, or a new one's
        /// (1 to 64 letters, digits, '.', '_' or '-') [default: the buckets' owner with
        /// --bucket, else a new account].
        #[arg(long)]
        account: Option<String>,
        /// B2 capability names, comma-separated (readFiles,listFiles,...) [default: all].
        #[arg(long, value_delimiter = ',')]
        capabilities: Vec<String>,
        /// Restrict the key to this bucket (repeatable).
        #[arg(long = "bucket")]
        buckets: Vec<String>,
        /// Restrict the key to names starting with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Make the key stop working after this long (3600, 15m, 1h, 7d).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List access keys with their restrictions.
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Delete an access key (requests signed with it fail at once).
    Delete {
        #[command(flatten)]
        data: DataDirArg,
        /// The access key id.
        access_key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KmsCommand {
    /// Add a key to the ring, wrapped by the master key; a running server uses it at once.
    CreateKey {
        #[command(flatten)]
        data: DataDirArg,
        /// The master key file [default: DATA_DIR/master.key].
        #[arg(long, env = "PIER_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// The key's id (what `x-amz-server-side-encryption-aws-kms-key-id` names).
        id: String,
    },
    /// List the ring's keys.
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Move every encrypted object and ring key to a new master key without rewriting any
    /// object (their keys are rewrapped). Stop the server first; run again to finish an
    /// interrupted rotation. With the default key file, DATA_DIR/master.key then holds the new
    /// key and the old one is kept beside it.
    RotateMaster {
        #[command(flatten)]
        data: DataDirArg,
        /// The current master key file [default: DATA_DIR/master.key].
        #[arg(long, env = "PIER_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// The new master key file (64 hex digits; `openssl rand -hex 32`).
        #[arg(long)]
        new_master_key_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CapsCommand {
    /// Set the caps of an account or a bucket; `none` removes one, a cap not named is kept.
    /// A write over a storage or object cap is refused (S3 403 StorageCapExceeded /
    /// ObjectCapExceeded, B2 403 storage_cap_exceeded); a request over the transaction cap
    /// too (TransactionCapExceeded, transaction_cap_exceeded).
    Set {
        #[command(flatten)]
        data: DataDirArg,
        #[command(flatten)]
        scope: CapScopeArgs,
        /// Most bytes stored, every version and unfinished upload counted (`10GiB`, `500MB`,
        /// a number of bytes, or `none`).
        #[arg(long)]
        storage: Option<String>,
        /// Most versions stored (or `none`).
        #[arg(long)]
        objects: Option<String>,
        /// Most requests per UTC day (or `none`).
        #[arg(long)]
        transactions_per_day: Option<String>,
    },
    /// Show every account and bucket with caps, or one: caps, usage, today's requests.
    Show {
        #[command(flatten)]
        data: DataDirArg,
        /// Only this account.
        #[arg(long, conflicts_with = "bucket")]
        account: Option<String>,
        /// Only this bucket (by name).
        #[arg(long)]
        bucket: Option<String>,
        /// Also count each bucket's usage afresh from its rows and say whether the counters
        /// agree.
        #[arg(long)]
        recount: bool,
    },
}

/// `pier audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub data: DataDirArg,
    /// Only changes to this bucket (by name).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Only changes made by this account, or to what it owns.
    #[arg(long)]
    pub account: Option<String>,
    /// Only the newest N changes.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Which account or bucket a cap is for.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct CapScopeArgs {
    /// The account's id.
    #[arg(long)]
    pub account: Option<String>,
    /// The bucket's name.
    #[arg(long)]
    pub bucket: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Set a bucket's CORS rules: B2's quick choices, or a rules file in any dialect.
    Cors {
        #[command(flatten)]
        data: DataDirArg,
        /// The bucket.
        bucket: String,
        /// Share downloads with every origin (B2's "share everything with every origin").
        #[arg(long, group = "choice")]
        share_all_origins: bool,
        /// Share downloads with one origin, e.g. https://www.example.com.
        #[arg(long, group = "choice", value_name = "ORIGIN")]
        share_origin: Option<String>,
        /// Remove every CORS rule.
        #[arg(long, group = "choice")]
        none: bool,
        /// Custom rules from a file (B2, S3 or R2 dialect, detected).
        #[arg(long, group = "choice", value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Show a bucket's event notification rules (with no option), set its B2 rules from a file,
    /// remove them, or send one of them a test event.
    Events {
        #[command(flatten)]
        data: DataDirArg,
        /// The bucket.
        bucket: String,
        /// B2 rules from a file: the `eventNotificationRules` list of
        /// `b2_set_bucket_notification_rules` (JSON), replacing the bucket's B2 rules.
        #[arg(long, group = "choice", value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Remove the bucket's B2 rules (those made through S3 stay).
        #[arg(long, group = "choice")]
        none: bool,
        /// Queue a test event for this rule.
        #[arg(long, group = "choice", value_name = "RULE")]
        test: Option<String>,
        /// Allow webhooks on plain http and private addresses (as the server's
        /// --webhook-allow-private).
        #[arg(long, env = "PIER_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::FalseyValueParser::new())]
        webhook_allow_private: bool,
    },
    /// Show a bucket's static website configuration (with no option), set one, or remove it.
    Website {
        #[command(flatten)]
        data: DataDirArg,
        /// The bucket.
        bucket: String,
        /// Serve this object for a folder (`index.html`).
        #[arg(long, value_name = "SUFFIX", conflicts_with_all = ["redirect_all", "none"])]
        index_document: Option<String>,
        /// Serve this object, with 404, when the one asked for is missing.
        #[arg(long, value_name = "KEY", requires = "index_document")]
        error_document: Option<String>,
        /// Redirect every request to this host (`https://` prefix for https).
        #[arg(long, value_name = "HOST", conflicts_with = "none")]
        redirect_all: Option<String>,
        /// Routing rules in S3's JSON shape (`[{"Condition": {"KeyPrefixEquals": "docs/"},
        /// "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}]`).
        #[arg(long, value_name = "JSON", requires = "index_document")]
        routing_rules: Option<String>,
        /// Remove the website configuration.
        #[arg(long)]
        none: bool,
    },
    /// Make a bucket's objects readable anonymously (GET, HEAD), or private again.
    Public {
        #[command(flatten)]
        data: DataDirArg,
        /// The bucket.
        bucket: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

/// Where a running server is and how to sign requests to it.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server's URL.
    #[arg(long, env = "PIER_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
    /// Access key id [env: AWS_ACCESS_KEY_ID].
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Secret [env: AWS_SECRET_ACCESS_KEY].
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Region of the credential scope.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct PresignArgs {
    /// `s3://bucket/key`.
    pub target: String,
    /// The HTTP method the URL is for.
    #[arg(long, default_value = "GET", value_parser = ["GET", "HEAD", "PUT", "DELETE"])]
    pub method: String,
    /// How long the URL works: 3600, 15m, 1h, 7d (at most 7 days).
    #[arg(long, default_value = "1h")]
    pub expires: String,
    /// A Content-Type the request must carry (signed into the URL).
    #[arg(long)]
    pub content_type: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct DataDirArg {
    /// The server's data directory.
    #[arg(long, env = "PIER_DATA_DIR", default_value = "pier-data")]
    pub data_dir: PathBuf,
    /// Where the server's metadata lives: `sqlite` (in the data directory) or a
    /// postgres://USER:PASS@HOST:PORT/DB address.
    #[arg(
        long,
        env = "PIER_METADATA",
        default_value = "sqlite",
        hide_env_values = true
    )]
    pub metadata: String,
}

impl DataDirArg {
    /// Opens the server's metadata for administration, next to a running server.
    pub fn open_admin(&self) -> anyhow::Result<pier_store::Store> {
        let backend = pier_store::MetaBackend::parse(&self.metadata).map_err(anyhow::Error::msg)?;
        Ok(pier_store::Store::open_admin_with(
            &self.data_dir,
            &backend,
        )?)
    }
}

/// A CORS dialect on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// Backblaze B2 `corsRules` JSON.
    B2,
    /// S3 `CORSConfiguration` XML (or the aws CLI's `{"CORSRules": [...]}` JSON).
    S3,
    /// Cloudflare R2 JSON (dashboard list or REST `{"rules": [...]}`).
    R2,
}

/// An output format for `pier cors convert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// B2 `corsRules` JSON.
    B2,
    /// S3 `CORSConfiguration` XML.
    S3,
    /// The aws CLI's `{"CORSRules": [...]}` JSON.
    S3Json,
    /// R2 dashboard JSON (the JSON tab).
    R2,
    /// R2 REST API / wrangler JSON.
    R2Rest,
}

#[derive(Debug, Subcommand)]
pub enum CorsCommand {
    /// Validate a rules file: prints OK, or every error with its rule and field.
    Validate(FileArgs),
    /// Convert a rules file to another dialect (refused, with reasons, when it cannot be said).
    Convert {
        #[command(flatten)]
        file: FileArgs,
        /// The format to write.
        #[arg(long, value_enum)]
        to: FormatArg,
    },
    /// Explain how a browser request would be decided: the verdict, the headers the browser
    /// receives, and for every rule the condition that failed.
    Explain(Box<ExplainArgs>),
    /// The cross-origin requests a running server recently refused on a bucket (origin,
    /// method, headers, why, count), newest first.
    Refused {
        /// The bucket.
        bucket: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The report-only rules staged on a bucket (from the dashboard) and how often they would
    /// have decided differently from the live rules.
    Report {
        /// The bucket.
        bucket: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Warn about risky or useless rules.
    Lint {
        #[command(flatten)]
        file: FileArgs,
        /// Exit with status 1 when there are warnings.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// The rules file (`-` for standard input).
    pub file: PathBuf,
    /// The dialect, when detection should not guess.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rules file (`-` for standard input); not with --bucket.
    #[arg(required_unless_present = "bucket")]
    pub file: Option<PathBuf>,
    /// The dialect, when detection should not guess.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Explain against a running server's bucket instead of a file.
    #[arg(long, conflicts_with = "file")]
    pub bucket: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// The page's origin (the `Origin` header), e.g. https://app.example.com.
    #[arg(long)]
    pub origin: Option<String>,
    /// The request's method (for a preflight, the method being asked about).
    #[arg(long)]
    pub method: Option<String>,
    /// A request header the page sets (repeat for several); checked as
    /// `Access-Control-Request-Headers`.
    #[arg(long = "header", value_name = "NAME")]
    pub headers: Vec<String>,
    /// The operation (`b2_download_file_by_name`, `b2_upload_file`, `s3_put`, ...); B2 native
    /// operations select the B2 endpoint. Default: an S3 request.
    #[arg(long)]
    pub operation: Option<String>,
    /// Explain the preflight (OPTIONS) rather than the actual request.
    #[arg(long)]
    pub preflight: bool,
}
