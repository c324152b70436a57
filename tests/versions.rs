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

/// `tests/clients/versions_boto3.py`: versions as a boto3 user drives them.
mod s3_with_boto3 {
    crate::client_checks!("versions_boto3.py";
        a_new_bucket_is_unversioned_no_status_no_version_ids => "a new bucket is unversioned: no status, no version ids",
        with_versioning_enabled_every_put_is_a_new_version_listed_newest_first => "with versioning enabled every put is a new version, listed newest first",
        get_and_head_by_version_id_nosuchversion_a_malformed_id_is => "GET and HEAD by version id; NoSuchVersion; a malformed id is InvalidArgument",
        delete_adds_a_delete_marker_get_is_404_and_get_of_the_marker_405_both => "DELETE adds a delete marker: GET is 404 and GET of the marker 405, both marked",
        deleting_the_marker_by_version_id_brings_the_object_back => "deleting the marker by version id brings the object back",
        deleting_a_version_for_good_promotes_the_one_before_it => "deleting a version for good promotes the one before it",
        listobjectversions_pages_with_key_and_version_id_markers_and_rolls_up => "ListObjectVersions pages with key and version-id markers, and rolls up prefixes",
        null_versions_suspended_puts_replace_the_null_version_and_keep_the => "null versions: suspended puts replace the null version and keep the others",
        deleteobjects_deletes_named_versions_and_adds_markers_for_the_rest => "DeleteObjects deletes named versions and adds markers for the rest",
        copyobject_and_uploadpartcopy_read_an_old_version => "CopyObject and UploadPartCopy read an old version",
        deletebucket_aborts_unfinished_uploads_but_refuses_while_versions_or => "DeleteBucket aborts unfinished uploads but refuses while versions or markers remain",
        conditional_writes_if_match_on_no_current_version_is_404_a_wrong_etag => "conditional writes: If-Match on no current version is 404, a wrong ETag 412",
        a_lifecycle_configuration_round_trips => "a lifecycle configuration round-trips",
        invalid_lifecycle_rules_are_refused_with_the_reason => "invalid lifecycle rules are refused with the reason",
    );
}

/// `tests/clients/versions_b2.py`: the same history through b2sdk.
mod b2_with_b2sdk {
    crate::client_checks!("versions_b2.py";
        every_upload_is_a_new_version_listed_newest_first => "every upload is a new version, listed newest first",
        b2_hide_file_adds_a_hide_marker_and_keeps_the_versions => "b2_hide_file adds a hide marker and keeps the versions",
        hiding_a_hidden_file_is_already_hidden_hiding_a_missing_one_no_such_file => "hiding a hidden file is already_hidden; hiding a missing one no_such_file",
        a_hide_marker_is_an_s3_delete_marker_with_the_same_id => "a hide marker is an S3 delete marker with the same id",
        deleting_the_hide_marker_unhides_the_file => "deleting the hide marker unhides the file",
        b2_download_file_by_id_and_b2_get_file_info_reach_an_old_version => "b2_download_file_by_id and b2_get_file_info reach an old version",
        b2_copy_file_copies_an_old_version => "b2_copy_file copies an old version",
        b2_delete_file_version_deletes_one_version_the_others_stay => "b2_delete_file_version deletes one version; the others stay",
        b2_list_file_versions_pages_with_startfilename_and_startfileid => "b2_list_file_versions pages with startFileName and startFileId",
        lifecycle_rules_are_set_and_read_back => "lifecycle rules are set and read back",
        invalid_lifecycle_rules_are_refused_as_b2_refuses_them => "invalid lifecycle rules are refused as B2 refuses them",
        an_s3_only_lifecycle_rule_is_hidden_from_b2_and_b2_cannot_silently => "an S3-only lifecycle rule is hidden from B2 and B2 cannot silently replace it",
    );
}

/// The aws CLI: versioning, paged listing (one entry per request), GET by version.
#[test]
fn the_aws_cli_lists_versions_a_page_at_a_time_and_gets_an_old_one() {
    let server = Server::start();
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
}

/// Lifecycle rules act when their days have passed: 40 days on, the noncurrent log versions
/// and the expired tmp/ object are gone (their bytes reclaimed), the abandoned upload is
/// aborted, tag- and size-filtered rules take only what matches, and what no rule names is
/// kept.
#[test]
fn lifecycle_rules_act_once_the_clock_is_forty_days_on() {
    let mut server = Server::start();
    server.python_ok("lifecycle_setup.py", &[]);
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

/// The b2 CLI and rclone's `--s3-versions` and `--b2-versions` over one history.
#[test]
fn b2_versions_with_the_b2_cli_and_rclone() {
    let server = Server::start();

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
