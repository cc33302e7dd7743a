//! SMS brandname gateways. A brandname contract fixes what a message may look like: a registered
//! template filled positionally, with or without diacritics, priced per segment. The province's
//! notices travel in one registered template whose single parameter is the whole text, so the
//! text is prepared here (folded when the contract forbids diacritics, measured in segments) and
//! the provider is told the template and that parameter.

pub mod viettel;
pub mod vnpt;

use crate::{DeliveryError, Gateway};
pub use motcua_core::delivery::sms::{is_gsm7, msisdn};
use motcua_core::delivery::sms::{prepare, Prepared};

/// What the brandname contract allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The registered sender name shown on the phone.
    pub brandname: String,
    /// Whether Vietnamese diacritics may be sent (UCS-2); most contracts say no.
    pub unicode: bool,
    /// Segments the template is priced for: a longer text is sent and reported.
    pub max_segments: usize,
    /// What one segment costs under the contract, in đồng.
    pub price_per_segment: u32,
}

impl Contract {
    /// What `segments` segments cost.
    pub fn cost(&self, segments: usize) -> u32 {
        u32::try_from(segments)
            .unwrap_or(u32::MAX)
            .saturating_mul(self.price_per_segment)
    }
}

/// The number and text of one SMS, ready for a provider; a number that is not a Vietnamese
/// mobile is refused here, before any provider is asked.
pub(crate) fn ready(
    to: &str,
    body: &str,
    contract: &Contract,
) -> Result<(String, Prepared), DeliveryError> {
    let number = msisdn(to)
        .ok_or_else(|| DeliveryError::refused_here("recipient: not a Vietnamese mobile number"))?;
    Ok((
        number,
        prepare(body, contract.unicode, contract.max_segments),
    ))
}

/// The brandname gateway the province contracted, chosen in the configuration.
#[derive(Debug)]
pub enum SmsGateway {
    /// VNPT's JSON API.
    Vnpt(vnpt::VnptSms),
    /// Viettel's SOAP API.
    Viettel(viettel::ViettelSms),
}

impl Gateway for SmsGateway {
    fn provider(&self) -> &'static str {
        match self {
            SmsGateway::Vnpt(g) => g.provider(),
            SmsGateway::Viettel(g) => g.provider(),
        }
    }

    async fn send(&self, m: &crate::Outgoing<'_>) -> Result<crate::Accepted, DeliveryError> {
        match self {
            SmsGateway::Vnpt(g) => g.send(m).await,
            SmsGateway::Viettel(g) => g.send(m).await,
        }
    }
}
