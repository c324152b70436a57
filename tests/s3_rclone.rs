//! rclone's S3 backend against a real `pier serve`: a folder of a few hundred files (one above
//! the multipart cutoff) up, checked, and back down, byte for byte.

mod common;

use std::process::Command;

fn rclone(server: &common::Server, args: &[&str]) -> String {
    common::rclone_s3(&server.endpoint, args)
}

#[test]
fn rclone_copy_check_and_back() {
    let server = common::Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let up = work.path().join("up");
    for i in 0..300u64 {
        let p = up.join(format!("dir{}/file {i}.bin", i % 7));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, common::bytes(i, (i as usize * 131) % 9000)).unwrap();
    }
    std::fs::write(
        up.join("large.bin"),
        common::bytes(999, 12 * 1024 * 1024 + 5),
    )
    .unwrap();
    let up_s = up.to_str().unwrap();
    rclone(&server, &["mkdir", "pier:rclone-test"]);
    rclone(
        &server,
        &[
            "copy",
            up_s,
            "pier:rclone-test/data",
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            "--transfers",
            "8",
        ],
    );
    // rclone check compares sizes and MD5s (for the multipart file, the MD5 rclone stored).
    rclone(&server, &["check", up_s, "pier:rclone-test/data"]);
    let down = work.path().join("down");
    rclone(
        &server,
        &[
            "copy",
            "pier:rclone-test/data",
            down.to_str().unwrap(),
            "--transfers",
            "8",
        ],
    );
    assert_eq!(common::tree(&up), common::tree(&down));
    let listing = rclone(&server, &["lsf", "-R", "pier:rclone-test/data"]);
    assert_eq!(listing.lines().filter(|l| !l.ends_with('/')).count(), 301);
}

/// rclone's B2 backend: the same folder up to pier's B2 API and back down, byte for byte.
#[test]
fn rclone_b2_backend_sync_up_and_back() {
    common::ensure_tools();
    let server = common::Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let up = work.path().join("up");
    for i in 0..300u64 {
        let p = up.join(format!("dir{}/file {i}.bin", i % 5));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, common::bytes(i + 7, (i as usize * 61) % 7000)).unwrap();
    }
    let b2 = |args: &[&str]| {
        let out = Command::new("rclone")
            .env("RCLONE_CONFIG", "/dev/null")
            .env_remove("AWS_CA_BUNDLE")
            .env("RCLONE_CONFIG_PIERB2_TYPE", "b2")
            .env("RCLONE_CONFIG_PIERB2_ACCOUNT", common::ACCESS_KEY)
            .env("RCLONE_CONFIG_PIERB2_KEY", common::SECRET_KEY)
            .env("RCLONE_CONFIG_PIERB2_ENDPOINT", &server.endpoint)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rclone {args:?} failed:\n{}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            server
                .log()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    b2(&["mkdir", "pierb2:rclone-b2-test"]);
    b2(&[
        "sync",
        up.to_str().unwrap(),
        "pierb2:rclone-b2-test/data",
        "--transfers",
        "8",
    ]);
    b2(&["check", up.to_str().unwrap(), "pierb2:rclone-b2-test/data"]);
    let down = work.path().join("down");
    b2(&[
        "sync",
        "pierb2:rclone-b2-test/data",
        down.to_str().unwrap(),
        "--transfers",
        "8",
    ]);
    assert_eq!(common::tree(&up), common::tree(&down));
}
