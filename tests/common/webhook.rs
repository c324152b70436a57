//! A webhook receiver on loopback for the event tests: a real HTTP/1.1 server (keep-alive, one
//! thread per connection) that records every POST, answers 200, and checks nothing itself: the
//! tests check the signature, the payload and the counts.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One POST received.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Header names (lowercased) and values.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl Delivery {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's `events` (B2's payload) or `Records` (S3's).
    pub fn events(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("a JSON body");
        let list = if v.get("Records").is_some() {
            &v["Records"]
        } else {
            &v["events"]
        };
        list.as_array().cloned().unwrap_or_default()
    }
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    /// Starts one on a free port.
    pub fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts one on `port` (one chosen earlier, while nothing listened).
    pub fn start_on(port: u16) -> Receiver {
        Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let sink = Arc::clone(&got);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || serve(conn, &sink));
            }
        });
        Receiver { url, got }
    }

    /// What arrived so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// Every event received so far, in arrival order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.deliveries()
            .iter()
            .flat_map(Delivery::events)
            .collect()
    }

    /// Waits (up to `limit`) until `done` holds for the events received; panics with them if not.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&[serde_json::Value]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let events = self.events();
            if done(&events) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; events so far: {:#?}",
                events
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(mut conn: TcpStream, sink: &Mutex<Vec<Delivery>>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0u8; 8192];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            let mut chunk = [0u8; 8192];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end + 4..head_end + 4 + len].to_vec();
        buf.drain(..head_end + 4 + len);
        sink.lock().unwrap().push(Delivery { headers, body });
        if conn
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}
