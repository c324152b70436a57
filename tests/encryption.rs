//! Encryption at rest end to end (issue 26): boto3 drives SSE-S3, bucket default encryption and
//! SSE-C through every S3 path (`tests/clients/sse_boto3.py`); the aws CLI's `--sse` and
//! `--sse-c`; SSE-C refused over plain HTTP unless the operator allows it; known plaintext
//! uploaded through every path never found in the data directory; a data directory that
//! refuses to start under another master key.

mod common;

use common::Server;
use std::process::Command;
use tempfile::TempDir;

/// `tests/clients/sse_boto3.py`: server-side encryption as a boto3 user drives it.
mod s3_with_boto3 {
    crate::client_checks!("sse_boto3.py", ["--allow-sse-c-over-http", "--kms-key", "testkey-1,testkey-2"];
        sse_s3_put_is_stored_encrypted_get_and_head_say_so => "SSE-S3: PUT with AES256 is stored encrypted, GET and HEAD say so, the ETag is the MD5",
        a_buckets_default_encryption_applies_and_round_trips => "a bucket's default encryption applies to puts that name none, and round-trips",
        sse_c_put_get_head_and_ranges_with_the_key => "SSE-C: PUT, GET, HEAD and ranges with the key; its MD5 is echoed",
        sse_c_a_read_without_the_key_is_400_with_another_403 => "SSE-C: a read without the key is 400, with another key 403",
        sse_c_multipart_with_the_key_on_every_part => "SSE-C: a multipart upload with the key on every part reads back whole and by range",
        copy_object_between_sse_c_sse_s3_and_plain => "CopyObject between SSE-C, SSE-S3 and plain, with the copy-source key",
        upload_part_copy_from_sse_c_into_sse_s3 => "UploadPartCopy from an SSE-C source into an SSE-S3 upload",
        sse_kms_put_get_head_with_a_key_of_the_ring => "SSE-KMS: PUT with a key of the ring; GET and HEAD show aws:kms and the key id; the ETag is not the MD5",
        sse_kms_a_missing_key_is_refused_and_none_is_aws_s3 => "SSE-KMS: a key the ring lacks is 400 KMS.NotFoundException; without a key id, aws/s3",
        sse_kms_bucket_default_multipart_and_copy => "SSE-KMS: a bucket default with a KMSMasterKeyID, multipart, and a copy into SSE-S3",
        bad_sse_c_headers_are_refused => "bad SSE-C headers are refused: a short key, a key that is not its MD5",
        form_uploads_are_encrypted_as_asked_or_by_default => "a browser form upload (POST) asking AES256 is encrypted, and so is one into a default-encrypted bucket",
    );
}

/// A 32-byte key file for the aws CLI's `--sse-c-key fileb://`.
fn key_file(dir: &std::path::Path, byte: u8) -> String {
    let path = dir.join(format!("key-{byte}"));
    std::fs::write(&path, [byte; 32]).unwrap();
    format!("fileb://{}", path.display())
}

#[test]
fn the_aws_cli_uploads_and_downloads_with_sse_and_sse_c() {
    let server = Server::start_with(TempDir::new().unwrap(), &["--allow-sse-c-over-http"]);
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("up.bin");
    let body: Vec<u8> = (0..9_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &body).unwrap();
    let file = file.to_str().unwrap();
    let key = key_file(dir.path(), 7);
    server.aws_ok(&["s3", "mb", "s3://cli-sse"]);
    server.aws_ok(&["s3", "cp", file, "s3://cli-sse/s3.bin", "--sse", "AES256"]);
    let head = server.aws_ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "cli-sse",
        "--key",
        "s3.bin",
    ]);
    assert!(
        head.contains("\"ServerSideEncryption\": \"AES256\""),
        "{head}"
    );
    // 9 MB: the CLI sends it in parts, each with the key.
    server.aws_ok(&[
        "s3",
        "cp",
        file,
        "s3://cli-sse/c.bin",
        "--sse-c",
        "AES256",
        "--sse-c-key",
        &key,
    ]);
    for (name, extra) in [
        ("s3.bin", vec![]),
        (
            "c.bin",
            vec!["--sse-c", "AES256", "--sse-c-key", key.as_str()],
        ),
    ] {
        let out = dir.path().join(format!("down-{name}"));
        let mut args = vec!["s3", "cp", &*format!("s3://cli-sse/{name}")]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        args.push(out.to_str().unwrap().to_owned());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        server.aws_ok(&args);
        assert!(std::fs::read(&out).unwrap() == body, "{name} read back");
    }
    let other = key_file(dir.path(), 8);
    let out = server.aws(&[
        "s3",
        "cp",
        "s3://cli-sse/c.bin",
        "-",
        "--sse-c",
        "AES256",
        "--sse-c-key",
        &other,
    ]);
    assert!(!out.status.success(), "another key is refused");
}

#[test]
fn sse_c_over_plain_http_is_refused_unless_allowed() {
    let server = Server::start();
    server.aws_ok(&["s3", "mb", "s3://plain-http"]);
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("x");
    std::fs::write(&file, b"x").unwrap();
    let key = key_file(dir.path(), 9);
    let put = |server: &Server| {
        server.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            "plain-http",
            "--key",
            "x",
            "--body",
            file.to_str().unwrap(),
            "--sse-customer-algorithm",
            "AES256",
            "--sse-customer-key",
            &key,
        ])
    };
    let out = put(&server);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("secure connection"),
        "{err}"
    );
    let listed = server.aws_ok(&["s3", "ls", "s3://plain-http/"]);
    assert!(listed.is_empty(), "nothing stored: {listed}");
    // The operator's permission, as the environment gives it.
    let allowed = Server::start_with_env(
        TempDir::new().unwrap(),
        &[],
        &[("PIER_ALLOW_SSE_C_OVER_HTTP", "1")],
    );
    allowed.aws_ok(&["s3", "mb", "s3://plain-http"]);
    let out = put(&allowed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn known_plaintext_uploaded_through_every_path_is_never_on_disk() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start_with(dir, &["--allow-sse-c-over-http"]);
    let out = server.python("sse_plaintext.py", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim().ends_with("ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let marker = b"PIER-KNOWN-PLAINTEXT";
    let mut hits = Vec::new();
    let mut stack = vec![data_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| b.windows(marker.len()).any(|w| w == marker))
            {
                hits.push(p.display().to_string());
            }
        }
    }
    assert!(hits.is_empty(), "plaintext found in {hits:?}");
}

/// A server in a temporary directory whose bucket `bucket` holds `f` (`body`, stored with
/// SSE-S3); and the server's data directory.
fn server_with_encrypted_object(bucket: &str, body: &[u8]) -> (Server, std::path::PathBuf) {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(dir);
    server.aws_ok(&["s3", "mb", &format!("s3://{bucket}")]);
    let file = data.join("..").join("f");
    std::fs::write(&file, body).unwrap();
    server.aws_ok(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        &format!("s3://{bucket}/f"),
        "--sse",
        "AES256",
    ]);
    (server, data)
}

#[test]
fn a_data_directory_with_encrypted_objects_refuses_another_master_key() {
    let (mut server, data) = server_with_encrypted_object("keyed", b"encrypted");
    assert!(
        std::fs::metadata(data.join("master.key")).is_ok(),
        "made at first start"
    );
    server.terminate();
    let other = data.join("..").join("other.key");
    std::fs::write(&other, "cd".repeat(32)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--dashboard-listen",
            "off",
        ])
        .args(["--master-key-file", other.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not under the key given"),
        "{err}"
    );
}

/// `tests/clients/sse_b2.py`: server-side encryption as a b2sdk user drives it.
mod b2_with_b2sdk {
    crate::client_checks!("sse_b2.py", ["--allow-sse-c-over-http"];
        sse_b2_an_upload_is_encrypted_and_says_so => "SSE-B2: an upload is encrypted, its file info and download say so",
        sse_c_upload_and_download_with_the_key => "SSE-C: upload and download with the key",
        sse_c_a_download_without_the_key_or_with_another_is_refused => "SSE-C: a download without the key, or with another, is refused",
        sse_c_a_large_files_parts_carry_the_key => "SSE-C: a large file's parts carry the key; it reads back whole",
        copies_between_sse_c_sse_b2_and_plain => "copies between SSE-C, SSE-B2 and plain",
        a_buckets_default_encryption_is_set_shown_and_applied => "a bucket's default encryption is set, shown, and applied to uploads that name none",
    );
}

#[test]
fn a_key_made_with_pier_kms_next_to_a_running_server_is_usable_at_once() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(dir);
    server.aws_ok(&["s3", "mb", "s3://ring"]);
    let file = data.join("..").join("f");
    std::fs::write(&file, b"ring").unwrap();
    let put = |key_id: &str| {
        server.aws(&[
            "s3",
            "cp",
            file.to_str().unwrap(),
            "s3://ring/f",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            key_id,
        ])
    };
    assert!(!put("team-a").status.success(), "not in the ring yet");
    let pier = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pier"))
            .args(args)
            .args(["--data-dir", data.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let made = pier(&["kms", "create-key", "team-a"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let again = pier(&["kms", "create-key", "team-a"]);
    assert!(!again.status.success(), "a key id is made once");
    let listed = String::from_utf8_lossy(&pier(&["kms", "list"]).stdout).into_owned();
    assert!(listed.contains("team-a"), "{listed}");
    let out = put("team-a");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = server.aws_ok(&["s3api", "head-object", "--bucket", "ring", "--key", "f"]);
    assert!(head.contains("\"SSEKMSKeyId\": \"team-a\""), "{head}");
    assert_eq!(server.aws_ok(&["s3", "cp", "s3://ring/f", "-"]), "ring");
}

#[test]
fn the_master_key_is_rotated_with_the_server_stopped_and_objects_still_read() {
    let (mut server, data) = server_with_encrypted_object("rotated", b"before the rotation");
    let new = data.join("..").join("new.key");
    std::fs::write(&new, "12".repeat(32)).unwrap();
    let rotate = || {
        Command::new(env!("CARGO_BIN_EXE_pier"))
            .args(["kms", "rotate-master", "--data-dir", data.to_str().unwrap()])
            .args(["--new-master-key-file", new.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = rotate();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("stop it"),
        "refused while running: {err}"
    );
    server.terminate();
    let out = rotate();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("rewrapped 1 object keys"), "{said}");
    assert_eq!(
        std::fs::read_to_string(data.join("master.key"))
            .unwrap()
            .trim(),
        "12".repeat(32)
    );
    server.restart();
    assert_eq!(
        server.aws_ok(&["s3", "cp", "s3://rotated/f", "-"]),
        "before the rotation"
    );
}
