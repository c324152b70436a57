//! `pier cors ...` driven as a user would: the built binary, files in a temporary directory,
//! exit statuses and output checked.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;
use tempfile::TempDir;

const SEED_B2: &str = include_str!("../crates/cors/tests/fixtures/download_from_any_origin.json");

const S3_ONLY_B2: &str = r#"[{
  "corsRuleName": "appReadWrite",
  "allowedOrigins": ["https://app.example.com"],
  "allowedHeaders": ["content-type", "x-amz-*"],
  "allowedOperations": ["s3_get", "s3_put"],
  "exposeHeaders": ["ETag"],
  "maxAgeSeconds": 600
}]"#;

fn pier() -> Command {
    Command::cargo_bin("pier").unwrap()
}

fn file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_accepts_and_detects_the_dialect() {
    let dir = TempDir::new().unwrap();
    let seed = file(&dir, "seed.json", SEED_B2);
    pier()
        .args(["cors", "validate"])
        .arg(&seed)
        .assert()
        .success()
        .stdout("OK: 1 rule(s), B2 corsRules JSON\n");
}

#[test]
fn validate_lists_every_error_and_exits_1() {
    let dir = TempDir::new().unwrap();
    let bad = file(
        &dir,
        "bad.json",
        r#"[{"corsRuleName":"b2-x","allowedOrigins":["https://a.example/"],"allowedOperations":["s3_get"],"maxAgeSeconds":90000}]"#,
    );
    pier()
        .args(["cors", "validate"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid CORS rules"))
        .stderr(predicate::str::contains(
            r#"rule 1 ("b2-x"), corsRuleName: "b2-x" is 4 characters long"#,
        ))
        .stderr(predicate::str::contains("reserved for Backblaze"))
        .stderr(predicate::str::contains("ends with a slash"))
        .stderr(predicate::str::contains("90000 is out of range"));
    // The seed as printed (a trailing comma) from standard input, told it is R2.
    pier()
        .args(["cors", "validate", "-", "--dialect", "r2"])
        .write_stdin(
            "[{\"AllowedOrigins\":[\"http://localhost:3000\"],\"AllowedMethods\":[\"GET\",]}]",
        )
        .assert()
        .code(1)
        .stderr(predicate::str::contains("trailing comma"));
}

#[test]
fn usage_errors_exit_2() {
    pier().args(["cors", "validate"]).assert().code(2);
    pier()
        .args(["cors", "convert", "x.json", "--to", "gcs"])
        .assert()
        .code(2);
    let dir = TempDir::new().unwrap();
    let seed = file(&dir, "seed.json", SEED_B2);
    pier()
        .args(["cors", "explain"])
        .arg(&seed)
        .args(["--origin", "https://a.example"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give --method"));
    pier()
        .args(["cors", "explain"])
        .arg(&seed)
        .args([
            "--origin",
            "https://a.example",
            "--operation",
            "b2_teleport",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown operation"));
    pier()
        .args(["cors", "validate", "does-not-exist.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reading does-not-exist.json"));
}

#[test]
fn convert_round_trips_through_s3_and_refuses_b2_operations() {
    let dir = TempDir::new().unwrap();
    let rules = file(&dir, "rules.json", S3_ONLY_B2);
    let out = pier()
        .args(["cors", "convert"])
        .arg(&rules)
        .args(["--to", "s3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert!(xml.contains("<AllowedMethod>PUT</AllowedMethod>"), "{xml}");
    let xml_file = file(&dir, "rules.xml", &xml);
    let back = pier()
        .args(["cors", "convert"])
        .arg(&xml_file)
        .args(["--to", "b2"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let back: serde_json::Value = serde_json::from_slice(&back).unwrap();
    let orig: serde_json::Value = serde_json::from_slice(S3_ONLY_B2.as_bytes()).unwrap();
    assert_eq!(back, orig);

    let seed = file(&dir, "seed.json", SEED_B2);
    pier()
        .args(["cors", "convert"])
        .arg(&seed)
        .args(["--to", "r2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("grants b2_download_file_by_id, b2_download_file_by_name, which R2 rules cannot express"));
}

#[test]
fn explain_shows_headers_or_the_failed_condition() {
    let dir = TempDir::new().unwrap();
    let seed = file(&dir, "seed.json", SEED_B2);
    pier()
        .args(["cors", "explain"])
        .arg(&seed)
        .args([
            "--origin",
            "https://www.catblaze.com",
            "--operation",
            "b2_download_file_by_name",
            "--header",
            "Range",
            "--preflight",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ALLOWED by rule 1 (\"downloadFromAnyOrigin\")",
        ))
        .stdout(predicate::str::contains(
            "  Access-Control-Allow-Origin: https://www.catblaze.com\n",
        ))
        .stdout(predicate::str::contains(
            "  Access-Control-Allow-Headers: range\n",
        ))
        .stdout(predicate::str::contains(
            "  Access-Control-Expose-Headers: x-bz-content-sha1\n",
        ));
    pier()
        .args(["cors", "explain"])
        .arg(&seed)
        .args(["--origin", "https://www.catblaze.com", "--operation", "b2_download_file_by_name", "--header", "X-Fake-Header", "--preflight"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REFUSED"))
        .stdout(predicate::str::contains("blocked by CORS policy"))
        .stdout(predicate::str::contains(r#"rule 1 ("downloadFromAnyOrigin"): requested header "x-fake-header" is not in allowedHeaders ["range"]"#));
    // No Origin: not a CORS request at all.
    pier()
        .args(["cors", "explain"])
        .arg(&seed)
        .args(["--method", "GET", "--operation", "b2_download_file_by_name"])
        .assert()
        .success()
        .stdout(predicate::str::contains("NOT CORS"));
}

#[test]
fn lint_warns_and_strict_fails() {
    let dir = TempDir::new().unwrap();
    let risky = file(
        &dir,
        "risky.json",
        r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"],"AllowedHeaders":["*"],"MaxAgeSeconds":86400}]"#,
    );
    pier()
        .args(["cors", "lint"])
        .arg(&risky)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning: rule 1: allows every origin to send any request header",
        ))
        .stdout(predicate::str::contains("does not expose ETag"));
    pier()
        .args(["cors", "lint", "--strict"])
        .arg(&risky)
        .assert()
        .code(1);
    let careful = file(&dir, "careful.json", S3_ONLY_B2);
    pier()
        .args(["cors", "lint", "--strict"])
        .arg(&careful)
        .assert()
        .success()
        .stdout("no warnings (1 rule(s))\n");
}
