//! Viettel SMS brandname: SOAP 1.1, operation `wsCpMt` of the `CcApi` service in namespace
//! `http://impl.bulkSms.ws/` (see the domain notes, §8.2). The answer's `<result>` is `1` when the
//! message was taken; any other value is a refusal with Viettel's `<message>` beside it.

use super::{ready, Contract};
use crate::{http, Accepted, DeliveryError, Gateway, Outgoing};
use quick_xml::escape::escape;
use quick_xml::events::Event;
use std::time::Duration;

/// How to reach Viettel's gateway and what the contract says.
#[derive(Debug, Clone)]
pub struct ViettelConfig {
    /// The `CcApi` endpoint.
    pub url: String,
    /// Brandname (`ServiceID`), diacritics and segments.
    pub contract: Contract,
    /// `User`.
    pub user: String,
    /// `Password`: a secret, never logged.
    pub password: String,
    /// `CPCode`: the content provider's code.
    pub cp_code: String,
    /// `CommandCode`, usually `bulksms`.
    pub command_code: String,
}

/// Viettel's gateway.
pub struct ViettelSms {
    config: ViettelConfig,
    http: reqwest::Client,
}

impl std::fmt::Debug for ViettelSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViettelSms")
            .field("url", &self.config.url)
            .finish_non_exhaustive()
    }
}

/// Viettel's answer to `wsCpMt`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WsCpMtResult {
    /// `1`: taken.
    pub result: String,
    /// Viettel's words.
    pub message: String,
}

/// Viettel's result codes as integrations handle them (the sandbox answers with the same).
pub mod codes {
    /// Taken.
    pub const OK: &str = "1";
    /// Wrong user, password or CP code.
    pub const AUTH: &str = "0";
    /// The receiver is not a valid subscriber.
    pub const BAD_NUMBER: &str = "-2";
    /// Content refused (not matching the registered template, or forbidden words).
    pub const CONTENT: &str = "-3";
    /// The subscriber cannot be reached now.
    pub const UNREACHABLE: &str = "-4";
    /// Sending too fast, or out of quota.
    pub const THROTTLED: &str = "-5";
}

/// The SOAP envelope of one `wsCpMt` call, every value escaped.
pub fn envelope(
    c: &ViettelConfig,
    request_id: &str,
    number: &str,
    text: &str,
    unicode: bool,
) -> String {
    let field = |name: &str, value: &str| format!("<{name}>{}</{name}>", escape(value));
    let body = [
        field("User", &c.user),
        field("Password", &c.password),
        field("CPCode", &c.cp_code),
        field("RequestID", request_id),
        field("UserID", number),
        field("ReceiverID", number),
        field("ServiceID", &c.contract.brandname),
        field("CommandCode", &c.command_code),
        field("Content", text),
        field("ContentType", if unicode { "1" } else { "0" }),
    ]
    .concat();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:impl=\"http://impl.bulkSms.ws/\"><soapenv:Header/><soapenv:Body>\
         <impl:wsCpMt>{body}</impl:wsCpMt></soapenv:Body></soapenv:Envelope>"
    )
}

/// The texts of the named elements (by local name, any namespace) of an XML document, first
/// occurrence each.
pub fn texts(xml: &str, names: &[&str]) -> Result<Vec<Option<String>>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = vec![None; names.len()];
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let local = e.local_name();
                if let Some(i) = names.iter().position(|n| n.as_bytes() == local.as_ref()) {
                    let raw = reader.read_text(e.name()).map_err(|e| e.to_string())?;
                    let text = quick_xml::escape::unescape(&raw).map_err(|e| e.to_string())?;
                    found[i].get_or_insert_with(|| text.trim().to_owned());
                }
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

/// Reads Viettel's answer.
pub fn parse_result(xml: &str) -> Result<WsCpMtResult, String> {
    let mut t = texts(xml, &["result", "message"])?.into_iter();
    let result = t.next().flatten().ok_or("no <result> in the answer")?;
    let message = t.next().flatten().unwrap_or_default();
    Ok(WsCpMtResult { result, message })
}

/// What Viettel's result means for the message.
pub fn classify(r: &WsCpMtResult) -> Result<(), DeliveryError> {
    let provider_status = Some(r.result.clone());
    let message = format!("Viettel {}: {}", r.result, r.message);
    match r.result.as_str() {
        codes::OK => Ok(()),
        codes::BAD_NUMBER | codes::CONTENT => Err(DeliveryError::Permanent {
            provider_status,
            message,
        }),
        codes::UNREACHABLE | codes::THROTTLED => Err(DeliveryError::Temporary {
            provider_status,
            message,
        }),
        _ => Err(DeliveryError::Technical {
            provider_status,
            message,
        }),
    }
}

impl ViettelSms {
    /// A gateway for `config`; `timeout` bounds each request.
    pub fn new(config: ViettelConfig, timeout: Duration) -> Result<ViettelSms, String> {
        Ok(ViettelSms {
            config,
            http: http::client(timeout)?,
        })
    }
}

impl Gateway for ViettelSms {
    fn provider(&self) -> &'static str {
        "viettel"
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        let c = &self.config;
        let (number, text) = ready(m.to, m.body, &c.contract)?;
        let unicode = text.measured.encoding == motcua_core::delivery::sms::Encoding::Ucs2;
        let xml = envelope(c, m.id, &number, &text.text, unicode);
        let sent = self
            .http
            .post(&c.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(xml)
            .send()
            .await;
        let body = http::answer(sent).await?;
        let answer = std::str::from_utf8(&body)
            .map_err(|_| DeliveryError::technical(None, "Viettel answer is not UTF-8"))?;
        let result = parse_result(answer).map_err(|e| {
            DeliveryError::technical(None, format!("Viettel answer unreadable: {e}"))
        })?;
        classify(&result)?;
        Ok(Accepted {
            provider_id: Some(m.id.to_owned()),
            billed_units: u32::try_from(text.measured.segments).unwrap_or(u32::MAX),
            cost: c.contract.cost(text.measured.segments),
            receipt_expected: true,
            over_budget: text.over_budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_answers_read_in_any_namespace() {
        let c = ViettelConfig {
            url: String::new(),
            contract: Contract {
                brandname: "UBND LS".into(),
                unicode: false,
                max_segments: 2,
                price_per_segment: 0,
            },
            user: "u".into(),
            password: "p<&>".into(),
            cp_code: "CP".into(),
            command_code: "bulksms".into(),
        };
        let xml = envelope(&c, "r1", "84912345678", "a < b & c", false);
        assert!(xml.contains("<Password>p&lt;&amp;&gt;</Password>"));
        assert!(xml.contains("<Content>a &lt; b &amp; c</Content>"));
        let read = texts(&xml, &["Content", "ReceiverID"]).unwrap();
        assert_eq!(read[0].as_deref(), Some("a < b & c"));
        assert_eq!(read[1].as_deref(), Some("84912345678"));
        let answer = "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
            <ns2:wsCpMtResponse xmlns:ns2=\"http://impl.bulkSms.ws/\"><return>\
            <message>Success</message><result>1</result></return></ns2:wsCpMtResponse></S:Body></S:Envelope>";
        let r = parse_result(answer).unwrap();
        assert_eq!(r.result, "1");
        assert!(classify(&r).is_ok());
        assert!(parse_result("<a><b>x</b></a>").is_err());
    }
}
