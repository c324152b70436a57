//! One connection, and a transaction on it that shares round trips.
//!
//! The connection is a `tokio-postgres` client driven by a single-threaded runtime of its own
//! (its user blocks on it), so statements can be pipelined: sent together and answered in
//! order. A transaction holds back its `BEGIN` until its first statement and the statements
//! whose outcome it does not read ([`Sql::defer`]) until its next statement or its `COMMIT`,
//! and sends each group in one round trip. The first error of a group is the group's error, and
//! a group that fails leaves the transaction uncommitted (`docs/scale.md`, "Work per request").

use crate::error::{Result, StoreError};
use crate::sql::{Row, Sql, Value};
use futures_util::future::join_all;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound as {ty}").into()),
            },
            Value::Text(v) => match *ty {
                Type::BYTEA => v.as_bytes().to_sql(ty, out),
                _ => v.as_str().to_sql(ty, out),
            },
            Value::Bytes(v) => match *ty {
                Type::BYTEA => v.as_slice().to_sql(ty, out),
                _ => Err(format!("bytes cannot be bound as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// The statement with `?N` placeholders written as PostgreSQL's `$N`.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Column `i` of `row` as a [`Value`], by the column's type.
fn column(
    row: &tokio_postgres::Row,
    i: usize,
) -> std::result::Result<Value, tokio_postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Bytes),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
    })
}

/// True when `e` means the server is out of reach (the connection broke, the server is shutting
/// down or starting, or refuses connections), not that the statement failed.
pub(super) fn is_unreachable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            // Class 08: connection exceptions; 57P01-57P03: shutdown, crash, starting up.
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
    }
}

/// The store's error for `e`: `Unavailable` when the server is out of reach.
pub(super) fn database_error(e: &tokio_postgres::Error) -> StoreError {
    if is_unreachable(e) {
        return StoreError::Unavailable(format!("PostgreSQL: {e}"));
    }
    match e.as_db_error() {
        Some(db) => {
            StoreError::Database(format!("PostgreSQL {}: {}", db.code().code(), db.message()))
        }
        None => StoreError::Database(format!("PostgreSQL: {e}")),
    }
}

/// One connection: the client, the runtime that drives it, and its prepared
/// statements.
pub(super) struct Conn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: HashMap<String, Statement>,
    /// A transaction on it could not be ended: it is replaced before its next use.
    abandoned: bool,
}

impl Conn {
    /// Connects as `config` says (every host it lists, in order, as `target_session_attrs`
    /// asks); `Unavailable` when no server answers.
    pub(super) fn connect(config: &Config) -> Result<Conn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StoreError::Io)?;
        let (client, connection) = runtime
            .block_on(config.connect(NoTls))
            .map_err(|e| StoreError::Unavailable(format!("connecting to PostgreSQL: {e}")))?;
        // Runs whenever a caller blocks on the runtime, that is while a statement waits; it
        // ends when the connection does, which closes the client.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            runtime,
            client,
            statements: HashMap::new(),
            abandoned: false,
        })
    }

    /// True once the connection is known to be closed, or left inside a transaction it could
    /// not end: either way it must be replaced.
    pub(super) fn is_unusable(&self) -> bool {
        self.abandoned || self.client.is_closed()
    }

    /// Runs statements without parameters (a migration, `BEGIN`, `COMMIT`) in one round trip.
    pub(super) fn batch(&self, sql: &str) -> std::result::Result<(), tokio_postgres::Error> {
        self.runtime.block_on(self.client.batch_execute(sql))
    }

    /// Runs one statement with parameters on its own and returns its rows.
    pub(super) fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        self.runtime.block_on(self.client.query(sql, params))
    }
}

/// What ends a round trip: statements whose rows and counts the caller reads, or `COMMIT`.
enum Last<'p> {
    Statements(Vec<(Statement, &'p [Value])>),
    Commit,
}

/// A statement's rows and the count of rows it changed.
type Answer = (Vec<Row>, u64);

/// A connection inside one transaction.
pub(super) struct Tx<'a> {
    conn: RefCell<&'a mut Conn>,
    /// The `BEGIN` not sent yet: it goes with the first statement.
    begin: Cell<Option<&'static str>>,
    /// Statements held back until the next round trip.
    deferred: RefCell<Vec<(Statement, Vec<Value>)>>,
    /// A statement failed for a reason that trying the transaction again may cure.
    conflict: Cell<bool>,
    /// A statement failed because the server is out of reach.
    unreachable: Cell<bool>,
}

impl<'a> Tx<'a> {
    /// A transaction on `conn`: `begin` is sent with its first statement, or nothing is when
    /// it is `None` (a transaction already begun, or a lone statement that is its own).
    pub(super) fn new(conn: &'a mut Conn, begin: Option<&'static str>) -> Tx<'a> {
        Tx {
            conn: RefCell::new(conn),
            begin: Cell::new(begin),
            deferred: RefCell::new(Vec::new()),
            conflict: Cell::new(false),
            unreachable: Cell::new(false),
        }
    }

    /// A statement failed in a way that trying the whole transaction again may cure.
    pub(super) fn conflicted(&self) -> bool {
        self.conflict.get()
    }

    /// A statement failed because the server is out of reach (the connection is broken).
    pub(super) fn unreachable(&self) -> bool {
        self.unreachable.get()
    }

    /// Commits: the statements held back and `COMMIT` in one round trip. A transaction that
    /// sent nothing has nothing to commit and costs no round trip. `Ok` means committed.
    pub(super) fn commit(&self) -> Result<()> {
        if self.begin.get().is_some() && self.deferred.borrow().is_empty() {
            self.begin.set(None);
            return Ok(());
        }
        let mut conn = self.conn.borrow_mut();
        self.round_trip(&mut conn, Last::Commit).map(|_| ())
    }

    /// Ends a transaction that failed: what was held back is dropped, and `ROLLBACK` is sent
    /// if `BEGIN` was. A connection that is broken or cannot roll back is marked for
    /// replacement, so no later transaction starts inside this one.
    pub(super) fn roll_back(&self) {
        self.deferred.borrow_mut().clear();
        if self.begin.take().is_some() {
            return;
        }
        let mut conn = self.conn.borrow_mut();
        if self.unreachable.get() || conn.batch("ROLLBACK").is_err() {
            conn.abandoned = true;
        }
    }

    /// The store's error for `e`, noting a conflict or a broken connection. A unique violation
    /// is a race lost to a concurrent insert (PostgreSQL reports most such races as
    /// serialization failures, but not all); tried again, the write sees the winner's row and
    /// answers as it would have.
    fn failed(&self, e: &tokio_postgres::Error) -> StoreError {
        if matches!(
            e.code(),
            Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                | Some(&SqlState::T_R_DEADLOCK_DETECTED)
                | Some(&SqlState::UNIQUE_VIOLATION)
        ) {
            self.conflict.set(true);
        }
        if is_unreachable(e) {
            self.unreachable.set(true);
        }
        database_error(e)
    }

    /// The prepared statement for `sql`, prepared once per connection.
    fn prepared(&self, conn: &mut Conn, sql: &str) -> Result<Statement> {
        if let Some(s) = conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = conn
            .runtime
            .block_on(conn.client.prepare(&placeholders(sql)))
            .map_err(|e| self.failed(&e))?;
        conn.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Sends the pending `BEGIN`, the statements held back and `last`, in that order and in
    /// one round trip; returns the answer of each of `last`'s statements, or the group's first
    /// error. After a failed group the transaction is not committed: a statement after the
    /// failed one finds the transaction aborted, and a `COMMIT` then rolls back.
    fn round_trip(&self, conn: &mut Conn, last: Last<'_>) -> Result<Vec<Answer>> {
        let begin = self.begin.take();
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        let client = &conn.client;
        // `join!` polls its futures in order, and each sends its request when first polled.
        let (begun, held, answers) = conn.runtime.block_on(async {
            let begun = async {
                match begin {
                    Some(sql) => client.batch_execute(sql).await,
                    None => Ok(()),
                }
            };
            let held = join_all(
                deferred
                    .iter()
                    .map(|(statement, params)| client.execute_raw(statement, params.iter())),
            );
            let answers = async {
                match &last {
                    Last::Statements(statements) => {
                        join_all(statements.iter().map(|(statement, params)| async move {
                            let stream = client.query_raw(statement, params.iter()).await?;
                            let mut stream = std::pin::pin!(stream);
                            let mut rows = Vec::new();
                            while let Some(row) = futures_util::StreamExt::next(&mut stream)
                                .await
                                .transpose()?
                            {
                                rows.push(row);
                            }
                            Ok((rows, stream.rows_affected().unwrap_or(0)))
                        }))
                        .await
                    }
                    Last::Commit => {
                        vec![client.batch_execute("COMMIT").await.map(|()| (vec![], 0))]
                    }
                }
            };
            futures_util::join!(begun, held, answers)
        });
        begun.map_err(|e| self.failed(&e))?;
        for outcome in held {
            outcome.map_err(|e| self.failed(&e))?;
        }
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            let (rows, changed) = answer.map_err(|e| self.failed(&e))?;
            let rows = rows
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| column(row, i).map_err(|e| database_error(&e)))
                        .collect::<Result<Vec<_>>>()
                        .map(Row::new)
                })
                .collect::<Result<Vec<_>>>()?;
            out.push((rows, changed));
        }
        Ok(out)
    }

    /// Sends `statements` (after what waits) in one round trip and returns their answers.
    fn statements(&self, statements: &[(&str, &[Value])]) -> Result<Vec<Answer>> {
        let mut conn = self.conn.borrow_mut();
        let prepared = statements
            .iter()
            .map(|(sql, params)| Ok((self.prepared(&mut conn, sql)?, *params)))
            .collect::<Result<Vec<_>>>()?;
        self.round_trip(&mut conn, Last::Statements(prepared))
    }
}

/// The one answer of a round trip of one statement.
fn only(answers: Vec<Answer>) -> Result<Answer> {
    answers
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("a statement had no answer".into()))
}

impl Sql for Tx<'_> {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        Ok(only(self.statements(&[(sql, params)])?)?.0)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        Ok(only(self.statements(&[(sql, params)])?)?.1)
    }

    fn query_both(
        &self,
        first: (&str, &[Value]),
        second: (&str, &[Value]),
    ) -> Result<(Vec<Row>, Vec<Row>)> {
        let mut answers = self.statements(&[first, second])?.into_iter();
        match (answers.next(), answers.next()) {
            (Some((a, _)), Some((b, _))) => Ok((a, b)),
            _ => Err(StoreError::Database(
                "two statements had fewer answers".into(),
            )),
        }
    }

    fn defer(&self, sql: &str, params: &[Value]) -> Result<()> {
        let mut conn = self.conn.borrow_mut();
        let statement = self.prepared(&mut conn, sql)?;
        self.deferred
            .borrow_mut()
            .push((statement, params.to_vec()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_become_dollar_numbers() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c > ?12 LIMIT ?3"),
            "SELECT a FROM t WHERE b = $1 AND c > $12 LIMIT $3"
        );
    }

    #[test]
    fn a_lone_question_mark_stays() {
        assert_eq!(placeholders("SELECT '?' , ?x"), "SELECT '?' , ?x");
    }
}
