//! Where a store keeps its metadata and its bytes: the backends named by configuration
//! ([`MetaBackend`], [`BlobBackend`]) and the tunables they are opened with ([`Backends`]).

use crate::{sql, Blobs, FileBlobs, MetaStore, Result, S3Location, SqlMeta, StoreStats};
use std::path::Path;
use std::sync::Arc;

/// Where the metadata lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MetaBackend {
    /// SQLite in the data directory (`meta.sqlite`), the default.
    #[default]
    Embedded,
    /// A PostgreSQL database, by its `postgres://USER:PASS@HOST:PORT/DB` address.
    Postgres(String),
}

/// Where the blobs live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobBackend {
    /// Files in the data directory, the default.
    #[default]
    Files,
    /// An S3-compatible cluster, with the access key and secret pier signs with there.
    S3 {
        /// The bucket, prefix and endpoint.
        location: S3Location,
        /// The access key id.
        access_key: String,
        /// Its secret.
        secret_key: String,
    },
}

impl BlobBackend {
    /// Reads a backend from configuration: `files` (or empty) for the data directory, an
    /// `s3://BUCKET[/PREFIX]?endpoint=URL&region=R` location with these credentials for a
    /// cluster.
    pub fn parse(
        text: &str,
        access_key: Option<String>,
        secret_key: Option<String>,
    ) -> std::result::Result<BlobBackend, String> {
        let text = text.trim();
        if text.is_empty() || text == "files" {
            return Ok(BlobBackend::Files);
        }
        let location = S3Location::parse(text)?;
        if !cfg!(feature = "s3-blobs") {
            return Err(NO_S3_BLOBS.into());
        }
        match (access_key, secret_key) {
            (Some(access_key), Some(secret_key)) => Ok(BlobBackend::S3 {
                location,
                access_key,
                secret_key,
            }),
            _ => Err(
                "blobs in S3 need PIER_BLOBS_ACCESS_KEY_ID and PIER_BLOBS_SECRET_ACCESS_KEY".into(),
            ),
        }
    }

    /// How logs name it (no secret).
    pub fn describe(&self) -> String {
        match self {
            BlobBackend::Files => "files".into(),
            BlobBackend::S3 { location, .. } => format!(
                "s3://{}/{} at {}",
                location.bucket,
                location.prefix,
                location.endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }

    pub(crate) fn open(
        &self,
        root: &Path,
        stats: &Arc<StoreStats>,
        prepare: bool,
    ) -> Result<Blobs> {
        Ok(Blobs::new(match self {
            BlobBackend::Files if prepare => Arc::new(FileBlobs::open(root, Arc::clone(stats))?),
            BlobBackend::Files => Arc::new(FileBlobs::at(root, Arc::clone(stats))),
            #[cfg(feature = "s3-blobs")]
            BlobBackend::S3 {
                location,
                access_key,
                secret_key,
            } => Arc::new(crate::blob::S3Blobs::open(
                location, access_key, secret_key,
            )?),
            #[cfg(not(feature = "s3-blobs"))]
            BlobBackend::S3 { .. } => return Err(crate::StoreError::Database(NO_S3_BLOBS.into())),
        }))
    }
}

/// Where a store keeps its metadata and its blobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backends {
    /// The metadata.
    pub meta: MetaBackend,
    /// The blobs.
    pub blobs: BlobBackend,
    /// How old a blob no metadata references must be before a shared blob store's sweep
    /// removes it: longer than any node may take between writing a blob and committing it.
    pub orphan_age: std::time::Duration,
    /// How long a blob a write released stays readable before the janitor removes it: longer
    /// than a read may take between reading the metadata and opening its last segment
    /// (`docs/design.md`, "Reading").
    pub garbage_grace: std::time::Duration,
}

impl Default for Backends {
    fn default() -> Backends {
        Backends {
            meta: MetaBackend::default(),
            blobs: BlobBackend::default(),
            orphan_age: ORPHAN_AGE,
            garbage_grace: GARBAGE_GRACE,
        }
    }
}

/// By default, a blob no metadata references is removed only once this old when blobs are
/// shared with other nodes (one may still be about to commit it); see [`BlobStore::shared`].
pub const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// By default, a blob a write released stays readable this long before it is removed; see
/// [`Backends::garbage_grace`].
pub const GARBAGE_GRACE: std::time::Duration = std::time::Duration::from_secs(900);

/// Why a PostgreSQL address is refused by a build without the `postgres` feature.
const NO_POSTGRES: &str =
    "this build of pier has no PostgreSQL backend (the pier-store feature \"postgres\")";

/// Why an `s3://` blob location is refused by a build without the `s3-blobs` feature.
const NO_S3_BLOBS: &str =
    "this build of pier has no S3 blob backend (the pier-store feature \"s3-blobs\")";

/// PostgreSQL connections per store unless the address says
/// otherwise (`pool_max_conns=N`, as pgx spells it): twice this machine's cores, from 4 to 16.
/// More only add transactions that overlap, and at `SERIALIZABLE` every overlap widens the
/// window in which two writes conflict and one is retried (`docs/scale.md`, "Work per
/// request").
pub(crate) fn postgres_connections() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).clamp(4, 16)
}

impl MetaBackend {
    /// Reads a backend from configuration: `sqlite` (or empty) for the embedded one, a
    /// `postgres://` or `postgresql://` address for PostgreSQL.
    pub fn parse(text: &str) -> std::result::Result<MetaBackend, String> {
        let text = text.trim();
        if text.is_empty() || text == "sqlite" {
            Ok(MetaBackend::Embedded)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            if !cfg!(feature = "postgres") {
                return Err(NO_POSTGRES.into());
            }
            Ok(MetaBackend::Postgres(text.to_owned()))
        } else {
            Err(format!(
                "unknown metadata backend {text:?}: use \"sqlite\" or a postgres:// address"
            ))
        }
    }

    /// The address with its password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            MetaBackend::Embedded => "sqlite".into(),
            MetaBackend::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let userinfo = &url[scheme + 3..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }

    pub(crate) fn open(&self, root: &Path, stats: &Arc<StoreStats>) -> Result<Arc<dyn MetaStore>> {
        Ok(match self {
            MetaBackend::Embedded => Arc::new(SqlMeta::open(sql::sqlite::Sqlite::open(
                &root.join("meta.sqlite"),
                Arc::clone(stats),
            )?)?),
            #[cfg(feature = "postgres")]
            MetaBackend::Postgres(url) => Arc::new(SqlMeta::open(sql::postgres::Postgres::open(
                url,
                postgres_connections(),
                Arc::clone(stats),
            )?)?),
            #[cfg(not(feature = "postgres"))]
            MetaBackend::Postgres(_) => {
                return Err(crate::StoreError::Database(NO_POSTGRES.into()))
            }
        })
    }
}
