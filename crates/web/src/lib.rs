//! HTTP and HTML of motcua. Handlers are thin: parse → authorise → call core/store → render.
//! This crate knows HTTP and templates, never SQL.

// Shared by every area: transport, access, errors, page context.
pub mod http;
// One dossier as every area shows and changes it.
mod dossier;

// The areas: each imports `http`, `dossier` and the crates below, never another area.
pub mod account;
mod admin;
mod api;
mod hooks;
mod office;
mod plans;
mod portal;

pub use http::error::WebError;
pub use http::metrics::Metrics;
pub use http::oidc;
pub use http::routes::RouteTable;
pub use http::state::{
    AppState, DossierSettings, Gateways, OaGateway, ReceiptKeys, Site, ZaloFollow, ZaloGateway,
    DEFAULT_CODE_PREFIX,
};
pub use http::{auth, catalogue, routes};

use axum::Router;
use motcua_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

impl AppState {
    /// Builds the state around an open store.
    pub fn new(store: Arc<Store>, site: Site) -> Self {
        AppState {
            store,
            site: Arc::new(site),
            catalogue: Arc::new(http::catalogue::CatalogueCache::default()),
            oidc: None,
            gateways: http::state::Gateways::default(),
            metrics: Arc::new(Metrics::new()),
            routes: Arc::new(RouteTable(route_table().to_vec())),
            backup_dir: None,
        }
    }
}

/// Every area's routes, each with its access rule.
fn definitions() -> Vec<http::routes::RouteDef> {
    [
        portal::routes(),
        portal::procedures::routes(),
        portal::dossiers::routes(),
        portal::opt_out::routes(),
        portal::statistics::routes(),
        portal::zalo_follow::routes(),
        http::health::routes(),
        api::routes(),
        api::dossiers::routes(),
        account::routes(),
        http::oidc::routes(),
        admin::routes(),
        admin::calendar::routes(),
        admin::catalogue::routes(),
        admin::workflows::routes(),
        admin::delivery::routes(),
        hooks::routes(),
        office::routes(),
        plans::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every route of the application: method, path template and access rule.
pub fn route_table() -> &'static [(
    axum::http::Method,
    &'static str,
    motcua_core::accounts::Access,
)] {
    static TABLE: std::sync::OnceLock<
        Vec<(
            axum::http::Method,
            &'static str,
            motcua_core::accounts::Access,
        )>,
    > = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        definitions()
            .into_iter()
            .map(|d| (d.method, d.path, d.access))
            .collect()
    })
}

/// The whole application router, with its middleware.
pub fn router(state: AppState) -> Router {
    let routes = definitions()
        .into_iter()
        .fold(Router::new(), |r, d| r.route(d.path, d.handler))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::auth::authorize,
        ))
        .fallback(http::views::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::auth::identify,
        ))
        .layer(axum::middleware::from_fn(
            http::boundary::refuse_control_characters,
        ));
    http::observe::layer(routes, state.clone()).with_state(state)
}

/// Every six hours (and at start) clears abandoned uploads and stale staging files, a day old,
/// and throttle and quota rows that have nothing left to remember.
fn spawn_sweeper(store: Arc<Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(6 * 3600));
        loop {
            tick.tick().await;
            match store.sweep_uploads(time::Duration::days(1)).await {
                Ok((0, 0)) => {}
                Ok((rows, files)) => {
                    tracing::info!(rows, files, "abandoned uploads and staging files removed")
                }
                Err(e) => tracing::warn!(error = %e, "sweeping abandoned uploads failed"),
            }
            if let Err(e) = store.sweep_limits().await {
                tracing::warn!(error = %e, "sweeping ended throttle and quota windows failed");
            }
        }
    })
}

/// At start and every six hours, reminds agencies of plan targets whose period is closing or
/// closed unmet (each reminder is written once).
fn spawn_plan_reminders(store: Arc<Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(6 * 3600));
        loop {
            tick.tick().await;
            let today = http::state::now_in_vietnam().date();
            match store.send_plan_reminders(today).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "plan reminders written"),
                Err(e) => tracing::warn!(error = %e, "plan reminders failed"),
            }
        }
    })
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish for at most `grace` before giving up on them.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    if let Err(e) = state.catalogue.refresh(&state.store).await {
        tracing::error!(error = %e, "catalogue could not be loaded; search starts empty");
    }
    // Background tasks end with the server, so the store can be closed after it.
    struct AbortOnDrop(tokio::task::JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _refresher = AbortOnDrop(
        state
            .catalogue
            .clone()
            .spawn_refresher(state.store.clone(), Duration::from_secs(5)),
    );
    let _sweeper = AbortOnDrop(spawn_sweeper(state.store.clone()));
    let _reminders = AbortOnDrop(spawn_plan_reminders(state.store.clone()));
    let g = state.gateways.clone();
    let _mail_worker = g.email.clone().map(|mailer| {
        AbortOnDrop(motcua_delivery::spawn_worker(
            state.store.clone(),
            motcua_core::delivery::DeliveryChannel::Email,
            motcua_delivery::Direct(mailer),
            g.pace,
        ))
    });
    // Every provider goes through its pace, shared by the nodes through the database.
    fn paced<G: motcua_gateways::Gateway>(
        store: &Arc<Store>,
        pace: motcua_delivery::Pace,
    ) -> impl Fn(Arc<G>) -> Arc<motcua_delivery::Paced<G>> + '_ {
        move |gateway| Arc::new(motcua_delivery::Paced::new(gateway, store.clone(), pace))
    }
    let store = &state.store;
    let oa = g.oa.clone().map(paced(store, g.zalo_pace));
    let _phone_worker = g.sms.clone().map(|sms| {
        AbortOnDrop(motcua_delivery::spawn_worker(
            state.store.clone(),
            motcua_core::delivery::DeliveryChannel::Sms,
            motcua_delivery::Phone {
                sms: paced(store, g.sms_pace)(sms),
                zalo: g.zalo.clone().map(paced(store, g.zalo_pace)),
                oa: oa.clone(),
            },
            g.pace,
        ))
    });
    let _follower_worker = oa.map(|oa| {
        AbortOnDrop(motcua_delivery::spawn_worker(
            state.store.clone(),
            motcua_core::delivery::DeliveryChannel::Zalo,
            motcua_delivery::Direct(oa),
            g.pace,
        ))
    });
    let _receipt_sweeper = (g.sms.is_some() || g.zalo.is_some())
        .then(|| AbortOnDrop(motcua_delivery::spawn_sweeper(state.store.clone(), g.sweep)));
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out as soon as they are written: without TCP_NODELAY a response written
        // in several pieces (a streamed PDF, a page) can wait for the client's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                request.map(axum::body::Body::new)
            },
        );
        let connection = connection_builder().serve_connection(
            hyper_util::rt::TokioIo::new(tcp),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutdown requested: no new connections, finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => Ok(()),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; closing them");
            Ok(())
        }
    }
}

/// Longest a client may take to send a request's head, counted from when the connection opens
/// or its previous answer was sent: a connection that sends nothing, or trickles its headers,
/// is closed after this, whether new or kept alive.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// HTTP/1.1 with [`HEADER_TIMEOUT`] for new and idle kept-alive connections.
fn connection_builder() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    builder
}
