//! Single sign-on against a certified OpenID provider: panva's `oidc-provider` (OpenID Certified)
//! on Node.js, from `fixtures/oidc-provider` (`npm ci` there; `.ci/run` does it), over HTTPS with
//! a certificate of a test authority that the product is told to trust with `oidc_ca_file` —
//! the way a province's VNeID or national-portal SSO gateway is reached. Covers a login, a
//! rotation of the provider's signing key, a consent withdrawn at the provider, and clocks a few
//! minutes apart.

use crate::harness::{init, skip, Db, TestApp};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const CLIENT_ID: &str = "motcua";
const CLIENT_SECRET: &str = "bi-mat-cua-cong-dich-vu-cong";
/// The callback the provider knows; the test's browser takes it to the real app's address.
const PLACEHOLDER: &str = "http://app.invalid";

/// A certificate authority made for one test, and a certificate it signed for 127.0.0.1.
struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA of Lạng Sơn");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let leaf =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), leaf_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), leaf_key.serialize_pem()).unwrap();
        TestCa { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/oidc-provider")
}

/// How the provider behaves when it (re)starts.
#[derive(Clone)]
struct Behaviour {
    /// Id of its signing key, made fresh at each start.
    kid: &'static str,
    /// Seconds its clock is ahead of ours.
    skew: i64,
    /// The person refuses to share their data.
    deny: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            kid: "k1",
            skew: 0,
            deny: false,
        }
    }
}

/// The provider's Node.js process; stopped when dropped.
struct OpenIdProvider {
    child: Option<tokio::process::Child>,
    port: u16,
}

impl OpenIdProvider {
    /// Starts it, or `None` (after [`skip`]) without Node.js or the npm package.
    async fn start(ca: &TestCa, behaviour: &Behaviour) -> Option<OpenIdProvider> {
        if !fixture().join("node_modules/oidc-provider").is_dir() {
            skip(
                "OpenID provider (oidc-provider)",
                &format!("run `npm ci` in {}", fixture().display()),
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut p = OpenIdProvider { child: None, port };
        if let Err(why) = p.run(ca, behaviour).await {
            skip("OpenID provider (oidc-provider)", &why);
            return None;
        }
        Some(p)
    }

    fn issuer(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    async fn run(&mut self, ca: &TestCa, b: &Behaviour) -> Result<(), String> {
        let mut child = tokio::process::Command::new("node")
            .arg("server.mjs")
            .current_dir(fixture())
            .env("PORT", self.port.to_string())
            .env("ISSUER", self.issuer())
            .env("TLS_KEY", ca.path("server.key"))
            .env("TLS_CERT", ca.path("server.pem"))
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", format!("{PLACEHOLDER}/login/oidc/callback"))
            .env("KID", b.kid)
            .env("SKEW_SECONDS", b.skew.to_string())
            .env("DENY", if b.deny { "1" } else { "0" })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("node: {e}"))?;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim() == "listening" {
                    return true;
                }
            }
            false
        })
        .await;
        if ready != Ok(true) {
            return Err("the provider did not start".into());
        }
        // Read what else it prints: a closed pipe would kill it at its next line.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }

    /// Stops it and starts it again on the same address, behaving as `b` says.
    async fn restart(&mut self, ca: &TestCa, b: &Behaviour) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
        self.run(ca, b).await.expect("the provider restarts");
    }

    fn config(&self, ca: &TestCa) -> motcua_web::oidc::OidcConfig {
        motcua_web::oidc::OidcConfig {
            issuer: self.issuer(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_url: format!("{PLACEHOLDER}/login/oidc/callback"),
            label: "VNeID".into(),
            claim_name: "name".into(),
            claim_email: "email".into(),
            claim_phone: "phone_number".into(),
            ca_file: Some(ca.path("ca.pem")),
        }
    }
}

/// A browser that trusts the test authority: signs on from the app's button, through the
/// provider, back to the app; returns the app's last answer (status, redirect).
async fn sign_on(app: &TestApp, ca: &TestCa) -> (reqwest::Client, u16, Option<String>) {
    let pem = std::fs::read(ca.path("ca.pem")).unwrap();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let mut url = reqwest::Url::parse(&app.url("/login/oidc")).unwrap();
    for _ in 0..20 {
        let r = browser.get(url.clone()).send().await.unwrap();
        let status = r.status().as_u16();
        let Some(to) = r.headers().get("location") else {
            return (browser, status, None);
        };
        let to = url.join(to.to_str().unwrap()).unwrap();
        // The app sends the browser to one of its own pages: the outcome of the sign-on.
        if to.as_str().starts_with(&app.base) && !to.path().starts_with("/login/oidc") {
            let page = match to.query() {
                Some(q) => format!("{}?{q}", to.path()),
                None => to.path().to_owned(),
            };
            return (browser, status, Some(page));
        }
        url = match to.as_str().strip_prefix(PLACEHOLDER) {
            Some(rest) => reqwest::Url::parse(&format!("{}{rest}", app.base)).unwrap(),
            None => to,
        };
    }
    panic!("the sign-on went round in circles");
}

async fn app_with(db: Db, provider: &OpenIdProvider, ca: &TestCa) -> Option<TestApp> {
    TestApp::start_with(db, Some(provider.config(ca))).await
}

async fn signed_in_as(browser: &reqwest::Client, app: &TestApp) -> String {
    let r = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 200, "signed in");
    r.text().await.unwrap()
}

async fn logs_in_and_survives_a_key_rotation_and_a_withdrawn_consent(db: Db) {
    init();
    let ca = TestCa::new();
    let Some(mut provider) = OpenIdProvider::start(&ca, &Behaviour::default()).await else {
        return;
    };
    let Some(app) = app_with(db, &provider, &ca).await else {
        return;
    };
    // A login: the account is made from the ID token's verified claims.
    let (browser, status, to) = sign_on(&app, &ca).await;
    assert_eq!((status, to.as_deref()), (303, Some("/account")));
    let html = signed_in_as(&browser, &app).await;
    assert!(html.contains("Hoàng Thị Mai") && html.contains("mai.hoang@example.vn"));

    // The provider rotates its signing key: the next login is checked with the new one.
    provider
        .restart(
            &ca,
            &Behaviour {
                kid: "k2",
                ..Behaviour::default()
            },
        )
        .await;
    let (browser, status, to) = sign_on(&app, &ca).await;
    assert_eq!(
        (status, to.as_deref()),
        (303, Some("/account")),
        "after the key rotation"
    );
    signed_in_as(&browser, &app).await;
    let events = app
        .store
        .security_events(Some("login"), Some("mai.hoang@example.vn"), 10)
        .await
        .unwrap();
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(
        details,
        vec!["sso (linked)", "sso (created)"],
        "one account"
    );

    // The person withdraws their consent at the provider: nobody is signed in, and the login
    // page says why in plain words.
    provider
        .restart(
            &ca,
            &Behaviour {
                kid: "k2",
                deny: true,
                ..Behaviour::default()
            },
        )
        .await;
    let (browser, status, to) = sign_on(&app, &ca).await;
    assert_eq!(
        (status, to.as_deref()),
        (303, Some("/login?msg=sso_denied"))
    );
    let r = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 303, "not signed in");
    let page = browser
        .get(app.url("/login?msg=sso_denied"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Bạn chưa đồng ý chia sẻ thông tin"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_and_survives_a_key_rotation_and_a_withdrawn_consent_sqlite() {
    logs_in_and_survives_a_key_rotation_and_a_withdrawn_consent(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_and_survives_a_key_rotation_and_a_withdrawn_consent_postgres() {
    logs_in_and_survives_a_key_rotation_and_a_withdrawn_consent(Db::Postgres).await;
}

/// Clocks a few minutes apart are tolerated either way; a token from twenty minutes ahead is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_clock_a_few_minutes_off_is_tolerated() {
    init();
    let ca = TestCa::new();
    let Some(mut provider) = OpenIdProvider::start(&ca, &Behaviour::default()).await else {
        return;
    };
    let Some(app) = app_with(Db::Sqlite, &provider, &ca).await else {
        return;
    };
    for (skew, expected) in [
        (240, "/account"),
        (-240, "/account"),
        (1200, "/login?msg=sso_failed"),
    ] {
        provider
            .restart(
                &ca,
                &Behaviour {
                    skew,
                    ..Behaviour::default()
                },
            )
            .await;
        let (_, status, to) = sign_on(&app, &ca).await;
        assert_eq!(
            (status, to.as_deref()),
            (303, Some(expected)),
            "clock {skew:+} s"
        );
    }
}

/// Without the setting, the provider's certificate (from an authority no public store holds) is
/// refused: the product trusts only what it was told to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_certificate_from_an_unknown_authority_is_refused() {
    init();
    let ca = TestCa::new();
    let Some(provider) = OpenIdProvider::start(&ca, &Behaviour::default()).await else {
        return;
    };
    let mut config = provider.config(&ca);
    config.ca_file = None;
    let Some(app) = TestApp::start_with(Db::Sqlite, Some(config)).await else {
        return;
    };
    let (_, status, to) = sign_on(&app, &ca).await;
    assert_eq!(
        (status, to.as_deref()),
        (303, Some("/login?msg=sso_failed"))
    );
}
