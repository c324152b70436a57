//! The end-to-end harness: a real `pier serve` process on a free loopback port, with its data in
//! a temporary directory, and the real clients (installed on demand by `tests/tools/ensure.sh`).

#![allow(dead_code)] // each test binary uses part of the harness

pub mod cors_pages;
pub mod history;
pub mod scale_out;
pub mod script_checks;
pub mod webhook;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Once};
use std::time::Duration;
use tempfile::TempDir;

/// The access key every test server is started with.
pub const ACCESS_KEY: &str = "PIERTESTACCESSKEY001";
/// Its secret.
pub const SECRET_KEY: &str = "pier-test-secret-key-0000000000000000000";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Makes sure the real clients are installed (once per test binary, serialised across binaries).
pub fn ensure_tools() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let ready = repo().join(".venv/bin/aws").exists()
            && repo()
                .join("tests/browser/node_modules/playwright-core")
                .exists()
            && Path::new("/usr/bin/chromium").exists()
            && Command::new("rclone").arg("version").output().is_ok()
            && Command::new("s3cmd").arg("--version").output().is_ok()
            && repo().join(".venv/bin/weed").exists();
        if ready {
            return;
        }
        let lock_path = repo().join("target").join("tools.lock");
        let lock = std::fs::File::create(&lock_path).expect("create tools lock");
        lock.lock().expect("lock tools");
        let status = Command::new("bash")
            .arg(repo().join("tests/tools/ensure.sh"))
            .status()
            .expect("run tests/tools/ensure.sh");
        assert!(status.success(), "installing test tools failed");
    });
}

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The data directory (kept across restarts).
    pub dir: TempDir,
    /// Extra flags it was started with (kept across restarts).
    flags: Vec<String>,
    /// Extra environment it was started with (kept across restarts).
    env: Vec<(String, String)>,
    /// `http://127.0.0.1:PORT` of its dashboard.
    pub dashboard: String,
}

impl Server {
    /// Starts a server on a new, empty data directory.
    pub fn start() -> Server {
        Server::start_in(TempDir::new().expect("temp dir"))
    }

    /// Starts a server on `dir`.
    pub fn start_in(dir: TempDir) -> Server {
        Server::start_with(dir, &[])
    }

    /// Starts a server on `dir` with extra `pier serve` flags.
    pub fn start_with(dir: TempDir, flags: &[&str]) -> Server {
        Server::start_with_env(dir, flags, &[])
    }

    /// Starts a server on `dir` with extra flags and environment variables.
    pub fn start_with_env(dir: TempDir, flags: &[&str], env: &[(&str, &str)]) -> Server {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, endpoint, dashboard) = spawn(dir.path(), &flags, &env);
        Server {
            child: Some(child),
            endpoint,
            dir,
            flags,
            env,
            dashboard,
        }
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.endpoint.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Kills the server with SIGKILL (no cleanup at all).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns its status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().expect("wait for server")
    }

    /// Stops the server cleanly (SIGTERM) and starts it again on the same data directory.
    pub fn restart_clean(&mut self) {
        let status = self.terminate();
        assert!(status.success(), "pier serve exited with {status}");
        let (child, endpoint, dashboard) = spawn(self.dir.path(), &self.flags, &self.env);
        self.child = Some(child);
        self.endpoint = endpoint;
        self.dashboard = dashboard;
    }

    /// Stops the server cleanly and starts it again on the same data directory with `flags`
    /// instead of the flags it had.
    pub fn restart_clean_with(&mut self, flags: &[&str]) {
        self.flags = flags.iter().map(|s| s.to_string()).collect();
        self.restart_clean();
    }

    /// Starts the server again on the same data directory (a new port).
    pub fn restart(&mut self) {
        self.kill9();
        let (child, endpoint, dashboard) = spawn(self.dir.path(), &self.flags, &self.env);
        self.child = Some(child);
        self.endpoint = endpoint;
        self.dashboard = dashboard;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The `addr=` of the first log line containing `marker` (colour codes taken out): where a
    /// listener the harness does not report (HTTPS, websites) listens.
    pub fn logged_addr(&self, marker: &str) -> String {
        let mut log = String::new();
        let mut in_escape = false;
        for c in self.log().chars() {
            match (in_escape, c) {
                (false, '\u{1b}') => in_escape = true,
                (true, 'm') => in_escape = false,
                (false, c) => log.push(c),
                _ => {}
            }
        }
        log.lines()
            .find(|l| l.contains(marker))
            .and_then(|l| l.split("addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {marker:?} line in the log:\n{log}"))
            .to_owned()
    }

    /// Asserts that a check script exited 0 and printed `summary` (such as `5 passed, 0
    /// failed`), showing its output and the server's log tail otherwise.
    pub fn assert_checks_passed(&self, out: &Output, summary: &str) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("{stdout}");
        assert!(
            out.status.success() && stdout.contains(summary),
            "checks failed:\n{stdout}\n{}\nserver log (tail):\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tail(30)
        );
    }

    /// The last `n` lines of the server's log (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log(), n)
    }

    /// `pier key create ARGS` on this server's data directory, next to the running server;
    /// fails the test if the command fails.
    pub fn create_key(&self, args: &[&str]) -> MadeKey {
        let out = Command::new(env!("CARGO_BIN_EXE_pier"))
            .args(["key", "create", "--data-dir"])
            .arg(self.dir.path().join("data"))
            .args(args)
            .output()
            .expect("run pier key create");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .trim()
                .to_owned()
        };
        MadeKey {
            id: field("access key id:"),
            secret: field("secret access key:"),
            account: field("account:"),
        }
    }

    /// Environment for the aws CLI, boto3 and the Python client scripts.
    pub fn client_env(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("PIER_ENDPOINT", &self.endpoint)
            // The pier CLI, for scripts that change what only it changes (caps, keys).
            .env("PIER_BIN", env!("CARGO_BIN_EXE_pier"))
            .env("PIER_DATA_DIR", self.dir.path().join("data"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CA_BUNDLE");
    }

    /// Runs the aws CLI against this server.
    pub fn aws(&self, args: &[&str]) -> Output {
        ensure_tools();
        let mut cmd = Command::new(repo().join(".venv/bin/aws"));
        self.client_env(&mut cmd);
        cmd.arg("--endpoint-url").arg(&self.endpoint).args(args);
        cmd.output().expect("run aws")
    }

    /// Runs the aws CLI and fails the test with its output if it fails.
    pub fn aws_ok(&self, args: &[&str]) -> String {
        let out = self.aws(args);
        assert!(
            out.status.success(),
            "aws {args:?} failed:\n{}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a Python client script from `tests/clients` with the venv's interpreter.
    pub fn python(&self, script: &str, args: &[&str]) -> Output {
        ensure_tools();
        let mut cmd = Command::new(repo().join(".venv/bin/python"));
        self.client_env(&mut cmd);
        cmd.arg(repo().join("tests/clients").join(script))
            .args(args);
        cmd.output().expect("run python")
    }

    /// Runs a Python client script and fails the test with its output if it fails.
    pub fn python_ok(&self, script: &str, args: &[&str]) -> String {
        let out = self.python(script, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script} failed:\n{stdout}\n{}\nserver log (tail):\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tail(40)
        );
        stdout
    }
}

/// A key `pier key create` made.
pub struct MadeKey {
    /// The access key id.
    pub id: String,
    /// Its secret.
    pub secret: String,
    /// The account it belongs to.
    pub account: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts `pier serve` (with its dashboard on a free port); returns the process, the API's
/// endpoint and the dashboard's URL.
fn spawn(data_dir: &Path, flags: &[String], env: &[(String, String)]) -> (Child, String, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("server.log"))
        .expect("server log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dashboard-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir.join("data"))
        .args(flags)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PIER_ROOT_ACCESS_KEY", ACCESS_KEY)
        .env("PIER_ROOT_SECRET_KEY", SECRET_KEY)
        .env("PIER_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start pier serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut dashboard = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(addr) = line.trim().strip_prefix("pier dashboard on ") {
                dashboard = addr.to_owned();
            }
            if let Some(addr) = line.trim().strip_prefix("pier listening on ") {
                let _ = tx.send((addr.to_owned(), dashboard));
                break;
            }
            line.clear();
        }
        // Keep draining so the server never blocks on a full pipe.
        let _ = std::io::copy(&mut reader.into_inner(), &mut std::io::sink());
    });
    let (endpoint, dashboard) = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let mut log = String::new();
            let _ = std::fs::File::open(data_dir.join("server.log"))
                .and_then(|mut f| f.read_to_string(&mut log));
            panic!("pier serve did not start:\n{log}")
        });
    (child, endpoint, dashboard)
}

/// A loopback port free right now (for a page server a test starts itself).
pub fn free_port() -> u16 {
    pier_testkit::free_port()
}

/// Deterministic pseudo-random bytes (xorshift), so tests can recompute what they uploaded.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl RawResponse {
    /// A header's value (the first), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times a header appears.
    pub fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }

    /// The names of all `access-control-*` headers, sorted.
    pub fn cors_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n.starts_with("access-control-"))
            .collect();
        names.sort();
        names
    }
}

/// Sends one request over a new connection and reads the whole answer (`Connection: close`).
pub fn raw(endpoint: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    let host = endpoint.trim_start_matches("http://");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    raw_bytes(endpoint, req.as_bytes())
}

/// A whole HTTP/1.1 request to `endpoint` (`Connection: close`, `Content-Length` of `body`),
/// head and body, as bytes.
pub fn request_bytes(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let host = endpoint.trim_start_matches("http://");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `request` (a whole HTTP/1.1 request, head and body, as given) over a new connection to
/// `endpoint` and reads the whole answer.
pub fn raw_bytes(endpoint: &str, request: &[u8]) -> RawResponse {
    use std::io::Write;
    let host = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A presigned path-and-query for this server's root key.
pub fn presigned_path(
    server: &Server,
    method: &str,
    bucket: &str,
    key: &str,
    query: Vec<(String, String)>,
) -> String {
    let url = pier_edge::presign::presign_url(&pier_edge::presign::Presign {
        endpoint: &server.endpoint,
        method,
        bucket,
        key,
        query,
        content_type: None,
        expires: 600,
        access_key: ACCESS_KEY,
        secret_key: SECRET_KEY,
        region: "us-east-1",
        now: std::time::SystemTime::now(),
    })
    .unwrap();
    url.trim_start_matches(&server.endpoint).to_owned()
}

/// Every file under `root`: (relative path, bytes), sorted.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A round-robin TCP front for several servers, as a layer-4 load balancer does it: each new
/// connection goes to the next backend, and bytes are copied both ways until either side closes.
/// It runs until the test binary exits.
pub struct RoundRobin {
    /// `http://127.0.0.1:PORT` of the front.
    pub endpoint: String,
    listener: std::net::TcpListener,
    /// The backends (`127.0.0.1:PORT`), replaced by [`RoundRobin::serve`].
    backends: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Set once the accept thread runs.
    serving: std::sync::Once,
}

impl RoundRobin {
    /// Takes the front's port, so the backends can be told its address before they start.
    pub fn bind() -> RoundRobin {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        RoundRobin {
            endpoint,
            listener,
            backends: Default::default(),
            serving: std::sync::Once::new(),
        }
    }

    /// Starts a front for `backends` (`http://127.0.0.1:PORT` each).
    pub fn start(backends: &[&str]) -> RoundRobin {
        let front = RoundRobin::bind();
        front.serve(backends);
        front
    }

    /// Serves `backends` (`http://127.0.0.1:PORT` each) from now on: new connections go to
    /// them (a restarted node at its new port, say); open ones stay where they are.
    pub fn serve(&self, backends: &[&str]) {
        *self.backends.lock().unwrap() = backends
            .iter()
            .map(|b| b.trim_start_matches("http://").to_owned())
            .collect();
        self.serving.call_once(|| {
            let listener = self.listener.try_clone().unwrap();
            let backends = std::sync::Arc::clone(&self.backends);
            std::thread::spawn(move || {
                for (n, client) in listener.incoming().enumerate() {
                    let Ok(client) = client else { continue };
                    let backend = {
                        let list = backends.lock().unwrap();
                        list[n % list.len()].clone()
                    };
                    std::thread::spawn(move || relay(client, &backend));
                }
            });
        });
    }
}

/// Copies bytes both ways between `client` and a new connection to `backend` until either
/// side closes.
fn relay(client: std::net::TcpStream, backend: &str) {
    relay_through(client, backend, |server| server);
}

/// [`relay`], with the client's bytes written to the backend through `upstream(connection)`
/// (a writer that may change them on the way).
pub fn relay_through<W: std::io::Write + Send + 'static>(
    client: std::net::TcpStream,
    backend: &str,
    upstream: impl FnOnce(std::net::TcpStream) -> W,
) {
    let Ok(server) = std::net::TcpStream::connect(backend) else {
        return;
    };
    let mut c_read = client.try_clone().unwrap();
    let shut = server.try_clone().unwrap();
    let mut s_write = upstream(server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = shut.shutdown(std::net::Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let _ = std::io::copy(&mut s_read, &mut c_write);
    let _ = c_write.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// Runs rclone's S3 backend (remote `pier:`) against `endpoint` with the test key; returns its
/// output after checking it succeeded.
pub fn rclone_s3(endpoint: &str, args: &[&str]) -> String {
    let out = rclone_s3_output(endpoint, args);
    assert!(
        out.status.success(),
        "rclone {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs rclone with the remote `pier:` (its S3 backend on `endpoint`, the test key) and
/// returns what it did, failed or not.
pub fn rclone_s3_output(endpoint: &str, args: &[&str]) -> Output {
    ensure_tools();
    Command::new("rclone")
        .env("RCLONE_CONFIG", "/dev/null")
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_PIER_TYPE", "s3")
        .env("RCLONE_CONFIG_PIER_PROVIDER", "Other")
        .env("RCLONE_CONFIG_PIER_ACCESS_KEY_ID", ACCESS_KEY)
        .env("RCLONE_CONFIG_PIER_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("RCLONE_CONFIG_PIER_ENDPOINT", endpoint)
        .env("RCLONE_CONFIG_PIER_REGION", "us-east-1")
        .args(args)
        .output()
        .unwrap()
}

/// Runs `cmd` to its end and returns its output; panics with its stderr unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The aws CLI's arguments that set `bucket`'s CORS rules to `config` (JSON, or
/// `file://PATH`).
pub fn put_bucket_cors<'a>(bucket: &'a str, config: &'a str) -> [&'a str; 6] {
    [
        "s3api",
        "put-bucket-cors",
        "--bucket",
        bucket,
        "--cors-configuration",
        config,
    ]
}
