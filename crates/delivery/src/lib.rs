//! The outbox worker: delivers what handlers wrote to the outbox in their transactions, one worker
//! per delivery channel, each with its channel's gateway. Delivery is at least once (a claim is a
//! lease; a crash means another try) and each message carries its id to the provider, so a
//! duplicate can be recognised. Failures are retried with exponential backoff; a permanent
//! refusal or exhausted attempts end the message. What the provider said (its id for an accepted
//! message, its status code for a refusal) is kept with the message.

use motcua_core::delivery::DeliveryChannel;
use motcua_gateways::{DeliveryError, Gateway, Outgoing};
use motcua_store::outbox::Claimed;
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

/// Messages claimed at once.
const BATCH: i64 = 20;

/// The retry delay after `attempts` attempts.
pub fn retry_delay(base: Duration, attempts: i64) -> Duration {
    let factor = 2_u32.saturating_pow(u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0));
    base.saturating_mul(factor)
        .min(Duration::from_secs(6 * 3600))
}

/// Delivers the outbox's messages of `channel` through `gateway` until the task is aborted.
/// Messages of channels without a worker wait in the outbox until one is configured.
pub fn spawn_worker<G: Gateway>(
    store: Arc<Store>,
    channel: DeliveryChannel,
    gateway: Arc<G>,
    config: WorkerConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let batch = match store.claim_outbox(channel, BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, channel = channel.as_str(), "outbox: claim failed");
                    Vec::new()
                }
            };
            let idle = batch.is_empty();
            for m in batch {
                deliver(&store, channel, gateway.as_ref(), &m, config).await;
            }
            if idle {
                tokio::time::sleep(config.poll).await;
            }
        }
    })
}

/// Sends one claimed message and records the outcome.
async fn deliver<G: Gateway>(
    store: &Store,
    channel: DeliveryChannel,
    gateway: &G,
    m: &Claimed,
    config: WorkerConfig,
) {
    let outgoing = Outgoing {
        id: &m.id,
        to: &m.recipient,
        subject: &m.subject,
        body: &m.body,
    };
    // A panic while sending one message must not stop delivery of the others.
    let sent = {
        use futures_util::FutureExt;
        std::panic::AssertUnwindSafe(gateway.send(&outgoing))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::refused_here(
                    "the gateway failed on this message",
                ))
            })
    };
    let recorded = match sent {
        Ok(accepted) => {
            store
                .outbox_delivered(&m.id, accepted.provider_id.as_deref())
                .await
        }
        Err(e) => {
            let permanent = e.is_permanent();
            // The log names the provider's answer, never the recipient's address.
            tracing::warn!(message = %m.id, channel = channel.as_str(), attempts = m.attempts,
                permanent, provider_status = e.provider_status().unwrap_or("-"),
                "outbox: delivery failed");
            let delay = time::Duration::try_from(retry_delay(config.backoff, m.attempts))
                .unwrap_or(time::Duration::HOUR);
            store
                .outbox_failed(
                    &m.id,
                    m.attempts,
                    permanent,
                    e.provider_status(),
                    &e.to_string(),
                    delay,
                )
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "outbox: could not record a delivery result");
    }
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
