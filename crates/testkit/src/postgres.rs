//! A PostgreSQL server from the machine's `postgresql` package, started once per test binary in
//! a temporary directory on a free loopback port (as the `postgres` user when the tests run as
//! root, since `initdb` refuses root), with trust authentication for the superuser `pier`. A
//! watchdog process stops it and removes its directory when the test binary exits.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Cluster {
    port: u16,
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    next: AtomicUsize,
}

/// The binary's server, started on first use. Panics with what is missing when PostgreSQL is
/// not installed (`.ci/run` installs Debian's `postgresql`).
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// The directory holding `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/N/bin`,
/// else wherever `PATH` finds them.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let found = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match found {
        Some(path) if !path.is_empty() => Path::new(&path).parent().unwrap().to_owned(),
        _ => panic!(
            "PostgreSQL is not installed: these tests need `initdb` and `pg_ctl` \
             (Debian: apt-get install postgresql; .ci/run installs it)"
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    fn start() -> Cluster {
        let bin = bin_dir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("pier-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let data = dir.join("data");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "could not hand {} to the postgres user", dir.display());
        }
        let cluster = Cluster {
            port: free_port(),
            bin,
            data,
            as_postgres,
            next: AtomicUsize::new(0),
        };
        let init = cluster
            .tool("initdb")
            .args([
                "-U",
                "pier",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&cluster.data)
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c max_connections=300",
            cluster.port,
            dir.display()
        );
        let log = dir.join("server.log");
        let started = cluster
            .tool("pg_ctl")
            .arg("-D")
            .arg(&cluster.data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(
            started.success(),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        cluster.watch(&dir);
        cluster
    }

    /// A command running one of the server's tools, as the `postgres` user when needed.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// Starts the process that stops the server and removes `dir` once this one is gone.
    fn watch(&self, dir: &Path) {
        let stop = format!(
            "{} -D {} stop -m immediate",
            self.bin.join("pg_ctl").display(),
            self.data.display()
        );
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        crate::watchdog("PostgreSQL", &stop, dir);
    }

    /// The server's loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address of database `name`, as pier's `--metadata` takes it.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://pier@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new empty database and returns its address: each test gets its own.
    pub fn fresh_database(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connecting to the test PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creating a test database");
        self.url(&name)
    }

    /// Stops the server (`-m fast`: connections are closed) and starts it again on the same
    /// port and data, waiting until it accepts connections.
    pub fn restart(&self) {
        let ok = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "restart"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "PostgreSQL did not restart");
    }
}
