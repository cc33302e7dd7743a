//! Starts the real application on a random port against a temp SQLite dir or a fresh PostgreSQL
//! database, and cleans up after the test.

use motcua_store::{Store, StoreConfig};
use std::sync::Arc;
use tempfile::TempDir;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Installs the process's TLS crypto provider once; every HTTP client of the tests needs it.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// CI sets this so that a missing prerequisite fails instead of being skipped.
pub fn require_all() -> bool {
    std::env::var("MOTCUA_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Reports a missing prerequisite: fatal in CI, a plain `SKIPPED` line by hand.
pub fn skip(what: &str, why: &str) {
    assert!(
        !require_all(),
        "{what} is required (MOTCUA_TEST_REQUIRE_ALL=1) but unavailable: {why}"
    );
    eprintln!("SKIPPED {what}: {why}");
}

fn pg_server_url() -> String {
    std::env::var("MOTCUA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A PostgreSQL database created for one test and dropped (forcibly) when the test ends.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    /// Creates a fresh database, or `None` (after [`skip`]) when PostgreSQL is not reachable.
    pub async fn create() -> Option<PgDatabase> {
        let server = pg_server_url();
        let admin = match sqlx::PgPool::connect(&format!("{server}/postgres")).await {
            Ok(p) => p,
            Err(e) => {
                skip("PostgreSQL run", &format!("{server} not reachable: {e}"));
                return None;
            }
        };
        let name = format!("motcua_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        Some(PgDatabase {
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = pg_server_url();
        let name = self.name.clone();
        // Drop cannot be async; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&format!("{server}/postgres")).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A store with the demo and its sample dossiers, as `serve --demo` leaves it; `None` if the
/// database was skipped. The data dir (and database) live as long as the returned `TestData`.
pub async fn demo_store(db: Db) -> Option<(TestData, Store)> {
    let data = TestData::new(db).await?;
    let store = Store::open_and_migrate(&data.store_config()).await.unwrap();
    store.seed_demo().await.unwrap();
    let settings = motcua_web::DossierSettings::default();
    store
        .seed_demo_dossiers(&settings.codes, &settings.hours)
        .await
        .unwrap();
    Some((data, store))
}

/// A data dir plus, on PostgreSQL, a database: what a `motcua` process or store needs.
pub struct TestData {
    pub dir: TempDir,
    pub pg: Option<PgDatabase>,
    /// Where the files go (the data dir unless a test says otherwise).
    pub files: motcua_store::files::FilesConfig,
}

impl TestData {
    pub async fn new(db: Db) -> Option<TestData> {
        let pg = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(PgDatabase::create().await?),
        };
        Some(TestData {
            dir: tempfile::tempdir().expect("temp dir"),
            pg,
            files: Default::default(),
        })
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            files: self.files.clone(),
            data_dir: self.dir.path().to_path_buf(),
            database: self.pg.as_ref().map(|p| p.url.clone()),
        }
    }

    /// The `--data-dir` / `--database` arguments for the binary.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(pg) = &self.pg {
            args.push("--database".to_owned());
            args.push(pg.url.clone());
        }
        args
    }
}

/// The application served in-process on `127.0.0.1:0`.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<Store>,
    pub state: motcua_web::AppState,
    pub db: Db,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    // Declared last: dropped after the server has been told to stop.
    _data: TestData,
}

impl TestApp {
    /// Starts the app with the Lạng Sơn demo data loaded; `None` if the database was skipped.
    pub async fn start(db: Db) -> Option<TestApp> {
        Self::start_with(db, None).await
    }

    /// Like [`TestApp::start`], with single sign-on through `oidc`.
    pub async fn start_with(db: Db, oidc: Option<motcua_web::oidc::OidcConfig>) -> Option<TestApp> {
        Self::launch(db, oidc, None).await
    }

    /// Like [`TestApp::start`], with the outbox delivering email through the SMTP server at `url`
    /// (polling every 50 ms, retrying after 100 ms, 200 ms, …).
    pub async fn start_mail(db: Db, url: &str) -> Option<TestApp> {
        Self::launch(db, None, Some(url.to_owned())).await
    }

    async fn launch(
        db: Db,
        oidc: Option<motcua_web::oidc::OidcConfig>,
        smtp: Option<String>,
    ) -> Option<TestApp> {
        init();
        let data = TestData::new(db).await?;
        let store = Store::open_and_migrate(&data.store_config())
            .await
            .expect("open store");
        store.seed_demo().await.expect("seed demo");
        Some(Self::serve(db, data, store, oidc, smtp).await)
    }

    /// Like [`TestApp::start`], with phones reached through the providers' sandbox: VNPT SMS and
    /// Zalo ZNS clients pointed at it, receipts posted back to the app, workers polling every
    /// 50 ms, and a Zalo notice falling back to SMS after `zalo_fallback` without a receipt.
    pub async fn start_phones(
        db: Db,
        sandbox: motcua_sandbox::Settings,
        zalo_fallback: time::Duration,
    ) -> Option<(TestApp, motcua_sandbox::Sandbox)> {
        Self::start_phones_with(db, sandbox, zalo_fallback, |_| {}).await
    }

    /// Like [`TestApp::start_phones`], with the gateways changed by `adjust` (a pace, say).
    pub async fn start_phones_with(
        db: Db,
        sandbox: motcua_sandbox::Settings,
        zalo_fallback: time::Duration,
        adjust: impl FnOnce(&mut motcua_web::Gateways),
    ) -> Option<(TestApp, motcua_sandbox::Sandbox)> {
        init();
        let data = TestData::new(db).await?;
        let store = Store::open_and_migrate(&data.store_config())
            .await
            .expect("open store");
        store.seed_demo().await.expect("seed demo");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let token = "receipt-token-of-the-tests";
        let sandbox = motcua_sandbox::Sandbox::start(
            "127.0.0.1:0".parse().unwrap(),
            motcua_sandbox::Settings {
                sms_receipts: Some(format!("http://{local}/hooks/receipts/sms?token={token}")),
                zalo_webhook: Some(format!("http://{local}/hooks/receipts/zalo")),
                ..sandbox
            },
        )
        .await
        .unwrap();
        let store = Arc::new(store);
        let mut gateways = phone_gateways(&store, &sandbox, token, zalo_fallback).await;
        adjust(&mut gateways);
        let app = Self::serve_on(db, data, store, listener, None, None, Some(gateways)).await;
        Some((app, sandbox))
    }

    /// Serves whatever `data` holds already (a store written by an earlier release, say).
    pub async fn on(db: Db, data: TestData) -> TestApp {
        init();
        let store = Store::open_and_migrate(&data.store_config())
            .await
            .expect("open store");
        Self::serve(db, data, store, None, None).await
    }

    async fn serve(
        db: Db,
        data: TestData,
        store: Store,
        oidc: Option<motcua_web::oidc::OidcConfig>,
        smtp: Option<String>,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_on(db, data, Arc::new(store), listener, oidc, smtp, None).await
    }

    async fn serve_on(
        db: Db,
        data: TestData,
        store: Arc<Store>,
        listener: tokio::net::TcpListener,
        oidc: Option<motcua_web::oidc::OidcConfig>,
        smtp: Option<String>,
        gateways: Option<motcua_web::Gateways>,
    ) -> TestApp {
        let mut state = motcua_web::AppState::new(
            store.clone(),
            motcua_web::Site {
                province_name: "Lạng Sơn".to_owned(),
                demo: true,
                cookie_secure: false,
                dossiers: motcua_web::DossierSettings::default(),
            },
        );
        if let Some(config) = oidc {
            state = state.with_oidc(motcua_web::oidc::Oidc::new(config).unwrap());
        }
        if let Some(url) = smtp {
            let mailer =
                motcua_gateways::SmtpMailer::new(&url, "Cổng Dịch vụ công <no-reply@langson.test>")
                    .unwrap();
            let pace = motcua_delivery::WorkerConfig {
                poll: std::time::Duration::from_millis(50),
                backoff: std::time::Duration::from_millis(100),
            };
            state = state.with_mailer(mailer, pace);
        }
        if let Some(g) = gateways {
            state = state.with_gateways(g);
        }
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(motcua_web::serve(
            listener,
            state.clone(),
            async move {
                let _ = rx.await;
            },
            std::time::Duration::from_secs(5),
        ));
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            state,
            db,
            shutdown: Some(tx),
            _data: data,
        }
    }

    /// The kinds of a dossier's events, in order.
    pub async fn event_kinds(&self, dossier_id: &str) -> Vec<String> {
        self.store
            .dossier_events(dossier_id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect()
    }

    /// Where this app's store lives, to open a second server on the same data.
    pub fn store_config(&self) -> StoreConfig {
        self._data.store_config()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Declares one test that runs on SQLite and on PostgreSQL (as `NAME::sqlite`, `NAME::postgres`).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::harness::{Db, TestApp};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::start(Db::Sqlite).await {
                    ($body)(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::start(Db::Postgres).await {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// VNPT SMS and Zalo ZNS clients on `sandbox`, with its published test credentials.
pub async fn phone_gateways(
    store: &Arc<Store>,
    sandbox: &motcua_sandbox::Sandbox,
    receipt_token: &str,
    zalo_fallback: time::Duration,
) -> motcua_web::Gateways {
    use motcua_gateways::sms::vnpt::VnptSms;
    use motcua_sandbox::credentials as c;
    let base = sandbox.url();
    let vnpt = VnptSms::new(sandbox.vnpt_config(), std::time::Duration::from_secs(5)).unwrap();
    store
        .replace_provider_tokens("zalo", None, "", c::ZALO_FIRST_REFRESH, 0)
        .await
        .unwrap();
    let zns = motcua_gateways::zalo::Zns::new(
        motcua_gateways::zalo::ZnsConfig {
            api_base: format!("{base}/zalo"),
            oauth_url: format!("{base}/zalo/oauth/access_token"),
            app_id: c::ZALO_APP_ID.into(),
            secret_key: c::ZALO_SECRET.into(),
            template_id: c::ZNS_TEMPLATE.into(),
            title_param: "tieu_de".into(),
            body_param: "noi_dung".into(),
            price: 300,
        },
        motcua_delivery::StoreTokens {
            store: store.clone(),
            provider: "zalo",
        },
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let oa = motcua_gateways::zalo::Oa::new(
        motcua_gateways::zalo::OaConfig {
            api_base: format!("{base}/zalo"),
            price: 100,
        },
        zns.session(),
    );
    motcua_web::Gateways {
        email: None,
        sms: Some(Arc::new(motcua_gateways::sms::SmsGateway::Vnpt(vnpt))),
        zalo: Some(Arc::new(zns)),
        oa: Some(Arc::new(oa)),
        zalo_follow: Some(motcua_web::ZaloFollow {
            oa_name: "UBND tỉnh Lạng Sơn".into(),
            oa_url: format!("https://zalo.me/{}", c::ZALO_OA_ID),
        }),
        sms_pace: motcua_delivery::Pace::default(),
        zalo_pace: motcua_delivery::Pace::default(),
        pace: motcua_delivery::WorkerConfig {
            poll: std::time::Duration::from_millis(50),
            backoff: std::time::Duration::from_millis(100),
        },
        sweep: motcua_delivery::SweepConfig {
            zalo_fallback_after: zalo_fallback,
            stuck_after: time::Duration::days(3),
            every: std::time::Duration::from_millis(100),
        },
        receipts: motcua_web::ReceiptKeys {
            sms_token: Some(receipt_token.to_owned()),
            zalo: Some((c::ZALO_APP_ID.into(), c::ZALO_SECRET.into())),
        },
        phones_page: Some(base),
    }
}

/// A browser-like client of a [`TestApp`]: keeps cookies, does not follow redirects.
pub struct Session {
    pub client: reqwest::Client,
    pub base: String,
}

/// The whole content of a stored blob, read back through the store.
pub async fn stored_bytes(store: &Store, sha256: &str) -> Vec<u8> {
    let blob = store.open_blob(sha256).await.unwrap();
    blob.into_bytes().await.unwrap()
}

/// The `csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("page has a CSRF field")
        + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

impl Session {
    pub fn new(app: &TestApp) -> Session {
        init();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Session {
            client,
            base: app.base.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String, Option<String>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, r.text().await.unwrap(), location)
    }

    /// The CSRF token this browser holds, read from a form: the home page's logout form when
    /// signed in, the login form otherwise.
    pub async fn csrf(&self) -> String {
        let home = self.get("/").await.1;
        if home.contains(r#"name="csrf""#) {
            return csrf_of(&home);
        }
        csrf_of(&self.get("/login").await.1)
    }

    /// Posts a form with this browser's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, r.text().await.unwrap(), location)
    }

    /// Logs in; panics if the app refuses.
    pub async fn login(app: &TestApp, username: &str, password: &str) -> Session {
        let s = Session::new(app);
        let (status, body, location) = s
            .post(
                "/login",
                &[
                    ("identifier", username),
                    ("password", password),
                    ("next", "/account"),
                ],
            )
            .await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/account")),
            "login of {username} failed: {body}"
        );
        s
    }
}
