use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

const SQL: &str = "PRAGMA wal_checkpoint(TRUNCATE)";

/// A PostgreSQL connection idle this long is pinged before use, and replaced if the server no
/// longer answers on it; one used more recently is trusted. A busy server reuses its connections
/// within milliseconds, so it never pings; a quiet one pings nearly every time, which costs it
/// nothing that matters.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(2);

/// The database behind a store.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Embedded SQLite in WAL mode.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Connection pool figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
}

/// Runs the same code on whichever pool the store has. The body is compiled once per backend, so
/// it must only use SQL that both databases accept.
macro_rules! on_pool {
    ($backend:expr, |$pool:ident| $body:expr) => {
        match $backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A write transaction on either database, for the functions that write in their caller's
/// transaction: one type instead of a generic `DB` with a dozen trait bounds repeated on each.
/// Their bodies run under [`on_tx!`], compiled once per backend like [`on_pool!`].
pub(crate) enum WriteTx<'a, 'c> {
    /// On SQLite.
    Sqlite(&'a mut sqlx::Transaction<'c, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(&'a mut sqlx::Transaction<'c, sqlx::Postgres>),
}

impl<'c> WriteTx<'_, 'c> {
    /// The same transaction, lent for one call.
    pub(crate) fn reborrow(&mut self) -> WriteTx<'_, 'c> {
        match self {
            WriteTx::Sqlite(t) => WriteTx::Sqlite(t),
            WriteTx::Postgres(t) => WriteTx::Postgres(t),
        }
    }
}

impl<'a, 'c> From<&'a mut sqlx::Transaction<'c, sqlx::Sqlite>> for WriteTx<'a, 'c> {
    fn from(tx: &'a mut sqlx::Transaction<'c, sqlx::Sqlite>) -> Self {
        WriteTx::Sqlite(tx)
    }
}

impl<'a, 'c> From<&'a mut sqlx::Transaction<'c, sqlx::Postgres>> for WriteTx<'a, 'c> {
    fn from(tx: &'a mut sqlx::Transaction<'c, sqlx::Postgres>) -> Self {
        WriteTx::Postgres(tx)
    }
}

/// Runs `$body` with `$t` bound to the transaction of a [`WriteTx`], whichever database it is on.
macro_rules! on_tx {
    ($tx:expr, |$t:ident| $body:expr) => {
        match $tx {
            $crate::backend::WriteTx::Sqlite($t) => $body,
            $crate::backend::WriteTx::Postgres($t) => $body,
        }
    };
}
pub(crate) use on_tx;

/// Starts a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads first and writes later cannot wait for the
/// lock and fails with "database is locked" as soon as another writer committed in between.
pub(crate) trait BeginWrite {
    /// The database of the pool.
    type Db: sqlx::Database;
    /// Begins a write transaction.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>,
    > + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>,
    > + Send {
        self.begin()
    }
}

impl Backend {
    pub(crate) async fn open_sqlite(file: &Path) -> Result<Backend, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit that returned is on disk even if the machine loses power after it.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // 16 MB of pages per connection (the default is 2 MB): a busy desk's queues and the
            // catalogue stay in memory instead of being read from the OS on every statement.
            .pragma("cache_size", "-16000")
            // Each filing of a batch sits behind a savepoint, whose journal of original pages
            // would otherwise be spilled to a temporary file page by page: keep it in memory.
            .pragma("temp_store", "MEMORY")
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // An embedded connection cannot be cut off: the default ping on every checkout was a
            // round trip to the connection's thread before each statement, for nothing.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect(format!("{}: {e}", file.display())))?;
        Ok(Backend::Sqlite(pool))
    }

    pub(crate) async fn open_postgres(url: &str) -> Result<Backend, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::MalformedUrl(format!(
                "'{}' must start with postgres:// (omit --database to use embedded SQLite)",
                redact(url)
            )));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::MalformedUrl(format!("'{}': {e}", redact(url))))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            // The default pings every connection at checkout: a round trip to the server before
            // each statement. Only a connection idle for a while may have been cut off (a server
            // restart, a firewall's idle timeout), so only such a one is pinged.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect(format!("{}: {e}", redact(url))))?;
        Ok(Backend::Postgres(pool))
    }

    /// "sqlite" or "postgres".
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub(crate) fn pool_stats(&self) -> PoolStats {
        on_pool!(self, |p| PoolStats {
            size: p.size(),
            idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
        })
    }

    pub(crate) async fn close(&self) {
        if let Backend::Sqlite(p) = self {
            // Leaves a self-contained database file behind, which is what backups copy.
            if let Err(e) = sqlx::query(SQL).execute(p).await {
                tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
            }
        }
        on_pool!(self, |p| p.close().await);
    }
}

/// Hides the password in a database URL so it can be printed.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_appear_in_printed_urls() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/motcua"),
            "postgres://app:***@db:5432/motcua"
        );
        assert_eq!(
            redact("postgres://app@db/motcua"),
            "postgres://app@db/motcua"
        );
        assert_eq!(redact("nonsense"), "nonsense");
    }
}

/// `sql` as `backend` binds it fastest. SQLite looks up the name of every numbered parameter
/// (`$7`) in a list as long as the statement's parameters, which makes binding a statement of
/// n parameters cost n² (a batch of 200 messages binds over a thousand); anonymous `?` are bound
/// by position at no cost. So where `$1`, `$2`, … each appear once and in order, SQLite gets
/// `?`; anything else is left as written.
pub(crate) fn positional(backend: &Backend, sql: String) -> String {
    if !matches!(backend, Backend::Sqlite(_)) {
        return sql;
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut expected, mut i, mut last) = (1_u64, 0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                let n: u64 = match sql[i + 1..i + 1 + digits].parse() {
                    Ok(n) => n,
                    Err(_) => return sql,
                };
                if n != expected {
                    return sql;
                }
                expected += 1;
                out.push_str(&sql[last..i]);
                out.push('?');
                i += 1 + digits;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&sql[last..]);
    out
}

#[cfg(test)]
mod positional_tests {
    use super::*;

    fn sqlite() -> Backend {
        Backend::Sqlite(sqlx::SqlitePool::connect_lazy("sqlite::memory:").unwrap())
    }

    #[tokio::test]
    async fn parameters_in_order_become_anonymous_and_others_stay() {
        let b = sqlite();
        assert_eq!(
            positional(&b, "SELECT $1, $2 FROM t WHERE a IN ($3, $4)".into()),
            "SELECT ?, ? FROM t WHERE a IN (?, ?)"
        );
        for kept in ["SELECT $1, $1", "SELECT $2, $1", "SELECT $1, $3"] {
            assert_eq!(positional(&b, kept.into()), kept);
        }
        assert_eq!(positional(&b, "SELECT 'a$b'".into()), "SELECT 'a$b'");
    }
}
