//! Drives concurrent S3 clients against one or more pier nodes and records every operation as an
//! [`Event`] for the linearizability checker (`pier_testkit::history`).
//!
//! Each client thread keeps one HTTP/1.1 connection to its node and sends presigned requests
//! (PUT, PUT `If-None-Match: *`, PUT `If-Match`, GET, DELETE) on a few keys. Every value written
//! is unique and its body says which it is, so a GET names the write it saw; the whole body is
//! checked against what that write sent, so a torn read is caught too.

use md5::{Digest as _, Md5};
use pier_testkit::history::{Condition, Event, Op, Outcome, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the clients do.
#[derive(Clone, Debug)]
pub struct Workload {
    /// `http://127.0.0.1:PORT` of each node; client `i` talks to node `i % len`.
    pub endpoints: Vec<String>,
    /// The bucket (it must exist).
    pub bucket: String,
    /// The keys, each with the size of the bodies written to it.
    pub keys: Vec<(String, usize)>,
    /// How many clients only write (unconditional PUTs) and how many only read: the race of
    /// issue 22. With both zero, `mixed` clients do everything.
    pub writers: usize,
    /// See `writers`.
    pub readers: usize,
    /// Clients that pick any operation at random.
    pub mixed: usize,
    /// How long to run.
    pub duration: Duration,
    /// The access key and secret the requests are signed with.
    pub credentials: (String, String),
}

impl Workload {
    /// Six clients doing anything at random for `duration` on two small keys (inline) and two
    /// larger ones (blobs) of `bucket`, signed with the test key.
    pub fn mixed(endpoints: Vec<String>, bucket: &str, duration: Duration) -> Workload {
        Workload {
            endpoints,
            bucket: bucket.into(),
            keys: vec![
                ("a".to_owned(), 1536),
                ("b".to_owned(), 1536),
                ("c".to_owned(), 200_000),
                ("d".to_owned(), 200_000),
            ],
            writers: 0,
            readers: 0,
            mixed: 6,
            duration,
            credentials: (super::ACCESS_KEY.to_owned(), super::SECRET_KEY.to_owned()),
        }
    }
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Run {
    /// Every operation, with its times in nanoseconds since the run started.
    pub events: Vec<Event>,
    /// Answers no correct server gives here: 500s, unexpected statuses, torn bodies.
    pub errors: Vec<String>,
    /// `503` answers (a node or its database out of reach: retryable, expected under faults).
    pub unavailable: usize,
    /// Connections that failed (the node was killed or paused, say).
    pub dropped: usize,
}

impl Run {
    /// How many GETs answered 200 and how many 404.
    pub fn reads(&self) -> (usize, usize) {
        let mut found = (0, 0);
        for e in &self.events {
            match e.outcome {
                Outcome::Read(Some(_)) => found.0 += 1,
                Outcome::Read(None) => found.1 += 1,
                _ => {}
            }
        }
        found
    }

    /// [`Run::assert_linearizable`] (503s allowed), failing also when the checker has not
    /// decided within `limit`: a history no register explains (an acknowledged write lost, or
    /// seen out of order) can make its search very long, and that is a failure, named as such,
    /// not a hung test.
    pub fn assert_linearizable_within(self, limit: Duration, logs: String) {
        let checker = std::thread::spawn(move || self.assert_linearizable(true, &logs));
        let deadline = Instant::now() + limit;
        while !checker.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the history checker did not decide within {limit:?}: some key's history has no \
                 simple explanation (an acknowledged write lost, or seen out of order)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Err(panic) = checker.join() {
            std::panic::resume_unwind(panic);
        }
    }

    /// Panics, saying what the checker found, what the clients saw and `logs`, unless every key
    /// is linearizable, no answer was an error and (when `allow_unavailable` is false) none a 503.
    pub fn assert_linearizable(&self, allow_unavailable: bool, logs: &str) {
        let anomalies = pier_testkit::history::check(&self.events);
        let shown: Vec<String> = anomalies.iter().take(3).map(|a| a.to_string()).collect();
        let errors: Vec<&str> = self.errors.iter().take(10).map(String::as_str).collect();
        assert!(
            anomalies.is_empty()
                && self.errors.is_empty()
                && (allow_unavailable || self.unavailable == 0),
            "{}\n{} keys not linearizable:\n{}\nerrors:\n{}\nlogs:\n{logs}",
            self.summary(),
            anomalies.len(),
            shown.join("\n"),
            errors.join("\n"),
        );
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        let count = |f: &dyn Fn(&Event) -> bool| self.events.iter().filter(|e| f(e)).count();
        let (hits, misses) = self.reads();
        format!(
            "{} operations: {} GETs (200: {hits}, 404: {misses}), {} PUTs ({} done, {} 412), \
             {} DELETEs, {} unknown outcomes, {} errors, {} 503s, {} dropped connections",
            self.events.len(),
            count(&|e| e.op == Op::Get),
            count(&|e| matches!(e.op, Op::Put { .. })),
            count(&|e| matches!(e.op, Op::Put { .. }) && e.outcome == Outcome::Done),
            count(&|e| e.outcome == Outcome::PreconditionFailed),
            count(&|e| e.op == Op::Delete),
            count(&|e| e.outcome == Outcome::Unknown),
            self.errors.len(),
            self.unavailable,
            self.dropped,
        )
    }
}

/// The body written for `value` on a key with bodies of `len` bytes: a first line naming the
/// value, then bytes derived from it.
pub fn body_of(value: Value, len: usize) -> Vec<u8> {
    let mut body = format!("pier-history {value:016x} {len}\n").into_bytes();
    let rest = len.saturating_sub(body.len());
    body.extend(super::bytes(value, rest));
    body
}

/// The value a body names, if it is exactly what that value's write sent.
fn value_of(body: &[u8]) -> Result<Value, String> {
    let line_end = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
    let line = std::str::from_utf8(&body[..line_end]).map_err(|_| "not a history body")?;
    let mut fields = line.split(' ');
    let (tag, value, len) = (fields.next(), fields.next(), fields.next());
    let (Some("pier-history"), Some(value), Some(len)) = (tag, value, len) else {
        return Err(format!("not a history body: {line:?}"));
    };
    let value = Value::from_str_radix(value, 16).map_err(|_| format!("bad value in {line:?}"))?;
    let len: usize = len.parse().map_err(|_| format!("bad length in {line:?}"))?;
    if body != body_of(value, len).as_slice() {
        return Err(format!(
            "torn body: {} bytes that start as value {value:x} ({len} bytes) but differ",
            body.len()
        ));
    }
    Ok(value)
}

/// The quoted ETag a value's body gets.
fn etag_of(value: Value, len: usize) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(body_of(value, len))))
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    host: String,
    stream: Option<BufReader<TcpStream>>,
}

/// An answer: status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    fn new(endpoint: &str) -> Conn {
        Conn {
            host: endpoint.trim_start_matches("http://").to_owned(),
            stream: None,
        }
    }

    /// Sends a request and reads its answer; a failure, or the server closing the connection,
    /// drops the connection.
    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> std::io::Result<Answer> {
        let host = self.host.clone();
        let result = self
            .connect()
            .and_then(|reader| exchange(reader, &host, method, target, headers, body));
        if !matches!(result, Ok((_, false))) {
            self.stream = None;
        }
        result.map(|(answer, _)| answer)
    }

    /// The open connection, or a new one.
    fn connect(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.host)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.set_write_timeout(Some(Duration::from_secs(30)))?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        Ok(self.stream.as_mut().expect("connected above"))
    }
}

/// Writes one request on `reader`'s connection and reads its answer; true when the server
/// closes the connection after it.
fn exchange(
    reader: &mut BufReader<TcpStream>,
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<(Answer, bool)> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        host,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let s = reader.get_mut();
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(bad("connection closed before an answer"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if method == "HEAD" || status == 204 || status == 304 {
    } else if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                reader.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
        close = true;
    }
    Ok((Answer { status, body }, close))
}

/// A small deterministic generator per client.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A presigned path-and-query for `method` on `key`.
fn presigned(
    endpoint: &str,
    credentials: &(String, String),
    method: &str,
    bucket: &str,
    key: &str,
) -> String {
    let url = pier_edge::presign::presign_url(&pier_edge::presign::Presign {
        endpoint,
        method,
        bucket,
        key,
        query: Vec::new(),
        content_type: None,
        expires: 3600,
        access_key: &credentials.0,
        secret_key: &credentials.1,
        region: "us-east-1",
        now: std::time::SystemTime::now(),
    })
    .expect("presign");
    url.trim_start_matches(endpoint).to_owned()
}

/// What a client does next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
    Mixed,
}

/// The clock every run's events are timed by (so runs of one test binary can be checked as one
/// history), and the runs made so far (each run's values are its own).
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs the workload; every client's events are gathered when all have stopped.
pub fn run(w: &Workload) -> Run {
    let start = *EPOCH.get_or_init(Instant::now);
    let run_id = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let deadline = Instant::now() + w.duration;
    let out = Arc::new(Mutex::new(Run::default()));
    let roles: Vec<Role> = std::iter::repeat_n(Role::Writer, w.writers)
        .chain(std::iter::repeat_n(Role::Reader, w.readers))
        .chain(std::iter::repeat_n(Role::Mixed, w.mixed))
        .collect();
    let threads: Vec<_> = roles
        .into_iter()
        .enumerate()
        .map(|(client, role)| {
            let w = w.clone();
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let mine = client_loop(&w, (run_id, client), role, start, deadline);
                let mut out = out.lock().unwrap();
                out.events.extend(mine.events);
                out.errors.extend(mine.errors);
                out.unavailable += mine.unavailable;
                out.dropped += mine.dropped;
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    Arc::try_unwrap(out).unwrap().into_inner().unwrap()
}

fn client_loop(
    w: &Workload,
    (run_id, client): (u64, usize),
    role: Role,
    start: Instant,
    deadline: Instant,
) -> Run {
    let endpoint = &w.endpoints[client % w.endpoints.len()];
    let mut conn = Conn::new(endpoint);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((client as u64 + 1) * 0x1000_0000_01b3));
    let mut run = Run::default();
    // The last value this client saw on each key, for If-Match.
    let mut last: Vec<Option<Value>> = vec![None; w.keys.len()];
    let mut counter: u64 = 0;
    let now = || start.elapsed().as_nanos() as u64;
    while Instant::now() < deadline {
        let k = rng.below(w.keys.len() as u64) as usize;
        let (key, len) = (&w.keys[k].0, w.keys[k].1);
        let op = match role {
            Role::Writer => 0,
            Role::Reader => 50,
            Role::Mixed => rng.below(100),
        };
        counter += 1;
        let value = (run_id << 48) | ((client as u64 + 1) << 32) | counter;
        let op = match op {
            0..=24 => Op::Put {
                value,
                condition: Condition::Always,
            },
            25..=32 => Op::Put {
                value,
                condition: Condition::IfAbsent,
            },
            33..=41 => match last[k] {
                Some(v) => Op::Put {
                    value,
                    condition: Condition::IfHolds(v),
                },
                None => Op::Get,
            },
            42..=49 => Op::Delete,
            _ => Op::Get,
        };
        let (method, body, headers): (&str, Vec<u8>, Vec<(&str, String)>) = match op {
            Op::Get => ("GET", Vec::new(), Vec::new()),
            Op::Delete => ("DELETE", Vec::new(), Vec::new()),
            Op::Put { value, condition } => {
                let headers = match condition {
                    Condition::Always => Vec::new(),
                    Condition::IfAbsent => vec![("If-None-Match", "*".to_owned())],
                    Condition::IfHolds(v) => vec![("If-Match", etag_of(v, len))],
                };
                ("PUT", body_of(value, len), headers)
            }
        };
        let target = presigned(endpoint, &w.credentials, method, &w.bucket, key);
        let call = now();
        let answer = conn.send(method, &target, &headers, &body);
        let ret = now();
        let outcome = match answer {
            Err(e) => {
                run.dropped += 1;
                if run.dropped % 50 == 1 {
                    eprintln!("client {client}: {method} {key}: {e}");
                }
                // A node that is down: do not spin.
                std::thread::sleep(Duration::from_millis(20));
                Outcome::Unknown
            }
            Ok(a) => {
                let unexpected = |run: &mut Run, a: &Answer| {
                    run.errors.push(format!(
                        "client {client}: {method} {key} ({op:?}) answered {}: {}",
                        a.status,
                        String::from_utf8_lossy(&a.body[..a.body.len().min(300)])
                    ));
                    Outcome::Unknown
                };
                match (op, a.status) {
                    (Op::Get, 200) => match value_of(&a.body) {
                        Ok(v) => {
                            last[k] = Some(v);
                            Outcome::Read(Some(v))
                        }
                        Err(e) => {
                            run.errors.push(format!("client {client}: GET {key}: {e}"));
                            Outcome::Unknown
                        }
                    },
                    (Op::Get, 404) => Outcome::Read(None),
                    (Op::Put { value, .. }, 200) => {
                        last[k] = Some(value);
                        Outcome::Done
                    }
                    (Op::Put { .. }, 412) => Outcome::PreconditionFailed,
                    (
                        Op::Put {
                            condition: Condition::IfHolds(_),
                            ..
                        },
                        404,
                    ) => Outcome::Absent,
                    (Op::Delete, 204) => Outcome::Done,
                    (_, 503) => {
                        run.unavailable += 1;
                        Outcome::Unknown
                    }
                    _ => unexpected(&mut run, &a),
                }
            }
        };
        run.events.push(Event {
            key: key.clone(),
            client,
            op,
            outcome,
            call,
            ret,
        });
    }
    run
}

/// Creates `bucket` through `endpoint`.
pub fn create_bucket(endpoint: &str, credentials: &(String, String), bucket: &str) {
    let target = presigned(endpoint, credentials, "PUT", bucket, "");
    let answer = Conn::new(endpoint)
        .send("PUT", &target, &[], b"")
        .expect("create bucket");
    assert_eq!(
        answer.status,
        200,
        "create bucket: {}",
        String::from_utf8_lossy(&answer.body)
    );
}
