//! HTTP and HTML of motcua. Handlers are thin: parse → authorise → call core/store → render.
//! This crate knows HTTP and templates, never SQL.

mod account;
mod admin;
mod admin_calendar;
mod admin_catalogue;
mod api;
mod api_dossiers;
pub mod auth;
mod boundary;
pub mod catalogue;
mod dossier_files;
mod dossiers;
mod error;
mod health;
mod limits;
mod metrics;
mod observe;
mod office;
pub mod oidc;
mod plan_edit;
mod plan_followup;
mod plans;
mod portal;
mod procedures;
mod processing;
pub mod routes;
mod search_params;
mod views;
mod workflows;

pub use error::WebError;
pub use metrics::Metrics;

use axum::Router;
use motcua_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Facts about this installation that pages show.
#[derive(Debug, Clone)]
pub struct Site {
    /// Province name as written on pages, e.g. "Lạng Sơn".
    pub province_name: String,
    /// Demo installation: pages carry a banner saying so, and the dev inbox exists.
    pub demo: bool,
    /// Mark cookies `Secure`: set when the site is served over TLS (directly or behind a proxy).
    pub cookie_secure: bool,
    /// How dossiers are coded, how large their files may be, and the office hours.
    pub dossiers: DossierSettings,
}

/// Settings of online submission.
#[derive(Debug, Clone)]
pub struct DossierSettings {
    /// The receiving agency identifier and sequence width of dossier codes.
    pub codes: motcua_store::dossiers::CodeSettings,
    /// Upload limits.
    pub limits: motcua_core::dossier::UploadLimits,
    /// Working sessions of a day, for due moments.
    pub hours: motcua_core::calendar::deadline::OfficeHours,
    /// Public address of the portal for QR codes on forms; taken from the request's Host when
    /// unset.
    pub public_url: Option<String>,
}

impl Default for DossierSettings {
    fn default() -> Self {
        DossierSettings {
            codes: motcua_store::dossiers::CodeSettings {
                prefix: DEFAULT_CODE_PREFIX
                    .parse()
                    .unwrap_or_else(|_| unreachable!("the default prefix is valid")),
                width: 4,
            },
            limits: motcua_core::dossier::UploadLimits::default(),
            hours: motcua_core::calendar::deadline::OfficeHours::default(),
            public_url: None,
        }
    }
}

/// The receiving-agency identifier used until an installation sets its own (`dossier_code_prefix`).
/// Lạng Sơn's QCVN identifier was not verified, so the default is visibly a placeholder.
pub const DEFAULT_CODE_PREFIX: &str = "000.00.00.H00";

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<Store>,
    /// Installation facts.
    pub site: Arc<Site>,
    /// The catalogue's search snapshot.
    pub catalogue: Arc<catalogue::CatalogueCache>,
    /// The single sign-on provider, when configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// The email gateway and worker pacing, when SMTP is configured.
    pub mailer: Option<(
        Arc<motcua_gateways::SmtpMailer>,
        motcua_delivery::WorkerConfig,
    )>,
    metrics: Arc<Metrics>,
}

impl AppState {
    /// With single sign-on through `provider`.
    pub fn with_oidc(mut self, provider: oidc::Oidc) -> Self {
        self.oidc = Some(Arc::new(provider));
        self
    }

    /// With email delivery of the outbox through `mailer`.
    pub fn with_mailer(
        mut self,
        mailer: motcua_gateways::SmtpMailer,
        config: motcua_delivery::WorkerConfig,
    ) -> Self {
        self.mailer = Some((Arc::new(mailer), config));
        self
    }

    /// Builds the state around an open store.
    pub fn new(store: Arc<Store>, site: Site) -> Self {
        AppState {
            store,
            site: Arc::new(site),
            catalogue: Arc::new(catalogue::CatalogueCache::default()),
            oidc: None,
            mailer: None,
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// The whole application router, with its middleware.
pub fn router(state: AppState) -> Router {
    let routes = routes::router()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .fallback(portal::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
        ))
        .layer(axum::middleware::from_fn(
            boundary::refuse_control_characters,
        ));
    observe::layer(routes, state.clone()).with_state(state)
}

/// The current moment in Vietnam's time: every "today", "this month" and "this year" the site
/// shows or checks is Vietnam's, which is a day ahead of UTC from 17:00 UTC on.
pub(crate) fn now_in_vietnam() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(motcua_core::calendar::deadline::VIETNAM)
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
            let today = now_in_vietnam().date();
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
    let _mail_worker = state.mailer.clone().map(|(mailer, config)| {
        AbortOnDrop(motcua_delivery::spawn_worker(
            state.store.clone(),
            motcua_core::delivery::DeliveryChannel::Email,
            mailer,
            config,
        ))
    });
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
