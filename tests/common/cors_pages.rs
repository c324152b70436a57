//! The Chromium CORS scenarios, shared by the single-server test (`tests/browser_cors.rs`) and
//! the cluster test (`tests/scale.rs`), which runs them through a round-robin front.

use super::Server;
use std::process::Command;

/// Pages on three loopback origins use buckets set up through `setup` (the aws CLI, against
/// its own endpoint) and reach them at `endpoint` (the same server, or a front for several
/// nodes): every CORS scenario of the seeds, checked from inside Chromium.
pub fn chromium_cors_scenarios(setup: &Server, endpoint: &str) {
    let server = setup;
    let work = tempfile::TempDir::new().unwrap();
    let ports = [super::free_port(), super::free_port(), super::free_port()];
    let origin_a = format!("http://127.0.0.1:{}", ports[0]);

    let buckets: [(&str, &str, Option<String>); 4] = [
        ("cors-allow-none", "This bucket does not allow CORS.", None),
        (
            "cors-allow-all",
            "This bucket allows CORS with all origins, but only the authorization and range headers.",
            Some(r#"{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["GET","HEAD"],"AllowedHeaders":["authorization","range"]}]}"#.into()),
        ),
        (
            "cors-allow-all-headers",
            "This bucket allows CORS with all origins and any header values.",
            Some(r#"{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["GET","HEAD"],"AllowedHeaders":["*"]}]}"#.into()),
        ),
        (
            "exact",
            "This bucket allows one origin.",
            Some(format!(
                r#"{{"CORSRules":[{{"ID":"one-page","AllowedOrigins":["{origin_a}"],"AllowedMethods":["GET","HEAD","PUT"],"AllowedHeaders":["content-type"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":5}}]}}"#
            )),
        ),
    ];
    for (bucket, info, rules) in &buckets {
        server.aws_ok(&[
            "s3api",
            "create-bucket",
            "--bucket",
            bucket,
            "--acl",
            "public-read",
        ]);
        let file = work.path().join(format!("{bucket}.txt"));
        std::fs::write(&file, info).unwrap();
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            "bucket_info.txt",
            "--acl",
            "public-read",
            "--content-type",
            "text/plain",
            "--body",
            file.to_str().unwrap(),
        ]);
        if let Some(rules) = rules {
            let path = work.path().join(format!("{bucket}-cors.json"));
            std::fs::write(&path, rules).unwrap();
            server.aws_ok(&[
                "s3api",
                "put-bucket-cors",
                "--bucket",
                bucket,
                "--cors-configuration",
                &format!("file://{}", path.display()),
            ]);
        }
    }
    let presign = |args: &[&str]| {
        let out = super::run_ok(
            Command::new(env!("CARGO_BIN_EXE_pier"))
                .arg("presign")
                .args(args)
                .args([
                    "--endpoint",
                    endpoint,
                    "--access-key",
                    super::ACCESS_KEY,
                    "--secret-key",
                    super::SECRET_KEY,
                ]),
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let put_url = presign(&[
        "s3://exact/from-browser.txt",
        "--method",
        "PUT",
        "--content-type",
        "text/plain",
        "--expires",
        "10m",
    ]);
    let check_url = presign(&["s3://exact/from-browser.txt", "--expires", "10m"]);

    super::ensure_tools();
    let out = Command::new("node")
        .arg(super::repo().join("tests/browser/cors.mjs"))
        .current_dir(super::repo().join("tests/browser"))
        .env("PIER_ENDPOINT", endpoint)
        .env("ORIGIN_A_PORT", ports[0].to_string())
        .env("ORIGIN_B_PORT", ports[1].to_string())
        .env("ORIGIN_C_PORT", ports[2].to_string())
        .env("PUT_URL", &put_url)
        .env("PUT_CHECK_URL", &check_url)
        .output()
        .expect("run node");
    server.assert_checks_passed(&out, " passed, 0 failed");
    // The object the page wrote is really there, with the content type the URL required.
    let head: serde_json::Value = serde_json::from_str(&server.aws_ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "exact",
        "--key",
        "from-browser.txt",
    ]))
    .unwrap();
    assert_eq!(head["ContentType"], "text/plain");
    assert_eq!(head["ContentLength"], 20);
}
