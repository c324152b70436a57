//! The metadata backends a store test runs on: each test written once as `fn name(db: &Db)` is
//! listed in `on_both_backends!`, which makes `sqlite::name` and `postgres::name` of it. The
//! PostgreSQL server starts once per test binary; each test gets a fresh database.

use pier_store::{MetaBackend, Store};
use std::path::Path;

/// Where a test's metadata lives.
pub enum Db {
    /// SQLite in the test's data directory.
    Sqlite,
    /// A fresh database on the binary's PostgreSQL server.
    Postgres(String),
}

impl Db {
    /// A new database on the test PostgreSQL server.
    pub fn postgres() -> Db {
        Db::Postgres(pier_testkit::postgres::cluster().fresh_database())
    }

    /// The backend, as `Store::open_with` takes it.
    pub fn backend(&self) -> MetaBackend {
        match self {
            Db::Sqlite => MetaBackend::Embedded,
            Db::Postgres(url) => MetaBackend::Postgres(url.clone()),
        }
    }

    /// Opens the store with blobs in `dir` and metadata here.
    pub fn open(&self, dir: &Path) -> Store {
        Store::open_with(dir, &self.backend()).unwrap()
    }
}

/// Makes a `#[test]` per backend of each `fn name(db: &Db)` listed.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&$crate::common::Db::Sqlite)
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(&$crate::common::Db::postgres())
            })*
        }
    };
}
