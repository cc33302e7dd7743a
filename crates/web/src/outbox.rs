//! The outbox worker: delivers what handlers wrote to the outbox in their transactions. Delivery is
//! at least once (a claim is a lease; a crash means another try) and each message carries its id
//! as Message-ID, so a duplicate can be recognised. Failures are retried with exponential backoff;
//! 5xx answers and exhausted attempts are permanent.

use motcua_gateways::{DeliveryError, Outgoing, SmtpMailer};
use motcua_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Pause between polls when nothing is due.
    pub poll: Duration,
    /// First retry delay; it doubles per attempt, up to six hours.
    pub backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll: Duration::from_secs(2),
            backoff: Duration::from_secs(30),
        }
    }
}

/// The retry delay after `attempts` attempts.
pub fn retry_delay(base: Duration, attempts: i64) -> Duration {
    let factor = 2_u32.saturating_pow(u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0));
    base.saturating_mul(factor)
        .min(Duration::from_secs(6 * 3600))
}

/// Delivers email messages of the outbox until the task is aborted. SMS messages wait in the
/// outbox until an SMS gateway is configured.
pub fn spawn_email_worker(
    store: Arc<Store>,
    mailer: Arc<SmtpMailer>,
    config: WorkerConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let batch = match store.claim_outbox("email", 20).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: claim failed");
                    Vec::new()
                }
            };
            let idle = batch.is_empty();
            for m in batch {
                let outgoing = Outgoing {
                    id: &m.id,
                    to: &m.recipient,
                    subject: &m.subject,
                    body: &m.body,
                };
                // A panic while sending one message must not stop delivery of the others.
                let sent = {
                    use futures_util::FutureExt;
                    std::panic::AssertUnwindSafe(mailer.send(&outgoing))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            Err(DeliveryError::Permanent(
                                "the mailer failed on this message".into(),
                            ))
                        })
                };
                let result = match sent {
                    Ok(()) => store.outbox_delivered(&m.id).await,
                    Err(e) => {
                        let permanent = matches!(e, DeliveryError::Permanent(_));
                        // The error names the server's answer, never the recipient's address.
                        tracing::warn!(message = %m.id, attempts = m.attempts, permanent, "outbox: delivery failed");
                        let delay =
                            time::Duration::try_from(retry_delay(config.backoff, m.attempts))
                                .unwrap_or(time::Duration::HOUR);
                        store
                            .outbox_failed(&m.id, m.attempts, permanent, &e.to_string(), delay)
                            .await
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "outbox: could not record a delivery result");
                }
            }
            if idle {
                tokio::time::sleep(config.poll).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 5), Duration::from_secs(480));
        assert_eq!(retry_delay(base, 30), Duration::from_secs(6 * 3600));
    }
}
