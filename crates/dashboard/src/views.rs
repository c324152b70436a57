//! The pages, as compile-time-checked askama templates (`templates/`, HTML-escaped), and the
//! embedded script and style sheet.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use http::header;

/// Renders a template; a template that fails to render is a logged 500 page.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard: a template failed to render");
            (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "A page failed to render; the error is in the server's log.",
            )
                .into_response()
        }
    }
}

/// What every signed-in page shows in its header.
#[derive(Debug)]
pub struct Nav {
    /// The key signed in.
    pub key_id: String,
    /// Its account.
    pub account: String,
    /// The session's CSRF token, for forms.
    pub csrf: String,
    /// The key may list keys (the Keys link is shown).
    pub keys: bool,
    /// The key may manage accounts (the Accounts link is shown).
    pub accounts: bool,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub message: &'a str,
}

/// A bucket in the list.
pub struct BucketRow {
    pub name: String,
    pub visibility: &'static str,
    pub versioning: &'static str,
    pub objects: u64,
    pub size: String,
    /// Every stored version's bytes and unfinished uploads' parts: what a storage cap counts.
    pub stored: String,
    /// The bucket's storage cap, if it has one.
    pub cap: Option<String>,
}

#[derive(Template)]
#[template(path = "buckets.html")]
pub struct BucketsPage {
    pub nav: Nav,
    pub buckets: Vec<BucketRow>,
    pub can_create: bool,
}

/// A notification rule on a bucket's events page.
pub struct RuleRow {
    pub name: String,
    /// `B2` or `S3`: which API made it (only B2's are edited here).
    pub api: &'static str,
    pub types: String,
    /// The key prefix (and S3 suffix) it selects.
    pub filter: String,
    /// Its webhook, or for an S3 rule its topic.
    pub target: String,
    pub signed: bool,
    pub suspended: bool,
    /// `active`, `disabled` or `suspended: <reason>`.
    pub state: String,
}

/// A delivery attempt on a bucket's events page.
pub struct DeliveryRow {
    pub at: String,
    pub rule: String,
    pub events: usize,
    pub status: String,
    pub ok: bool,
    pub latency: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "events.html")]
pub struct EventsPage {
    pub nav: Nav,
    pub bucket: String,
    pub rules: Vec<RuleRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub can_write: bool,
}

#[derive(Template)]
#[template(path = "website.html")]
pub struct WebsitePage {
    pub nav: Nav,
    pub bucket: String,
    pub can_write: bool,
    /// The bucket has a website configuration.
    pub configured: bool,
    /// Anyone may read the index document: the site is visible.
    pub public: bool,
    /// Where the site is served.
    pub addresses: Vec<String>,
    pub index: String,
    pub error: String,
    pub redirect_all: String,
    pub rules: String,
    /// The form was refused; the reason is at its field.
    pub refused: bool,
    pub index_error: String,
    pub redirect_error: String,
    pub rules_error: String,
}

/// An object in a listing.
pub struct ObjectRow {
    pub key: String,
    pub name: String,
    pub size: String,
    pub modified: String,
}

/// A step of the prefix path.
pub struct Crumb {
    pub label: String,
    pub prefix: String,
}

#[derive(Template)]
#[template(path = "objects.html")]
pub struct ObjectsPage {
    pub nav: Nav,
    pub bucket: String,
    pub prefix: String,
    pub crumbs: Vec<Crumb>,
    pub folders: Vec<Crumb>,
    pub objects: Vec<ObjectRow>,
    pub next: Option<String>,
    pub visibility: &'static str,
    pub versioning: &'static str,
    /// Deleted keys are listed too, and they (each a [`Crumb`]: name here, whole key).
    pub show_hidden: bool,
    pub hidden: Vec<Crumb>,
    pub can_write: bool,
}

/// A bucket's settings tab.
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub nav: Nav,
    pub bucket: String,
    pub visibility: &'static str,
    pub versioning: &'static str,
    pub policy: String,
    /// A report-only access change is staged for the bucket.
    pub staged: bool,
    /// The bucket's tags, one `key=value` a line.
    pub tags: String,
    /// The bucket's lifecycle rules as B2's `lifecycleRules` JSON (those B2 can express).
    pub lifecycle: String,
    /// Rules set through S3 that B2's form cannot show (the field is then read-only).
    pub lifecycle_hidden: Vec<String>,
    /// Object lock is on, and its default retention: mode (empty: none), period and unit.
    pub lock_on: bool,
    pub retention_mode: &'static str,
    pub retention_period: String,
    pub retention_unit: &'static str,
    /// The default encryption: `none`, `sse-s3` or `sse-kms`, and the ring's key for the last.
    pub encryption: &'static str,
    pub kms_key: String,
    pub can_settings: bool,
    pub can_delete: bool,
    /// The key may explain decisions (the "who may do what here" form beside the policy),
    /// and the actions it offers.
    pub can_explain: bool,
    pub actions: Vec<&'static str>,
}

/// One request a staged access change would decide differently.
pub struct AccessFlipRow {
    pub key: String,
    pub action: &'static str,
    pub object: String,
    /// `refused` (allowed today) or `allowed` (refused today).
    pub would_be: &'static str,
    pub count: u64,
    pub last_seen: String,
    pub reason: String,
    pub trace: Vec<String>,
}

/// A staged access change and its tally.
pub struct StagedAccessView {
    pub policy: String,
    pub visibility: &'static str,
    pub since: String,
    pub staged_by: String,
    pub same: u64,
    pub newly_allowed: u64,
    pub newly_refused: u64,
    pub flips: Vec<AccessFlipRow>,
}

/// A bucket's report-only access change tab.
#[derive(Template)]
#[template(path = "access.html")]
pub struct AccessChangePage {
    pub nav: Nav,
    pub bucket: String,
    /// The settings in effect.
    pub policy: String,
    pub visibility: &'static str,
    pub staged: Option<StagedAccessView>,
    pub can_promote: bool,
}

/// One version of an object.
pub struct VersionRow {
    pub id: String,
    pub marker: bool,
    pub current: bool,
    pub size: String,
    pub modified: String,
    /// Its object lock: retention and legal hold, or empty.
    pub lock: String,
}

#[derive(Template)]
#[template(path = "object.html")]
pub struct ObjectPage {
    pub nav: Nav,
    pub bucket: String,
    pub key: String,
    pub size: String,
    pub etag: String,
    pub sha1: String,
    pub content_type: String,
    pub modified: String,
    pub meta: Vec<(String, String)>,
    pub versions: Vec<VersionRow>,
    /// A delete marker is the key's current entry (the details are the newest version's).
    pub deleted: bool,
}

#[derive(Template)]
#[template(path = "share.html")]
pub struct SharePage {
    pub nav: Nav,
    pub bucket: String,
    pub key: String,
    pub url: String,
    pub expires: String,
}

/// A key in the list.
pub struct KeyRow {
    pub id: String,
    pub description: String,
    pub capabilities: String,
    pub buckets: String,
    pub prefix: String,
    pub expires: String,
}

/// An account or bucket's caps as the caps form shows them (empty: no cap).
pub struct CapsView {
    pub storage: String,
    pub objects: String,
    pub transactions: String,
    /// The storage cap in words, if there is one.
    pub storage_cap: Option<String>,
    /// Requests counted today against the transaction cap (0 without one).
    pub today: u64,
}

/// A bucket of an account, with its usage and caps.
pub struct BucketUsageRow {
    pub name: String,
    pub objects: u64,
    pub size: String,
    pub stored: String,
    pub uploads: u64,
    pub caps: CapsView,
}

/// One account: its keys, its buckets and what they hold, its caps.
pub struct AccountView {
    pub id: String,
    /// The default account (never deleted).
    pub default: bool,
    /// The signed-in key's own account.
    pub mine: bool,
    pub keys: Vec<String>,
    pub buckets: Vec<BucketUsageRow>,
    pub objects: u64,
    pub stored: String,
    pub caps: CapsView,
}

/// A new account's first key, shown once.
pub struct NewAccount {
    pub account: String,
    pub key_id: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub nav: Nav,
    pub accounts: Vec<AccountView>,
    pub created: Option<NewAccount>,
    /// A caps form's refusal, naming its field.
    pub error: Option<String>,
    pub can_write: bool,
}

/// One row of the traffic table: when it starts (HH:MM UTC), its requests, and the rest of its
/// columns as text.
pub struct TrafficRow {
    pub start: String,
    pub requests: u64,
    pub detail: Vec<String>,
}

#[derive(Template)]
#[template(path = "traffic.html")]
pub struct TrafficPage {
    pub nav: Nav,
    /// The last day (else the last hour).
    pub day: bool,
    /// The bucket charted, or empty for the whole server.
    pub bucket: String,
    /// The charts, as SVG made by `charts::line_chart` (numbers and fixed text only).
    pub charts: Vec<String>,
    /// The table's columns after time and requests.
    pub columns: Vec<&'static str>,
    pub rows: Vec<TrafficRow>,
}

/// One change on the audit page.
pub struct AuditRow {
    pub time: String,
    pub key_id: String,
    pub account: String,
    pub action: String,
    pub what: String,
    pub before: String,
    pub after: String,
    pub remote_addr: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub bucket: String,
    pub account: String,
    pub rows: Vec<AuditRow>,
    /// The link to the same entries as JSON lines.
    pub download: String,
}

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub nav: Nav,
    pub keys: Vec<KeyRow>,
    pub buckets: Vec<String>,
    pub capabilities: Vec<&'static str>,
    pub created: Option<(String, String)>,
    pub can_create: bool,
    pub actions: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "explain.html")]
pub struct ExplainPage {
    pub nav: Nav,
    pub key: String,
    pub action: String,
    pub bucket: String,
    pub object: String,
    pub allowed: bool,
    pub reason: String,
    pub trace: Vec<String>,
}

/// One dialect's rendering of a rule list.
pub struct Converted {
    pub dialect: &'static str,
    pub text: String,
    pub command: String,
}

/// A candidate rule list, checked.
pub struct Preview {
    pub text: String,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub converted: Vec<Converted>,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
    /// Recently seen requests these rules would decide differently.
    pub flips: Vec<String>,
    pub valid: bool,
}

/// A recently refused cross-origin request.
pub struct RefusedRow {
    pub origin: String,
    pub method: String,
    pub headers: String,
    pub kind: &'static str,
    pub reason: String,
    pub count: u64,
    pub last_seen: String,
}

/// The report-only rules staged for a bucket, and their tally.
pub struct StagedView {
    pub text: String,
    pub since: String,
    pub same: u64,
    pub newly_allowed: u64,
    pub newly_refused: u64,
    pub examples: Vec<String>,
}

/// A simulated request and its verdict.
pub struct Simulation {
    pub origin: String,
    pub method: String,
    pub headers: String,
    pub allowed: bool,
    pub summary: String,
    pub response: Vec<(String, String)>,
    pub trace: Vec<String>,
    pub curl: String,
}

#[derive(Template)]
#[template(path = "cors.html")]
pub struct CorsPage {
    pub nav: Nav,
    pub bucket: String,
    pub current: String,
    pub editor: String,
    pub preview: Option<Preview>,
    pub simulation: Option<Simulation>,
    pub saved: bool,
    pub refused: Vec<RefusedRow>,
    pub staged: Option<StagedView>,
}

/// `/assets/app.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/app.js"),
    )
        .into_response()
}

/// `/assets/app.css`.
pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/app.css"),
    )
        .into_response()
}

/// A byte count for people.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A UTC time for people.
pub fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A version's object lock, as the page shows it: its retention and legal hold, or empty.
pub(crate) fn lock_state(meta: &pier_store::ObjectMeta) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &meta.retention {
        let mode = match r.mode {
            pier_store::LockMode::Governance => "governance",
            pier_store::LockMode::Compliance => "compliance",
        };
        parts.push(format!("{mode} until {}", time(r.until)));
    }
    if meta.legal_hold {
        parts.push("legal hold".into());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(super::size(512), "512 B");
        assert_eq!(super::size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_795_910_400_000), "2026-11-29 00:00:00 UTC");
    }
}
