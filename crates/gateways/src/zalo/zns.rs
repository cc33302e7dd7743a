//! ZNS: an approved template to a phone number (`POST …/message/template`).

use super::{classify, codes, Answer, Session, TokenStore, ZnsConfig};
use crate::{http, Accepted, DeliveryError, Gateway, Outgoing};
use motcua_core::delivery::sms::msisdn;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Serialize)]
struct SendTemplate<'a> {
    phone: &'a str,
    template_id: &'a str,
    template_data: serde_json::Map<String, serde_json::Value>,
    tracking_id: &'a str,
}

/// The data of a successful send.
#[derive(Debug, Deserialize)]
struct Sent {
    msg_id: String,
}

/// ZNS through the OA's tokens in `S`.
pub struct Zns<S: TokenStore> {
    config: ZnsConfig,
    session: Arc<Session<S>>,
}

impl<S: TokenStore> std::fmt::Debug for Zns<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zns")
            .field("api_base", &self.config.api_base)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore> Zns<S> {
    /// A gateway for `config` with its tokens in `tokens`; `timeout` bounds each request.
    pub fn new(config: ZnsConfig, tokens: S, timeout: Duration) -> Result<Zns<S>, String> {
        let session = Session::new(
            config.oauth_url.clone(),
            config.app_id.clone(),
            config.secret_key.clone(),
            tokens,
            timeout,
        )?;
        Ok(Zns {
            config,
            session: Arc::new(session),
        })
    }

    /// The OA's session, for the followers' gateway to share its tokens.
    pub fn session(&self) -> Arc<Session<S>> {
        self.session.clone()
    }

    async fn send_with(
        &self,
        token: &str,
        m: &Outgoing<'_>,
        phone: &str,
    ) -> Result<Answer<Sent>, DeliveryError> {
        let c = &self.config;
        let mut data = serde_json::Map::new();
        data.insert(c.title_param.clone(), m.subject.into());
        data.insert(c.body_param.clone(), m.body.into());
        let request = SendTemplate {
            phone,
            template_id: &c.template_id,
            template_data: data,
            tracking_id: m.id,
        };
        let url = format!("{}/message/template", c.api_base.trim_end_matches('/'));
        let sent = self
            .session
            .http()
            .post(url)
            .header("access_token", token)
            .json(&request)
            .send()
            .await;
        let body = http::answer(sent).await?;
        serde_json::from_slice(&body)
            .map_err(|e| DeliveryError::technical(None, format!("Zalo answer unreadable: {e}")))
    }
}

impl<S: TokenStore> Gateway for Zns<S> {
    fn provider(&self) -> &'static str {
        "zns"
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        let phone = msisdn(m.to).ok_or_else(|| {
            DeliveryError::refused_here("recipient: not a Vietnamese mobile number")
        })?;
        let token = self.session.access_token(None).await?;
        let mut answer = self.send_with(&token, m, &phone).await?;
        if answer.error == codes::TOKEN {
            // Revoked or expired early: renew once and try again.
            let token = self.session.access_token(Some(&token)).await?;
            answer = self.send_with(&token, m, &phone).await?;
        }
        classify(answer.error, &answer.message)?;
        Ok(Accepted {
            provider_id: answer.data.map(|d| d.msg_id),
            billed_units: 1,
            cost: self.config.price,
            receipt_expected: true,
            over_budget: false,
        })
    }
}
