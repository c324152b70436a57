//! Static websites (issue 27): buckets published with boto3 (`tests/clients/website_setup.py`)
//! and browsed with curl on their website hosts (`--website-domain web.test`, names resolved
//! to the server with curl's `--resolve`): index documents, a folder without its slash, the
//! error document, a prefix routing rule, redirect-all, HEAD, and the refusals (not public, no
//! website, no bucket, not GET).

mod common;

use common::Server;
use std::process::Command;

/// What curl got for `method` on `http://HOST.web.test:PORT/PATH`: status, headers
/// (lower-case names), body.
fn curl(server: &Server, method: &str, host: &str, path: &str) -> (u16, String, String) {
    curl_with(server, method, host, path, &[])
}

/// [`curl`] with request headers.
fn curl_with(
    server: &Server,
    method: &str,
    host: &str,
    path: &str,
    headers: &[&str],
) -> (u16, String, String) {
    let port = server.endpoint.rsplit(':').next().unwrap();
    let name = format!("{host}.web.test");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "10", "--resolve"])
        .arg(format!("{name}:{port}:127.0.0.1"));
    for h in headers {
        cmd.args(["-H", h]);
    }
    if method == "HEAD" {
        cmd.arg("--head");
    } else {
        cmd.args(["-X", method]);
    }
    let out = cmd
        .arg(format!("http://{name}:{port}/{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no status in {text:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (status, head.to_lowercase(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[test]
fn websites_are_served_on_their_hosts_as_s3_serves_them() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--website-domain", "web.test"],
    );
    common::ensure_tools();
    assert_eq!(server.python_ok("website_setup.py", &[]).trim(), "ok");
    let port = server.endpoint.rsplit(':').next().unwrap().to_owned();

    let (status, head, body) = curl(&server, "GET", "site", "");
    assert_eq!((status, body.as_str()), (200, "<h1>home</h1>"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/html"));
    let (status, head, _) = curl(&server, "GET", "site", "about");
    assert_eq!(status, 302, "{head}");
    assert_eq!(header(&head, "location"), Some("/about/"));
    let (status, _, body) = curl(&server, "GET", "site", "about/");
    assert_eq!((status, body.as_str()), (200, "<h1>about</h1>"));
    let (status, head, _) = curl(&server, "GET", "site", "style.css");
    assert_eq!(
        (status, header(&head, "content-type")),
        (200, Some("text/css"))
    );
    let (status, _, body) = curl(&server, "GET", "site", "no/such/page.html");
    assert_eq!(
        (status, body.as_str()),
        (404, "<h1>not here</h1>"),
        "the error document"
    );
    let (status, head, _) = curl(&server, "GET", "site", "docs/guide.html");
    assert_eq!(status, 301, "{head}");
    assert_eq!(
        header(&head, "location"),
        Some(format!("http://site.web.test:{port}/documents/guide.html").as_str())
    );
    let (status, head, body) = curl(&server, "HEAD", "site", "");
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(header(&head, "content-length"), Some("13"));
    let (status, _, _) = curl(&server, "POST", "site", "");
    assert_eq!(status, 405);
    // Browsers' caches and media players: conditional GETs and one range.
    let etag = header(&head, "etag").unwrap().to_owned();
    let (status, _, body) = curl_with(
        &server,
        "GET",
        "site",
        "",
        &[&format!("If-None-Match: {etag}")],
    );
    assert_eq!((status, body.as_str()), (304, ""));
    let (status, head, body) = curl_with(&server, "GET", "site", "", &["Range: bytes=4-7"]);
    assert_eq!((status, body.as_str()), (206, "home"), "{head}");
    assert_eq!(header(&head, "content-range"), Some("bytes 4-7/13"));
    let (status, _, _) = curl_with(&server, "GET", "site", "", &["Range: bytes=50-"]);
    assert_eq!(status, 416);
    // The bucket's CORS rules apply to its website as to its objects.
    let cors =
        r#"{"CORSRules":[{"AllowedOrigins":["https://app.example"],"AllowedMethods":["GET"]}]}"#;
    server.aws_ok(&common::put_bucket_cors("site", cors));
    let (_, head, _) = curl_with(
        &server,
        "GET",
        "site",
        "style.css",
        &["Origin: https://app.example"],
    );
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("https://app.example"),
        "{head}"
    );
    let (_, head, _) = curl_with(
        &server,
        "GET",
        "site",
        "style.css",
        &["Origin: https://evil.example"],
    );
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");

    let (status, head, _) = curl(&server, "GET", "moved", "a/b.html");
    assert_eq!(status, 301);
    assert_eq!(
        header(&head, "location"),
        Some("https://example.com/a/b.html")
    );
    let (status, _, body) = curl(&server, "GET", "private-site", "");
    assert_eq!(status, 403, "not public: {body}");
    assert!(!body.contains("secret"));
    let (status, _, body) = curl(&server, "GET", "plain", "");
    assert_eq!(status, 404);
    assert!(body.contains("NoSuchWebsiteConfiguration"), "{body}");
    let (status, _, body) = curl(&server, "GET", "nope", "");
    assert_eq!(status, 404);
    assert!(body.contains("NoSuchBucket"), "{body}");
    // The API itself is unchanged for the same bucket, and the aws CLI's website command
    // configures one.
    server.aws_ok(&["s3", "ls", "s3://site/"]);
    server.aws_ok(&[
        "s3",
        "website",
        "s3://plain/",
        "--index-document",
        "home.html",
    ]);
    let got = server.aws_ok(&["s3api", "get-bucket-website", "--bucket", "plain"]);
    assert!(got.contains("home.html"), "{got}");
    let (status, _, body) = curl(&server, "GET", "plain", "");
    assert_eq!(status, 404, "configured, but no home.html yet");
    assert!(body.contains("NoSuchKey"), "{body}");
}

#[test]
fn a_custom_domain_on_the_website_listener_and_the_s3_website_host_serve_the_same_site() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--website-listen", "127.0.0.1:0"],
    );
    let bucket = "www.example.test";
    let work = tempfile::TempDir::new().unwrap();
    let index = work.path().join("index.html");
    std::fs::write(&index, "<h1>custom domain</h1>").unwrap();
    server.aws_ok(&["s3", "mb", &format!("s3://{bucket}")]);
    server.aws_ok(&[
        "s3",
        "cp",
        index.to_str().unwrap(),
        &format!("s3://{bucket}/index.html"),
        "--content-type",
        "text/html",
    ]);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    server.aws_ok(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        bucket,
        "--policy",
        &policy,
    ]);
    server.aws_ok(&[
        "s3",
        "website",
        &format!("s3://{bucket}/"),
        "--index-document",
        "index.html",
    ]);
    let get = |name: &str, addr: &str| -> String {
        let port = addr.rsplit(':').next().unwrap();
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "--resolve"])
            .arg(format!("{name}:{port}:127.0.0.1"))
            .arg(format!("http://{name}:{port}/"))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The custom domain: the Host is the bucket.
    let listener = server.logged_addr("serving websites");
    assert_eq!(get(bucket, &listener), "<h1>custom domain</h1>");
    // BUCKET.s3-website.DOMAIN for the S3 domain (localhost by default), on the API's port.
    let api = server.endpoint.trim_start_matches("http://").to_owned();
    assert_eq!(
        get(&format!("{bucket}.s3-website.localhost"), &api),
        "<h1>custom domain</h1>"
    );
    // The website listener serves nothing but websites.
    let other = get("not-a-bucket.example", &listener);
    assert!(other.contains("NoSuchBucket"), "{other}");
}

/// `pier bucket website ARGS` on the server's data directory: (success, output).
fn pier_website(server: &Server, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["bucket", "website", "--data-dir"])
        .arg(server.dir.path().join("data"))
        .args(args)
        .output()
        .expect("run pier bucket website");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_cli_sets_shows_and_removes_a_website_next_to_a_running_server() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--website-domain", "web.test"],
    );
    server.aws_ok(&["s3", "mb", "s3://cli-site"]);
    let (ok, text) = pier_website(&server, &["cli-site", "--index-document", "a/b.html"]);
    assert!(
        !ok && text.contains("Suffix"),
        "refused as S3 refuses it: {text}"
    );
    let (ok, text) = pier_website(
        &server,
        &["cli-site", "--redirect-all", "https://example.org"],
    );
    assert!(ok && text.contains("example.org"), "{text}");
    // The running server serves what the command set (once its bucket cache, 1 s, lapses).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (status, head) = loop {
        let (status, head, _) = curl(&server, "GET", "cli-site", "x");
        if status == 301 || std::time::Instant::now() > deadline {
            break (status, head);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(status, 301);
    assert_eq!(header(&head, "location"), Some("https://example.org/x"));
    let got = server.aws_ok(&["s3api", "get-bucket-website", "--bucket", "cli-site"]);
    assert!(got.contains("example.org"), "{got}");
    // Routing rules in S3's JSON shape, checked as PutBucketWebsite checks them.
    let rules = r#"[{"Condition":{"KeyPrefixEquals":"docs/"},"Redirect":{"ReplaceKeyPrefixWith":"documents/","HttpRedirectCode":"302"}}]"#;
    let (ok, text) = pier_website(
        &server,
        &[
            "cli-site",
            "--index-document",
            "index.html",
            "--routing-rules",
            rules,
        ],
    );
    assert!(ok && text.contains("documents/"), "{text}");
    // The running server sees it once its bucket cache (1 s) lapses.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let got = loop {
        let got = server.aws_ok(&["s3api", "get-bucket-website", "--bucket", "cli-site"]);
        if got.contains("ReplaceKeyPrefixWith") || std::time::Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        got.contains("\"ReplaceKeyPrefixWith\": \"documents/\""),
        "{got}"
    );
    let bad = r#"[{"Redirect":{"HttpRedirectCode":"200"}}]"#;
    let (ok, text) = pier_website(
        &server,
        &[
            "cli-site",
            "--index-document",
            "index.html",
            "--routing-rules",
            bad,
        ],
    );
    assert!(!ok && text.contains("3xx"), "{text}");
    let (ok, text) = pier_website(&server, &["cli-site", "--none"]);
    assert!(ok && text.contains("no website configuration"), "{text}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, _, body) = curl(&server, "GET", "cli-site", "x");
    assert_eq!(status, 404);
    assert!(body.contains("NoSuchWebsiteConfiguration"), "{body}");
}

#[test]
fn an_object_with_a_website_redirect_location_is_a_redirect_on_the_website() {
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--website-domain", "web.test"],
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::old/*"}]}"#;
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "old"]);
    server.aws_ok(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "old",
        "--policy",
        policy,
    ]);
    server.aws_ok(&[
        "s3",
        "website",
        "s3://old/",
        "--index-document",
        "index.html",
    ]);
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, b"old page").unwrap();
    let file = file.to_str().unwrap();
    for (key, location) in [
        ("page.html", "/new/page.html"),
        ("away.html", "https://example.com/elsewhere"),
    ] {
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            "old",
            "--key",
            key,
            "--body",
            file,
            "--website-redirect-location",
            location,
        ]);
    }
    let head = server.aws_ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "old",
        "--key",
        "page.html",
    ]);
    assert!(
        head.contains("\"WebsiteRedirectLocation\": \"/new/page.html\""),
        "{head}"
    );

    let (status, head, body) = curl(&server, "GET", "old", "page.html");
    assert_eq!((status, body.as_str()), (301, ""), "{head}");
    assert_eq!(header(&head, "location"), Some("/new/page.html"));
    let (status, head, _) = curl(&server, "GET", "old", "away.html");
    assert_eq!(status, 301, "{head}");
    assert_eq!(
        header(&head, "location"),
        Some("https://example.com/elsewhere")
    );

    // The API still serves the object's bytes; a copy keeps no redirect unless it names one.
    let got = server.aws_ok(&["s3", "cp", "s3://old/page.html", "-"]);
    assert_eq!(got, "old page");
    server.aws_ok(&[
        "s3api",
        "copy-object",
        "--bucket",
        "old",
        "--key",
        "copy.html",
        "--copy-source",
        "old/page.html",
    ]);
    let (status, _, body) = curl(&server, "GET", "old", "copy.html");
    assert_eq!((status, body.as_str()), (200, "old page"));

    // S3 refuses a location that is neither a path nor an http(s) URL.
    let out = server.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "old",
        "--key",
        "bad.html",
        "--body",
        file,
        "--website-redirect-location",
        "ftp://example.com/x",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("InvalidRedirectLocation"),
        "{err}"
    );
    let listed = server.aws_ok(&["s3", "ls", "s3://old/"]);
    assert!(!listed.contains("bad.html"), "nothing stored: {listed}");
}
