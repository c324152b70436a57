//! The MD5 of many blobs at once. A blob past [`crate::blob::MD5_LANES_AFTER`] bytes hands its
//! chunks to one hashing thread, which advances the blobs that have bytes waiting side by side,
//! in the SIMD lanes of one core (md5-many's multi-buffer engine: 8 lanes with AVX2). MD5 cannot
//! be split within a stream, so parts uploaded at once each cost a core's scalar MD5; in lanes
//! they share one core.
//!
//! - Each stream's chunks are hashed in the order it sent them. A round takes the same number
//!   of whole blocks from every stream with a block ready (lanes run in lockstep on
//!   block-aligned states); idle lanes of the group hash a copy, which costs nothing extra.
//! - A lone stream waits up to [`GATHER_WAIT`] for a second one before it is hashed alone
//!   (never when it is finishing, or when [`GATHER_BYTES`] wait).
//! - Memory is bounded: chunks wait for the thread within [`QUEUED_BYTES`] in all; a writer
//!   past it waits.
//! - A stream dropped unfinished (its blob discarded) is forgotten by the thread.
//! - If the thread dies, every stream's next call fails; none waits forever.

use bytes::{Buf as _, Bytes, BytesMut};
use md5_many::{Md5Many, Md5State};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Bytes of chunks waiting for the hashing thread, across all streams, at most (a single
/// larger chunk waits until the queue is empty).
pub const QUEUED_BYTES: usize = 16 * 1024 * 1024;

/// Bytes waiting that start a round even of one stream: chunks hashed as each arrives would
/// keep one lane busy and the others idle, but the queue must not fill.
pub const GATHER_BYTES: usize = 12 * 1024 * 1024;

/// How long one stream with blocks ready waits for a second before it is hashed alone.
pub const GATHER_WAIT: Duration = Duration::from_millis(5);

/// Streams hashed side by side in one SIMD group (AVX2's width; AVX-512 takes two groups).
const GROUP: usize = 8;

/// One blob's MD5 on the hashing thread. Drop it unfinished to forget the stream.
#[derive(Debug)]
pub struct LaneStream {
    id: u64,
    lanes: &'static Lanes,
    finished: bool,
}

impl LaneStream {
    /// Continues the MD5 `state` (the bytes hashed so far in line) on the hashing thread.
    pub fn start(state: Md5State) -> io::Result<LaneStream> {
        let lanes = lanes()?;
        let id = lanes.next_id.fetch_add(1, Ordering::Relaxed);
        lanes.send(Message::Open { id, state })?;
        Ok(LaneStream {
            id,
            lanes,
            finished: false,
        })
    }

    /// Queues `chunk` to be hashed after the stream's earlier chunks; waits while the thread
    /// has [`QUEUED_BYTES`] waiting.
    pub fn update(&mut self, chunk: Bytes) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.lanes.budget.take(chunk.len())?;
        self.lanes.send(Message::Chunk { id: self.id, chunk })
    }

    /// The MD5 of everything the stream was given, once the thread has hashed it all.
    pub fn finish(mut self) -> io::Result<[u8; 16]> {
        self.finished = true;
        let (reply, digest) = sync_channel(1);
        self.lanes.send(Message::Finish { id: self.id, reply })?;
        digest.recv().map_err(|_| stopped())
    }
}

impl Drop for LaneStream {
    fn drop(&mut self) {
        if !self.finished {
            // A stopped thread has nothing left to forget.
            let _ = self.lanes.send(Message::Abandon { id: self.id });
        }
    }
}

/// The hashing thread's door: its queue, the byte budget of that queue, stream ids.
#[derive(Debug)]
struct Lanes {
    messages: Sender<Message>,
    budget: Arc<Budget>,
    next_id: AtomicU64,
}

impl Lanes {
    fn send(&self, message: Message) -> io::Result<()> {
        self.messages.send(message).map_err(|_| stopped())
    }
}

#[derive(Debug)]
enum Message {
    Open {
        id: u64,
        state: Md5State,
    },
    Chunk {
        id: u64,
        chunk: Bytes,
    },
    Finish {
        id: u64,
        reply: SyncSender<[u8; 16]>,
    },
    Abandon {
        id: u64,
    },
}

fn stopped() -> io::Error {
    io::Error::other("the MD5 hashing thread stopped")
}

/// The process's hashing thread, started on first use.
fn lanes() -> io::Result<&'static Lanes> {
    static LANES: OnceLock<Result<Lanes, String>> = OnceLock::new();
    LANES
        .get_or_init(|| {
            let (tx, rx) = channel();
            let budget = Arc::new(Budget::default());
            let theirs = budget.clone();
            std::thread::Builder::new()
                .name("pier-md5-lanes".into())
                .spawn(move || run(rx, &theirs))
                .map_err(|e| format!("the MD5 hashing thread did not start: {e}"))?;
            Ok(Lanes {
                messages: tx,
                budget,
                next_id: AtomicU64::new(0),
            })
        })
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))
}

/// Bytes queued for the thread, and whether it still runs.
#[derive(Debug, Default)]
struct Budget {
    state: Mutex<(usize, bool)>,
    freed: Condvar,
}

impl Budget {
    /// Waits until `len` more bytes fit (or the queue is empty), then counts them.
    fn take(&self, len: usize) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let (queued, stopped_) = *state;
            if stopped_ {
                return Err(stopped());
            }
            if queued == 0 || queued + len <= QUEUED_BYTES {
                state.0 += len;
                return Ok(());
            }
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Bytes sent to the thread and not yet hashed.
    fn queued(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    fn give_back(&self, len: usize) {
        if len == 0 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = state.0.saturating_sub(len);
        self.freed.notify_all();
    }

    fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 = true;
        self.freed.notify_all();
    }
}

/// Marks the budget stopped when the thread ends, by return or by panic, so no writer waits
/// for it forever.
struct StopOnExit<'a>(&'a Budget);

impl Drop for StopOnExit<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// One stream on the thread: its state, its chunks not yet hashed, and where to send its digest
/// once they are.
struct Stream {
    state: Md5State,
    chunks: VecDeque<Bytes>,
    finish: Option<SyncSender<[u8; 16]>>,
}

impl Stream {
    /// Readies the stream for a round: hashes in line the bytes that end the state's partial
    /// block (a stream opened mid-block), and makes a first chunk shorter than a block whole by
    /// copying in the bytes that follow it, so rounds hash whole blocks of aligned states.
    /// Returns the bytes hashed in line.
    fn prepare(&mut self) -> usize {
        let mut hashed = 0;
        while let Some(front) = self.chunks.front_mut() {
            if front.is_empty() {
                self.chunks.pop_front();
                continue;
            }
            let partial = (self.state.bytes_hashed() % 64) as usize;
            if partial != 0 {
                let k = (64 - partial).min(front.len());
                self.state.update(&front[..k]);
                front.advance(k);
                hashed += k;
                continue;
            }
            if front.len() >= 64 || self.chunks.len() == 1 {
                break;
            }
            let mut block = BytesMut::with_capacity(64);
            while block.len() < 64 {
                let Some(next) = self.chunks.front_mut() else {
                    break;
                };
                let k = (64 - block.len()).min(next.len());
                block.extend_from_slice(&next[..k]);
                next.advance(k);
                if next.is_empty() {
                    self.chunks.pop_front();
                }
            }
            self.chunks.push_front(block.freeze());
        }
        hashed
    }

    /// Whole blocks ready for a round (after [`Stream::prepare`]): the first chunk's, rounded
    /// down to a block.
    fn ready(&self) -> usize {
        self.chunks.front().map_or(0, |c| c.len() - c.len() % 64)
    }

    /// Bytes not yet hashed.
    fn waiting(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }
}

/// The hashing thread. A round hashes whole blocks of every stream with one ready; it runs when
/// at least two streams have blocks ready (their lanes share the cost of one group), when a
/// stream waits to finish, when [`GATHER_BYTES`] wait, or once the one ready stream has waited
/// [`GATHER_WAIT`] for company. Messages that arrive meanwhile are taken between rounds.
fn run(messages: Receiver<Message>, budget: &Budget) {
    let _stop = StopOnExit(budget);
    let engine = Md5Many::new();
    let mut streams: HashMap<u64, Stream> = HashMap::new();
    let mut round = Round::default();
    while let Ok(first) = messages.recv() {
        take(&mut streams, first, budget);
        let mut deadline = Instant::now() + GATHER_WAIT;
        loop {
            while let Ok(message) = messages.try_recv() {
                take(&mut streams, message, budget);
            }
            let in_line = answer_finished(&mut streams) + round.prepare(&mut streams);
            budget.give_back(in_line);
            let ready = round.ids.len();
            if ready == 0 {
                if in_line == 0 {
                    break;
                }
                continue;
            }
            let now = Instant::now();
            let finishing = round.ids.iter().any(|id| streams[id].finish.is_some());
            if ready < 2 && !finishing && budget.queued() < GATHER_BYTES && now < deadline {
                if let Ok(message) = messages.recv_timeout(deadline - now) {
                    take(&mut streams, message, budget);
                }
                continue;
            }
            if ready >= 2 {
                deadline = now + GATHER_WAIT;
            }
            budget.give_back(round.hash(&engine, &mut streams));
        }
    }
}

fn take(streams: &mut HashMap<u64, Stream>, message: Message, budget: &Budget) {
    match message {
        Message::Open { id, state } => {
            streams.insert(
                id,
                Stream {
                    state,
                    chunks: VecDeque::new(),
                    finish: None,
                },
            );
        }
        Message::Chunk { id, chunk } => match streams.get_mut(&id) {
            Some(stream) => stream.chunks.push_back(chunk),
            None => budget.give_back(chunk.len()),
        },
        Message::Finish { id, reply } => {
            if let Some(stream) = streams.get_mut(&id) {
                stream.finish = Some(reply);
            }
        }
        Message::Abandon { id } => {
            if let Some(stream) = streams.remove(&id) {
                budget.give_back(stream.waiting());
            }
        }
    }
}

/// Sends the digest of every stream that asked for it and has no whole block left to hash (its
/// last partial block is hashed in line). Returns the bytes hashed in line.
fn answer_finished(streams: &mut HashMap<u64, Stream>) -> usize {
    let mut hashed = 0;
    streams.retain(|_, stream| match &stream.finish {
        Some(reply) if stream.chunks.len() <= 1 && stream.ready() == 0 => {
            if let Some(tail) = stream.chunks.pop_front() {
                stream.state.update(&tail);
                hashed += tail.len();
            }
            // A writer that stopped waiting has nothing to receive.
            let _ = reply.send(stream.state.finalize());
            false
        }
        _ => true,
    });
    hashed
}

/// The scratch space of one round, kept between rounds.
#[derive(Default)]
struct Round {
    ids: Vec<u64>,
    states: Vec<Md5State>,
    slices: Vec<Bytes>,
}

impl Round {
    /// Readies every stream ([`Stream::prepare`]) and lists those with a block ready. Returns
    /// the bytes hashed in line on the way.
    fn prepare(&mut self, streams: &mut HashMap<u64, Stream>) -> usize {
        let mut hashed = 0;
        self.ids.clear();
        for (id, stream) in streams.iter_mut() {
            hashed += stream.prepare();
            if stream.ready() > 0 {
                self.ids.push(*id);
            }
        }
        hashed
    }

    /// Hashes the same number of whole blocks (the fewest any has ready) from every stream
    /// [`Round::prepare`] listed, side by side. Returns the bytes hashed.
    fn hash(&mut self, engine: &Md5Many, streams: &mut HashMap<u64, Stream>) -> usize {
        let Some(len) = self.ids.iter().map(|id| streams[id].ready()).min() else {
            return 0;
        };
        self.states.clear();
        self.slices.clear();
        for id in &self.ids {
            let s = &streams[id];
            self.states.push(s.state);
            self.slices.push(s.chunks[0].slice(..len));
        }
        let real = self.ids.len();
        if real > 1 {
            // Idle lanes of the last group hash a copy: the group costs the same either way.
            let width = real.div_ceil(GROUP) * GROUP;
            let (state, slice) = (self.states[0], self.slices[0].clone());
            self.states.resize(width, state);
            self.slices.resize(width, slice);
        }
        let inputs: Vec<&[u8]> = self.slices.iter().map(|b| &b[..]).collect();
        engine.update_many(&mut self.states, &inputs);
        for (i, id) in self.ids.iter().enumerate() {
            let s = streams.get_mut(id).expect("listed above");
            s.state = self.states[i];
            s.chunks[0].advance(len);
            if s.chunks[0].is_empty() {
                s.chunks.pop_front();
            }
        }
        len * real
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;

    fn data(len: usize, seed: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 31 + seed * 7) % 251) as u8)
            .collect()
    }

    fn hex(d: impl AsRef<[u8]>) -> String {
        hex::encode(d)
    }

    /// Every stream's chunks, of sizes that do and do not end on a block, sent from threads
    /// of their own, hash to what `md-5` computes over the same bytes.
    #[test]
    fn streams_hashed_side_by_side_match_md5() {
        let sizes = [1usize, 63, 64, 65, 4096, 70_001, 1 << 20];
        let handles: Vec<_> = (0..12)
            .map(|n| {
                std::thread::spawn(move || {
                    let bytes = data(1_500_000 + n * 4_321, n);
                    let mut head = Md5State::new();
                    head.update(&bytes[..1000 + n]);
                    let mut stream = LaneStream::start(head).unwrap();
                    let mut at = 1000 + n;
                    let mut i = n;
                    while at < bytes.len() {
                        let end = (at + sizes[i % sizes.len()]).min(bytes.len());
                        stream
                            .update(Bytes::copy_from_slice(&bytes[at..end]))
                            .unwrap();
                        at = end;
                        i += 1;
                    }
                    (hex(stream.finish().unwrap()), hex(md5::Md5::digest(&bytes)))
                })
            })
            .collect();
        for h in handles {
            let (lanes, reference) = h.join().unwrap();
            assert_eq!(lanes, reference);
        }
    }

    #[test]
    fn a_stream_given_nothing_more_is_its_head_md5() {
        let mut head = Md5State::new();
        head.update(b"abc");
        let stream = LaneStream::start(head).unwrap();
        assert_eq!(
            hex(stream.finish().unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn an_abandoned_stream_leaves_the_others_whole() {
        let bytes = data(2_000_000, 3);
        let mut kept = LaneStream::start(Md5State::new()).unwrap();
        let mut dropped = LaneStream::start(Md5State::new()).unwrap();
        for chunk in bytes.chunks(100_000) {
            kept.update(Bytes::copy_from_slice(chunk)).unwrap();
            dropped.update(Bytes::copy_from_slice(chunk)).unwrap();
        }
        drop(dropped);
        assert_eq!(hex(kept.finish().unwrap()), hex(md5::Md5::digest(&bytes)));
    }

    /// The queue's bytes are given back as they are hashed and when a stream is abandoned,
    /// so writers never wait on bytes that are gone (this fails by hanging).
    #[test]
    fn more_than_the_queue_holds_passes_through() {
        let chunk = Bytes::from(vec![5u8; 1 << 20]);
        let mut stream = LaneStream::start(Md5State::new()).unwrap();
        let mut reference = md5::Md5::new();
        for _ in 0..((3 * QUEUED_BYTES) >> 20) {
            stream.update(chunk.clone()).unwrap();
            reference.update(&chunk);
        }
        for _ in 0..3 {
            let mut gone = LaneStream::start(Md5State::new()).unwrap();
            for _ in 0..(QUEUED_BYTES >> 21) {
                gone.update(chunk.clone()).unwrap();
            }
        }
        assert_eq!(hex(stream.finish().unwrap()), hex(reference.finalize()));
    }
}
