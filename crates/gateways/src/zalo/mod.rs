//! Zalo, through the province's Official Account (OA): ZNS template messages to a phone number,
//! whether or not the person follows the OA ([`Zns`]), and messages to the OA's followers
//! ([`Oa`]), cheaper and richer (see the domain notes, §8.1 and messaging.md). Both use the OA's
//! `access_token` header; access tokens last hours and are renewed with a single-use refresh
//! token, so renewal goes through a [`TokenStore`] that replaces the pair atomically: a node that
//! loses the race reads what the winner stored instead of spending a spent token. The two
//! gateways share one [`Session`], so one renewal serves both.

mod oa;
mod zns;

pub use oa::{Oa, OaConfig, FOLLOWER_PREFIX};
pub use zns::Zns;

use crate::{http, DeliveryError};
use serde::Deserialize;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The OA's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Sent with each call; a secret.
    pub access_token: String,
    /// Spent on the next renewal; a secret.
    pub refresh_token: String,
    /// When the access token stops working (Unix seconds).
    pub expires_at: i64,
}

/// Where the tokens live, shared by every node.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored tokens, if the OA was ever authorised.
    fn load(&self) -> impl Future<Output = Result<Option<Tokens>, String>> + Send;
    /// Stores `new` in place of the pair whose refresh token was `spent`; `false` when that pair
    /// is no longer the stored one (another node renewed first).
    fn replace(
        &self,
        spent: &str,
        new: &Tokens,
    ) -> impl Future<Output = Result<bool, String>> + Send;
}

/// How to reach Zalo and which template carries the province's notices.
#[derive(Debug, Clone)]
pub struct ZnsConfig {
    /// What one ZNS message of the template costs, in đồng (Zalo prices each template).
    pub price: u32,
    /// `https://business.openapi.zalo.me` or the sandbox's.
    pub api_base: String,
    /// The OAuth endpoint that renews tokens (`https://oauth.zaloapp.com/v4/oa/access_token`).
    pub oauth_url: String,
    /// The Zalo app's id.
    pub app_id: String,
    /// The app's secret key: a secret, never logged.
    pub secret_key: String,
    /// The approved template for dossier notices.
    pub template_id: String,
    /// The template's parameter that takes the notice's title.
    pub title_param: String,
    /// The template's parameter that takes the notice's text.
    pub body_param: String,
}

/// Zalo's codes as we handle them (the sandbox answers with the same). Zalo publishes more; any
/// other is a technical failure, retried with Zalo's code kept.
pub mod codes {
    /// Sent.
    pub const OK: i64 = 0;
    /// The phone number is not valid.
    pub const BAD_PHONE: i64 = -108;
    /// The template does not exist.
    pub const NO_TEMPLATE: i64 = -109;
    /// The template's data does not fit it.
    pub const BAD_TEMPLATE_DATA: i64 = -112;
    /// The OA's quota of ZNS messages is used.
    pub const QUOTA: i64 = -117;
    /// No Zalo account for that number, or the account is disabled.
    pub const NO_ZALO_ACCOUNT: i64 = -118;
    /// The access token is invalid or expired.
    pub const TOKEN: i64 = -124;
    /// The template is not approved (yet).
    pub const TEMPLATE_NOT_APPROVED: i64 = -131;
    /// The user declined messages from this OA.
    pub const DECLINED: i64 = -139;
    /// OA API: the parameters are not valid.
    pub const OA_BAD_PARAMS: i64 = -201;
    /// OA API: the user does not follow the OA (or never shared the phone with it).
    pub const OA_NOT_FOLLOWER: i64 = -213;
    /// OA API: the access token is invalid or expired.
    pub const OA_TOKEN: i64 = -216;
}

/// Zalo's answer to a call: 0 or a code, its words, and the call's data.
#[derive(Debug, Deserialize)]
pub struct Answer<D> {
    /// 0 on success.
    pub error: i64,
    /// Zalo's words.
    #[serde(default)]
    pub message: String,
    /// What the call returned.
    #[serde(default = "none")]
    pub data: Option<D>,
}

fn none<D>() -> Option<D> {
    None
}

/// Zalo's answer to a renewal.
#[derive(Debug, Deserialize)]
struct Renewed {
    access_token: Option<String>,
    refresh_token: Option<String>,
    /// Seconds, which Zalo sends as a string.
    expires_in: Option<serde_json::Value>,
    error: Option<i64>,
    error_description: Option<String>,
}

/// What Zalo's code means for the message.
pub fn classify(error: i64, message: &str) -> Result<(), DeliveryError> {
    let provider_status = Some(error.to_string());
    let message = format!("Zalo {error}: {message}");
    match error {
        codes::OK => Ok(()),
        codes::BAD_PHONE
        | codes::NO_ZALO_ACCOUNT
        | codes::DECLINED
        | codes::NO_TEMPLATE
        | codes::BAD_TEMPLATE_DATA
        | codes::TEMPLATE_NOT_APPROVED => Err(DeliveryError::Permanent {
            provider_status,
            message,
        }),
        codes::OA_NOT_FOLLOWER | codes::OA_BAD_PARAMS => Err(DeliveryError::Permanent {
            provider_status,
            message,
        }),
        // The OA's quota for the day: the message waits, it is not the recipient's fault.
        codes::QUOTA => Err(DeliveryError::Throttled {
            provider_status,
            message,
            retry_after: Duration::from_secs(3600),
        }),
        _ => Err(DeliveryError::Technical {
            provider_status,
            message,
        }),
    }
}

/// Renew this long before the access token expires.
const RENEW_AHEAD: i64 = 300;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The OA's tokens and the HTTP client both gateways call Zalo with.
pub struct Session<S: TokenStore> {
    oauth_url: String,
    app_id: String,
    secret_key: String,
    tokens: S,
    http: reqwest::Client,
    /// The tokens in use; renewal holds the lock so one task of this node renews at a time.
    current: Mutex<Option<Tokens>>,
}

impl<S: TokenStore> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("oauth_url", &self.oauth_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore> Session<S> {
    /// A session of the app `app_id` (its secret key `secret_key`) renewing at `oauth_url`, its
    /// tokens in `tokens`; `timeout` bounds each request.
    pub fn new(
        oauth_url: String,
        app_id: String,
        secret_key: String,
        tokens: S,
        timeout: Duration,
    ) -> Result<Session<S>, String> {
        Ok(Session {
            oauth_url,
            app_id,
            secret_key,
            tokens,
            http: http::client(timeout)?,
            current: Mutex::new(None),
        })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// An access token good for a while: the one held, the stored one, or a renewed one.
    /// `stale` is a token Zalo just refused: it is renewed even if its time is not up.
    pub(crate) async fn access_token(&self, stale: Option<&str>) -> Result<String, DeliveryError> {
        let mut current = self.current.lock().await;
        let fresh = |t: &Tokens| {
            t.expires_at - RENEW_AHEAD > unix_now() && Some(t.access_token.as_str()) != stale
        };
        if let Some(t) = current.as_ref().filter(|t| fresh(t)) {
            return Ok(t.access_token.clone());
        }
        let stored = self
            .tokens
            .load()
            .await
            .map_err(|e| DeliveryError::technical(None, format!("Zalo tokens unreadable: {e}")))?
            .ok_or_else(|| {
                DeliveryError::technical(None, "Zalo OA not authorised: no tokens stored")
            })?;
        if fresh(&stored) {
            *current = Some(stored.clone());
            return Ok(stored.access_token);
        }
        let renewed = self.renew(&stored.refresh_token).await?;
        let won = self
            .tokens
            .replace(&stored.refresh_token, &renewed)
            .await
            .map_err(|e| DeliveryError::technical(None, format!("Zalo tokens not stored: {e}")))?;
        let now_held = if won {
            renewed
        } else {
            // Another node renewed first: what it stored is the pair to use.
            self.tokens
                .load()
                .await
                .map_err(|e| DeliveryError::technical(None, e))?
                .ok_or_else(|| DeliveryError::technical(None, "Zalo tokens vanished"))?
        };
        *current = Some(now_held.clone());
        Ok(now_held.access_token)
    }

    async fn renew(&self, refresh_token: &str) -> Result<Tokens, DeliveryError> {
        let form = [
            ("refresh_token", refresh_token),
            ("app_id", self.app_id.as_str()),
            ("grant_type", "refresh_token"),
        ];
        let sent = self
            .http
            .post(&self.oauth_url)
            .header("secret_key", &self.secret_key)
            .form(&form)
            .send()
            .await;
        let body = http::answer(sent).await?;
        let r: Renewed = serde_json::from_slice(&body)
            .map_err(|e| DeliveryError::technical(None, format!("Zalo renewal unreadable: {e}")))?;
        let seconds = match &r.expires_in {
            Some(serde_json::Value::String(s)) => s.parse::<i64>().ok(),
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        match (r.access_token, r.refresh_token, seconds) {
            (Some(access_token), Some(refresh_token), Some(s)) => Ok(Tokens {
                access_token,
                refresh_token,
                expires_at: unix_now() + s,
            }),
            _ => Err(DeliveryError::technical(
                r.error.map(|e| e.to_string()),
                format!(
                    "Zalo refused to renew the OA's token: {}",
                    r.error_description.unwrap_or_default()
                ),
            )),
        }
    }
}
