//! The database connection pool: what happens when the database server drops connections.

use crate::harness::{Db, TestData};
use motcua_store::{Store, PING_IDLE_AFTER};
use sqlx::Connection;

/// A connection that PostgreSQL cut while it sat idle in the pool (a server restart, a firewall's
/// idle timeout) is noticed and replaced at checkout: the next statement succeeds instead of
/// failing once per dead connection.
#[tokio::test]
async fn connections_the_database_cut_while_idle_are_replaced_before_use() {
    let Some(data) = TestData::new(Db::Postgres).await else {
        return;
    };
    let store = Store::open_and_migrate(&data.store_config())
        .await
        .expect("open the store");
    store.ping().await.expect("a statement on a fresh pool");
    let url = data.pg.as_ref().map(|p| p.url.clone()).expect("a database");
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    let cut: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t")
        .fetch_one(&mut admin)
        .await
        .expect("terminate the pool's connections");
    assert!(cut >= 1, "the pool held no connection to cut");
    admin.close().await.expect("close");
    tokio::time::sleep(PING_IDLE_AFTER + std::time::Duration::from_millis(500)).await;
    for n in 0..3 {
        store
            .ping()
            .await
            .unwrap_or_else(|e| panic!("statement {n} after the connections were cut: {e}"));
    }
}
