use crate::http::routes::{get, RouteDef, PUBLIC};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use motcua_store::SchemaStatus;
use serde_json::json;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/healthz", PUBLIC, healthz),
        get("/readyz", PUBLIC, readyz),
        get("/metrics", PUBLIC, crate::http::metrics::handler),
    ]
}

/// Alive: the process answers. Says nothing about the database on purpose, so a load balancer
/// does not restart nodes when the database blips.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready: the database answers and its schema is the one this binary expects.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let backend = state.store.backend_name();
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "backend": backend, "database": "unreachable"})),
        );
    }
    match state.store.schema_status().await {
        Ok(SchemaStatus::Current) => (
            StatusCode::OK,
            Json(json!({"ready": true, "backend": backend, "database": "ok", "schema": "current"})),
        ),
        Ok(other) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"ready": false, "backend": backend, "database": "ok", "schema": format!("{other:?}")}),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: schema check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"ready": false, "backend": backend, "database": "error"})),
            )
        }
    }
}
