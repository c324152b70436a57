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
    tools: Tools,
    data: PathBuf,
    next: AtomicUsize,
}

/// Where the server's programs are, and whether they run as the `postgres` user.
#[derive(Clone, Debug)]
struct Tools {
    bin: PathBuf,
    as_postgres: bool,
}

impl Tools {
    fn find() -> Tools {
        Tools {
            bin: bin_dir(),
            as_postgres: is_root(),
        }
    }

    /// A command running one of the server's programs, as the `postgres` user when needed.
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

    /// Runs `pg_ctl -D data ARGS` quietly; true when it succeeded.
    fn pg_ctl(&self, data: &Path, args: &[&str]) -> bool {
        self.tool("pg_ctl")
            .arg("-D")
            .arg(data)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// A new temporary directory the server's programs may write in.
    fn scratch(&self, prefix: &str) -> PathBuf {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .unwrap()
            .keep();
        if self.as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "could not hand {} to the postgres user", dir.display());
        }
        dir
    }

    /// `initdb` of a cluster in `data` with the trusted superuser `pier`.
    fn initdb(&self, data: &Path) {
        let init = self
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
            .arg(data)
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }

    /// Starts the server of `data` on loopback `port` (its socket in `dir`, its log beside
    /// `data` as `DATA.log`) with `extra` settings, and waits until it accepts connections.
    /// A start that fails is tried again for a few seconds: the port may still be held by the
    /// last processes of a server just killed there.
    fn start(&self, data: &Path, dir: &Path, port: u16, extra: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} \
             -c max_connections=300 {extra}",
            dir.display()
        );
        let log = data.with_extension("log");
        for attempt in 0.. {
            let log_arg = log.to_string_lossy();
            if self.pg_ctl(data, &["-l", &log_arg, "-o", &options, "-w", "start"]) {
                return;
            }
            assert!(
                attempt < 20,
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// The shell command that stops the server of `data` at once.
    fn stop_command(&self, data: &Path) -> String {
        let stop = format!(
            "{} -D {} stop -m immediate",
            self.bin.join("pg_ctl").display(),
            data.display()
        );
        if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        }
    }
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
        let tools = Tools::find();
        let dir = tools.scratch("pier-pg-");
        let cluster = Cluster {
            port: free_port(),
            data: dir.join("data"),
            tools,
            next: AtomicUsize::new(0),
        };
        cluster.tools.initdb(&cluster.data);
        cluster.tools.start(&cluster.data, &dir, cluster.port, "");
        let stop = cluster.tools.stop_command(&cluster.data);
        crate::watchdog("PostgreSQL", &stop, &dir);
        cluster
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
            .tools
            .pg_ctl(&self.data, &["-m", "fast", "-w", "restart"]);
        assert!(ok, "PostgreSQL did not restart");
    }
}

/// A primary PostgreSQL server with a synchronous streaming standby (made with
/// `pg_basebackup`), each on a loopback port of its own, for failover tests: a commit is
/// acknowledged only once the standby has it. After a failover the standby is made again on the
/// lost server's port, so the pair's address ([`Replicated::url`]) never changes. Every server
/// is stopped when the test binary exits.
#[derive(Debug)]
pub struct Replicated {
    tools: Tools,
    dir: PathBuf,
    ports: [u16; 2],
    state: std::sync::Mutex<PairState>,
}

/// Which server is the primary, and each one's data directory.
#[derive(Debug)]
struct PairState {
    primary: usize,
    data: [PathBuf; 2],
    made: usize,
}

/// The ids of the processes whose parent is `pid` (from `/proc`).
fn children_of(pid: &str) -> Vec<String> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: the name may hold spaces, so read after its `)`.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if after.split_whitespace().nth(1) == Some(pid) {
            children.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    children
}

/// The settings both servers run with (either may be the primary).
const REPLICATION: &str = "-c wal_level=replica -c max_wal_senders=8 -c wal_keep_size=256MB";

impl Replicated {
    /// Starts the primary with database `name`, makes the standby from it and waits until it
    /// replicates synchronously.
    pub fn start(name: &str) -> Replicated {
        let tools = Tools::find();
        let dir = tools.scratch("pier-pg-pair-");
        let first = dir.join("server-0");
        tools.initdb(&first);
        let ports = [free_port(), free_port()];
        tools.start(&first, &dir, ports[0], REPLICATION);
        let stop = format!(
            "for d in {}/server-*; do {}; done",
            dir.display(),
            tools.stop_command(Path::new("$d"))
        );
        crate::watchdog("PostgreSQL pair", &stop, &dir);
        let pair = Replicated {
            tools,
            dir,
            ports,
            state: std::sync::Mutex::new(PairState {
                primary: 0,
                data: [first, PathBuf::new()],
                made: 1,
            }),
        };
        pair.admin(ports[0])
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creating the database");
        pair.make_standby();
        pair
    }

    fn admin(&self, port: u16) -> postgres::Client {
        postgres::Client::connect(
            &format!("postgres://pier@127.0.0.1:{port}/postgres"),
            postgres::NoTls,
        )
        .expect("connecting to the test PostgreSQL")
    }

    /// The database's address naming both servers, as pier's `--metadata` takes it: clients
    /// connect to whichever of them accepts writes.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://pier@127.0.0.1:{},127.0.0.1:{}/{name}?target_session_attrs=read-write&connect_timeout=2",
            self.ports[0], self.ports[1]
        )
    }

    /// Sets which standbys the primary waits for at each commit (`*`: any; empty: none).
    fn wait_for_standby(&self, primary: u16, names: &str) {
        let mut admin = self.admin(primary);
        admin
            .batch_execute(&format!(
                "ALTER SYSTEM SET synchronous_standby_names = '{names}'"
            ))
            .expect("setting synchronous_standby_names");
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .expect("reloading the settings");
    }

    /// Makes a new standby from the primary with `pg_basebackup` on the other server's port,
    /// starts it, makes commits wait for it, and waits until it replicates synchronously.
    pub fn make_standby(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (primary, standby) = (state.primary, 1 - state.primary);
        let data = self.dir.join(format!("server-{}", state.made));
        state.made += 1;
        let copied = self
            .tools
            .tool("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "pier",
                "-X",
                "stream",
                "-R",
                "--checkpoint=fast",
                "-p",
            ])
            .arg(self.ports[primary].to_string())
            .arg("-D")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            copied.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&copied.stderr)
        );
        self.tools
            .start(&data, &self.dir, self.ports[standby], REPLICATION);
        state.data[standby] = data;
        self.wait_for_standby(self.ports[primary], "*");
        let mut admin = self.admin(self.ports[primary]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let state: Option<String> = admin
                .query_opt("SELECT sync_state FROM pg_stat_replication", &[])
                .unwrap()
                .map(|row| row.get(0));
            if state.as_deref() == Some("sync") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the standby never replicated synchronously ({state:?})"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The process id of the primary's postmaster (`primary`), or the standby's.
    fn postmaster(&self, primary: bool) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let which = if primary {
            state.primary
        } else {
            1 - state.primary
        };
        let pid_file = std::fs::read_to_string(state.data[which].join("postmaster.pid"))
            .expect("the server's postmaster.pid");
        pid_file.lines().next().unwrap().trim().to_owned()
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) every process of the standby, so it falls
    /// behind the primary: with synchronous commit the primary's commits wait for it.
    pub fn pause_standby(&self, paused: bool) {
        let pid = self.postmaster(false);
        let signal = if paused { "-STOP" } else { "-CONT" };
        // The postmaster first when stopping (it starts no new child), last when resuming.
        let mut pids = children_of(&pid);
        if paused {
            pids.insert(0, pid);
        } else {
            pids.push(pid);
        }
        for pid in pids {
            Command::new("kill").args([signal, &pid]).status().unwrap();
        }
    }

    /// Kills the standby's WAL receiver with `-9` (while it is paused: what the primary sent
    /// it and it had not read yet is lost with its socket). The standby's postmaster then
    /// restarts its processes and replays what it had.
    pub fn kill_wal_receiver(&self) {
        for pid in children_of(&self.postmaster(false)) {
            let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if title.contains("walreceiver") {
                Command::new("kill").args(["-9", &pid]).status().unwrap();
            }
        }
    }

    /// Kills the primary's postmaster with `-9`, as if its machine were lost (its backends end
    /// when they notice).
    pub fn kill_primary(&self) {
        let pid = self.postmaster(true);
        let ok = Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "could not kill the primary ({pid})");
    }

    /// Promotes the standby (`pg_ctl promote`) and waits until it accepts writes; commits
    /// then wait for no standby until [`Replicated::make_standby`] makes one.
    pub fn promote_standby(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let standby = 1 - state.primary;
        let ok = self.tools.pg_ctl(&state.data[standby], &["-w", "promote"]);
        assert!(ok, "the standby was not promoted");
        state.primary = standby;
        self.wait_for_standby(self.ports[standby], "");
        let read_only: String = self
            .admin(self.ports[standby])
            .query_one("SHOW transaction_read_only", &[])
            .unwrap()
            .get(0);
        assert_eq!(read_only, "off", "the promoted standby accepts writes");
    }

    /// Loses the primary with writes in flight, as a whole failover goes: the standby falls
    /// behind for 1.5 s (with synchronous commit, the writes of that moment wait and are never
    /// acknowledged), the primary is killed with `-9` and the standby's WAL receiver with it,
    /// and a second later (an operator, or Patroni noticing) the standby is promoted and a new
    /// standby made on the lost server's port. Returns how long after the loss the promoted
    /// server accepted writes, and how long until the new standby was in sync.
    pub fn fail_over(&self) -> (std::time::Duration, std::time::Duration) {
        self.pause_standby(true);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let lost = std::time::Instant::now();
        self.kill_wal_receiver();
        self.kill_primary();
        self.pause_standby(false);
        std::thread::sleep(std::time::Duration::from_secs(1));
        self.promote_standby();
        let promoted = lost.elapsed();
        self.make_standby();
        (promoted, lost.elapsed())
    }
}
