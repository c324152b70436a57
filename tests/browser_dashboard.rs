//! The dashboard in Debian's headless Chromium, driven as a person would
//! (`tests/browser/dashboard.mjs`): sign in, create buckets, upload several files (one in parts,
//! its progress bar seen moving), browse a prefix, share a link and fetch it, set CORS by a
//! quick choice and prove it from another site's page, see a refused request listed, make a
//! rule for it, stage it report-only and watch it counted, promote it, see a bad rule's error at
//! its rule, use the simulator, see a bad policy refused, save a webhook rule and see its signed
//! test events arrive and its deliveries listed, make the bucket a website (a refused setting shown
//! at its field, its address serving it only once public, a routing rule redirecting), set a
//! bucket's default encryption and see an upload encrypted, turn versioning on and suspend it, download, restore and delete an
//! object's versions and undelete it, turn object lock on with a default retention and see a
//! locked version's delete refused with the reason, create an account and use its first key from
//! boto3, set caps (a bad value refused at its field, an upload over a bucket's cap refused in the
//! console and over S3), set a bucket's tags (a reserved key refused, boto3 reading the rest),
//! set lifecycle rules in B2's form (a rule that does nothing refused, boto3 reading the rest as S3
//! rules), explain a decision from beside a bucket's policy, stage a policy and public access
//! report-only and see exactly the requests whose verdict it would change listed (then promote it
//! and see them answered so), read a bucket's audit log and download it as JSON lines, see the traffic charts (overall and
//! a bucket's, the hour and the day) count the requests made, see that at a phone's width no page
//! scrolls sideways, delete an account after a confirmation that says its buckets are kept,
//! create a restricted key and sign in with it. The
//! screenshots it takes are the ones in `docs/`.

mod common;

use std::process::Command;

#[test]
fn chromium_uses_the_dashboard_as_a_person_would() {
    // Webhooks to loopback are allowed for the events page's check (its receiver is local).
    let server = common::Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--webhook-allow-private"],
    );
    common::ensure_tools();
    let shots = common::repo().join("docs/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(common::repo().join("tests/browser/dashboard.mjs"))
        .current_dir(common::repo().join("tests/browser"))
        .env("DASHBOARD", &server.dashboard)
        .env("PIER_ENDPOINT", &server.endpoint)
        .env("ACCESS_KEY", common::ACCESS_KEY)
        .env("SECRET_KEY", common::SECRET_KEY)
        .env("ORIGIN_PORT", common::free_port().to_string())
        .env("SHOTS", &shots)
        .output()
        .expect("run node");
    server.assert_checks_passed(&out, "28 passed, 0 failed");
}
