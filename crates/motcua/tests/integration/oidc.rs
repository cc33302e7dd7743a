//! Single sign-on end to end against an OpenID provider the test starts: a minimal one written
//! here (discovery, authorize, token with PKCE and client authentication, JWKS, RS256 ID tokens).

use crate::harness::{Db, Session, TestApp};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const KEY_PEM: &[u8] = include_bytes!("fixtures/oidc-test-key.pem");
const KEY_N: &str = include_str!("fixtures/oidc-test-key.n");
const CLIENT_ID: &str = "motcua-test";
const CLIENT_SECRET: &str = "bí-mật-của-máy-khách";

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

#[derive(Clone)]
struct Provider {
    base: String,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    /// Claims of the person who "logs in" at the provider.
    claims: Arc<Mutex<serde_json::Value>>,
    /// Audience put in ID tokens (a misbehaving provider puts another).
    audience: Arc<Mutex<String>>,
}

#[derive(serde::Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn discovery(State(p): State<Provider>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "issuer": p.base,
        "authorization_endpoint": format!("{}/authorize", p.base),
        "token_endpoint": format!("{}/token", p.base),
        "jwks_uri": format!("{}/jwks", p.base),
    }))
}

async fn authorize(State(p): State<Provider>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id != CLIENT_ID || q.code_challenge_method != "S256" {
        return (StatusCode::BAD_REQUEST, "bad client or PKCE method").into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    p.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q.nonce,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
        },
    );
    Redirect::to(&format!("{}?code={code}&state={}", q.redirect_uri, q.state)).into_response()
}

#[derive(serde::Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

async fn token(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    // Codes are single use.
    let Some(grant) = p.grants.lock().unwrap().remove(&f.code) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let pkce_ok =
        URL_SAFE_NO_PAD.encode(Sha256::digest(f.code_verifier.as_bytes())) == grant.challenge;
    if f.grant_type != "authorization_code" || f.redirect_uri != grant.redirect_uri || !pkce_ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = p.claims.lock().unwrap().clone();
    let extra = serde_json::json!({"iss": p.base, "aud": *p.audience.lock().unwrap(), "iat": now, "exp": now + 300, "nonce": grant.nonce});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test-key".into());
    let id_token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(KEY_PEM).unwrap(),
    )
    .unwrap();
    Json(
        serde_json::json!({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}),
    )
    .into_response()
}

async fn jwks() -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"keys": [{"kty": "RSA", "kid": "test-key", "alg": "RS256", "use": "sig", "n": KEY_N.trim(), "e": "AQAB"}]}),
    )
}

impl Provider {
    async fn start(claims: serde_json::Value) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let p = Provider {
            base,
            grants: Arc::default(),
            claims: Arc::new(Mutex::new(claims)),
            audience: Arc::new(Mutex::new(CLIENT_ID.to_owned())),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        p
    }

    fn config(&self, app_base: &str) -> motcua_web::oidc::OidcConfig {
        motcua_web::oidc::OidcConfig {
            issuer: self.base.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_url: format!("{app_base}/login/oidc/callback"),
            label: "VNeID".into(),
            claim_name: "name".into(),
            claim_email: "email".into(),
            claim_phone: "phone_number".into(),
            ca_file: None,
        }
    }
}

/// Starts the app with SSO; the callback URL needs the app's address, known only after binding,
/// so the app is started once to learn a free port pattern — instead the provider config is
/// given the app's future base by binding first.
async fn app_with_sso(db: Db, claims: serde_json::Value) -> Option<(TestApp, Provider)> {
    let provider = Provider::start(claims).await;
    // The redirect URL is checked by the provider only for equality between authorize and token,
    // so a placeholder host works as long as the browser follows it to the real app below.
    let app = TestApp::start_with(db, Some(provider.config("http://app.invalid"))).await?;
    Some((app, provider))
}

/// Follows the sign-on as a browser would: app → provider → app callback. Returns where the app
/// sent the browser at the end.
async fn sign_on(app: &TestApp, s: &Session) -> (u16, Option<String>) {
    let (status, _, to_provider) = s.get("/login/oidc").await;
    assert_eq!(status, 303);
    let to_provider = to_provider.unwrap();
    let r = s.client.get(&to_provider).send().await.unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let back = r.headers()["location"]
        .to_str()
        .unwrap()
        .replace("http://app.invalid", &app.base);
    let r = s.client.get(&back).send().await.unwrap();
    (
        r.status().as_u16(),
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
    )
}

async fn first_login_creates_then_links(db: Db) {
    let claims = serde_json::json!({"sub": "vneid-001", "name": "Nông Văn Dền", "email": "den.nong@example.vn", "email_verified": true});
    let Some((app, _provider)) = app_with_sso(db, claims).await else {
        return;
    };
    let s = Session::new(&app);
    assert!(s.get("/login").await.1.contains("Đăng nhập bằng VNeID"));
    assert_eq!(sign_on(&app, &s).await, (303, Some("/account".to_owned())));
    let (status, html, _) = s.get("/account").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nông Văn Dền") && html.contains("den.nong@example.vn"));
    let first = app
        .store
        .login_record("den.nong@example.vn")
        .await
        .unwrap()
        .unwrap();

    let again = Session::new(&app);
    assert_eq!(
        sign_on(&app, &again).await,
        (303, Some("/account".to_owned()))
    );
    let events = app
        .store
        .security_events(Some("login"), Some("den.nong@example.vn"), 10)
        .await
        .unwrap();
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, vec!["sso (linked)", "sso (created)"]);
    assert_eq!(
        app.store
            .login_record("den.nong@example.vn")
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id,
        "same account"
    );
    // The SSO account has no password: password login cannot succeed.
    let (_, html, _) = Session::new(&app)
        .post(
            "/login",
            &[
                ("identifier", "den.nong@example.vn"),
                ("password", "bất kỳ mật khẩu nào"),
            ],
        )
        .await;
    assert!(html.contains("không đúng"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_creates_then_links_sqlite() {
    first_login_creates_then_links(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_creates_then_links_postgres() {
    first_login_creates_then_links(Db::Postgres).await;
}

async fn a_verified_email_links_an_existing_applicant_and_an_unverified_one_does_not(db: Db) {
    let claims = serde_json::json!({"sub": "vneid-002", "name": "Hà Thị Lan", "email": "lan.ha@example.vn", "email_verified": true});
    let Some((app, provider)) = app_with_sso(db, claims).await else {
        return;
    };
    let hash = motcua_store::password::hash("Bản Giốc mùa thu 2026").unwrap();
    let id = app
        .store
        .register_applicant(
            motcua_store::accounts::AccountKind::Citizen,
            "Hà Thị Lan",
            Some("lan.ha@example.vn"),
            None,
            &hash,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sign_on(&app, &Session::new(&app)).await.1.as_deref(),
        Some("/account")
    );
    let linked = app.store.account(&id).await.unwrap().unwrap();
    assert_eq!(linked.status, "active", "the provider verified the email");

    *provider.claims.lock().unwrap() = serde_json::json!({"sub": "vneid-003", "name": "Kẻ Mạo Danh", "email": "lan.ha@example.vn", "email_verified": false});
    assert_eq!(
        sign_on(&app, &Session::new(&app)).await.1.as_deref(),
        Some("/account")
    );
    let events = app
        .store
        .security_events(Some("login"), None, 10)
        .await
        .unwrap();
    assert!(
        events[0].detail == "sso (created)"
            && events[0].username.as_deref().unwrap().starts_with("sso-"),
        "{events:?}"
    );
    assert_eq!(
        app.store.account(&id).await.unwrap().unwrap().display_name,
        "Hà Thị Lan",
        "not taken over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_links_an_existing_applicant_and_an_unverified_one_does_not_sqlite() {
    a_verified_email_links_an_existing_applicant_and_an_unverified_one_does_not(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_links_an_existing_applicant_and_an_unverified_one_does_not_postgres() {
    a_verified_email_links_an_existing_applicant_and_an_unverified_one_does_not(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_state_and_wrong_audience_are_refused() {
    let claims = serde_json::json!({"sub": "vneid-004", "name": "Triệu Văn Bình"});
    let Some((app, provider)) = app_with_sso(Db::Sqlite, claims).await else {
        return;
    };
    // A callback this browser did not start (login CSRF) is refused.
    let s = Session::new(&app);
    let (_, _, location) = s.get("/login/oidc/callback?code=abc&state=forged").await;
    assert_eq!(location.as_deref(), Some("/login?msg=sso_failed"));
    assert_eq!(s.get("/account").await.0, 303, "not signed in");
    // An ID token for another client is refused.
    *provider.audience.lock().unwrap() = "another-client".into();
    let s = Session::new(&app);
    assert_eq!(
        sign_on(&app, &s).await.1.as_deref(),
        Some("/login?msg=sso_failed")
    );
    assert_eq!(s.get("/account").await.0, 303);
    let failures = app
        .store
        .security_events(Some("sso_failed"), None, 10)
        .await
        .unwrap();
    assert!(
        failures[0].detail.contains("InvalidAudience"),
        "{failures:?}"
    );
    assert_eq!(
        app.store
            .security_events(Some("sso_state_mismatch"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
