//! The SQL seam: the metadata is written once, as portable SQL against [`Sql`] (one connection
//! inside one transaction), and runs on an [`Engine`]: embedded SQLite ([`sqlite`]) or
//! PostgreSQL ([`postgres`]). An engine only decides how a transaction begins, commits and is
//! retried; every query, and the meaning of every table, is shared (`docs/design.md`).
//!
//! The SQL uses `?N` placeholders, integer and text columns and byte-string keys, and nothing
//! either database lacks; the few divergences (column type names, the `versions` primary key's
//! order) live in each engine's schema.

pub(crate) mod audit;
pub(crate) mod history;
pub(crate) mod meta;
pub(crate) mod outbox;
#[cfg(feature = "postgres")]
pub mod postgres;
pub(crate) mod rows;
pub mod sqlite;
pub(crate) mod topics;
pub(crate) mod usage;
pub(crate) mod write_state;

use crate::error::{Result, StoreError};

/// A value bound to a placeholder or read from a column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    #[default]
    Null,
    /// An integer (SQLite `INTEGER`, PostgreSQL `BIGINT`).
    Int(i64),
    /// Text.
    Text(String),
    /// A byte string (SQLite `BLOB`, PostgreSQL `BYTEA`), ordered bytewise by both.
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<u8> for Value {
    fn from(v: u8) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}

impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Value {
        Value::Bytes(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        v.as_ref().map_or(Value::Null, |s| Value::Text(s.clone()))
    }
}

/// The parameters of a statement, each converted with `Value::from`.
macro_rules! values {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Value::from($v)),*] };
}
pub(crate) use values;

/// One result row. Each getter takes its column's value out, so a column is read once.
#[derive(Debug)]
pub struct Row(Vec<Value>);

impl Row {
    /// A row of these values (engines build rows with it).
    pub(crate) fn new(values: Vec<Value>) -> Row {
        Row(values)
    }

    fn take(&mut self, i: usize) -> Result<Value> {
        self.0
            .get_mut(i)
            .map(std::mem::take)
            .ok_or_else(|| StoreError::Database(format!("no column {i} in the row")))
    }

    /// An integer column; `NULL` is an error.
    pub fn int(&mut self, i: usize) -> Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))
    }

    /// An integer column that may be `NULL`.
    pub fn opt_int(&mut self, i: usize) -> Result<Option<i64>> {
        match self.take(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(v)),
            other => Err(StoreError::Corrupt(format!(
                "column {i} holds {other:?}, not an integer"
            ))),
        }
    }

    /// A text column; `NULL` is an error.
    pub fn text(&mut self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))
    }

    /// A text column that may be `NULL`.
    pub fn opt_text(&mut self, i: usize) -> Result<Option<String>> {
        match self.take(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v)),
            other => Err(StoreError::Corrupt(format!(
                "column {i} holds {other:?}, not text"
            ))),
        }
    }

    /// A byte-string column (text is taken as its UTF-8 bytes); `NULL` is an error.
    pub fn bytes(&mut self, i: usize) -> Result<Vec<u8>> {
        self.opt_bytes(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))
    }

    /// A byte-string column that may be `NULL` (text is taken as its UTF-8 bytes).
    pub fn opt_bytes(&mut self, i: usize) -> Result<Option<Vec<u8>>> {
        match self.take(i)? {
            Value::Null => Ok(None),
            Value::Bytes(v) => Ok(Some(v)),
            Value::Text(v) => Ok(Some(v.into_bytes())),
            other => Err(StoreError::Corrupt(format!(
                "column {i} holds {other:?}, not bytes"
            ))),
        }
    }
}

/// One connection inside one transaction. Statements use `?1`, `?2`, ... placeholders.
pub trait Sql {
    /// Runs a query and returns every row.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;

    /// Runs a statement and returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs two queries, `first` then `second`, and returns the rows of each: an engine may
    /// send them in one round trip. When `first` fails, its error is the answer.
    fn query_both(
        &self,
        first: (&str, &[Value]),
        second: (&str, &[Value]),
    ) -> Result<(Vec<Row>, Vec<Row>)> {
        Ok((
            self.query(first.0, first.1)?,
            self.query(second.0, second.1)?,
        ))
    }

    /// Runs a statement whose outcome the caller does not read, now or later within the
    /// transaction: an engine may hold it back and send it with the next statement or the
    /// commit, in one round trip. Its error then comes back from that statement or the commit,
    /// and the transaction does not commit. Later statements see its effect either way.
    fn defer(&self, sql: &str, params: &[Value]) -> Result<()> {
        self.execute(sql, params).map(|_| ())
    }

    /// The first row of a query, if any.
    fn first(&self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// How transactions run on one database. `read` sees one consistent snapshot; `write` is atomic
/// and durable when it returns `Ok`, and may run `f` more than once (a retried serialization
/// failure), so `f` must not have effects outside the transaction.
pub trait Engine: Send + Sync + 'static {
    /// Runs `f` in a read-only transaction.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T>;

    /// Runs `f`, which runs exactly one statement (a single statement is its own snapshot), with
    /// no transaction around it where that saves round trips; `f` may run twice (once more on
    /// a fresh connection).
    fn read_one<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T>;

    /// Runs `f` in a write transaction and commits it.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Result<T>;

    /// Stops accepting work after what is queued (shutdown).
    fn close(&self);
}
