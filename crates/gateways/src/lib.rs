//! Outbound gateways. Each one sends one message to its provider and says what the provider
//! answered: accepted (with the provider's id for the message), or a failure that is worth
//! retrying or not, with the provider's own status kept. The outbox worker (`motcua-delivery`)
//! decides when to retry.

mod http;
pub mod sms;
pub mod smtp;
pub mod zalo;

pub use http::{builder as http_client_builder, secret};
pub use smtp::{MailerError, SmtpMailer};

/// What a provider answered to a message it took.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The provider's id for the message, when it gives one (for receipts and complaints).
    pub provider_id: Option<String>,
    /// What the message is billed as: SMS segments, or one ZNS template message.
    pub billed_units: u32,
    /// What it costs, in đồng: the units at the contract's or the template's price.
    pub cost: u32,
    /// Whether the provider will confirm delivery later by a receipt: until then the message
    /// stays "sending". SMTP gives none: a relay's acceptance is the last word we get.
    pub receipt_expected: bool,
    /// The text was longer than its template is priced for (sent anyway; reported).
    pub over_budget: bool,
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (the provider said "try later", or could not be reached).
    #[error("temporary: {message}")]
    Temporary {
        /// The provider's own status code, when it answered (an SMTP reply code, a provider
        /// error code).
        provider_status: Option<String>,
        /// What it said.
        message: String,
    },
    /// Our side or the provider's API failed (unreachable, 5xx, an answer we cannot read):
    /// retried like a temporary failure, reported apart from the recipient's own troubles.
    #[error("technical: {message}")]
    Technical {
        /// The provider's own status code, when it answered.
        provider_status: Option<String>,
        /// What went wrong.
        message: String,
    },
    /// The provider (or our own pace for it) takes no more now: the message goes back in the
    /// queue for `retry_after`, untried, its attempts not counted — never dropped.
    #[error("throttled: {message}")]
    Throttled {
        /// The provider's own status code, when it answered.
        provider_status: Option<String>,
        /// What it said.
        message: String,
        /// When to come back.
        retry_after: std::time::Duration,
    },
    /// Will never succeed as is (no such mailbox or subscriber, refused content).
    #[error("permanent: {message}")]
    Permanent {
        /// The provider's own status code, when it answered.
        provider_status: Option<String>,
        /// What it said.
        message: String,
    },
}

impl DeliveryError {
    /// A permanent failure found before any provider was asked (a malformed recipient).
    pub fn refused_here(message: impl Into<String>) -> DeliveryError {
        DeliveryError::Permanent {
            provider_status: None,
            message: message.into(),
        }
    }

    /// A failure of the provider's API or of the network, with the provider's code if any.
    pub fn technical(provider_status: Option<String>, message: impl Into<String>) -> DeliveryError {
        DeliveryError::Technical {
            provider_status,
            message: message.into(),
        }
    }

    /// Whether trying again can help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DeliveryError::Permanent { .. })
    }

    /// The provider's own status code, if it gave one.
    pub fn provider_status(&self) -> Option<&str> {
        match self {
            DeliveryError::Temporary {
                provider_status, ..
            }
            | DeliveryError::Technical {
                provider_status, ..
            }
            | DeliveryError::Permanent {
                provider_status, ..
            }
            | DeliveryError::Throttled {
                provider_status, ..
            } => provider_status.as_deref(),
        }
    }
}

/// A provider that sends one message at a time: SMTP, SMS brandname (VNPT, Viettel), Zalo ZNS
/// and the Zalo OA.
pub trait Gateway: Send + Sync + 'static {
    /// The provider's short name, as the outbox records it (`smtp`, `vnpt`, `viettel`, `zns`,
    /// `zalo_oa`).
    fn provider(&self) -> &'static str;

    /// Sends `message`; resolves once the provider accepted or refused it.
    fn send(
        &self,
        message: &Outgoing<'_>,
    ) -> impl std::future::Future<Output = Result<Accepted, DeliveryError>> + Send;
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// Stable id: becomes the Message-ID, so a message delivered twice can be recognised.
    pub id: &'a str,
    /// Address.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
}
