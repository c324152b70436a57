//! The engine's connections: a fixed number of slots, and the threads that use them.
//!
//! A caller that finds a slot free runs its job on its own thread, so a transaction costs no
//! hand-over between threads. When every slot is in use, callers line up: their jobs wait in a
//! queue, first come first served, and a worker thread per slot runs them one after another on
//! the next slot given back, so under load a slot passes from job to job without waiting for a
//! caller's thread to be scheduled. No newcomer passes the queue.

use crate::error::{Result, StoreError};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// Slots, queued jobs and the workers that run them.
pub(super) struct Pool<S> {
    shared: Arc<Shared<S>>,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
}

struct Shared<S> {
    state: Mutex<State<S>>,
    /// Signalled when a worker may have something to do: a slot free while jobs wait, or the
    /// pool closed.
    work: Condvar,
}

struct State<S> {
    idle: Vec<S>,
    queue: VecDeque<Job<S>>,
    closed: bool,
}

impl<S> State<S> {
    /// A slot a worker should take: one is free and a job waits for it.
    fn for_worker(&mut self) -> Option<S> {
        if self.queue.is_empty() {
            return None;
        }
        self.idle.pop()
    }
}

impl<S: Default + Send + 'static> Pool<S> {
    /// A pool of `slots`, with a worker thread for each, named `name-N`. Fails only if a thread
    /// cannot be started.
    pub(super) fn new(slots: Vec<S>, name: &str) -> Result<Pool<S>> {
        let count = slots.len();
        let pool = Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    idle: slots,
                    queue: VecDeque::new(),
                    closed: false,
                }),
                work: Condvar::new(),
            }),
            workers: Mutex::new(Vec::new()),
        };
        for n in 0..count {
            let shared = Arc::clone(&pool.shared);
            // On failure the pool is dropped, which stops the workers started so far.
            let worker = thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || shared.serve_queue())
                .map_err(StoreError::Io)?;
            pool.workers.lock().expect("worker list lock").push(worker);
        }
        Ok(pool)
    }

    /// Runs `job` on a slot and returns its answer: on this thread when a slot is free and no
    /// job waits, else on a worker after the jobs queued before it. An error once the pool is
    /// closed, also for a job still queued then. A job that panics gives its slot back empty
    /// (`S::default()`) and its panic goes on in the caller.
    pub(super) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Result<T> {
        let closed = || StoreError::Database("the store is closed".into());
        let outcome = off_runtime(|| {
            let answer = {
                let mut state = self.shared.state.lock().expect("pool lock");
                if state.closed {
                    return Err(closed());
                }
                if state.queue.is_empty() {
                    if let Some(mut slot) = state.idle.pop() {
                        drop(state);
                        let outcome = guarded(&mut slot, job);
                        self.shared.give_back(slot);
                        return Ok(outcome);
                    }
                }
                let (tell, answer) = mpsc::sync_channel(1);
                state.queue.push_back(Box::new(move |slot: &mut S| {
                    let _ = tell.send(guarded(slot, job));
                }));
                if !state.idle.is_empty() {
                    self.shared.work.notify_one();
                }
                answer
            };
            answer.recv().map_err(|_| closed())
        })?;
        match outcome {
            Ok(answer) => Ok(answer),
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// Closes the pool: queued jobs are dropped (their callers get an error), the workers stop
    /// and the free slots are dropped; a slot in use is dropped when its job ends.
    pub(super) fn close(&self) {
        off_runtime(|| {
            let (idle, queue) = {
                let mut state = self.shared.state.lock().expect("pool lock");
                state.closed = true;
                (
                    std::mem::take(&mut state.idle),
                    std::mem::take(&mut state.queue),
                )
            };
            self.shared.work.notify_all();
            drop(queue);
            drop(idle);
            for worker in self.workers.lock().expect("worker list lock").drain(..) {
                let _ = worker.join();
            }
        });
    }

    /// How many jobs wait for a slot.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.shared.state.lock().unwrap().queue.len()
    }
}

/// `job`'s answer on `slot`, or its panic, after which the slot is left empty: a connection
/// whose job stopped halfway may still be inside its transaction.
fn guarded<S: Default, T>(slot: &mut S, job: impl FnOnce(&mut S) -> T) -> thread::Result<T> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| job(slot)));
    if outcome.is_err() {
        *slot = S::default();
    }
    outcome
}

impl<S> Drop for Pool<S> {
    /// Stops the workers (without waiting for them) if [`Pool::close`] was not called.
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().expect("pool lock");
        state.closed = true;
        drop(state);
        self.shared.work.notify_all();
    }
}

impl<S: Send> Shared<S> {
    /// Puts `slot` back, waking a worker when jobs wait for it; drops it once closed.
    fn give_back(&self, slot: S) {
        let mut state = self.state.lock().expect("pool lock");
        if state.closed {
            drop(state);
            drop(slot);
            return;
        }
        state.idle.push(slot);
        if !state.queue.is_empty() {
            self.work.notify_one();
        }
    }

    /// A worker: takes a free slot while jobs wait and runs them, one after another, until the
    /// queue is empty; stops when the pool closes.
    fn serve_queue(&self) {
        let mut state = self.state.lock().expect("pool lock");
        loop {
            if state.closed {
                return;
            }
            let Some(mut slot) = state.for_worker() else {
                state = self.work.wait(state).expect("pool lock");
                continue;
            };
            while let Some(job) = state.queue.pop_front() {
                drop(state);
                job(&mut slot);
                state = self.state.lock().expect("pool lock");
            }
            if state.closed {
                drop(state);
                drop(slot);
                return;
            }
            state.idle.push(slot);
        }
    }
}

/// Runs `f`, which blocks on a connection's own runtime, where that is allowed: at once on a
/// thread outside any async runtime (the blocking threads the APIs hand store calls to are
/// outside), through `block_in_place` on a multi-threaded runtime's thread, and on a thread of
/// its own on a single-threaded runtime's, which cannot give its thread up.
pub(super) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => thread::scope(|scope| match scope.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{off_runtime, Pool};
    use std::panic::AssertUnwindSafe;
    use std::sync::{mpsc, Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    /// Waits until `pool` has `n` jobs queued.
    fn until_queued(pool: &Pool<u32>, n: usize) {
        let start = Instant::now();
        while pool.queued() != n {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never {n} queued"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs a job on `pool` from another thread that holds its slot until `release` is sent
    /// to; answers once the job has its slot.
    fn hold(pool: &Arc<Pool<u32>>) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (release, released) = mpsc::channel::<()>();
        let (started, has_slot) = mpsc::channel();
        let pool = Arc::clone(pool);
        let holder = thread::spawn(move || {
            pool.run(move |_| {
                started.send(()).unwrap();
                released.recv().unwrap();
            })
            .unwrap()
        });
        has_slot.recv().unwrap();
        (release, holder)
    }

    /// Starts a caller of `job` on another thread, and waits until the job is queued behind the
    /// `already` queued before it.
    fn queued_caller<T: Send + 'static>(
        pool: &Arc<Pool<u32>>,
        already: usize,
        job: impl FnOnce(&mut u32) -> T + Send + 'static,
    ) -> thread::JoinHandle<crate::error::Result<T>> {
        let caller = {
            let pool = Arc::clone(pool);
            thread::spawn(move || pool.run(job))
        };
        until_queued(pool, already + 1);
        caller
    }

    #[test]
    fn a_free_slot_runs_the_job_on_the_calling_thread() {
        let pool = Pool::new(vec![1], "test").unwrap();
        let me = thread::current().id();
        let (slot, thread) = pool
            .run(move |slot| (*slot, thread::current().id()))
            .unwrap();
        assert_eq!((slot, thread), (1, me));
    }

    #[test]
    fn jobs_that_find_every_slot_in_use_run_in_the_order_they_came() {
        let pool = Arc::new(Pool::new(vec![7], "test").unwrap());
        let (release, holder) = hold(&pool);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut callers = Vec::new();
        for name in ["first", "second", "third"] {
            let order = Arc::clone(&order);
            let job = move |slot: &mut u32| order.lock().unwrap().push((name, *slot));
            callers.push(queued_caller(&pool, callers.len(), job));
        }
        release.send(()).unwrap();
        holder.join().unwrap();
        for c in callers {
            c.join().unwrap().unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [("first", 7), ("second", 7), ("third", 7)]
        );
    }

    #[test]
    fn closing_answers_queued_jobs_with_an_error() {
        let pool = Arc::new(Pool::new(vec![1], "test").unwrap());
        let (release, holder) = hold(&pool);
        let caller = queued_caller(&pool, 0, |_| ());
        pool.close();
        assert!(caller.join().unwrap().is_err());
        release.send(()).unwrap();
        holder.join().unwrap();
        assert!(pool.run(|_| ()).is_err());
    }

    #[test]
    fn a_job_that_panics_leaves_its_slot_empty_and_panics_its_caller() {
        let pool = Pool::new(vec![5], "test").unwrap();
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
            pool.run(|_| panic!("the job broke")).unwrap();
        }));
        assert!(caught.is_err());
        assert_eq!(pool.run(|slot| *slot).unwrap(), 0);
    }

    #[test]
    fn a_queued_job_that_panics_leaves_its_slot_empty_and_panics_its_caller() {
        let pool = Arc::new(Pool::new(vec![5], "test").unwrap());
        let (release, holder) = hold(&pool);
        let caller = queued_caller(&pool, 0, |_| -> () { panic!("the job broke") });
        release.send(()).unwrap();
        holder.join().unwrap();
        assert!(caller.join().is_err(), "the caller did not panic");
        assert_eq!(pool.run(|slot| *slot).unwrap(), 0);
    }

    /// A multi-threaded runtime with one worker thread.
    fn multi_threaded() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    /// Whether the calling thread may block on a runtime of its own.
    fn may_block_on_a_runtime() -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { true })
    }

    #[test]
    fn work_off_the_runtime_runs_on_a_multi_threaded_runtimes_task() {
        let ran = multi_threaded().block_on(async {
            tokio::spawn(async { off_runtime(may_block_on_a_runtime) })
                .await
                .unwrap()
        });
        assert!(ran);
    }

    #[test]
    fn work_off_the_runtime_runs_on_a_single_threaded_runtimes_task() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(runtime.block_on(async { off_runtime(may_block_on_a_runtime) }));
    }

    #[test]
    fn work_off_the_runtime_runs_on_a_blocking_thread_and_a_plain_one() {
        assert!(off_runtime(may_block_on_a_runtime));
        let ran = multi_threaded().block_on(async {
            tokio::task::spawn_blocking(|| off_runtime(may_block_on_a_runtime))
                .await
                .unwrap()
        });
        assert!(ran);
    }
}
