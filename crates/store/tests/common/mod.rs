//! The backends a store test runs on: each test written once as `fn name(db: &Db)` is listed in
//! `on_both_backends!`, which makes `sqlite::name` (SQLite and files), `postgres::name`
//! (PostgreSQL and files) and `postgres_s3::name` (PostgreSQL and a SeaweedFS cluster) of it.
//! The PostgreSQL server and the SeaweedFS cluster start once per test binary; each test gets a
//! fresh database and a fresh bucket.

#![allow(dead_code)] // each test binary uses part of the helpers

use pier_store::{Backends, BlobBackend, MetaBackend, S3Location, Store};
use std::path::Path;

/// Where a test's metadata lives.
pub enum Db {
    /// SQLite in the test's data directory.
    Sqlite,
    /// A fresh database on the binary's PostgreSQL server.
    Postgres(String),
    /// A fresh database, and a fresh bucket of the binary's SeaweedFS cluster for the blobs.
    PostgresS3(String, String),
}

impl Db {
    /// A new database on the test PostgreSQL server.
    pub fn postgres() -> Db {
        Db::Postgres(pier_testkit::postgres::cluster().fresh_database())
    }

    /// A new database, and a new bucket for the blobs.
    pub fn postgres_s3() -> Db {
        Db::PostgresS3(
            pier_testkit::postgres::cluster().fresh_database(),
            pier_testkit::seaweedfs::cluster().fresh_location(),
        )
    }

    /// The backends, as `Store::open_with` takes them; released blobs are removed right
    /// after their commit (no grace period), so tests see removal at once.
    pub fn backends(&self) -> Backends {
        Backends {
            garbage_grace: std::time::Duration::ZERO,
            ..self.backends_with_grace()
        }
    }

    /// The backends with the default garbage grace period.
    pub fn backends_with_grace(&self) -> Backends {
        match self {
            Db::Sqlite => Backends::default(),
            Db::Postgres(url) => Backends {
                meta: MetaBackend::Postgres(url.clone()),
                ..Backends::default()
            },
            Db::PostgresS3(url, location) => Backends {
                meta: MetaBackend::Postgres(url.clone()),
                blobs: BlobBackend::S3 {
                    location: S3Location::parse(location).unwrap(),
                    access_key: pier_testkit::seaweedfs::ACCESS_KEY.into(),
                    secret_key: pier_testkit::seaweedfs::SECRET_KEY.into(),
                },
                ..Backends::default()
            },
        }
    }

    /// Opens the store with its data directory in `dir`.
    pub fn open(&self, dir: &Path) -> Store {
        Store::open_with(dir, &self.backends()).unwrap()
    }

    /// Opens the store with released blobs kept readable for `grace`.
    pub fn open_with_grace(&self, dir: &Path, grace: std::time::Duration) -> Store {
        let backends = Backends {
            garbage_grace: grace,
            ..self.backends_with_grace()
        };
        Store::open_with(dir, &backends).unwrap()
    }
}

/// Puts `data` the way the APIs do: inline when `declared` small, written a thousand bytes at
/// a time.
pub fn put_declared(
    store: &Store,
    bucket_id: &str,
    key: &str,
    data: &[u8],
    declared: u64,
) -> pier_store::Object {
    let mut w = store.new_payload(Some(declared)).unwrap();
    for chunk in data.chunks(1000) {
        w.write(chunk).unwrap();
    }
    store
        .put_object(
            bucket_id,
            key,
            w.finish().unwrap(),
            pier_store::ObjectMeta::default(),
            pier_store::WriteCondition::None,
        )
        .unwrap()
}

/// All of `object`'s bytes, from a fresh read, `chunk` bytes at a time.
pub fn read_all(store: &Store, object: &pier_store::Object, chunk: usize) -> Vec<u8> {
    let mut r = reader(store, object, 0, object.size);
    let mut out = Vec::new();
    loop {
        let next = r.next_chunk(chunk).unwrap();
        if next.is_empty() {
            return out;
        }
        out.extend(next);
    }
}

/// A reader of `len` bytes of `object` from `start`, from a fresh read of its version.
pub fn reader(
    store: &Store,
    object: &pier_store::Object,
    start: u64,
    len: u64,
) -> pier_store::SegmentReader {
    let entry = store.read_by_version(&object.version_id).unwrap();
    store.reader(&entry, start, len)
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
        mod postgres_s3 {
            $(#[test]
            fn $name() {
                super::$name(&$crate::common::Db::postgres_s3())
            })*
        }
    };
}

/// Creates a private bucket named `name` for `account`, its versioning never enabled.
pub fn private_bucket(
    store: &Store,
    name: &str,
    account: &str,
) -> Result<pier_store::Bucket, pier_store::CreateBucketError> {
    let unversioned = pier_store::Versioning::Unversioned;
    store.create_bucket(name, account, pier_store::Visibility::Private, unversioned)
}

/// Creates a private bucket named `name` for `account`, with versioning enabled.
pub fn versioned_bucket(
    store: &Store,
    name: &str,
    account: &str,
) -> Result<pier_store::Bucket, pier_store::CreateBucketError> {
    let enabled = pier_store::Versioning::Enabled;
    store.create_bucket(name, account, pier_store::Visibility::Private, enabled)
}

/// The first schema's `buckets` table, for tests that open data directories of earlier
/// versions.
pub const FIRST_BUCKETS_TABLE: &str = "CREATE TABLE buckets (name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, public INTEGER NOT NULL, cors TEXT,
    info TEXT, revision INTEGER NOT NULL) STRICT;";
