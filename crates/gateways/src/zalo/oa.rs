//! Messages to the OA's followers: the follower's Zalo id is looked up from the phone
//! (`GET …/v2.0/oa/getprofile`), or given as `zalo:<id>` by a follower who linked a dossier to
//! their Zalo; the message goes as a transaction message (`POST …/v3.0/oa/message/transaction`).
//! A person who does not follow the OA is a permanent failure of this gateway only: ZNS or SMS
//! takes the message.

use super::{classify, codes, Answer, Session, TokenStore};
use crate::{Accepted, DeliveryError, Gateway, Outgoing};
use motcua_core::delivery::sms::msisdn;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a follower known by their Zalo id is addressed in the outbox.
pub const FOLLOWER_PREFIX: &str = motcua_core::delivery::ZALO_FOLLOWER;

/// Where the OA API is and what its messages cost.
#[derive(Debug, Clone)]
pub struct OaConfig {
    /// `https://openapi.zalo.me` or the sandbox's.
    pub api_base: String,
    /// What one transaction message costs, in đồng.
    pub price: u32,
}

#[derive(Debug, Deserialize)]
struct Profile {
    user_id: String,
}

#[derive(Debug, Deserialize)]
struct Sent {
    message_id: String,
}

/// A phone's follower id is remembered this long: a follow or unfollow shows after it.
const REMEMBER: Duration = Duration::from_secs(600);
/// At most this many phones remembered.
const REMEMBER_MAX: usize = 50_000;

/// The OA's followers through the session `S`'s tokens.
pub struct Oa<S: TokenStore> {
    config: OaConfig,
    session: Arc<Session<S>>,
    followers: Mutex<HashMap<String, (String, Instant)>>,
}

impl<S: TokenStore> std::fmt::Debug for Oa<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oa")
            .field("api_base", &self.config.api_base)
            .finish_non_exhaustive()
    }
}

/// Calls the OA API with `token`, once more with a renewed one when Zalo says it is stale.
macro_rules! with_token {
    ($self:ident, |$token:ident| $call:expr) => {{
        let $token = $self.session.access_token(None).await?;
        let answer = $call;
        if matches!(answer.error, codes::OA_TOKEN | codes::TOKEN) {
            let $token = $self.session.access_token(Some(&$token)).await?;
            $call
        } else {
            answer
        }
    }};
}

impl<S: TokenStore> Oa<S> {
    /// A gateway for `config` through `session` (the one ZNS uses).
    pub fn new(config: OaConfig, session: Arc<Session<S>>) -> Oa<S> {
        Oa {
            config,
            session,
            followers: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    async fn call<D: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        token: &str,
    ) -> Result<Answer<D>, DeliveryError> {
        let body = crate::http::answer(request.header("access_token", token).send().await).await?;
        serde_json::from_slice(&body)
            .map_err(|e| DeliveryError::technical(None, format!("Zalo answer unreadable: {e}")))
    }

    /// The follower id of `phone` (`84…`).
    async fn follower(&self, phone: &str) -> Result<String, DeliveryError> {
        if let Ok(known) = self.followers.lock() {
            if let Some((id, at)) = known.get(phone) {
                if at.elapsed() < REMEMBER {
                    return Ok(id.clone());
                }
            }
        }
        let data = serde_json::json!({ "user_id": phone }).to_string();
        let answer: Answer<Profile> = with_token!(self, |token| {
            let request = self
                .session
                .http()
                .get(self.url("/v2.0/oa/getprofile"))
                .query(&[("data", data.as_str())]);
            self.call(request, &token).await?
        });
        classify(answer.error, &answer.message)?;
        let id = answer
            .data
            .map(|p| p.user_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| DeliveryError::technical(None, "Zalo profile without a user id"))?;
        if let Ok(mut known) = self.followers.lock() {
            if known.len() >= REMEMBER_MAX {
                known.clear();
            }
            known.insert(phone.to_owned(), (id.clone(), Instant::now()));
        }
        Ok(id)
    }
}

impl<S: TokenStore> Gateway for Oa<S> {
    fn provider(&self) -> &'static str {
        "zalo_oa"
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        let user_id = match m.to.strip_prefix(FOLLOWER_PREFIX) {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                id.to_owned()
            }
            Some(_) => return Err(DeliveryError::refused_here("recipient: not a Zalo user id")),
            None => {
                let phone = msisdn(m.to).ok_or_else(|| {
                    DeliveryError::refused_here("recipient: not a Vietnamese mobile number")
                })?;
                self.follower(&phone).await?
            }
        };
        let body = serde_json::json!({
            "recipient": { "user_id": user_id },
            "message": { "attachment": { "type": "template", "payload": {
                "template_type": "transaction_event",
                "language": "VI",
                "elements": [
                    { "type": "header", "content": m.subject, "align": "left" },
                    { "type": "text", "content": m.body, "align": "left" },
                ],
            }}},
        });
        let answer: Answer<Sent> = with_token!(self, |token| {
            let request = self
                .session
                .http()
                .post(self.url("/v3.0/oa/message/transaction"))
                .json(&body);
            self.call(request, &token).await?
        });
        if answer.error == codes::OA_NOT_FOLLOWER {
            // Unfollowed since it was remembered.
            if let Ok(mut known) = self.followers.lock() {
                known.retain(|_, (id, _)| id != &user_id);
            }
        }
        classify(answer.error, &answer.message)?;
        Ok(Accepted {
            provider_id: answer.data.map(|d| d.message_id),
            billed_units: 1,
            cost: self.config.price,
            receipt_expected: true,
            over_budget: false,
        })
    }
}
