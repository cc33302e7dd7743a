use std::path::PathBuf;

/// Everything that can go wrong in the store. Messages name the setting or object at fault so the
/// binary can print them as one line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created or written.
    #[error("data-dir: {path} is not a writable directory: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another motcua process holds the SQLite data directory.
    #[error("data-dir: {path} is in use by another motcua process (lock file {lock}); stop it first or use another --data-dir")]
    Locked {
        /// The directory.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The `--database` value is not a usable URL.
    #[error("database: malformed URL: {0}")]
    MalformedUrl(String),
    /// The database could not be reached or opened.
    #[error("database: cannot connect: {0}")]
    Connect(String),
    /// The database schema was written by a newer motcua.
    #[error("database: schema version {database} is newer than this motcua (knows up to {binary}); upgrade motcua — nothing was changed")]
    SchemaNewer {
        /// Highest migration applied in the database.
        database: i64,
        /// Highest migration this binary embeds.
        binary: i64,
    },
    /// A migration failed.
    #[error("database: migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// What the caller asked breaks a rule of the domain (a holiday schedule against the rules,
    /// a procedure that does not exist, an upload finished by another request): says why, and
    /// the caller may show it to whoever asked.
    #[error("{0}")]
    Refused(String),
    /// The store failed on its side (stored data that cannot be read, work interrupted, an
    /// invariant broken): for the log and an "internal" answer, never for the user to fix.
    #[error("{0}")]
    Internal(String),
    /// The object store holding the files failed or refused.
    #[error("object store: {key}: {source}")]
    Objects {
        /// The object's key.
        key: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other database error.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}
