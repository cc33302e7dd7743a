//! Storage of motcua. One [`Store`] speaks to embedded SQLite (the default, one machine) or to
//! PostgreSQL (many stateless nodes). Both backends run the same repository code where the SQL is
//! the same and honest per-backend SQL where it differs; migrations are per backend and embedded.

pub mod accounts;
mod backend;
pub mod backup;
pub mod blobs;
pub mod calendar;
pub mod catalogue;
pub mod demo;
mod demo_dossiers;
mod desks;
pub mod dossiers;
mod error;
pub mod events;
pub mod files;
mod filing;
pub mod followers;
mod ids;
pub mod indicators;
mod limits;
mod lock;
pub mod objects;
pub mod outbox;
pub mod packs;
pub mod password;
pub mod plans;
pub mod processing;
mod reference;
mod schema;
mod tokens;
mod transitions;
pub mod uploads;

pub use backend::{Backend, PoolStats, PING_IDLE_AFTER};
pub use desks::DESK_DIRECTORY_TTL;
pub use error::StoreError;
pub use reference::{AgencyRow, ReferenceCounts};
pub use schema::SchemaStatus;
pub use tokens::TOKEN_CACHE_TTL;

use lock::DataDirLock;
use std::path::{Path, PathBuf};

/// Where the store keeps its data.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Directory for the SQLite database, uploaded files and the lock file.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; `None` for embedded SQLite in `data_dir`.
    pub database: Option<String>,
    /// Where the files of dossiers are kept.
    pub files: files::FilesConfig,
}

/// An open store: the database pool plus the data directory it owns.
pub struct Store {
    backend: Backend,
    data_dir: PathBuf,
    blobs: std::sync::Arc<files::Files>,
    // Started on first use, in the runtime that uses the store.
    filings: std::sync::OnceLock<filing::FilingQueue>,
    // Day numbers reserved on PostgreSQL and not yet given out.
    numbers: filing::NumberBlocks,
    // The one-stop desks by unit, for routing filings without a lookup each time.
    desks: desks::DeskCache,
    // The holiday calendar in force, with the days of each year computed once.
    calendar: calendar::CalendarCache,
    // Accounts behind bearer tokens, kept on PostgreSQL while its change notices are heard.
    tokens: std::sync::Arc<tokens::TokenCache>,
    // Started on the first token read, in the runtime that uses the store; stops with the store.
    token_listener: std::sync::OnceLock<tokens::Listener>,
    // SQLite has one writer at a time: the busy writers (dossier actions, filings, uploads) queue
    // here, in order, instead of in the sleeps of SQLite's busy handler, which put p99 at 100 ms
    // and more under contention (PostgreSQL locks rows instead). See `write_turn`.
    writes: std::sync::Arc<tokio::sync::Mutex<()>>,
    // One request at a time per upload (see `lock_upload`).
    upload_locks: uploads::UploadLocks,
    // Held for the store's whole life: a second process on the same SQLite data dir must refuse.
    _lock: Option<DataDirLock>,
}

impl Store {
    /// Opens the store without touching the schema. Fails if the data dir is unusable, another
    /// process holds it (SQLite), or the database cannot be reached.
    pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        ensure_writable_dir(&config.data_dir)?;
        let lock = match &config.database {
            None => Some(DataDirLock::acquire(&config.data_dir)?),
            Some(_) => None,
        };
        Store::connect(config, lock).await
    }

    /// The store on `config`'s database and data dir, holding `lock` (if any) for its life.
    async fn connect(config: &StoreConfig, lock: Option<DataDirLock>) -> Result<Store, StoreError> {
        let backend = match &config.database {
            None => Backend::open_sqlite(&config.data_dir.join("motcua.sqlite3")).await?,
            Some(url) => Backend::open_postgres(url).await?,
        };
        Ok(Store {
            backend,
            blobs: std::sync::Arc::new(files::Files::open(&config.data_dir, &config.files)?),
            filings: std::sync::OnceLock::new(),
            numbers: filing::NumberBlocks::default(),
            desks: desks::DeskCache::default(),
            calendar: calendar::CalendarCache::default(),
            tokens: std::sync::Arc::default(),
            token_listener: std::sync::OnceLock::new(),
            writes: std::sync::Arc::default(),
            upload_locks: uploads::UploadLocks::default(),
            data_dir: config.data_dir.clone(),
            _lock: lock,
        })
    }

    /// This process's turn to write on SQLite (held until dropped); nothing on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend() {
            Backend::Sqlite(_) => Some(self.writes.lock().await),
            Backend::Postgres(_) => None,
        }
    }

    /// Opens the store for a command-line tool that may run beside a server: no data-dir lock, and
    /// the schema is brought up to date (SQLite serialises writers, so this is safe).
    pub async fn open_shared(config: &StoreConfig) -> Result<Store, StoreError> {
        ensure_writable_dir(&config.data_dir)?;
        let store = Store::connect(config, None).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the store and brings its schema up to date. Refuses, changing nothing, when the
    /// database was migrated by a newer motcua.
    pub async fn open_and_migrate(config: &StoreConfig) -> Result<Store, StoreError> {
        let store = Store::open(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The backend, for repository code in this crate and for diagnostics.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Name of the backend in use: "sqlite" or "postgres".
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Directory for files that belong to this store.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Makes the next sync of filed files fail, for tests of what a failed write-back does.
    #[cfg(feature = "faults")]
    pub fn fail_next_pack_sync(&self) {
        self.blobs.fail_next_pack_sync();
    }

    /// Runs a trivial query: is the database reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping().await
    }

    /// Connection pool figures for `/metrics`.
    pub fn pool_stats(&self) -> PoolStats {
        self.backend.pool_stats()
    }

    /// Closes the pool cleanly; on SQLite the WAL is checkpointed into the main file first. Later
    /// queries fail; the data-dir lock is released when the store is dropped.
    pub async fn close(&self) {
        self.backend.close().await;
    }
}

fn ensure_writable_dir(dir: &Path) -> Result<(), StoreError> {
    let fail = |source: std::io::Error| StoreError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".motcua-write-probe");
    std::fs::write(&probe, b"probe").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}
