//! VNPT (VinaPhone) SMS brandname: JSON over HTTP POST, `{"RQST": {"name": "send_sms_list", …}}`
//! answered by `{"RPLY": {"ERROR": "0", …}}`. The shape is the one provincial one-stop systems
//! integrate with (see the domain notes, §8.2); VNPT does not publish the full list of error codes,
//! so [`classify`] names the ones these integrations handle and treats any other as a technical
//! failure: retried, with VNPT's code kept for the operator.

use super::{ready, Contract};
use crate::{http, Accepted, DeliveryError, Gateway, Outgoing};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How to reach VNPT's gateway and what the contract says.
#[derive(Debug, Clone)]
pub struct VnptConfig {
    /// The endpoint (`https://…/send_sms_list` or the sandbox's).
    pub url: String,
    /// Brandname, diacritics and segments.
    pub contract: Contract,
    /// `LABELID`: the brandname's id at VNPT.
    pub label_id: String,
    /// `CONTRACTTYPEID`: 1 customer care, 2 advertising.
    pub contract_type_id: String,
    /// `CONTRACTID`.
    pub contract_id: String,
    /// `TEMPLATEID`: the registered template with one parameter, the text.
    pub template_id: String,
    /// `AGENTID`.
    pub agent_id: String,
    /// `APIUSER`.
    pub api_user: String,
    /// `APIPASS`: a secret, never logged.
    pub api_pass: String,
    /// `USERNAME`: the account the messages are sent as.
    pub username: String,
}

/// VNPT's gateway.
pub struct VnptSms {
    config: VnptConfig,
    http: reqwest::Client,
}

impl std::fmt::Debug for VnptSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VnptSms")
            .field("url", &self.config.url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "UPPERCASE")]
struct Param<'a> {
    num: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "UPPERCASE")]
struct Rqst<'a> {
    #[serde(rename = "name")]
    name: &'a str,
    reqid: &'a str,
    labelid: &'a str,
    contracttypeid: &'a str,
    contractid: &'a str,
    templateid: &'a str,
    params: [Param<'a>; 1],
    scheduletime: &'a str,
    mobilelist: &'a str,
    istelcosub: &'a str,
    agentid: &'a str,
    apiuser: &'a str,
    apipass: &'a str,
    username: &'a str,
    datacoding: &'a str,
}

#[derive(Serialize)]
struct Request<'a> {
    #[serde(rename = "RQST")]
    rqst: Rqst<'a>,
}

/// VNPT's answer.
#[derive(Debug, Deserialize)]
pub struct Reply {
    /// The body.
    #[serde(rename = "RPLY")]
    pub rply: ReplyBody,
}

/// The body of VNPT's answer.
#[derive(Debug, Deserialize)]
pub struct ReplyBody {
    /// `"0"` when the message was taken.
    #[serde(rename = "ERROR")]
    pub error: String,
    /// What the code means, in VNPT's words.
    #[serde(rename = "ERROR_DESC", default)]
    pub error_desc: String,
}

/// VNPT's codes as the integrations we follow handle them (the sandbox answers with the same).
pub mod codes {
    /// Taken.
    pub const OK: &str = "0";
    /// Wrong API user or password.
    pub const AUTH: &str = "1";
    /// Not a subscriber number, or a number that cannot receive SMS.
    pub const BAD_NUMBER: &str = "3";
    /// The subscriber's phone is off or out of reach (VNPT retries, then reports).
    pub const UNREACHABLE: &str = "4";
    /// Too many requests, or the day's quota is used.
    pub const THROTTLED: &str = "11";
    /// The template is not registered, or the text does not fit it.
    pub const TEMPLATE: &str = "13";
}

/// What VNPT's `ERROR` means for the message.
pub fn classify(reply: &ReplyBody) -> Result<(), DeliveryError> {
    let status = Some(reply.error.clone());
    let message = format!("VNPT {}: {}", reply.error, reply.error_desc);
    match reply.error.as_str() {
        codes::OK => Ok(()),
        codes::BAD_NUMBER | codes::TEMPLATE => Err(DeliveryError::Permanent {
            provider_status: status,
            message,
        }),
        codes::UNREACHABLE | codes::THROTTLED => Err(DeliveryError::Temporary {
            provider_status: status,
            message,
        }),
        _ => Err(DeliveryError::Technical {
            provider_status: status,
            message,
        }),
    }
}

impl VnptSms {
    /// A gateway for `config`; `timeout` bounds each request.
    pub fn new(config: VnptConfig, timeout: Duration) -> Result<VnptSms, String> {
        Ok(VnptSms {
            config,
            http: http::client(timeout)?,
        })
    }
}

impl Gateway for VnptSms {
    fn provider(&self) -> &'static str {
        "vnpt"
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        let c = &self.config;
        let (number, text) = ready(m.to, m.body, &c.contract)?;
        let request = Request {
            rqst: Rqst {
                name: "send_sms_list",
                reqid: m.id,
                labelid: &c.label_id,
                contracttypeid: &c.contract_type_id,
                contractid: &c.contract_id,
                templateid: &c.template_id,
                params: [Param {
                    num: "1",
                    content: &text.text,
                }],
                scheduletime: "",
                mobilelist: &number,
                istelcosub: "0",
                agentid: &c.agent_id,
                apiuser: &c.api_user,
                apipass: &c.api_pass,
                username: &c.username,
                datacoding: text.measured.encoding.data_coding(),
            },
        };
        let body = http::answer(self.http.post(&c.url).json(&request).send().await).await?;
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|e| DeliveryError::technical(None, format!("VNPT answer unreadable: {e}")))?;
        classify(&reply.rply)?;
        // VNPT's receipt names the request by our REQID: it is the provider's id too.
        Ok(Accepted {
            provider_id: Some(m.id.to_owned()),
            billed_units: u32::try_from(text.measured.segments).unwrap_or(u32::MAX),
            cost: c.contract.cost(text.measured.segments),
            receipt_expected: true,
            over_budget: text.over_budget,
        })
    }
}
