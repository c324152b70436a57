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
    let port = server.endpoint.rsplit(':').next().unwrap();
    let name = format!("{host}.web.test");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "10", "--resolve"])
        .arg(format!("{name}:{port}:127.0.0.1"));
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
