//! Prometheus metrics: requests by route and status, latency, database pool.

use crate::http::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    // The route template, never the raw path: raw paths carry dossier codes and would explode
    // the number of series.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    pool: Family<PoolLabels, Gauge>,
    refusals: Family<LimitLabels, Counter>,
    outbox_depth: Gauge,
    acceptance: Family<QuantileLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    backup_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuantileLabels {
    quantile: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    /// An empty registry with motcua's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("motcua");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let pool = Family::<PoolLabels, Gauge>::default();
        let refusals = Family::<LimitLabels, Counter>::default();
        let outbox_depth = Gauge::default();
        let backup_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let acceptance =
            Family::<QuantileLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "outbox_depth",
            "Messages waiting to be sent (new, or failed and due again)",
            outbox_depth.clone(),
        );
        registry.register(
            "delivery_acceptance_seconds",
            "From a message's commit to its provider's acceptance, over the last 1,000 accepted",
            acceptance.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        registry.register(
            "backup_age_seconds",
            "Age of the newest complete scheduled backup (+Inf before the first, NaN without backup_dir)",
            backup_age.clone(),
        );
        registry.register(
            "limit_refusals",
            "Requests refused by a throttle or quota (messages, codes, logins, lookups), by limit",
            refusals.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            pool,
            refusals,
            outbox_depth,
            acceptance,
            backup_age,
        }
    }

    /// Counts one request refused by `limit`.
    pub(crate) fn refused(&self, limit: &'static str) {
        self.refusals.get_or_create(&LimitLabels { limit }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times every request by its route template.
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(elapsed);
    response
}

/// `GET /metrics` in the OpenMetrics text format, which Prometheus scrapes natively.
pub(crate) async fn handler(State(state): State<AppState>) -> Response {
    let stats = state.store.pool_stats();
    let m = &state.metrics;
    m.pool
        .get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(stats.idle));
    m.pool
        .get_or_create(&PoolLabels { state: "active" })
        .set(i64::from(stats.size.saturating_sub(stats.idle)));
    match state.backup_dir.clone() {
        Some(dir) => {
            let age = tokio::task::spawn_blocking(move || motcua_store::backup::newest_age(&dir))
                .await
                .ok()
                .flatten();
            m.backup_age
                .set(age.map_or(f64::INFINITY, |a| a.as_seconds_f64()));
        }
        None => {
            m.backup_age.set(f64::NAN);
        }
    }
    // The queue and the latency are read from the database: every node sees the same outbox.
    match state.store.outbox_depth().await {
        Ok(n) => {
            m.outbox_depth.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: outbox depth unreadable"),
    }
    match state.store.acceptance_delays(1000).await {
        Ok(mut delays) => {
            delays.sort();
            for (label, q) in [("0.5", 0.5), ("0.99", 0.99)] {
                let at = ((delays.len().saturating_sub(1)) as f64 * q).round() as usize;
                let seconds = delays.get(at).map_or(0.0, |d| d.as_seconds_f64());
                m.acceptance
                    .get_or_create(&QuantileLabels { quantile: label })
                    .set(seconds);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: delivery latency unreadable"),
    }
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &m.registry) {
        Ok(()) => (
            [(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
