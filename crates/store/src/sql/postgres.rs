//! The PostgreSQL engine, for pier nodes that share their metadata (`docs/scale.md`).
//!
//! A fixed set of worker threads each own one connection ([`conn`]); a caller hands its
//! transaction to the next free worker and waits for the answer, so the store stays
//! synchronous and no async runtime is nested. Every write runs at `SERIALIZABLE` and is
//! retried, from the start, when the database reports a serialization failure, a deadlock or a
//! unique violation (SQLSTATE 40001, 40P01, 23505: a race lost to a concurrent insert): the
//! same code is then correct on PostgreSQL, CockroachDB and YugabyteDB. A write's `BEGIN` goes
//! with its first statement and its deferred statements with the next one or `COMMIT`, so a
//! new key's PUT costs three round trips. Reads run in one `REPEATABLE READ READ ONLY`
//! snapshot. A broken connection is replaced (once): before a read begins, or when a write
//! finds it broken before its `COMMIT` was sent (the write then runs again on the new one); a
//! server out of reach is `StoreError::Unavailable`, which the APIs answer with 503. The schema
//! is created and migrated at open ([`schema`]).

mod conn;
mod schema;

use super::{Engine, Sql};
use crate::error::{Result, StoreError};
use crate::stats::StoreStats;
use conn::{database_error, is_unreachable, Conn, Tx};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How often a write is tried before a serialization failure is reported.
const MAX_ATTEMPTS: u32 = 20;

/// The address without pier's own `pool_max_conns=N` parameter (pgx's name for it; the
/// PostgreSQL client refuses parameters it does not know), and N.
fn pool_size(url: &str) -> Result<(String, Option<usize>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut pool = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let Some(text) = pair.strip_prefix("pool_max_conns=") else {
            kept.push(pair);
            continue;
        };
        let n = text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1024).contains(n));
        pool = Some(n.ok_or_else(|| {
            StoreError::Database(format!(
                "the PostgreSQL address: pool_max_conns={text} is not a number from 1 to 1024"
            ))
        })?);
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pool))
}

type Job = Box<dyn FnOnce(&mut Option<Conn>, &tokio_postgres::Config) + Send>;

/// The PostgreSQL engine: worker threads with one connection each.
pub struct Postgres {
    jobs: Mutex<Option<Sender<Job>>>,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
    stats: Arc<StoreStats>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://USER:PASS@HOST:PORT/DB`), creates or
    /// migrates the schema, and starts `connections` workers, or as many as the address's
    /// `pool_max_conns=N` says; commits and retries are counted in `stats`. Fails if the address
    /// does not read, the database cannot be reached or its schema is newer than this build
    /// knows.
    pub fn open(url: &str, connections: usize, stats: Arc<StoreStats>) -> Result<Postgres> {
        let (url, pool) = pool_size(url)?;
        let connections = pool.unwrap_or(connections);
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the PostgreSQL address: {e}")))?;
        // On a thread of its own: a connection's runtime must not be blocked on from an async
        // runtime's thread, and the caller may be one.
        let first = thread::scope(|scope| {
            scope
                .spawn(|| {
                    let first = Conn::connect(&config)?;
                    schema::migrate(&first)?;
                    Ok::<_, StoreError>(first)
                })
                .join()
                .map_err(|_| StoreError::Database("connecting to PostgreSQL panicked".into()))?
        })?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::new();
        let mut first = Some(first);
        for n in 0..connections.max(1) {
            let rx = Arc::clone(&rx);
            let config = config.clone();
            let conn = first.take();
            workers.push(
                thread::Builder::new()
                    .name(format!("pier-pg-{n}"))
                    .spawn(move || worker(conn, &config, &rx))
                    .map_err(StoreError::Io)?,
            );
        }
        Ok(Postgres {
            jobs: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
            stats,
        })
    }

    /// Runs `job` on the next free worker's connection, inside a transaction begun with
    /// `begin`, and waits for its answer. A connection found broken when the transaction
    /// begins (the server restarted since its last use) is replaced once before giving up.
    fn in_transaction<T: Send + 'static>(
        &self,
        begin: &'static str,
        job: impl FnOnce(&mut Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.on_worker(move |slot, config| {
            for _ in 0..2 {
                let conn = connected(slot, config)?;
                match conn.batch(begin) {
                    Ok(()) => return job(conn),
                    Err(e) if is_unreachable(&e) => *slot = None,
                    Err(e) => return Err(database_error(&e)),
                }
            }
            Err(StoreError::Unavailable(
                "PostgreSQL closed a new connection".into(),
            ))
        })
    }

    /// Runs `job` on the next free worker's connection slot (connecting is the job's) and
    /// waits for its answer.
    fn on_worker<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Option<Conn>, &tokio_postgres::Config) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(
            move |slot: &mut Option<Conn>, config: &tokio_postgres::Config| {
                let _ = reply.send(job(slot, config));
            },
        );
        let sender = self
            .jobs
            .lock()
            .expect("job channel lock")
            .clone()
            .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Database("the PostgreSQL workers stopped".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Database("a PostgreSQL worker stopped".into()))?
    }
}

/// The worker's connection, made anew when it has none or it is unusable.
fn connected<'a>(
    slot: &'a mut Option<Conn>,
    config: &tokio_postgres::Config,
) -> Result<&'a mut Conn> {
    if slot.as_ref().is_none_or(Conn::is_unusable) {
        *slot = Some(Conn::connect(config)?);
    }
    Ok(slot.as_mut().expect("connected above"))
}

/// A worker: runs jobs on its connection (made and remade by the jobs) until the channel
/// closes.
fn worker(mut conn: Option<Conn>, config: &tokio_postgres::Config, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock().expect("job queue lock").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        job(&mut conn, config);
    }
}

/// `f`'s answer and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = std::time::Instant::now();
    (f(), start.elapsed())
}

impl Engine for Postgres {
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // `BEGIN` on its own, so a connection found broken is replaced before `f`, which runs
        // once, sends anything.
        self.in_transaction(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            move |conn| {
                let tx = Tx::new(conn, None);
                let result = f(&tx);
                match result {
                    Ok(v) => tx.commit().map(|()| v),
                    Err(e) => {
                        tx.roll_back();
                        Err(e)
                    }
                }
            },
        )
    }

    fn read_one<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // One statement is its own snapshot: no BEGIN and COMMIT round trips. A connection
        // broken since its last use fails the statement; it is replaced and tried once more.
        self.on_worker(move |slot, config| {
            for attempt in 0..2 {
                let conn = connected(slot, config)?;
                let tx = Tx::new(conn, None);
                match f(&tx) {
                    Err(StoreError::Unavailable(_)) if attempt == 0 => *slot = None,
                    done => return done,
                }
            }
            unreachable!("the second attempt returns")
        })
    }

    fn write<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let stats = Arc::clone(&self.stats);
        self.on_worker(move |slot, config| {
            let mut attempt = 0;
            let mut reconnected = false;
            loop {
                attempt += 1;
                let conn = connected(slot, config)?;
                let tx = Tx::new(conn, Some("BEGIN ISOLATION LEVEL SERIALIZABLE"));
                let mut committing = false;
                let result = match f(&tx) {
                    Ok(v) => {
                        committing = true;
                        match timed(|| tx.commit()) {
                            (Ok(()), took) => {
                                stats.commit(1, took);
                                return Ok(v);
                            }
                            (Err(e), _) => Err(e),
                        }
                    }
                    Err(e) => {
                        tx.roll_back();
                        Err(e)
                    }
                };
                let (conflict, unreachable) = (tx.conflicted(), tx.unreachable());
                drop(tx);
                // A connection that broke before `COMMIT` was sent committed nothing: the write
                // runs again, once, on a new one (the server restarted, or a standby took over).
                if unreachable && !committing && !reconnected {
                    *slot = None;
                    reconnected = true;
                    continue;
                }
                if conflict && attempt < MAX_ATTEMPTS {
                    stats.write_retried();
                    // Back off a little, more each time, so racing writers spread out.
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
                    thread::sleep(Duration::from_millis(1 + u64::from(attempt) * jitter));
                    continue;
                }
                if conflict {
                    // Still conflicting after every attempt: contention, which passes; the
                    // client is told to slow down and retry (503), not that the server broke.
                    return Err(StoreError::Unavailable(format!(
                        "write conflicts persisted through {MAX_ATTEMPTS} attempts: {}",
                        result.err().map(|e| e.to_string()).unwrap_or_default()
                    )));
                }
                return result;
            }
        })
    }

    fn close(&self) {
        self.jobs.lock().expect("job channel lock").take();
        for handle in self.workers.lock().expect("worker list lock").drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::{pool_size, Postgres};
    use crate::error::StoreError;
    use crate::sql::Engine;

    #[test]
    fn pool_max_conns_is_taken_out_of_the_address() {
        let (url, pool) =
            pool_size("postgres://u@h1,h2/db?target_session_attrs=read-write&pool_max_conns=6")
                .unwrap();
        assert_eq!(url, "postgres://u@h1,h2/db?target_session_attrs=read-write");
        assert_eq!(pool, Some(6));
        assert_eq!(
            pool_size("postgres://u@h/db?pool_max_conns=2").unwrap(),
            ("postgres://u@h/db".to_owned(), Some(2))
        );
        assert_eq!(
            pool_size("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_owned(), None)
        );
    }

    #[test]
    fn a_pool_size_that_is_not_a_count_is_refused() {
        for bad in ["0", "many", "", "100000"] {
            let url = format!("postgres://u@h/db?pool_max_conns={bad}");
            assert!(pool_size(&url).is_err(), "{url}");
        }
    }

    /// A PostgreSQL engine of one connection on a fresh database of the test cluster, and its
    /// address.
    fn engine() -> (Postgres, String) {
        let url = pier_testkit::postgres::cluster().fresh_database();
        let stats = std::sync::Arc::new(crate::stats::StoreStats::default());
        (Postgres::open(&url, 1, stats).unwrap(), url)
    }

    fn lease(name: &str) -> String {
        format!("INSERT INTO leases (name, holder, until_ms) VALUES ('{name}', 'test', 1)")
    }

    fn leases(pg: &Postgres) -> Vec<String> {
        pg.read(|conn| {
            conn.query("SELECT name FROM leases ORDER BY name", &[])?
                .into_iter()
                .map(|mut row| row.text(0))
                .collect()
        })
        .unwrap()
    }

    #[test]
    fn a_deferred_statement_that_fails_keeps_its_transaction_from_committing() {
        let (pg, _) = engine();
        let err = pg
            .write(|conn| {
                conn.execute(&lease("kept"), &[])?;
                conn.defer(
                    "INSERT INTO leases (name, holder, until_ms) VALUES ('bad', NULL, 1)",
                    &[],
                )?;
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Database(m) if m.contains("23502")),
            "{err}"
        );
        assert!(leases(&pg).is_empty());
    }

    #[test]
    fn a_statement_sees_the_deferred_ones_before_it() {
        let (pg, _) = engine();
        let seen = pg
            .write(|conn| {
                conn.defer(&lease("one"), &[])?;
                conn.defer(&lease("two"), &[])?;
                conn.first("SELECT count(*) FROM leases", &[])?
                    .expect("a count")
                    .int(0)
            })
            .unwrap();
        assert_eq!(seen, 2);
        assert_eq!(leases(&pg), ["one", "two"]);
    }

    #[test]
    fn deferred_statements_alone_commit() {
        let (pg, _) = engine();
        pg.write(|conn| conn.defer(&lease("only"), &[])).unwrap();
        assert_eq!(leases(&pg), ["only"]);
    }

    #[test]
    fn a_write_whose_connection_broke_runs_again_on_a_new_one() {
        let (pg, url) = engine();
        pg.write(|conn| conn.execute(&lease("before"), &[]))
            .unwrap();
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let ended = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        assert_eq!(ended, 1, "the engine's one connection");
        pg.write(|conn| conn.execute(&lease("after"), &[])).unwrap();
        assert_eq!(leases(&pg), ["after", "before"]);
    }

    #[test]
    fn two_queries_sent_together_answer_each() {
        let (pg, _) = engine();
        pg.write(|conn| conn.defer(&lease("x"), &[])).unwrap();
        let (names, count) = pg
            .write(|conn| {
                let (names, mut count) = conn.query_both(
                    ("SELECT name FROM leases", &[]),
                    ("SELECT count(*) FROM leases WHERE name = 'none'", &[]),
                )?;
                let names = names
                    .into_iter()
                    .map(|mut row| row.text(0))
                    .collect::<crate::error::Result<Vec<_>>>()?;
                Ok((names, count.remove(0).int(0)?))
            })
            .unwrap();
        assert_eq!((names, count), (vec!["x".to_owned()], 0));
    }

    #[test]
    fn the_first_of_two_queries_that_fails_is_the_answer() {
        let (pg, _) = engine();
        let err = pg
            .write(|conn| {
                conn.query_both(("SELECT nothing FROM leases", &[]), ("SELECT 1", &[]))
                    .map(|_| ())
            })
            .unwrap_err();
        assert!(err.to_string().contains("42703"), "{err}");
    }
}
