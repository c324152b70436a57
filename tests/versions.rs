//! Object versions and lifecycle rules end to end, one history seen from both APIs: boto3 and
//! the aws CLI, b2sdk and the b2 CLI, rclone's `--s3-versions` and `--b2-versions`, and
//! lifecycle rules acting once the server's lifecycle clock is advanced.

mod common;

use common::Server;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn blob_files(root: &std::path::Path) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| {
                        if e.file_type().is_ok_and(|t| t.is_dir()) {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&root.join("data/blobs"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Polls `f` until it holds (the lifecycle pass runs in the background at start).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn s3_versions_with_boto3_the_aws_cli_and_an_advanced_lifecycle_clock() {
    let mut server = Server::start();
    let out = server.python_ok("versions_boto3.py", &[]);
    assert!(out.contains("15 passed, 0 failed"), "{out}");

    // The aws CLI: versioning, paged listing (one entry per request), GET by version.
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "cli-vers"]);
    server.aws_ok(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "cli-vers",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    let dir = tempfile::TempDir::new().unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let file = dir.path().join(format!("v{n}"));
        std::fs::write(&file, format!("version {n}")).unwrap();
        let put = json(&server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            "cli-vers",
            "--key",
            "file.txt",
            "--body",
            file.to_str().unwrap(),
        ]));
        ids.push(put["VersionId"].as_str().unwrap().to_owned());
    }
    let listed = json(&server.aws_ok(&[
        "s3api",
        "list-object-versions",
        "--bucket",
        "cli-vers",
        "--page-size",
        "1",
    ]));
    let listed: Vec<&str> = listed["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]]);
    let old = dir.path().join("old");
    server.aws_ok(&[
        "s3api",
        "get-object",
        "--bucket",
        "cli-vers",
        "--key",
        "file.txt",
        "--version-id",
        &ids[0],
        old.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "version 0");

    // Lifecycle rules act when their days have passed: 40 days on, the noncurrent log versions
    // and the expired tmp/ object are gone (their bytes reclaimed), the abandoned upload is
    // aborted, tag- and size-filtered rules take only what matches, and what no rule names is
    // kept.
    let before = blob_files(server.dir.path());
    // No garbage grace: the blobs expiry releases go from disk right after the pass.
    server.restart_clean_with(&[
        "--lifecycle-clock-offset-days",
        "40",
        "--garbage-grace-secs",
        "0",
    ]);
    let versions = |prefix: &str| -> Value {
        json(&server.aws_ok(&[
            "s3api",
            "list-object-versions",
            "--bucket",
            "aging",
            "--prefix",
            prefix,
        ]))
    };
    eventually("noncurrent log versions to expire", || {
        versions("logs/")["Versions"]
            .as_array()
            .is_some_and(|v| v.len() == 1)
    });
    let tmp = versions("tmp/");
    assert_eq!(
        tmp["DeleteMarkers"].as_array().map(Vec::len),
        Some(1),
        "tmp/scratch is hidden behind a marker: {tmp}"
    );
    assert!(versions("keep/")["Versions"]
        .as_array()
        .is_some_and(|v| v.len() == 1));
    // Rules filtered by tag and by size hide only the versions they take.
    for (prefix, hidden) in [("tagged/", "tagged/temp"), ("sized/", "sized/big")] {
        let got = versions(prefix);
        let markers: Vec<&str> = got["DeleteMarkers"]
            .as_array()
            .map(|m| m.iter().filter_map(|d| d["Key"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(markers, [hidden], "{got}");
    }
    let uploads = json(&server.aws_ok(&["s3api", "list-multipart-uploads", "--bucket", "aging"]));
    assert!(uploads.get("Uploads").is_none(), "{uploads}");
    eventually("expired blobs to be deleted from disk", || {
        blob_files(server.dir.path()) == before - 2
    });
    assert!(
        server
            .log()
            .contains("maintenance pass applied lifecycle rules"),
        "{}",
        server.log()
    );
}

#[test]
fn b2_versions_with_b2sdk_the_b2_cli_and_rclone() {
    let server = Server::start();
    let out = server.python_ok("versions_b2.py", &[]);
    assert!(out.contains("12 passed, 0 failed"), "{out}");

    // The b2 CLI: every upload a version, hide, ls --versions, download by id, rm --versions,
    // lifecycle rules set and read back.
    common::ensure_tools();
    let work = tempfile::TempDir::new().unwrap();
    let b2 = |args: &[&str]| -> String {
        let out = Command::new(common::repo().join(".venv/bin/b2"))
            .env("B2_ACCOUNT_INFO", work.path().join("account_info.sqlite"))
            .env("B2_ENVIRONMENT", &server.endpoint)
            .env_remove("B2_APPLICATION_KEY_ID")
            .env_remove("B2_APPLICATION_KEY")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "b2 {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    b2(&[
        "account",
        "authorize",
        common::ACCESS_KEY,
        common::SECRET_KEY,
    ]);
    b2(&[
        "bucket",
        "create",
        "--lifecycle-rule",
        r#"{"fileNamePrefix":"old/","daysFromHidingToDeleting":30,"daysFromUploadingToHiding":null}"#,
        "cli-versions",
        "allPrivate",
    ]);
    let got = json(&b2(&["bucket", "get", "cli-versions"]));
    assert_eq!(
        got["lifecycleRules"][0]["daysFromHidingToDeleting"], 30,
        "{got}"
    );
    let mut ids = Vec::new();
    for n in 0..2 {
        let file = work.path().join(format!("f{n}"));
        std::fs::write(&file, format!("b2 version {n}")).unwrap();
        let printed = b2(&[
            "file",
            "upload",
            "--no-progress",
            "cli-versions",
            file.to_str().unwrap(),
            "doc.txt",
        ]);
        // URLs come first, then the file's JSON.
        let up = json(&printed[printed.find('{').unwrap()..]);
        ids.push(up["fileId"].as_str().unwrap().to_owned());
    }
    b2(&["file", "hide", "b2://cli-versions/doc.txt"]);
    assert_eq!(b2(&["ls", "b2://cli-versions/"]).trim(), "");
    let all = b2(&["ls", "--versions", "b2://cli-versions/"]);
    assert_eq!(
        all.lines().filter(|l| l.trim() == "doc.txt").count(),
        3,
        "{all}"
    );
    let old = work.path().join("old");
    b2(&[
        "file",
        "download",
        "--no-progress",
        &format!("b2id://{}", ids[0]),
        old.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "b2 version 0");
    b2(&[
        "rm",
        "--versions",
        "--no-progress",
        "b2://cli-versions/doc.txt",
    ]);
    assert_eq!(b2(&["ls", "--versions", "b2://cli-versions/"]).trim(), "");
    b2(&["bucket", "delete", "cli-versions"]);

    // rclone lists old versions with both backends.
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "rclone-vers"]);
    server.aws_ok(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "rclone-vers",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    for n in 0..2 {
        let file = work.path().join(format!("r{n}"));
        std::fs::write(&file, format!("rclone {n}")).unwrap();
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            "rclone-vers",
            "--key",
            "notes.txt",
            "--body",
            file.to_str().unwrap(),
        ]);
    }
    let rclone = |backend: &str, args: &[&str]| -> String {
        let mut cmd = Command::new("rclone");
        cmd.env("RCLONE_CONFIG", "/dev/null")
            .env_remove("AWS_CA_BUNDLE");
        let prefix = format!("RCLONE_CONFIG_{}_", backend.to_uppercase());
        if backend == "s3" {
            cmd.env(format!("{prefix}TYPE"), "s3")
                .env(format!("{prefix}PROVIDER"), "Other")
                .env(format!("{prefix}ACCESS_KEY_ID"), common::ACCESS_KEY)
                .env(format!("{prefix}SECRET_ACCESS_KEY"), common::SECRET_KEY)
                .env(format!("{prefix}ENDPOINT"), &server.endpoint)
                .env(format!("{prefix}FORCE_PATH_STYLE"), "true");
        } else {
            cmd.env(format!("{prefix}TYPE"), "b2")
                .env(format!("{prefix}ACCOUNT"), common::ACCESS_KEY)
                .env(format!("{prefix}KEY"), common::SECRET_KEY)
                .env(format!("{prefix}ENDPOINT"), &server.endpoint);
        }
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "rclone {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let s3_listing = rclone("s3", &["lsf", "--s3-versions", "s3:rclone-vers"]);
    let names: Vec<&str> = s3_listing.lines().collect();
    assert_eq!(names.len(), 2, "{s3_listing}");
    assert!(names.contains(&"notes.txt"), "{s3_listing}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("notes-v") && n.ends_with(".txt")),
        "{s3_listing}"
    );
    let b2_listing = rclone("b2", &["lsf", "--b2-versions", "b2:rclone-vers"]);
    assert_eq!(b2_listing.lines().count(), 2, "{b2_listing}");
}
