//! Email over SMTP through lettre's pooled transport.

use crate::{Accepted, DeliveryError, Gateway, Outgoing};
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why the mailer cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailerError {
    /// The SMTP URL does not parse.
    #[error("smtp_url: {0}")]
    Url(String),
    /// The sender address does not parse.
    #[error("mail_from: '{0}' is not a mailbox like \"Cổng Dịch vụ công <no-reply@example.vn>\"")]
    From(String),
}

/// Email over SMTP, with a connection pool (create it inside a Tokio runtime). `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
/// (STARTTLS) or `smtps://user:pass@host:465`.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

impl SmtpMailer {
    /// A mailer for `url` sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailerError::Url(format!("'{}': {e}", redact(url))))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| MailerError::From(from.to_owned()))?;
        Ok(SmtpMailer { transport, from })
    }
}

/// The reply code of an SMTP error, when the server gave one.
fn smtp_code(e: &lettre::transport::smtp::Error) -> Option<String> {
    e.status().map(|c| c.to_string())
}

impl Gateway for SmtpMailer {
    fn provider(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        let to =
            m.to.parse::<Mailbox>()
                .map_err(|e| DeliveryError::refused_here(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .message_id(Some(format!("<{}@motcua>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            // lettre picks the transfer encoding that fits the text (Vietnamese: base64 or QP).
            .body(Body::new(m.body.to_owned()))
            .map_err(|e| DeliveryError::refused_here(format!("message: {e}")))?;
        // SMTP gives no id of its own for an accepted message: ours is its Message-ID.
        match self.transport.send(message).await {
            Ok(_) => Ok(Accepted::default()),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent {
                provider_status: smtp_code(&e),
                message: e.to_string(),
            }),
            Err(e) => Err(DeliveryError::Temporary {
                provider_status: smtp_code(&e),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pool starts a task when built: inside a runtime, as in the server.
    #[tokio::test]
    async fn bad_settings_are_named_and_secrets_hidden() {
        let e = SmtpMailer::new("ftp://user:secret@host", "a@b.vn")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("smtp_url:") && !e.contains("secret"), "{e}");
        let e = SmtpMailer::new("smtp://127.0.0.1:2525", "not a mailbox")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("mail_from:"), "{e}");
        assert!(SmtpMailer::new(
            "smtp://127.0.0.1:2525",
            "Cổng Dịch vụ công <no-reply@langson.gov.vn>"
        )
        .is_ok());
    }
}
