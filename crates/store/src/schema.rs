use crate::backend::on_pool;
use crate::{Backend, Store, StoreError};
use sqlx::migrate::Migrator;

const SELECT_VALUE: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

const SELECT_SQLX_MIGRATIONS_BY_SUCCESS: &str = "SELECT version \
     FROM _sqlx_migrations \
     WHERE success \
     ORDER BY version";

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// How the database schema compares with what this binary expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaStatus {
    /// Every embedded migration is applied and nothing newer is.
    Current,
    /// Some embedded migrations are not applied yet.
    Behind {
        /// How many are missing.
        pending: usize,
    },
    /// The database holds migrations this binary does not know.
    Newer {
        /// Highest version in the database.
        database: i64,
        /// Highest version this binary embeds.
        binary: i64,
    },
}

impl Backend {
    fn migrator(&self) -> &'static Migrator {
        match self {
            Backend::Sqlite(_) => &SQLITE,
            Backend::Postgres(_) => &POSTGRES,
        }
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let exists: bool = match self {
            Backend::Sqlite(p) => sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(p)
            .await?,
            Backend::Postgres(p) => {
                sqlx::query_scalar(SELECT_VALUE)
                    .fetch_one(p)
                    .await?
            }
        };
        if !exists {
            return Ok(Vec::new());
        }
        let sql = SELECT_SQLX_MIGRATIONS_BY_SUCCESS;
        Ok(on_pool!(self, |p| sqlx::query_scalar(sql)
            .fetch_all(p)
            .await)?)
    }
}

impl Store {
    /// Compares the database schema with the migrations embedded in this binary.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let migrator = self.backend.migrator();
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        let binary = known.iter().copied().max().unwrap_or(0);
        let applied = self.backend.applied_versions().await?;
        if let Some(&database) = applied.iter().find(|v| !known.contains(v)) {
            return Ok(SchemaStatus::Newer {
                database: applied.iter().copied().max().unwrap_or(database),
                binary,
            });
        }
        let pending = known.iter().filter(|v| !applied.contains(v)).count();
        Ok(if pending == 0 {
            SchemaStatus::Current
        } else {
            SchemaStatus::Behind { pending }
        })
    }

    /// Applies every pending migration, each in its own transaction. Returns how many ran. A
    /// database migrated by a newer motcua is refused before anything is changed.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match self.schema_status().await? {
            SchemaStatus::Newer { database, binary } => {
                Err(StoreError::SchemaNewer { database, binary })
            }
            SchemaStatus::Current => Ok(0),
            SchemaStatus::Behind { pending } => {
                let migrator = self.backend.migrator();
                // On PostgreSQL the migrator takes an advisory lock, so nodes starting together
                // apply each migration once.
                on_pool!(&self.backend, |p| migrator.run(p).await)?;
                tracing::info!(pending, backend = self.backend_name(), "schema migrated");
                Ok(pending)
            }
        }
    }
}
