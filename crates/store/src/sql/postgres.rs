//! The PostgreSQL engine, for pier nodes that share their metadata (`docs/scale.md`).
//!
//! A fixed number of connections ([`conn`]), each with a runtime of its own ([`pool`]): a
//! caller that finds one free runs its transaction on its own thread, blocking on that runtime,
//! so the store stays synchronous and no thread hands the work on; when every connection is in
//! use, its transaction waits in line for a worker thread. Every write runs at `SERIALIZABLE`
//! and is retried, from the start, when the database reports a serialization failure, a
//! deadlock or a unique violation (SQLSTATE 40001, 40P01, 23505: a race lost to a concurrent
//! insert): the same code is then correct on PostgreSQL, CockroachDB and YugabyteDB. A write's
//! `BEGIN` goes with its first statement and its deferred statements with the next one or
//! `COMMIT`, so a new key's PUT costs three round trips. Reads run in one `REPEATABLE READ READ
//! ONLY` snapshot. A broken connection is replaced (once): before a read begins, or when a
//! write finds it broken before its `COMMIT` was sent (the write then runs again on the new
//! one); a server out of reach is `StoreError::Unavailable`, which the APIs answer with 503.
//! The schema is created and migrated at open ([`schema`]).

mod conn;
mod pool;
mod schema;

use super::{Engine, Sql};
use crate::error::{Result, StoreError};
use crate::stats::StoreStats;
use conn::{database_error, is_unreachable, Conn, Tx};
use pool::{off_runtime, Pool};
use std::sync::Arc;
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

/// A connection's slot: empty until its first use and after its connection was found
/// unusable.
type Slot = Option<Conn>;

/// The PostgreSQL engine: a fixed number of connections ([`pool`]), each used by one
/// transaction at a time.
pub struct Postgres {
    pool: Pool<Slot>,
    config: Arc<tokio_postgres::Config>,
    stats: Arc<StoreStats>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://USER:PASS@HOST:PORT/DB`), creates or
    /// migrates the schema, and keeps up to `connections` connections, or as many as the
    /// address's `pool_max_conns=N` says; commits and retries are counted in `stats`. Fails if
    /// the address does not read, the database cannot be reached or its schema is newer than
    /// this build knows.
    pub fn open(url: &str, connections: usize, stats: Arc<StoreStats>) -> Result<Postgres> {
        let (url, pool) = pool_size(url)?;
        let connections = pool.unwrap_or(connections).max(1);
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the PostgreSQL address: {e}")))?;
        let first = off_runtime(|| {
            let first = Conn::connect(&config)?;
            schema::migrate(&first)?;
            Ok::<_, StoreError>(first)
        })?;
        let mut slots: Vec<Slot> = (1..connections).map(|_| None).collect();
        slots.push(Some(first));
        Ok(Postgres {
            pool: Pool::new(slots, "pier-pg")?,
            config: Arc::new(config),
            stats,
        })
    }

    /// Runs `job` on a connection's slot (connecting is the job's) and waits for its answer
    /// ([`pool`]: on this thread when a connection is free).
    fn with_conn<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Slot, &tokio_postgres::Config) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let config = Arc::clone(&self.config);
        self.pool.run(move |slot| job(slot, &config))?
    }

    /// Runs `job` on a free connection, inside a transaction begun with `begin`. A connection
    /// found broken when the transaction begins (the server restarted since its last use) is
    /// replaced once before giving up.
    fn in_transaction<T: Send + 'static>(
        &self,
        begin: &'static str,
        job: impl FnOnce(&mut Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.with_conn(move |slot, config| {
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
}

/// The slot's connection, made anew when it has none or it is unusable.
fn connected<'a>(slot: &'a mut Slot, config: &tokio_postgres::Config) -> Result<&'a mut Conn> {
    if slot.as_ref().is_none_or(Conn::is_unusable) {
        *slot = Some(Conn::connect(config)?);
    }
    Ok(slot.as_mut().expect("connected above"))
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
        self.with_conn(move |slot, config| {
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
        self.with_conn(move |slot, config| {
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
        self.pool.close();
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
    fn a_call_from_an_async_task_is_answered_and_the_engine_closes_there() {
        let runtimes = [
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        ];
        for runtime in runtimes {
            let (pg, _) = engine();
            let names = runtime.block_on(async move {
                tokio::spawn(async move {
                    pg.write(|conn| conn.execute(&lease("async"), &[])).unwrap();
                    let names = leases(&pg);
                    drop(pg);
                    names
                })
                .await
                .unwrap()
            });
            assert_eq!(names, ["async"]);
        }
    }

    #[test]
    fn callers_beyond_the_connections_wait_in_line_and_are_all_answered() {
        let (pg, _) = engine();
        let pg = std::sync::Arc::new(pg);
        let writers: Vec<_> = (0..8)
            .map(|n| {
                let pg = std::sync::Arc::clone(&pg);
                std::thread::spawn(move || {
                    pg.write(move |conn| conn.execute(&lease(&format!("w{n}")), &[]))
                })
            })
            .collect();
        for w in writers {
            assert_eq!(w.join().unwrap().unwrap(), 1);
        }
        assert_eq!(leases(&pg).len(), 8);
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
