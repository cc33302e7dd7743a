//! Single sign-on with OpenID Connect (authorization code flow with PKCE), so the province can plug
//! in VNeID or the national portal's SSO. The issuer, client and claim names are configuration.

use crate::http::auth::set_cookie;
use crate::http::error::WebError;
use crate::http::routes::{get, RouteDef};
use crate::http::views::Ctx;
use axum::extract::Query;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use motcua_core::accounts::{normalise_email, normalise_phone, Access};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

const FLOW_COOKIE: &str = "motcua_oidc";

/// Configuration of the provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// Issuer URL; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Client id registered with the provider.
    pub client_id: String,
    /// Client secret (sent with HTTP Basic authentication to the token endpoint).
    pub client_secret: String,
    /// This site's callback, e.g. `https://dichvucong.langson.gov.vn/login/oidc/callback`.
    pub redirect_url: String,
    /// Button text, e.g. "VNeID".
    pub label: String,
    /// Claim holding the person's name.
    pub claim_name: String,
    /// Claim holding the email.
    pub claim_email: String,
    /// Claim holding the phone number.
    pub claim_phone: String,
    /// PEM file of certificate authorities to trust besides the public ones.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The provider, its HTTP client and its discovered endpoints.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
}

/// Why a sign-on failed (logged; the person sees one plain message).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered badly.
    #[error("provider: {0}")]
    Provider(String),
    /// The ID token or the flow's state failed a check.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// The provider's HTTP client: TLS on ring with the Mozilla roots, plus the certificates in
/// `ca_file` (a provider on the province's network, signed by its own authority).
fn http_client(ca_file: Option<&std::path::Path>) -> Result<reqwest::Client, OidcError> {
    use rustls::pki_types::pem::PemObject;
    let extra = match ca_file {
        Some(path) => rustls::pki_types::CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| OidcError::Provider(format!("{}: {e}", path.display())))?,
        None => Vec::new(),
    };
    if ca_file.is_some() && extra.is_empty() {
        return Err(OidcError::Provider(
            "the CA file holds no PEM certificate".into(),
        ));
    }
    motcua_gateways::http_client_builder(&extra)
        .map_err(OidcError::Provider)?
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| OidcError::Provider(e.to_string()))
}

/// How far the provider's clock may be from ours: a few minutes happen between two machines
/// without a common time source, and are no reason to refuse a citizen.
pub const CLOCK_SKEW: u64 = 300;

fn random() -> String {
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// PKCE S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Oidc {
    /// A provider client for `config`.
    pub fn new(config: OidcConfig) -> Result<Oidc, OidcError> {
        Ok(Oidc {
            http: http_client(config.ca_file.as_deref())?,
            config,
            discovery: OnceCell::new(),
        })
    }

    /// The button text.
    pub fn label(&self) -> &str {
        &self.config.label
    }

    async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let d: Discovery = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| OidcError::Provider(format!("discovery: {e}")))?
                    .json()
                    .await
                    .map_err(|e| OidcError::Provider(format!("discovery: {e}")))?;
                if d.issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
                    return Err(OidcError::Rejected(format!(
                        "discovery names issuer {}",
                        d.issuer
                    )));
                }
                Ok(d)
            })
            .await
    }

    /// Where to send the browser, and the cookie value that binds the flow to it.
    async fn start(&self) -> Result<(String, String), OidcError> {
        let d = self.discovery().await?;
        let (state, nonce, verifier) = (random(), random(), random());
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("scope", "openid profile email phone"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge(&verifier).as_str()),
            ("code_challenge_method", "S256"),
        ])
        .map_err(|e| OidcError::Provider(e.to_string()))?;
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok((
            format!("{}{sep}{query}", d.authorization_endpoint),
            format!("{state}.{nonce}.{verifier}"),
        ))
    }

    /// Exchanges the code and checks the ID token; returns its claims.
    async fn finish(
        &self,
        code: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OidcError> {
        #[derive(Deserialize)]
        struct Tokens {
            id_token: String,
        }
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<Jwk>,
        }
        #[derive(Deserialize)]
        struct Jwk {
            kid: Option<String>,
            kty: String,
            n: Option<String>,
            e: Option<String>,
        }
        let d = self.discovery().await?;
        let tokens: Tokens = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.config.redirect_url),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OidcError::Provider(format!("token: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Provider(format!("token: {e}")))?;
        let header = jsonwebtoken::decode_header(&tokens.id_token)
            .map_err(|e| OidcError::Rejected(format!("id_token header: {e}")))?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(OidcError::Rejected(format!(
                "id_token algorithm {:?}",
                header.alg
            )));
        }
        let jwks: Jwks = self
            .http
            .get(&d.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OidcError::Provider(format!("jwks: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Provider(format!("jwks: {e}")))?;
        let key = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "RSA")
            .find(|k| header.kid.is_none() || k.kid == header.kid)
            .ok_or_else(|| OidcError::Rejected("no matching key in the provider's JWKS".into()))?;
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            key.n.as_deref().unwrap_or_default(),
            key.e.as_deref().unwrap_or_default(),
        )
        .map_err(|e| OidcError::Rejected(format!("jwk: {e}")))?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[d.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_SKEW;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            &tokens.id_token,
            &decoding,
            &validation,
        )
        .map_err(|e| OidcError::Rejected(format!("id_token: {e}")))?;
        if data.claims.get("nonce").and_then(|v| v.as_str()) != Some(nonce) {
            return Err(OidcError::Rejected("nonce does not match".into()));
        }
        // A token from further in the future than a clock's drift was not made for this login.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let issued = data.claims.get("iat").and_then(serde_json::Value::as_i64);
        if issued.is_some_and(|iat| iat > now + CLOCK_SKEW as i64) {
            return Err(OidcError::Rejected(format!(
                "id_token issued {} s in the future (more than the {CLOCK_SKEW} s a clock may drift)",
                issued.unwrap_or(now) - now
            )));
        }
        Ok(data.claims)
    }
}

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/login/oidc", Access::Anonymous, begin),
        get("/login/oidc/callback", Access::Anonymous, callback),
    ]
}

fn failed(ctx: &Ctx, why: &OidcError) -> Response {
    tracing::warn!(error = %why, "single sign-on failed");
    let _ = ctx;
    Redirect::to("/login?msg=sso_failed").into_response()
}

/// The person said no at the provider (or withdrew the consent given before): nothing failed.
fn denied() -> Response {
    Redirect::to("/login?msg=sso_denied").into_response()
}

async fn begin(ctx: Ctx) -> Result<Response, WebError> {
    let Some(oidc) = ctx.state.oidc.clone() else {
        return Err(WebError::NotFound);
    };
    match oidc.start().await {
        Ok((url, flow)) => {
            let cookie = set_cookie(
                FLOW_COOKIE,
                &flow,
                ctx.state.site.cookie_secure,
                Some(time::Duration::minutes(10)),
            );
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response())
        }
        Err(e) => Ok(failed(&ctx, &e)),
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let Some(oidc) = ctx.state.oidc.clone() else {
        return Err(WebError::NotFound);
    };
    let flow = crate::http::auth::cookie(&headers, FLOW_COOKIE).unwrap_or_default();
    let mut parts = flow.split('.');
    let (state, nonce, verifier) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if q.error.as_deref() == Some("access_denied") {
        return Ok(denied());
    }
    if let Some(e) = q.error {
        return Ok(failed(
            &ctx,
            &OidcError::Rejected(format!("provider said {e}")),
        ));
    }
    let (Some(code), Some(returned)) = (q.code, q.state) else {
        return Ok(failed(
            &ctx,
            &OidcError::Rejected("callback without code or state".into()),
        ));
    };
    if state.is_empty() || returned != state {
        ctx.state
            .store
            .log_security("sso_state_mismatch", None, None, Some(&ctx.ip), "")
            .await?;
        return Ok(failed(
            &ctx,
            &OidcError::Rejected("state does not match this browser's flow".into()),
        ));
    }
    let claims = match oidc.finish(&code, nonce, verifier).await {
        Ok(c) => c,
        Err(e) => {
            ctx.state
                .store
                .log_security("sso_failed", None, None, Some(&ctx.ip), &e.to_string())
                .await?;
            return Ok(failed(&ctx, &e));
        }
    };
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let flag = |k: &str| {
        claims
            .get(k)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let c = &oidc.config;
    let subject = text("sub").unwrap_or_default();
    let name = text(&c.claim_name)
        .map(|n| motcua_core::text::nfc(&n))
        .unwrap_or_else(|| "Công dân".to_owned());
    let email = text(&c.claim_email)
        .filter(|_| flag("email_verified"))
        .and_then(|e| normalise_email(&e).ok());
    let phone = text(&c.claim_phone)
        .filter(|_| flag("phone_number_verified"))
        .and_then(|p| normalise_phone(&p).ok());
    let login = ctx
        .state
        .store
        .sso_login(
            &c.issuer,
            &subject,
            &name,
            email.as_deref(),
            phone.as_deref(),
        )
        .await?;
    ctx.state
        .store
        .log_security(
            "login",
            Some(&login.user_id),
            Some(&login.username),
            Some(&ctx.ip),
            &format!("sso ({})", login.how),
        )
        .await?;
    let mut response = crate::http::auth::sign_in(&ctx.state, &login.user_id, "/account").await?;
    let secure = ctx.state.site.cookie_secure;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, "", secure, Some(time::Duration::ZERO)),
    );
    Ok(response)
}
