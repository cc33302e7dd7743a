//! HTTP stack: motcua's full middleware stack and pages against a bare axum handler served by the
//! same process in the same run.

use crate::load;
use axum::routing::{get, post};
use motcua_store::{Store, StoreConfig};
use std::sync::Arc;

/// A bare axum server: `GET /healthz` answers "ok", `POST /upload` reads the whole body and
/// answers 201 (the HTTP transport of an upload, without storage).
pub async fn serve_bare() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/upload",
            post(|body: axum::body::Bytes| async move {
                (axum::http::StatusCode::CREATED, body.len().to_string())
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

async fn serve_motcua(dir: &std::path::Path) -> anyhow::Result<String> {
    let store = Store::open_and_migrate(&StoreConfig {
        files: Default::default(),
        data_dir: dir.to_path_buf(),
        database: None,
    })
    .await?;
    store.seed_demo().await?;
    serve_store(Arc::new(store)).await
}

/// Serves motcua (demo site settings) over `store` on a random port; returns its base URL.
pub async fn serve_store(store: Arc<Store>) -> anyhow::Result<String> {
    let state = motcua_web::AppState::new(
        store,
        motcua_web::Site {
            province_name: "Lạng Sơn".to_owned(),
            demo: true,
            cookie_secure: false,
            dossiers: motcua_web::DossierSettings::default(),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(motcua_web::serve(
        listener,
        state,
        std::future::pending(),
        std::time::Duration::from_secs(1),
    ));
    Ok(format!("http://{addr}"))
}

pub async fn run(seconds: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bare = serve_bare().await?;
    let motcua = serve_motcua(dir.path()).await?;
    let concurrency = 16;
    println!("== http ({seconds} s each, {concurrency} connections, SQLite)");
    let base = load::run(&format!("{bare}/healthz"), concurrency, seconds).await?;
    report("bare axum handler (baseline)", &base, &base);
    for path in ["/healthz", "/", "/agencies"] {
        let s = load::run(&format!("{motcua}{path}"), concurrency, seconds).await?;
        report(&format!("motcua {path}"), &s, &base);
    }
    Ok(())
}

pub fn report(name: &str, s: &load::LoadStats, base: &load::LoadStats) {
    println!(
        "{name:<32} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ratio {:>5.1} %  ({} requests)",
        s.per_second,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        100.0 * s.per_second / base.per_second,
        s.requests
    );
}
