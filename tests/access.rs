//! Who may do what, end to end: keys scoped with `pier key create` and B2's key calls, bucket
//! policies and public buckets, through boto3, the aws CLI, b2sdk, the b2 CLI and rclone, and
//! the explanations of `pier access explain`.

mod common;

use common::{Server, ACCESS_KEY, SECRET_KEY};
use std::process::Command;
use std::time::Duration;

/// `pier key create` next to the running server; returns (id, secret).
fn create_key(server: &Server, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["key", "create", "--data-dir"])
        .arg(server.dir.path().join("data"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    (field("access key id:"), field("secret access key:"))
}

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
    let (scoped, scoped_secret) = create_key(
        &server,
        &[
            "--capabilities",
            "listBuckets,readFiles,listFiles,writeFiles",
            "--bucket",
            "photos",
            "--prefix",
            "public/",
        ],
    );
    let (full, full_secret) = create_key(&server, &["--description", "full"]);
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
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");
    assert!(
        server.log().contains("access refused"),
        "refusals are logged with their trace"
    );
}
