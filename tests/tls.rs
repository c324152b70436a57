//! Native HTTPS end to end (issue 27): certificates made with `openssl` for this test (a CA and
//! server certificates for 127.0.0.1), a real `pier serve` with `--tls-listen`, and real
//! clients trusting only that CA: the aws CLI, boto3 and b2sdk (whose URLs say https), TLS 1.2
//! and 1.3 only with ALPN h2, the dashboard over TLS (HSTS, `Secure` cookie), a certificate
//! swapped on SIGHUP while an open connection keeps working, a handshake bounded by the head
//! timeout, a key that is not the certificate's refused at start, `aws:SecureTransport` in a
//! bucket policy, Chromium on an https:// page reading from the HTTPS listener while the
//! plain one is blocked as mixed content, rclone copying and checking a folder over HTTPS, a
//! certificate rotated during a long download (which finishes), and a single-page app served
//! from a website bucket over HTTPS uploading 20 files at once over HTTP/2 to another origin.

mod common;

use common::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A CA, two server certificates it signed (for 127.0.0.1 and localhost), and a stray key.
struct Pki {
    dir: TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    common::ensure_tools();
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    fn new() -> Pki {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        let new_p256_key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let ca = ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"];
        openssl(
            d,
            &[
                &["req", "-x509"][..],
                &new_p256_key,
                &ca,
                &["-subj", "/CN=pier test CA"],
            ]
            .concat(),
        );
        std::fs::write(
            d.join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.s3-website.localhost\n",
        )
        .unwrap();
        for name in ["one", "two"] {
            let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
            let request = ["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"];
            openssl(d, &[&["req"][..], &new_p256_key, &request].concat());
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    "2",
                    "-extfile",
                    "san.ext",
                ],
            );
        }
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "stray.key",
            ],
        );
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Copies the pair `name.pem` / `name.key` to the files the server is told to serve.
    fn serve(&self, name: &str) {
        std::fs::copy(self.path(&format!("{name}.pem")), self.path("cert.pem")).unwrap();
        std::fs::copy(self.path(&format!("{name}.key")), self.path("cert.key")).unwrap();
    }

    /// The serial of a certificate file, as Python's ssl module prints it (upper-case hex).
    fn serial(&self, name: &str) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(self.path(name))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .trim_start_matches("serial=")
            .to_uppercase()
    }
}

/// Sends the server SIGHUP (reload its certificate).
fn hang_up(server: &Server) {
    let pid = server.pid().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
}

/// A server on HTTPS only, serving the certificate files `cert.pem` / `cert.key` (copies of
/// `one`), so a test can swap them.
fn https_server(pki: &Pki, extra: &[&str]) -> Server {
    pki.serve("one");
    let flags = [&["--listen", "off"][..], extra].concat();
    let server = tls_server(pki, "cert", &flags);
    assert!(
        server.endpoint.starts_with("https://"),
        "{}",
        server.endpoint
    );
    server
}

/// A server on HTTPS only ([`https_server`]) that the aws CLI, boto3 and b2sdk have been
/// checked against (`tls_check.py clients`), and its PKI.
fn https_server_where_clients_work() -> (Pki, Server) {
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    assert_eq!(python(&server, &pki, &["clients"]).trim(), "ok");
    (pki, server)
}

fn host_port(endpoint: &str) -> (String, String) {
    let (host, port) = endpoint
        .trim_start_matches("https://")
        .rsplit_once(':')
        .unwrap();
    (host.to_owned(), port.to_owned())
}

fn python(server: &Server, pki: &Pki, args: &[&str]) -> String {
    common::ensure_tools();
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let out = cmd
        .env("CA_BUNDLE", pki.path("ca.pem"))
        .arg(common::repo().join("tests/clients/tls_check.py"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tls_check.py {args:?}: {text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_tail(20)
    );
    text
}

#[test]
fn the_aws_cli_boto3_and_b2sdk_work_over_https_with_the_servers_ca() {
    let (pki, server) = https_server_where_clients_work();
    let mut cmd = Command::new(common::repo().join(".venv/bin/aws"));
    server.client_env(&mut cmd);
    let out = cmd
        .env("AWS_CA_BUNDLE", pki.path("ca.pem"))
        .arg("--endpoint-url")
        .arg(&server.endpoint)
        .args(["s3", "ls", "s3://tls-bucket/"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains("secret.txt") && listed.contains("b2.txt"),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn only_tls_12_and_13_are_spoken_and_alpn_chooses_h2() {
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    assert_eq!(python(&server, &pki, &["protocols"]).trim(), "ok");
}

#[test]
fn the_dashboard_over_tls_sends_hsts_and_a_secure_cookie() {
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    assert!(
        server.dashboard.starts_with("https://"),
        "{}",
        server.dashboard
    );
    let mut cmd = Command::new("curl");
    let out = cmd
        .args(["-sS", "-i", "--cacert"])
        .arg(pki.path("ca.pem"))
        .args([
            "--data",
            &format!(
                "access_key={}&secret={}",
                common::ACCESS_KEY,
                common::SECRET_KEY
            ),
        ])
        .arg(format!("{}/login", server.dashboard))
        .output()
        .expect("run curl");
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );
    let cookie = head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(cookie.contains("; secure"), "{cookie}");
}

/// Text with the HTML escapes the dashboard's templates write (`&amp;`, `&#x2f;`, ...) undone.
fn html_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').unwrap_or(0);
        let entity = &tail[1..end.max(1)];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_dashboards_share_links_say_https_when_the_api_speaks_only_https() {
    let (pki, server) = https_server_where_clients_work();
    let jar = pki.path("cookies.txt");
    let curl = |args: &[&str]| -> String {
        let out = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(pki.path("ca.pem"))
            .arg("-b")
            .arg(&jar)
            .arg("-c")
            .arg(&jar)
            .args(args)
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let login = format!(
        "access_key={}&secret={}",
        common::ACCESS_KEY,
        common::SECRET_KEY
    );
    curl(&["--data", &login, &format!("{}/login", server.dashboard)]);
    let page = curl(&[&format!("{}/b/tls-bucket", server.dashboard)]);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token in {page}"))
        .to_owned();
    let shared = curl(&[
        "-H",
        &format!("Origin: {}", server.dashboard),
        "--data",
        &format!("csrf={csrf}&key=secret.txt&expires=3600"),
        &format!("{}/b/tls-bucket/share", server.dashboard),
    ]);
    let url = shared
        .split("id=\"share-url\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no share link in {shared}"));
    let url = html_unescape(url);
    assert!(
        url.starts_with(&server.endpoint),
        "{url} is not on {}",
        server.endpoint
    );
    let got = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(pki.path("ca.pem"))
        .arg(&url)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), "over tls");
}

#[test]
fn a_new_certificate_is_served_after_sighup_and_open_connections_keep_working() {
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    let (host, port) = host_port(&server.endpoint);
    let serial = |s: &Server| python(s, &pki, &["serial", &host, &port]).trim().to_owned();
    assert_eq!(serial(&server), pki.serial("one.pem"));
    // A keep-alive connection made with the first certificate.
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let mut open = cmd
        .env("CA_BUNDLE", pki.path("ca.pem"))
        .arg(common::repo().join("tests/clients/tls_check.py"))
        .args(["keepalive", &host, &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(open.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "200");
    pki.serve("two");
    hang_up(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while serial(&server) != pki.serial("two.pem") {
        assert!(
            Instant::now() < deadline,
            "still the old certificate:\n{}",
            server.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    open.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "200",
        "the open connection kept working"
    );
    assert!(open.wait().unwrap().success());
    // A broken pair is not served: the last good certificate stays.
    std::fs::copy(pki.path("stray.key"), pki.path("cert.key")).unwrap();
    hang_up(&server);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(serial(&server), pki.serial("two.pem"));
    assert!(
        server.log().contains("TLS certificate not reloaded"),
        "{}",
        server.log_tail(10)
    );
}

#[test]
fn a_handshake_that_stalls_is_closed_at_the_head_timeout() {
    let pki = Pki::new();
    let server = https_server(&pki, &["--header-timeout", "2"]);
    let (host, port) = host_port(&server.endpoint);
    let mut stream = std::net::TcpStream::connect(format!("{host}:{port}")).unwrap();
    // The first byte of a TLS record, and then nothing.
    stream.write_all(&[0x16]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_at_start() {
    let pki = Pki::new();
    let data = TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dashboard-listen",
            "off",
            "--tls-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--tls-cert")
        .arg(pki.path("one.pem"))
        .arg("--tls-key")
        .arg(pki.path("stray.key"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("is not the key of the certificate"), "{err}");
}

/// A server on plain HTTP (its endpoint) and on HTTPS with certificate `one`
/// (`logged_addr("serving HTTPS")`), started with `extra` flags too.
fn both_listeners(pki: &Pki, extra: &[&str]) -> Server {
    tls_server(pki, "one", extra)
}

/// A server started with HTTPS on a free port, serving the pair `pair.pem` / `pair.key`, and
/// with `extra` flags.
fn tls_server(pki: &Pki, pair: &str, extra: &[&str]) -> Server {
    let (cert, key) = (
        pki.path(&format!("{pair}.pem")),
        pki.path(&format!("{pair}.key")),
    );
    let flags = [
        &[
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ][..],
        extra,
    ]
    .concat();
    Server::start_with(TempDir::new().unwrap(), &flags)
}

#[test]
fn a_policy_can_allow_anonymous_reads_over_tls_only() {
    let pki = Pki::new();
    let server = both_listeners(&pki, &[]);
    let https = server.logged_addr("serving HTTPS");
    server.aws_ok(&["s3", "mb", "s3://tls-only"]);
    let file = pki.path("page.txt");
    std::fs::write(&file, b"secure page").unwrap();
    server.aws_ok(&["s3", "cp", file.to_str().unwrap(), "s3://tls-only/page.txt"]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::tls-only/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    server.aws_ok(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "tls-only",
        "--policy",
        policy,
    ]);
    let plain = common::raw(&server.endpoint, "GET", "/tls-only/page.txt", &[]);
    assert_eq!(plain.status, 403, "plain HTTP is refused by the condition");
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(pki.path("ca.pem"))
        .arg(format!("https://{https}/tls-only/page.txt"))
        .output()
        .expect("run curl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secure page",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The base64 SHA-256 of a certificate's public key (what Chromium's SPKI allowlist takes).
fn spki_hash(cert: &Path) -> String {
    let script = format!(
        "openssl x509 -pubkey -noout -in {} | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
        cert.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn chromium_on_an_https_page_uses_the_https_listener_and_cannot_use_plain_http() {
    let pki = Pki::new();
    let (cert, key) = (pki.path("one.pem"), pki.path("one.key"));
    let server = both_listeners(&pki, &[]);
    let https = server.logged_addr("serving HTTPS");
    let port = common::free_port();
    let origin = format!("https://127.0.0.1:{port}");
    server.aws_ok(&["s3", "mb", "s3://web-app"]);
    let file = pki.path("data.txt");
    std::fs::write(&file, b"from an https page").unwrap();
    server.aws_ok(&["s3", "cp", file.to_str().unwrap(), "s3://web-app/data.txt"]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::web-app/*"}]}"#;
    server.aws_ok(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "web-app",
        "--policy",
        policy,
    ]);
    let cors =
        format!(r#"{{"CORSRules":[{{"AllowedOrigins":["{origin}"],"AllowedMethods":["GET"]}}]}}"#);
    server.aws_ok(&common::put_bucket_cors("web-app", &cors));
    let out = Command::new("node")
        .arg(common::repo().join("tests/browser/https.mjs"))
        .current_dir(common::repo().join("tests/browser"))
        .env("HTTPS_API", format!("https://{https}"))
        .env("HTTP_API", &server.endpoint)
        .env("ORIGIN_PORT", port.to_string())
        .env("CERT", &cert)
        .env("KEY", &key)
        .env("SPKI", spki_hash(&cert))
        .env("OBJECT", "web-app/data.txt")
        .output()
        .expect("run node");
    server.assert_checks_passed(&out, "2 passed, 0 failed");
}

#[test]
fn a_self_signed_certificate_is_made_once_and_trusted_by_clients_that_take_it() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_with(
        dir,
        &[
            "--listen",
            "off",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-self-signed",
        ],
    );
    let cert = data.join("tls/self-signed.pem");
    let key = data.join("tls/self-signed.key");
    assert!(cert.exists() && key.exists(), "made in the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // boto3 and b2sdk trusting that file as their CA.
    common::ensure_tools();
    let mut cmd = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut cmd);
    let out = cmd
        .env("CA_BUNDLE", &cert)
        .arg(common::repo().join("tests/clients/tls_check.py"))
        .arg("clients")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server.log().contains("self-signed certificate"),
        "{}",
        server.log_tail(10)
    );
    // Started again, it serves the same certificate: clients that trust it keep working.
    let first = std::fs::read(&cert).unwrap();
    server.restart_clean();
    assert_eq!(std::fs::read(&cert).unwrap(), first);
}

#[test]
fn a_single_page_app_on_an_https_website_uploads_20_files_at_once_over_http2_to_another_origin() {
    let pki = Pki::new();
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("access.log");
    let server = both_listeners(&pki, &["--access-log", log.to_str().unwrap()]);
    let https = server.logged_addr("serving HTTPS");
    let port = https.rsplit(':').next().unwrap().to_owned();
    let site = format!("https://spa.s3-website.localhost:{port}");
    common::ensure_tools();
    let mut setup = Command::new(common::repo().join(".venv/bin/python"));
    server.client_env(&mut setup);
    let out = setup
        .env("HTTPS_API", format!("https://{https}"))
        .env("SITE_ORIGIN", &site)
        .arg(common::repo().join("tests/clients/spa_setup.py"))
        .output()
        .unwrap();
    let urls = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && urls.starts_with('['),
        "{urls}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("node")
        .arg(common::repo().join("tests/browser/spa.mjs"))
        .current_dir(common::repo().join("tests/browser"))
        .env("SITE", &site)
        .env("URLS", &urls)
        .env("SPKI", spki_hash(&pki.path("one.pem")))
        .output()
        .expect("run node");
    server.assert_checks_passed(&out, "5 passed, 0 failed");
    // Every file arrived, with what the page sent.
    let listed = server.aws_ok(&["s3", "ls", "s3://uploads/"]);
    assert_eq!(listed.lines().count(), 20, "{listed}");
    let got = server.aws_ok(&["s3", "cp", "s3://uploads/file-7.txt", "-"]);
    assert_eq!(got, "file 7");
    // The uploads came over HTTP/2, and the site's pages are logged as the website API.
    let deadline = Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let puts: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["operation"] == "PutObject" && v["bucket"] == "uploads")
            .collect();
        if puts.len() >= 20 || Instant::now() > deadline {
            break (puts, text);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (puts, text) = lines;
    assert_eq!(puts.len(), 20, "{text}");
    assert!(
        puts.iter()
            .all(|v| v["protocol"] == "HTTP/2.0" && v["status"] == 200),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains(r#""api":"website""#) && l.contains(r#""status":404"#)),
        "the error document's answer is logged as the website API: {text}"
    );
}

/// Writes `len` bytes that differ from offset to offset (so a misplaced chunk shows).
fn patterned_file(path: &Path, len: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1 << 16];
    let mut written = 0usize;
    while written < len {
        for (i, b) in block.iter_mut().enumerate() {
            *b = ((written + i) / 7 % 251) as u8;
        }
        let n = block.len().min(len - written);
        f.write_all(&block[..n]).unwrap();
        written += n;
    }
    f.flush().unwrap();
}

#[test]
fn rclone_copies_and_checks_a_folder_over_https_trusting_only_the_test_ca() {
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    let ca = pki.path("ca.pem");
    let ca = ca.to_str().unwrap();
    let up = pki.path("up");
    std::fs::create_dir_all(up.join("sub")).unwrap();
    for i in 0..5 {
        std::fs::write(up.join(format!("sub/small-{i}.txt")), format!("small {i}")).unwrap();
    }
    // Above rclone's cutoff below: a multipart upload in 5 MiB parts.
    patterned_file(&up.join("large.bin"), 12 << 20);
    let up = up.to_str().unwrap();
    let endpoint = &server.endpoint;
    // Without the CA, rclone refuses the certificate: the connection is really verified.
    let out = common::rclone_s3_output(
        endpoint,
        &[
            "--retries",
            "1",
            "--low-level-retries",
            "1",
            "mkdir",
            "pier:rclone-tls",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("certificate"),
        "{err}"
    );
    let with_ca = |args: &[&str]| {
        let all = [&["--ca-cert", ca][..], args].concat();
        common::rclone_s3(endpoint, &all)
    };
    with_ca(&["mkdir", "pier:rclone-tls"]);
    with_ca(&[
        "copy",
        "--s3-upload-cutoff",
        "1M",
        "--s3-chunk-size",
        "5M",
        up,
        "pier:rclone-tls/data",
    ]);
    with_ca(&["check", up, "pier:rclone-tls/data"]);
    let down = pki.path("down");
    with_ca(&["copy", "pier:rclone-tls/data", down.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(pki.path("up/large.bin")).unwrap(),
        std::fs::read(down.join("large.bin")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(down.join("sub/small-3.txt")).unwrap(),
        "small 3"
    );
}

#[test]
fn a_certificate_rotated_during_a_long_download_lets_it_finish_and_new_connections_get_the_new_one()
{
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    let (host, port) = host_port(&server.endpoint);
    let ca = pki.path("ca.pem");
    let big = pki.path("big.bin");
    patterned_file(&big, 48 << 20);
    common::rclone_s3(
        &server.endpoint,
        &[
            "--ca-cert",
            ca.to_str().unwrap(),
            "copyto",
            big.to_str().unwrap(),
            "pier:rotate/big.bin",
        ],
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::rotate/*"}]}"#;
    let mut put_policy = Command::new(common::repo().join(".venv/bin/aws"));
    server.client_env(&mut put_policy);
    common::run_ok(
        put_policy
            .env("AWS_CA_BUNDLE", &ca)
            .args(["--endpoint-url", &server.endpoint])
            .args([
                "s3api",
                "put-bucket-policy",
                "--bucket",
                "rotate",
                "--policy",
                policy,
            ]),
    );
    // 48 MiB at 12 MiB/s: about four seconds on one connection.
    let got = pki.path("got.bin");
    let mut download = Command::new("curl")
        .args(["-sS", "--fail", "--limit-rate", "12M", "--cacert"])
        .arg(&ca)
        .arg("-o")
        .arg(&got)
        .arg(format!("{}/rotate/big.bin", server.endpoint))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    pki.serve("two");
    hang_up(&server);
    let serial = || {
        python(&server, &pki, &["serial", &host, &port])
            .trim()
            .to_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while serial() != pki.serial("two.pem") {
        assert!(Instant::now() < deadline, "{}", server.log_tail(20));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        download.try_wait().unwrap().is_none(),
        "the download was still running when new connections got the new certificate"
    );
    let status = download.wait().unwrap();
    let mut err = String::new();
    download
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "the download finished: {err}");
    assert!(
        std::fs::read(&big).unwrap() == std::fs::read(&got).unwrap(),
        "every byte arrived"
    );
}

#[test]
fn rclone_uploads_and_reads_a_folder_with_sse_c_over_https() {
    // SSE-C over TLS needs no override; rclone (the AWS SDK for Go) refuses to send a customer
    // key over plain HTTP at all.
    let pki = Pki::new();
    let server = https_server(&pki, &[]);
    let ca = pki.path("ca.pem");
    let up = pki.path("sse-up");
    std::fs::create_dir_all(&up).unwrap();
    for i in 0..3 {
        std::fs::write(up.join(format!("f{i}.txt")), format!("rclone file {i}")).unwrap();
    }
    patterned_file(&up.join("big.bin"), 12 << 20);
    let with = |extra: &[&str], args: &[&str]| {
        let all = [&["--ca-cert", ca.to_str().unwrap()][..], extra, args].concat();
        common::rclone_s3_output(&server.endpoint, &all)
    };
    let key = [
        "--s3-sse-customer-algorithm",
        "AES256",
        "--s3-sse-customer-key",
        "0123456789abcdef0123456789abcdef",
    ];
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(with(&key, &["mkdir", "pier:rclone-sse"]));
    ok(with(
        &key,
        &[
            "copy",
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            up.to_str().unwrap(),
            "pier:rclone-sse/data",
        ],
    ));
    let down = pki.path("sse-down");
    ok(with(
        &key,
        &["copy", "pier:rclone-sse/data", down.to_str().unwrap()],
    ));
    for name in ["f1.txt", "big.bin"] {
        assert!(
            std::fs::read(up.join(name)).unwrap() == std::fs::read(down.join(name)).unwrap(),
            "{name} read back"
        );
    }
    let without = with(
        &[],
        &[
            "--retries",
            "1",
            "--low-level-retries",
            "1",
            "cat",
            "pier:rclone-sse/data/f1.txt",
        ],
    );
    // rclone's cat reports the refusal in its log; the bytes never come back without the key.
    assert!(
        !String::from_utf8_lossy(&without.stdout).contains("rclone file 1"),
        "read without the key"
    );
}
