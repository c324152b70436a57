//! The real `b2` command line tool against a real `pier serve`: authorize, buckets with CORS
//! rules, small and large uploads, listing, downloads, download authorizations, hide and delete.

mod common;

use std::process::Command;

struct B2<'a> {
    server: &'a common::Server,
    account_info: std::path::PathBuf,
}

impl<'a> B2<'a> {
    /// The b2 CLI with its account info in `work`, authorized with the test key.
    fn authorized(server: &'a common::Server, work: &std::path::Path) -> B2<'a> {
        let b2 = B2 {
            server,
            account_info: work.join("account_info.sqlite"),
        };
        b2.run(&[
            "account",
            "authorize",
            common::ACCESS_KEY,
            common::SECRET_KEY,
        ]);
        b2
    }

    fn run(&self, args: &[&str]) -> String {
        common::ensure_tools();
        let out = Command::new(common::repo().join(".venv/bin/b2"))
            .env("B2_ACCOUNT_INFO", &self.account_info)
            .env("B2_ENVIRONMENT", &self.server.endpoint)
            .env_remove("B2_APPLICATION_KEY_ID")
            .env_remove("B2_APPLICATION_KEY")
            .args(args)
            .output()
            .expect("run b2");
        assert!(
            out.status.success(),
            "b2 {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

const SEED: &str = r#"[{"corsRuleName":"downloadFromAnyOrigin","allowedOrigins":["https"],"allowedHeaders":["range"],"allowedOperations":["b2_download_file_by_id","b2_download_file_by_name"],"exposeHeaders":["x-bz-content-sha1"],"maxAgeSeconds":3600}]"#;

#[test]
fn b2_cli_end_to_end() {
    let server = common::Server::start();
    let work = tempfile::TempDir::new().unwrap();
    let b2 = B2::authorized(&server, work.path());
    b2.run(&[
        "bucket",
        "create",
        "--cors-rules",
        SEED,
        "cli-test-bucket",
        "allPrivate",
    ]);
    let got: serde_json::Value =
        serde_json::from_str(&b2.run(&["bucket", "get", "cli-test-bucket"])).unwrap();
    assert_eq!(
        got["corsRules"],
        serde_json::from_str::<serde_json::Value>(SEED).unwrap()
    );
    assert_eq!(got["bucketType"], "allPrivate");

    let small = common::bytes(7, 3000);
    let large = common::bytes(8, 25 * 1024 * 1024 + 17);
    std::fs::write(work.path().join("small.bin"), &small).unwrap();
    std::fs::write(work.path().join("large.bin"), &large).unwrap();
    for (name, data) in [("small.bin", &small), ("large.bin", &large)] {
        let src = work.path().join(name);
        let out = b2.run(&[
            "file",
            "upload",
            "--no-progress",
            "cli-test-bucket",
            src.to_str().unwrap(),
            &format!("docs/{name}"),
        ]);
        let v: serde_json::Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
        if name == "small.bin" {
            use sha1::Digest;
            assert_eq!(v["contentSha1"], hex::encode(sha1::Sha1::digest(data)));
        } else {
            // The large-file path: the SHA-1 of the whole file travels as large_file_sha1.
            use sha1::Digest;
            assert_eq!(v["size"], data.len(), "{v}");
            assert_eq!(
                v["fileInfo"]["large_file_sha1"],
                hex::encode(sha1::Sha1::digest(data)),
                "{v}"
            );
        }
    }
    let ls = b2.run(&["ls", "-r", "b2://cli-test-bucket/"]);
    assert_eq!(
        ls.lines().collect::<Vec<_>>(),
        ["docs/large.bin", "docs/small.bin"]
    );
    for (name, data) in [("small.bin", &small), ("large.bin", &large)] {
        let dst = work.path().join(format!("{name}.down"));
        b2.run(&[
            "file",
            "download",
            "--no-progress",
            &format!("b2://cli-test-bucket/docs/{name}"),
            dst.to_str().unwrap(),
        ]);
        assert!(
            std::fs::read(&dst).unwrap() == *data,
            "{name} differs after download"
        );
    }
    // A download authorization for docs/ reads a private file with plain HTTP.
    let token = b2.run(&[
        "bucket",
        "get-download-auth",
        "--prefix",
        "docs/",
        "--duration",
        "60",
        "cli-test-bucket",
    ]);
    let url = format!(
        "{}/file/cli-test-bucket/docs/small.bin?Authorization={}",
        server.endpoint,
        token.trim()
    );
    let out = Command::new("curl")
        .args(["-s", "-f", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout == small,
        "download with the authorization failed"
    );
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/file/cli-test-bucket/docs/small.bin", server.endpoint),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");

    b2.run(&[
        "bucket",
        "update",
        "--cors-rules",
        "[]",
        "cli-test-bucket",
        "allPublic",
    ]);
    let got: serde_json::Value =
        serde_json::from_str(&b2.run(&["bucket", "get", "cli-test-bucket"])).unwrap();
    assert_eq!(
        (
            got["bucketType"].as_str(),
            got["corsRules"].as_array().map(Vec::len)
        ),
        (Some("allPublic"), Some(0))
    );

    b2.run(&["file", "hide", "b2://cli-test-bucket/docs/small.bin"]);
    b2.run(&["rm", "--no-progress", "b2://cli-test-bucket/docs/large.bin"]);
    assert_eq!(b2.run(&["ls", "-r", "b2://cli-test-bucket/"]).trim(), "");
}

#[test]
fn b2_cli_manages_notification_rules() {
    let receiver = common::webhook::Receiver::start();
    // The receiver is on loopback, which only the operator's leave allows.
    let server = common::Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--webhook-allow-private"],
    );
    let work = tempfile::TempDir::new().unwrap();
    let b2 = B2::authorized(&server, work.path());
    b2.run(&["bucket", "create", "cli-events", "allPrivate"]);
    let rules = |b2: &B2| -> serde_json::Value {
        serde_json::from_str(&b2.run(&[
            "bucket",
            "notification-rule",
            "list",
            "b2://cli-events",
            "--json",
        ]))
        .unwrap()
    };
    b2.run(&[
        "bucket",
        "notification-rule",
        "create",
        "b2://cli-events/uploads/",
        "on-upload",
        "--event-type",
        "b2:ObjectCreated:*",
        "--webhook-url",
        &receiver.url,
        "--sign-secret",
        "0123456789abcdefABCDEF0123456789",
        "--custom-header",
        "X-Team=media",
    ]);
    let listed = rules(&b2);
    assert_eq!(listed[0]["name"], "on-upload", "{listed}");
    assert_eq!(listed[0]["objectNamePrefix"], "uploads/");
    assert_eq!(listed[0]["isEnabled"], true);
    assert_eq!(
        listed[0]["targetConfiguration"]["url"],
        receiver.url.as_str()
    );
    receiver.wait_for(std::time::Duration::from_secs(10), |e| !e.is_empty());
    assert_eq!(receiver.events()[0]["eventType"], "b2:TestEvent");
    assert_eq!(receiver.deliveries()[0].header("x-team"), Some("media"));

    b2.run(&[
        "bucket",
        "notification-rule",
        "disable",
        "b2://cli-events",
        "on-upload",
    ]);
    assert_eq!(rules(&b2)[0]["isEnabled"], false);
    b2.run(&[
        "bucket",
        "notification-rule",
        "enable",
        "b2://cli-events",
        "on-upload",
    ]);
    assert_eq!(rules(&b2)[0]["isEnabled"], true);
    b2.run(&[
        "bucket",
        "notification-rule",
        "delete",
        "b2://cli-events",
        "on-upload",
    ]);
    assert_eq!(rules(&b2), serde_json::json!([]));
}
