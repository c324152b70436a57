//! Who may do what, end to end: keys scoped with `pier key create` and B2's key calls, bucket
//! policies and public buckets, through boto3, the aws CLI, b2sdk, the b2 CLI and rclone, and
//! the explanations of `pier access explain`.

mod common;

use common::{MadeKey, Server, ACCESS_KEY, SECRET_KEY};
use std::process::Command;
use std::time::Duration;

fn pier(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .output()
        .unwrap()
}

#[test]
fn scoped_keys_and_bucket_policies_with_boto3() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "photos"]);
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "docs"]);
    let MadeKey {
        id: scoped,
        secret: scoped_secret,
        ..
    } = server.create_key(&[
        "--capabilities",
        "listBuckets,readFiles,listFiles,writeFiles",
        "--bucket",
        "photos",
        "--prefix",
        "public/",
    ]);
    let MadeKey {
        id: full,
        secret: full_secret,
        account,
    } = server.create_key(&["--account", "pier", "--description", "full"]);
    assert_eq!(account, "pier");
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let out = cmd
        .arg(common::repo().join("tests/clients/access_boto3.py"))
        .env("SCOPED_ID", &scoped)
        .env("SCOPED_SECRET", &scoped_secret)
        .env("FULL_ID", &full)
        .env("FULL_SECRET", &full_secret)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(stdout.contains("14 passed, 0 failed"), "{stdout}");
    // The aws CLI with the scoped key: it sees its bucket only, and copies only under its prefix.
    let aws_as = |args: &[&str]| {
        let mut cmd = Command::new(common::repo().join(".venv/bin/aws"));
        server.client_env(&mut cmd);
        cmd.env("AWS_ACCESS_KEY_ID", &scoped)
            .env("AWS_SECRET_ACCESS_KEY", &scoped_secret)
            .arg("--endpoint-url")
            .arg(&server.endpoint)
            .args(args)
            .output()
            .unwrap()
    };
    let ls = aws_as(&["s3", "ls"]);
    let listed = String::from_utf8_lossy(&ls.stdout);
    assert!(
        listed.contains("photos") && !listed.contains("docs"),
        "{listed}"
    );
    let file = server.dir.path().join("note.txt");
    std::fs::write(&file, b"note").unwrap();
    let inside = aws_as(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        "s3://photos/public/note.txt",
    ]);
    assert!(
        inside.status.success(),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let outside = aws_as(&["s3", "cp", file.to_str().unwrap(), "s3://photos/note.txt"]);
    let err = String::from_utf8_lossy(&outside.stderr);
    assert!(
        !outside.status.success() && err.contains("AccessDenied"),
        "{err}"
    );
    assert!(
        server.log().contains("access refused"),
        "refusals are logged with their trace"
    );
}

#[test]
fn accounts_keep_their_buckets_and_keys_apart() {
    let server = Server::start();
    let other = server.create_key(&["--description", "another tenant"]);
    assert_ne!(
        other.account, "pier",
        "a plain key create starts an account"
    );
    let joined = server.create_key(&["--account", &other.account]);
    assert_eq!(joined.account, other.account);
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let out = cmd
        .arg(common::repo().join("tests/clients/accounts.py"))
        .env("OTHER_ID", &other.id)
        .env("OTHER_SECRET", &other.secret)
        .env("OTHER_ACCOUNT", &other.account)
        .output()
        .unwrap();
    server.assert_checks_passed(&out, "9 passed, 0 failed");
    // A key restricted to a bucket joins the bucket owner's account; naming another is refused.
    let reader = server.create_key(&["--bucket", "acct-other", "--capabilities", "readFiles"]);
    assert_eq!(reader.account, other.account);
    let refused = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["key", "create", "--data-dir"])
        .arg(server.dir.path().join("data"))
        .args(["--bucket", "acct-other", "--account", "pier"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("belong to account"));
}

#[test]
fn application_keys_with_b2sdk() {
    let server = Server::start();
    let out = server.python_ok("access_b2.py", &[]);
    assert!(out.contains("7 passed, 0 failed"), "{out}");
}

fn b2_cli(server: &Server, account_info: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::ensure_tools();
    Command::new(common::repo().join(".venv/bin/b2"))
        .env("B2_ACCOUNT_INFO", account_info)
        .env("B2_ENVIRONMENT", &server.endpoint)
        .env_remove("B2_APPLICATION_KEY_ID")
        .env_remove("B2_APPLICATION_KEY")
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// rclone's B2 backend with `key`; returns the output.
fn rclone_b2(server: &Server, key: (&str, &str), args: &[&str]) -> std::process::Output {
    Command::new("rclone")
        .env("RCLONE_CONFIG", "/dev/null")
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_SCOPED_TYPE", "b2")
        .env("RCLONE_CONFIG_SCOPED_ACCOUNT", key.0)
        .env("RCLONE_CONFIG_SCOPED_KEY", key.1)
        .env("RCLONE_CONFIG_SCOPED_ENDPOINT", &server.endpoint)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn b2_cli_keys_rclone_with_a_bucket_key_and_deletion() {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let info = work.path().join("account_info.sqlite");
    ok(b2_cli(
        &server,
        &info,
        &["account", "authorize", ACCESS_KEY, SECRET_KEY],
    ));
    ok(b2_cli(
        &server,
        &info,
        &["bucket", "create", "rclone-scoped", "allPrivate"],
    ));
    ok(b2_cli(
        &server,
        &info,
        &["bucket", "create", "rclone-elsewhere", "allPrivate"],
    ));
    let created = ok(b2_cli(
        &server,
        &info,
        &[
            "key",
            "create",
            "--bucket",
            "rclone-scoped",
            "rcloneKey",
            "listBuckets,listFiles,readFiles,writeFiles,deleteFiles",
        ],
    ));
    let mut words = created.split_whitespace();
    let (id, secret) = (words.next().unwrap(), words.next().unwrap());
    let listed = ok(b2_cli(&server, &info, &["key", "list", "--long"]));
    assert!(
        listed.contains(id) && listed.contains("rcloneKey"),
        "{listed}"
    );

    // rclone syncs the key's bucket, and nothing else.
    let up = work.path().join("up");
    std::fs::create_dir_all(&up).unwrap();
    for i in 0..20 {
        std::fs::write(
            up.join(format!("f{i}.txt")),
            common::bytes(i, 1000 + i as usize),
        )
        .unwrap();
    }
    let sync = rclone_b2(
        &server,
        (id, secret),
        &["sync", up.to_str().unwrap(), "scoped:rclone-scoped/data"],
    );
    ok(sync);
    ok(rclone_b2(
        &server,
        (id, secret),
        &["check", up.to_str().unwrap(), "scoped:rclone-scoped/data"],
    ));
    let elsewhere = rclone_b2(&server, (id, secret), &["lsf", "scoped:rclone-elsewhere"]);
    assert!(!elsewhere.status.success(), "another bucket is refused");

    // `pier access explain` says why.
    let explain = |args: &[&str]| {
        let mut all = vec![
            "access",
            "explain",
            "--endpoint",
            &server.endpoint,
            "--bucket",
            "rclone-elsewhere",
        ];
        all.extend_from_slice(args);
        pier(&all)
    };
    let out = explain(&["--key-id", id, "--action", "s3:GetObject", "--object", "x"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("REFUSED: key") && text.contains("is restricted to bucket rclone-scoped"),
        "{text}"
    );
    let out = explain(&["--action", "s3:ListBucket"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("no statement allows anonymous s3:ListBucket"));
    let out = explain(&[
        "--key-id",
        ACCESS_KEY,
        "--action",
        "s3:DeleteObject",
        "--object",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(0), "the admin key may");

    // Deleting the key stops it within the cache's second.
    ok(b2_cli(&server, &info, &["key", "delete", id]));
    assert!(!ok(b2_cli(&server, &info, &["key", "list"])).contains(id));
    std::thread::sleep(Duration::from_millis(1500));
    let after = rclone_b2(&server, (id, secret), &["lsf", "scoped:rclone-scoped"]);
    assert!(!after.status.success(), "a deleted key no longer works");
}
