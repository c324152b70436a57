//! The aws CLI against a real `pier serve`: uploads below and above the multipart threshold,
//! sync both ways, metadata, ranges, listing, presigned URLs, and S3 errors.

mod common;

use common::{bytes, Server};
use md5::{Digest, Md5};
use std::path::Path;
use std::process::Command;

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// The ETag S3 gives a multipart upload of `data` in `part`-byte parts.
fn multipart_etag(data: &[u8], part: usize) -> String {
    let chunks: Vec<&[u8]> = data.chunks(part).collect();
    let mut all = Md5::new();
    for c in &chunks {
        all.update(Md5::digest(c));
    }
    format!("{}-{}", hex::encode(all.finalize()), chunks.len())
}

fn etag_of(server: &Server, bucket: &str, key: &str) -> String {
    let out = server.aws_ok(&["s3api", "head-object", "--bucket", bucket, "--key", key]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["ETag"].as_str().unwrap().trim_matches('"').to_owned()
}

#[test]
fn cp_small_and_multipart_round_trip_with_etags() {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let small = bytes(1, 1000);
    let large = bytes(2, 20 * 1024 * 1024 + 123);
    std::fs::write(work.path().join("small.bin"), &small).unwrap();
    std::fs::write(work.path().join("large.bin"), &large).unwrap();
    server.aws_ok(&["s3", "mb", "s3://photos"]);
    for name in ["small.bin", "large.bin"] {
        let src = work.path().join(name);
        server.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            src.to_str().unwrap(),
            &format!("s3://photos/in/{name}"),
        ]);
    }
    assert_eq!(etag_of(&server, "photos", "in/small.bin"), md5_hex(&small));
    // The aws CLI uploads above 8 MiB in 8 MiB parts.
    assert_eq!(
        etag_of(&server, "photos", "in/large.bin"),
        multipart_etag(&large, 8 * 1024 * 1024)
    );
    for name in ["small.bin", "large.bin"] {
        let dst = work.path().join(format!("{name}.back"));
        server.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            &format!("s3://photos/in/{name}"),
            dst.to_str().unwrap(),
        ]);
        let expect = if name == "small.bin" { &small } else { &large };
        assert!(
            std::fs::read(&dst).unwrap() == *expect,
            "{name} differs after the round trip"
        );
    }
    let listing = server.aws_ok(&["s3", "ls", "s3://photos/in/"]);
    assert!(
        listing.contains("1000 small.bin")
            && listing.contains(&format!("{} large.bin", large.len())),
        "{listing}"
    );
}

/// The `field` of each entry in the list `list` of a JSON answer.
fn strings<'a>(answer: &'a serde_json::Value, list: &str, field: &str) -> Vec<&'a str> {
    answer[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[field].as_str().unwrap())
        .collect()
}

fn write_tree(root: &Path, seed: u64) {
    for i in 0..30u64 {
        let path = root.join(format!("d{}/sub{}/f{i}.dat", i % 3, i % 2));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes(seed + i, (i as usize * 97) % 5000)).unwrap();
    }
}

#[test]
fn sync_up_and_back_down_is_byte_identical() {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let up = work.path().join("up");
    let down = work.path().join("down");
    write_tree(&up, 100);
    server.aws_ok(&["s3", "mb", "s3://sync-test"]);
    let remote = "s3://sync-test/site";
    let sync = |flags: &[&str], from: &str, to: &str| {
        let mut args = vec!["s3", "sync", "--only-show-errors"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[from, to]);
        server.aws_ok(&args);
    };
    let (up_dir, down_dir) = (up.to_str().unwrap(), down.to_str().unwrap());
    sync(&[], up_dir, remote);
    sync(&[], remote, down_dir);
    assert_eq!(common::tree(&up), common::tree(&down));
    // Change one file, remove another, sync with --delete both ways.
    std::fs::write(up.join("d0/sub0/f0.dat"), b"changed").unwrap();
    std::fs::remove_file(up.join("d1/sub1/f1.dat")).unwrap();
    sync(&["--delete"], up_dir, remote);
    sync(&["--delete"], remote, down_dir);
    assert_eq!(common::tree(&up), common::tree(&down));
}

#[test]
fn s3api_metadata_ranges_and_listing() {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let file = work.path().join("doc.txt");
    std::fs::write(&file, b"0123456789abcdef").unwrap();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "docs"]);
    server.aws_ok(&[
        "s3api",
        "put-object",
        "--bucket",
        "docs",
        "--key",
        "a/doc.txt",
        "--body",
        file.to_str().unwrap(),
        "--content-type",
        "text/plain",
        "--metadata",
        "author=ada,topic=cors",
        "--cache-control",
        "max-age=60",
    ]);
    let head: serde_json::Value = serde_json::from_str(&server.aws_ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "docs",
        "--key",
        "a/doc.txt",
    ]))
    .unwrap();
    assert_eq!(head["ContentType"], "text/plain");
    assert_eq!(head["CacheControl"], "max-age=60");
    assert_eq!(head["Metadata"]["author"], "ada");
    assert_eq!(head["Metadata"]["topic"], "cors");
    assert_eq!(head["ContentLength"], 16);

    let part = work.path().join("part");
    let out: serde_json::Value = serde_json::from_str(&server.aws_ok(&[
        "s3api",
        "get-object",
        "--bucket",
        "docs",
        "--key",
        "a/doc.txt",
        "--range",
        "bytes=2-5",
        part.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(std::fs::read(&part).unwrap(), b"2345");
    assert_eq!(out["ContentRange"], "bytes 2-5/16");

    for k in ["a/1", "a/2", "b/1", "b/2", "c", "d"] {
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            "docs",
            "--key",
            k,
            "--body",
            file.to_str().unwrap(),
        ]);
    }
    // Pages of two, delimiter `/`: the CLI follows continuation tokens.
    let v2: serde_json::Value = serde_json::from_str(&server.aws_ok(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "docs",
        "--delimiter",
        "/",
        "--page-size",
        "2",
    ]))
    .unwrap();
    let prefixes: Vec<&str> = strings(&v2, "CommonPrefixes", "Prefix");
    let keys: Vec<&str> = strings(&v2, "Contents", "Key");
    assert_eq!(prefixes, ["a/", "b/"]);
    assert_eq!(keys, ["c", "d"]);
    let v1: serde_json::Value = serde_json::from_str(&server.aws_ok(&[
        "s3api",
        "list-objects",
        "--bucket",
        "docs",
        "--prefix",
        "a/",
        "--page-size",
        "1",
    ]))
    .unwrap();
    let keys: Vec<&str> = strings(&v1, "Contents", "Key");
    assert_eq!(keys, ["a/1", "a/2", "a/doc.txt"]);
}

#[test]
fn presigned_get_works_from_curl_and_errors_are_s3_errors() {
    let server = Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let file = work.path().join("f");
    std::fs::write(&file, b"presigned bytes").unwrap();
    server.aws_ok(&["s3", "mb", "s3://share"]);
    server.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        file.to_str().unwrap(),
        "s3://share/f",
    ]);
    let url = server.aws_ok(&["s3", "presign", "s3://share/f", "--expires-in", "600"]);
    let out = Command::new("curl")
        .args(["-s", "-f", url.trim()])
        .output()
        .unwrap();
    assert!(out.status.success(), "presigned GET failed");
    assert_eq!(out.stdout, b"presigned bytes");
    // A tampered signature is refused (aws CLI v1 presigns with SigV2: `Signature=`).
    assert!(url.contains("Signature="), "{url}");
    let bad = url.trim().replacen("Signature=", "Signature=AAAA", 1);
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &bad])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");

    let expect_error = |args: &[&str], code: &str| {
        let out = server.aws(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(code),
            "{args:?}: expected {code}, got: {err}"
        );
    };
    fn get<'a>(key: &'a str, range: &'a str) -> Vec<&'a str> {
        let args = ["s3api", "get-object", "--bucket", "share", "--key", key];
        [&args[..], &["--range", range, "/dev/null"]].concat()
    }
    expect_error(&get("missing", "bytes=0-"), "NoSuchKey");
    expect_error(&["s3api", "head-bucket", "--bucket", "nope-nope"], "404");
    for (bucket, code) in [("ab", "InvalidBucketName"), ("b2api", "InvalidBucketName")] {
        expect_error(&["s3api", "create-bucket", "--bucket", bucket], code);
    }
    expect_error(
        &["s3api", "delete-bucket", "--bucket", "share"],
        "BucketNotEmpty",
    );
    expect_error(&get("f", "bytes=100-200"), "InvalidRange");
    // Nothing above changed the object.
    let back = work.path().join("back");
    server.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://share/f",
        back.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(back).unwrap(), b"presigned bytes");
}
