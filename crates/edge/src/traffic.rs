//! Traffic over time, kept in memory for the console's charts: requests by API and status
//! class, bytes in and out, refused CORS requests and access decisions, and latency, in
//! 10-second slots for the last hour and 1-minute slots for the last day, overall and for the
//! busiest buckets. Nothing is stored: a restart starts the charts empty.
//!
//! Recording takes one short lock and a few additions; memory is fixed (about 320 KB overall,
//! about 60 KB for each of at most [`MAX_BUCKETS`] buckets, the first ones seen that exist: a
//! request naming a bucket that does not exist never takes one of their places).

use crate::exchange::{CorsVerdict, Exchange};
use std::collections::HashMap;
use std::sync::Mutex;

/// The APIs a request is counted under, in this order.
pub const APIS: [&str; 4] = ["s3", "b2", "website", "pier"];

/// Upper bounds (milliseconds) of the latency buckets; the last bucket holds everything slower.
const LATENCY_BOUNDS_MS: [f64; 15] = [
    0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Buckets with charts of their own; requests to others count only overall.
pub const MAX_BUCKETS: usize = 64;

/// A time window the charts show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last hour, in 10-second slots.
    Hour,
    /// The last day, in 1-minute slots.
    Day,
}

impl Window {
    /// Seconds per slot.
    pub fn slot_secs(self) -> i64 {
        match self {
            Window::Hour => 10,
            Window::Day => 60,
        }
    }

    /// Slots in the window.
    pub fn slots(self) -> usize {
        match self {
            Window::Hour => 360,
            Window::Day => 1440,
        }
    }
}

/// What one slot counted, overall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// Requests by API ([`APIS`] order).
    pub by_api: [u64; 4],
    /// Requests by status class: 1xx/2xx, 3xx, 4xx, 5xx.
    pub by_class: [u64; 4],
    /// Request body bytes.
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
    /// Requests the CORS layer refused.
    pub cors_refused: u64,
    /// Requests answered 401 or 403 (refused by the access engine, or by a cap).
    pub access_refused: u64,
    /// Requests by latency bucket.
    latency: [u32; 16],
}

impl Slot {
    /// Every request of the slot.
    pub fn requests(&self) -> u64 {
        self.by_class.iter().sum()
    }

    /// Requests answered 4xx or 5xx.
    pub fn errors(&self) -> u64 {
        self.by_class[2] + self.by_class[3]
    }

    /// The latency (milliseconds) under which a fraction `q` of the slot's requests finished:
    /// the upper bound of the bucket it falls in; `None` without requests.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.latency.iter().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.latency.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some(LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(8192.0));
            }
        }
        None
    }

    /// The sum of two slots (for coarser tables).
    pub fn plus(mut self, other: &Slot) -> Slot {
        for i in 0..4 {
            self.by_api[i] += other.by_api[i];
            self.by_class[i] += other.by_class[i];
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.cors_refused += other.cors_refused;
        self.access_refused += other.access_refused;
        for i in 0..16 {
            self.latency[i] += other.latency[i];
        }
        self
    }
}

/// What one slot counted for one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketSlot {
    /// Requests.
    pub requests: u64,
    /// Requests answered 4xx or 5xx.
    pub errors: u64,
    /// Request body bytes.
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
}

/// A ring of slots, each tagged with the slot number (time / slot length) it holds.
#[derive(Debug)]
struct Ring<T> {
    slots: Vec<(i64, T)>,
}

impl<T: Default + Copy> Ring<T> {
    fn new(len: usize) -> Ring<T> {
        Ring {
            slots: vec![(i64::MIN, T::default()); len],
        }
    }

    /// The slot for slot number `n`, emptied first if it held an older one.
    fn at(&mut self, n: i64) -> &mut T {
        let len = self.slots.len() as i64;
        let entry = &mut self.slots[n.rem_euclid(len) as usize];
        if entry.0 != n {
            *entry = (n, T::default());
        }
        &mut entry.1
    }

    /// The `len` slots ending with number `last`, oldest first (empty where nothing counted).
    fn series(&self, last: i64) -> Vec<T> {
        let len = self.slots.len() as i64;
        (last - len + 1..=last)
            .map(|n| {
                let (tag, slot) = self.slots[n.rem_euclid(len) as usize];
                if tag == n {
                    slot
                } else {
                    T::default()
                }
            })
            .collect()
    }
}

#[derive(Debug)]
struct Rings<T> {
    hour: Ring<T>,
    day: Ring<T>,
}

impl<T: Default + Copy> Rings<T> {
    fn new() -> Rings<T> {
        Rings {
            hour: Ring::new(Window::Hour.slots()),
            day: Ring::new(Window::Day.slots()),
        }
    }

    fn ring(&self, window: Window) -> &Ring<T> {
        match window {
            Window::Hour => &self.hour,
            Window::Day => &self.day,
        }
    }

    /// Adds to the slot of each window that holds `now_ms`.
    fn count(&mut self, now_ms: i64, add: impl Fn(&mut T)) {
        for (window, ring) in [(Window::Hour, &mut self.hour), (Window::Day, &mut self.day)] {
            add(ring.at(now_ms.div_euclid(window.slot_secs() * 1000)));
        }
    }
}

#[derive(Debug)]
struct State {
    overall: Rings<Slot>,
    buckets: HashMap<String, Rings<BucketSlot>>,
}

/// The traffic of one server. Shared by the front (which records) and the console (which
/// reads).
#[derive(Debug)]
pub struct Traffic {
    state: Mutex<State>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic::new()
    }
}

/// A window's series, oldest slot first: when its last slot began, and its slots.
#[derive(Clone, Debug)]
pub struct Series<T> {
    /// The window.
    pub window: Window,
    /// When the newest slot began (milliseconds since the epoch).
    pub last_start_ms: i64,
    /// The slots, oldest first.
    pub slots: Vec<T>,
}

impl Traffic {
    /// Empty charts.
    pub fn new() -> Traffic {
        Traffic {
            state: Mutex::new(State {
                overall: Rings::new(),
                buckets: HashMap::new(),
            }),
        }
    }

    /// Counts a request that finished at `now_ms`. Its bucket gets charts of its own (while
    /// fewer than [`MAX_BUCKETS`] have them) only if `exists` says it is one: asked, without
    /// the lock held, for a name that has no charts yet while places are free (a name that is
    /// no bucket is not remembered, so it is asked again each time).
    pub fn record_at(&self, now_ms: i64, r: &Exchange<'_>, exists: impl FnOnce(&str) -> bool) {
        let api = APIS.iter().position(|a| *a == r.api).unwrap_or(3);
        let class = match r.status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        let ms = r.duration.as_secs_f64() * 1000.0;
        let latency = LATENCY_BOUNDS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(15);
        let refused = matches!(r.status, 401 | 403);
        let in_bucket = |slot: &mut BucketSlot| {
            slot.requests += 1;
            slot.errors += u64::from(class >= 2);
            slot.bytes_in += r.bytes_in;
            slot.bytes_out += r.bytes_out;
        };
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.overall.count(now_ms, |slot| {
                slot.by_api[api] += 1;
                slot.by_class[class] += 1;
                slot.bytes_in += r.bytes_in;
                slot.bytes_out += r.bytes_out;
                slot.cors_refused += u64::from(r.cors == CorsVerdict::Refused);
                slot.access_refused += u64::from(refused);
                slot.latency[latency] += 1;
            });
            let Some(bucket) = r.bucket else {
                return;
            };
            if let Some(rings) = state.buckets.get_mut(bucket) {
                rings.count(now_ms, in_bucket);
                return;
            }
            if state.buckets.len() >= MAX_BUCKETS {
                return;
            }
        }
        let Some(bucket) = r.bucket.filter(|b| exists(b)) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.buckets.contains_key(bucket) && state.buckets.len() >= MAX_BUCKETS {
            return;
        }
        state
            .buckets
            .entry(bucket.to_owned())
            .or_insert_with(Rings::new)
            .count(now_ms, in_bucket);
    }

    /// Counts a request that finished now ([`Traffic::record_at`]).
    pub fn record(&self, r: &Exchange<'_>, exists: impl FnOnce(&str) -> bool) {
        self.record_at(now_ms(), r, exists);
    }

    /// The overall series of `window` ending at `now_ms`.
    pub fn overall_at(&self, now_ms: i64, window: Window) -> Series<Slot> {
        let last = now_ms.div_euclid(window.slot_secs() * 1000);
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Series {
            window,
            last_start_ms: last * window.slot_secs() * 1000,
            slots: state.overall.ring(window).series(last),
        }
    }

    /// A bucket's series of `window` ending at `now_ms` (all empty for a bucket not tracked).
    pub fn bucket_at(&self, now_ms: i64, window: Window, bucket: &str) -> Series<BucketSlot> {
        let last = now_ms.div_euclid(window.slot_secs() * 1000);
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Series {
            window,
            last_start_ms: last * window.slot_secs() * 1000,
            slots: match state.buckets.get(bucket) {
                Some(rings) => rings.ring(window).series(last),
                None => vec![BucketSlot::default(); window.slots()],
            },
        }
    }

    /// The overall series of `window` ending now.
    pub fn overall(&self, window: Window) -> Series<Slot> {
        self.overall_at(now_ms(), window)
    }

    /// A bucket's series of `window` ending now.
    pub fn bucket(&self, window: Window, bucket: &str) -> Series<BucketSlot> {
        self.bucket_at(now_ms(), window, bucket)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(status: u16, ms: u64, bucket: Option<&str>) -> Exchange<'_> {
        Exchange {
            api: "s3",
            operation: "GetObject",
            bucket,
            status,
            bytes_in: 10,
            bytes_out: 100,
            duration: Duration::from_millis(ms),
            cors: CorsVerdict::NotCors,
        }
    }

    #[test]
    fn requests_land_in_their_slot_and_class() {
        let t = Traffic::new();
        let now = 1_000_000_000_000;
        t.record_at(now, &request(200, 1, None), |_| true);
        t.record_at(now, &request(404, 1, None), |_| true);
        t.record_at(now - 10_000, &request(503, 1, None), |_| true);
        t.record_at(now, &request(403, 1, None), |_| true);
        let hour = t.overall_at(now, Window::Hour);
        assert_eq!(hour.slots.len(), 360);
        let last = hour.slots[359];
        assert_eq!(last.by_class, [1, 0, 2, 0]);
        assert_eq!(
            (last.bytes_in, last.bytes_out, last.access_refused),
            (30, 300, 1)
        );
        assert_eq!(hour.slots[358].by_class, [0, 0, 0, 1]);
        // The day's minute holds all four.
        assert_eq!(t.overall_at(now, Window::Day).slots[1439].requests(), 4);
    }

    #[test]
    fn old_slots_are_forgotten_when_their_place_comes_round() {
        let t = Traffic::new();
        let now = 1_000_000_000_000;
        t.record_at(now - 3_600_000, &request(200, 1, None), |_| true); // an hour ago: out of the window
        let hour = t.overall_at(now, Window::Hour);
        assert_eq!(hour.slots.iter().map(Slot::requests).sum::<u64>(), 0);
        t.record_at(now, &request(200, 1, None), |_| true); // the same place in the ring
        let hour = t.overall_at(now, Window::Hour);
        assert_eq!(hour.slots.iter().map(Slot::requests).sum::<u64>(), 1);
    }

    #[test]
    fn latency_quantiles_come_from_the_buckets() {
        let t = Traffic::new();
        let now = 1_000_000_000_000;
        for _ in 0..98 {
            t.record_at(now, &request(200, 1, None), |_| true);
        }
        t.record_at(now, &request(200, 300, None), |_| true);
        t.record_at(now, &request(200, 300, None), |_| true);
        let slot = t.overall_at(now, Window::Hour).slots[359];
        assert_eq!(slot.latency_quantile(0.5), Some(1.0));
        assert_eq!(slot.latency_quantile(0.99), Some(512.0));
        assert_eq!(Slot::default().latency_quantile(0.5), None);
    }

    #[test]
    fn buckets_are_tracked_up_to_the_limit() {
        let t = Traffic::new();
        let now = 1_000_000_000_000;
        let names: Vec<String> = (0..MAX_BUCKETS + 5).map(|i| format!("b{i}")).collect();
        // Names that are no bucket never take a place.
        t.record_at(now, &request(404, 1, Some("no-such-bucket")), |_| false);
        for name in &names {
            t.record_at(now, &request(500, 1, Some(name)), |_| true);
        }
        let first = t.bucket_at(now, Window::Hour, "b0").slots[359];
        assert_eq!((first.requests, first.errors), (1, 1));
        let beyond = t
            .bucket_at(now, Window::Hour, &names[MAX_BUCKETS + 1])
            .slots[359];
        assert_eq!(beyond.requests, 0);
        assert_eq!(
            t.bucket_at(now, Window::Hour, "no-such-bucket").slots[359].requests,
            0
        );
        // Overall counts them all.
        assert_eq!(
            t.overall_at(now, Window::Hour).slots[359].requests(),
            names.len() as u64 + 1
        );
    }
}
