//! A linearizability checker for histories of S3 operations on keys, each key a register.
//!
//! A test records every operation it made: when it was invoked, when its answer came back, and
//! what the answer was ([`Event`]). [`check`] then asks, key by key, whether some order of the
//! operations exists that (1) puts each operation at one instant between its invocation and its
//! answer and (2) explains every answer by a register that the writes set in that order. That is
//! linearizability, the promise behind S3's "strong read-after-write consistency".
//!
//! The search is Wing and Gong's, with Lowe's memoization of (operations linearized, state) as
//! Knossos and Porcupine use it. An operation whose answer never came (a timeout, a dropped
//! connection, a 5xx) may have happened or not: it is given an answer at the end of time, which
//! lets the search place it anywhere after its invocation, including after everything else (the
//! same as never). Reads that got no answer say nothing and are left out.

use std::collections::{HashMap, HashSet};

/// A value written to a key: the test makes each write's value unique, so a read names the
/// write it saw.
pub type Value = u64;

/// What an operation asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// PUT of a new value, with a condition.
    Put {
        /// The value written.
        value: Value,
        /// `If-None-Match` / `If-Match`.
        condition: Condition,
    },
    /// GET of the key.
    Get,
    /// DELETE of the key (an unversioned bucket: the key is gone afterwards).
    Delete,
}

/// A PUT's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// None.
    Always,
    /// `If-None-Match: *`: only when the key is absent.
    IfAbsent,
    /// `If-Match: ETAG-OF(value)`: only when the key holds that value.
    IfHolds(Value),
}

/// What came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A write or delete succeeded.
    Done,
    /// 412: a PUT's condition did not hold.
    PreconditionFailed,
    /// 404 to a conditional PUT that needs the key (`If-Match` on an absent key).
    Absent,
    /// A GET's answer: the value read, or `None` for 404.
    Read(Option<Value>),
    /// No answer (timeout, reset, 5xx): the write may or may not have happened.
    Unknown,
}

/// One operation on one key, with its invocation and answer times (any monotonic unit, the same
/// clock for every event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The key.
    pub key: String,
    /// Which client made it (for reports).
    pub client: usize,
    /// What was asked.
    pub op: Op,
    /// What came back.
    pub outcome: Outcome,
    /// When it was sent.
    pub call: u64,
    /// When the answer arrived.
    pub ret: u64,
}

/// A key whose history no register explains.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// The key.
    pub key: String,
    /// The operations around the point where every order failed, in invocation order.
    pub around: Vec<Event>,
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "key {:?}: no order of these explains the answers:",
            self.key
        )?;
        for e in &self.around {
            let ret = if e.ret == u64::MAX {
                "never".to_owned()
            } else {
                e.ret.to_string()
            };
            writeln!(
                f,
                "  client {} [{} .. {}] {:?} -> {:?}",
                e.client, e.call, ret, e.op, e.outcome
            )?;
        }
        Ok(())
    }
}

/// The register's next state after `op` answered `outcome` in `state`, or `None` when that
/// answer is impossible there.
fn step(state: Option<Value>, op: Op, outcome: Outcome) -> Option<Option<Value>> {
    match (op, outcome) {
        (Op::Get, Outcome::Read(seen)) => (seen == state).then_some(state),
        (Op::Get, _) => None,
        (Op::Delete, Outcome::Done | Outcome::Unknown) => Some(None),
        (Op::Delete, _) => None,
        (Op::Put { value, condition }, outcome) => {
            let holds = match condition {
                Condition::Always => true,
                Condition::IfAbsent => state.is_none(),
                Condition::IfHolds(v) => state == Some(v),
            };
            match outcome {
                Outcome::Done => holds.then_some(Some(value)),
                Outcome::Unknown => Some(if holds { Some(value) } else { state }),
                Outcome::PreconditionFailed => match condition {
                    Condition::IfHolds(_) => (!holds && state.is_some()).then_some(state),
                    _ => (!holds).then_some(state),
                },
                Outcome::Absent => {
                    (matches!(condition, Condition::IfHolds(_)) && state.is_none()).then_some(state)
                }
                Outcome::Read(_) => None,
            }
        }
    }
}

/// Checks every key's history (keys start absent); returns the keys no order explains.
pub fn check(events: &[Event]) -> Vec<Anomaly> {
    let mut by_key: HashMap<String, Vec<Event>> = HashMap::new();
    for e in events {
        // A read that got no answer says nothing.
        if e.op == Op::Get && e.outcome == Outcome::Unknown {
            continue;
        }
        let mut e = e.clone();
        if e.outcome == Outcome::Unknown {
            e.ret = u64::MAX;
        }
        by_key.entry(e.key.clone()).or_default().push(e);
    }
    let mut keys: Vec<&String> = by_key.keys().collect();
    keys.sort();
    keys.into_iter()
        .filter_map(|k| {
            let ops = &by_key[k];
            // Fast path: an unanswered write whose value no answer ever showed can always go
            // after everything else (nothing observes what it left), so leaving it out decides
            // the same, without the search trying it at every point in between. Only a history
            // that fails without them is searched again with them (a 412 that only such a
            // write explains, say).
            let observed = observed_values(ops);
            let reduced: Vec<Event> = ops
                .iter()
                .filter(|e| !unobserved_unknown_write(e, &observed))
                .cloned()
                .collect();
            if reduced.len() < ops.len() && check_key(k, &reduced).is_none() {
                return None;
            }
            check_key(k, ops)
        })
        .collect()
}

/// Every value some answer showed: read by a GET, or named by a conditional PUT that succeeded.
fn observed_values(ops: &[Event]) -> HashSet<Value> {
    let mut seen = HashSet::new();
    for e in ops {
        match (e.op, e.outcome) {
            (Op::Get, Outcome::Read(Some(v))) => {
                seen.insert(v);
            }
            (
                Op::Put {
                    condition: Condition::IfHolds(v),
                    ..
                },
                Outcome::Done,
            ) => {
                seen.insert(v);
            }
            _ => {}
        }
    }
    seen
}

/// A PUT without an answer whose value nothing showed.
fn unobserved_unknown_write(e: &Event, observed: &HashSet<Value>) -> bool {
    matches!(e.op, Op::Put { value, .. } if e.outcome == Outcome::Unknown && !observed.contains(&value))
}

/// One entry of the search's list: an operation's call or its return.
#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call, the index of its return entry.
    partner: usize,
    prev: usize,
    next: usize,
}

/// The search over one key's operations; `None` when some order explains them.
fn check_key(key: &str, ops: &[Event]) -> Option<Anomaly> {
    let n = ops.len();
    if n == 0 {
        return None;
    }
    // Entries sorted by time; at equal times calls come before returns (touching intervals
    // overlap, which only widens what is allowed).
    let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, e) in ops.iter().enumerate() {
        order.push((e.call, true, i));
        order.push((e.ret, false, i));
    }
    order.sort_by_key(|&(t, is_call, i)| (t, !is_call, i));
    // Entry 0 is the head sentinel; entries 1..=2n follow in time order.
    let head = 0;
    let mut entries = vec![
        Entry {
            op: usize::MAX,
            is_call: false,
            partner: 0,
            prev: 0,
            next: 1,
        };
        2 * n + 1
    ];
    let mut return_of = vec![0; n];
    for (pos, &(_, is_call, op)) in order.iter().enumerate() {
        let idx = pos + 1;
        entries[idx] = Entry {
            op,
            is_call,
            partner: 0,
            prev: idx - 1,
            next: if idx == 2 * n { usize::MAX } else { idx + 1 },
        };
        if !is_call {
            return_of[op] = idx;
        }
    }
    for idx in 1..=2 * n {
        if entries[idx].is_call {
            entries[idx].partner = return_of[entries[idx].op];
        }
    }
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut state: Option<Value> = None;
    let mut seen: HashSet<(Vec<u64>, Option<Value>)> = HashSet::new();
    let mut stack: Vec<(usize, Option<Value>)> = Vec::new();
    let mut entry = entries[head].next;
    // Where the search got furthest, for the report.
    let mut deepest = (0usize, 0usize);
    let lift = |entries: &mut Vec<Entry>, call: usize| {
        let ret = entries[call].partner;
        let (p, nx) = (entries[call].prev, entries[call].next);
        entries[p].next = nx;
        if nx != usize::MAX {
            entries[nx].prev = p;
        }
        let (p, nx) = (entries[ret].prev, entries[ret].next);
        entries[p].next = nx;
        if nx != usize::MAX {
            entries[nx].prev = p;
        }
    };
    let unlift = |entries: &mut Vec<Entry>, call: usize| {
        let ret = entries[call].partner;
        let (p, nx) = (entries[ret].prev, entries[ret].next);
        entries[p].next = ret;
        if nx != usize::MAX {
            entries[nx].prev = ret;
        }
        let (p, nx) = (entries[call].prev, entries[call].next);
        entries[p].next = call;
        if nx != usize::MAX {
            entries[nx].prev = call;
        }
    };
    while entries[head].next != usize::MAX {
        if entry == usize::MAX {
            // Only unknown-outcome operations' returns remain past here; cannot happen while
            // calls remain, since every return follows its call.
            break;
        }
        let e = entries[entry];
        if e.is_call {
            let op = &ops[e.op];
            if let Some(next_state) = step(state, op.op, op.outcome) {
                let mut next_lin = linearized.clone();
                next_lin[e.op / 64] |= 1 << (e.op % 64);
                if seen.insert((next_lin.clone(), next_state)) {
                    stack.push((entry, state));
                    state = next_state;
                    linearized = next_lin;
                    lift(&mut entries, entry);
                    if stack.len() > deepest.0 {
                        deepest = (stack.len(), entries[head].next);
                    }
                    entry = entries[head].next;
                    continue;
                }
            }
            entry = e.next;
        } else {
            // The earliest pending return: nothing before it can be linearized any more.
            let Some((call, prior)) = stack.pop() else {
                return Some(report(key, ops, &entries, deepest.1));
            };
            state = prior;
            let op = entries[call].op;
            linearized[op / 64] &= !(1 << (op % 64));
            unlift(&mut entries, call);
            entry = entries[call].next;
        }
    }
    None
}

/// The operations overlapping the one whose return the search could not get past.
fn report(key: &str, ops: &[Event], entries: &[Entry], stuck_at: usize) -> Anomaly {
    let stuck = entries
        .get(stuck_at)
        .filter(|e| e.op != usize::MAX)
        .map(|e| &ops[e.op]);
    let mut around: Vec<Event> = match stuck {
        Some(s) => {
            let (from, to) = (s.call, s.ret);
            // Everything overlapping the stuck operation, and the writes just before it.
            let mut near: Vec<Event> = ops
                .iter()
                .filter(|o| o.ret >= from.saturating_sub(1) && o.call <= to)
                .cloned()
                .collect();
            let mut before: Vec<&Event> = ops.iter().filter(|o| o.ret < from).collect();
            before.sort_by_key(|o| o.ret);
            near.extend(before.into_iter().rev().take(4).cloned());
            near
        }
        None => ops.iter().take(20).cloned().collect(),
    };
    around.sort_by_key(|o| (o.call, o.client));
    around.dedup();
    around.truncate(40);
    Anomaly {
        key: key.to_owned(),
        around,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(client: usize, op: Op, outcome: Outcome, call: u64, ret: u64) -> Event {
        Event {
            key: "k".into(),
            client,
            op,
            outcome,
            call,
            ret,
        }
    }

    fn put(value: Value) -> Op {
        Op::Put {
            value,
            condition: Condition::Always,
        }
    }

    fn create(value: Value) -> Op {
        Op::Put {
            value,
            condition: Condition::IfAbsent,
        }
    }

    #[test]
    fn a_sequential_history_is_linearizable() {
        let h = [
            ev(0, Op::Get, Outcome::Read(None), 0, 1),
            ev(0, put(1), Outcome::Done, 2, 3),
            ev(1, Op::Get, Outcome::Read(Some(1)), 4, 5),
            ev(1, Op::Delete, Outcome::Done, 6, 7),
            ev(0, Op::Get, Outcome::Read(None), 8, 9),
        ];
        assert!(check(&h).is_empty());
    }

    #[test]
    fn a_read_overlapping_a_write_may_see_either_value() {
        for seen in [Some(1), Some(2)] {
            let h = [
                ev(0, put(1), Outcome::Done, 0, 1),
                ev(0, put(2), Outcome::Done, 2, 10),
                ev(1, Op::Get, Outcome::Read(seen), 3, 5),
            ];
            assert!(check(&h).is_empty(), "{seen:?}");
        }
    }

    #[test]
    fn a_stale_read_is_found() {
        let h = [
            ev(0, put(1), Outcome::Done, 0, 1),
            ev(0, put(2), Outcome::Done, 2, 3),
            ev(1, Op::Get, Outcome::Read(Some(1)), 4, 5),
        ];
        let found = check(&h);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "k");
        assert!(
            found[0].to_string().contains("Read(Some(1))"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_missing_key_during_an_overwrite_is_found() {
        // The bug of issue 22: the key exists the whole time, yet a read says 404.
        let h = [
            ev(0, put(1), Outcome::Done, 0, 1),
            ev(0, put(2), Outcome::Done, 2, 10),
            ev(1, Op::Get, Outcome::Read(None), 3, 5),
        ];
        assert_eq!(check(&h).len(), 1);
    }

    #[test]
    fn two_winning_creates_are_found() {
        let h = [
            ev(0, create(1), Outcome::Done, 0, 10),
            ev(1, create(2), Outcome::Done, 1, 11),
        ];
        assert_eq!(check(&h).len(), 1);
        let h = [
            ev(0, create(1), Outcome::Done, 0, 10),
            ev(1, create(2), Outcome::PreconditionFailed, 1, 11),
        ];
        assert!(check(&h).is_empty());
    }

    #[test]
    fn if_match_needs_the_value_it_names() {
        let holds = |v| Op::Put {
            value: 9,
            condition: Condition::IfHolds(v),
        };
        let h = [
            ev(0, put(1), Outcome::Done, 0, 1),
            ev(0, holds(1), Outcome::Done, 2, 3),
            ev(0, Op::Get, Outcome::Read(Some(9)), 4, 5),
            ev(0, holds(1), Outcome::PreconditionFailed, 6, 7),
            ev(0, Op::Delete, Outcome::Done, 8, 9),
            ev(0, holds(9), Outcome::Absent, 10, 11),
        ];
        assert!(check(&h).is_empty());
        let h = [
            ev(0, put(1), Outcome::Done, 0, 1),
            ev(0, holds(2), Outcome::Done, 2, 3),
        ];
        assert_eq!(check(&h).len(), 1);
    }

    #[test]
    fn an_unanswered_write_may_have_happened_or_not() {
        for seen in [Some(1), Some(2)] {
            let h = [
                ev(0, put(1), Outcome::Done, 0, 1),
                ev(0, put(2), Outcome::Unknown, 2, 3),
                ev(1, Op::Get, Outcome::Read(seen), 10, 11),
            ];
            assert!(check(&h).is_empty(), "{seen:?}");
        }
        // ...but not both: once read as happened, it cannot be undone.
        let h = [
            ev(0, put(1), Outcome::Done, 0, 1),
            ev(0, put(2), Outcome::Unknown, 2, 3),
            ev(1, Op::Get, Outcome::Read(Some(2)), 10, 11),
            ev(1, Op::Get, Outcome::Read(Some(1)), 12, 13),
        ];
        assert_eq!(check(&h).len(), 1);
    }

    #[test]
    fn an_unanswered_write_nobody_saw_may_still_explain_a_refusal() {
        // The unanswered create happened: it is why the second create was refused, though no
        // read ever showed its value (a delete came first).
        let h = [
            ev(0, create(1), Outcome::Unknown, 0, 1),
            ev(1, create(2), Outcome::PreconditionFailed, 2, 3),
            ev(1, Op::Delete, Outcome::Done, 4, 5),
            ev(1, Op::Get, Outcome::Read(None), 6, 7),
        ];
        assert!(check(&h).is_empty());
        // Without it, the refusal has no explanation.
        assert_eq!(check(&h[1..]).len(), 1);
    }

    #[test]
    fn many_unanswered_writes_are_checked_quickly() {
        // A node killed again and again: hundreds of writes never answered, interleaved with
        // answered ones that reads confirm.
        let mut h = Vec::new();
        let mut t = 0;
        for round in 0..400u64 {
            h.push(ev(0, put(1_000_000 + round), Outcome::Unknown, t, t + 1));
            h.push(ev(1, put(round + 1), Outcome::Done, t + 2, t + 3));
            h.push(ev(2, Op::Get, Outcome::Read(Some(round + 1)), t + 4, t + 5));
            t += 10;
        }
        assert!(check(&h).is_empty());
    }

    #[test]
    fn keys_are_checked_apart() {
        let mut a = ev(0, put(1), Outcome::Done, 0, 1);
        a.key = "a".into();
        let mut b = ev(0, Op::Get, Outcome::Read(None), 2, 3);
        b.key = "b".into();
        assert!(check(&[a, b]).is_empty());
    }

    #[test]
    fn a_long_concurrent_history_is_checked_quickly() {
        // Four clients, overlapping writes and reads of one key, every read the latest value:
        // the memoized search must not blow up.
        let mut h = Vec::new();
        let mut t = 0;
        for round in 0..2000u64 {
            let v = round + 1;
            h.push(ev(0, put(v), Outcome::Done, t, t + 3));
            h.push(ev(1, Op::Get, Outcome::Read(Some(v)), t + 4, t + 7));
            h.push(ev(2, Op::Get, Outcome::Read(Some(v)), t + 1, t + 8));
            h.push(ev(3, Op::Get, Outcome::Read(Some(v.max(2) - 1)), t, t + 2));
            t += 10;
        }
        assert!(check(&h).is_empty());
    }
}
