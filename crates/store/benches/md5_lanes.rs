//! The MD5 of several uploads at once: every stream on a thread of its own, sending 64 KiB
//! chunks, through the hashing thread's SIMD lanes (`pier_store::md5_lanes`) against each
//! thread hashing its own with `md-5` (how pier hashed large blobs before). 1 GiB in all for
//! each count of streams; prints the rate and the process's CPU seconds per GiB.
//! Run: `cargo bench -p pier-store --bench md5_lanes`.

use bytes::Bytes;
use md5::Digest as _;
use pier_store::md5_lanes::LaneStream;
use std::time::Instant;

const TOTAL: usize = 1 << 30;
const CHUNK: usize = 64 * 1024;

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Runs `hash` on `streams` threads, each over its share of [`TOTAL`] in chunks; returns
/// (MiB/s, CPU seconds per GiB).
fn measure(streams: usize, hash: fn(&Bytes, usize) -> [u8; 16]) -> (f64, f64) {
    let chunk = Bytes::from((0..CHUNK).map(|i| (i * 7 + 3) as u8).collect::<Vec<u8>>());
    let chunks = TOTAL / CHUNK / streams;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let threads: Vec<_> = (0..streams)
        .map(|_| {
            let chunk = chunk.clone();
            std::thread::spawn(move || hash(&chunk, chunks))
        })
        .collect();
    let digests: Vec<[u8; 16]> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        digests.windows(2).all(|w| w[0] == w[1]),
        "same bytes, same MD5"
    );
    let secs = start.elapsed().as_secs_f64();
    let gib = (chunks * streams * CHUNK) as f64 / TOTAL as f64;
    (gib * 1024.0 / secs, (cpu_seconds() - cpu) / gib)
}

fn in_lanes(chunk: &Bytes, chunks: usize) -> [u8; 16] {
    let mut stream = LaneStream::start(md5_many::Md5State::new()).unwrap();
    for _ in 0..chunks {
        stream.update(chunk.clone()).unwrap();
    }
    stream.finish().unwrap()
}

fn thread_each(chunk: &Bytes, chunks: usize) -> [u8; 16] {
    let mut h = md5::Md5::new();
    for _ in 0..chunks {
        h.update(chunk);
    }
    h.finalize().into()
}

fn main() {
    println!(
        "{} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for streams in [1, 2, 4, 8, 10, 16] {
        let (lanes, lanes_cpu) = measure(streams, in_lanes);
        let (each, each_cpu) = measure(streams, thread_each);
        println!(
            "{streams:>2} streams: lanes {lanes:>6.0} MiB/s ({lanes_cpu:.2} CPU s/GiB); \
             md-5, a thread each {each:>6.0} MiB/s ({each_cpu:.2} CPU s/GiB)"
        );
    }
}
