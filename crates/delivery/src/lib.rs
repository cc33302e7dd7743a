//! The outbox worker: delivers what handlers wrote to the outbox in their transactions, one worker
//! per delivery channel, each with its channel's gateway. Delivery is at least once (a claim is a
//! lease; a crash means another try) and each message carries its id to the provider, so a
//! duplicate can be recognised. Failures are retried with exponential backoff; a permanent
//! refusal or exhausted attempts end the message. What the provider said (its id for an accepted
//! message, its status code for a refusal) is kept with the message.

use motcua_core::accounts::Quota;
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

/// What the recipient's quotas say of one more message: send it, wait until a window ends, or
/// drop it for the day. Every message counts, whatever wrote it (a code, a dossier's notice):
/// filing dossiers with someone else's phone or email must not flood them.
enum Turn {
    Send,
    Wait(time::OffsetDateTime),
    Drop,
}

async fn recipient_turn(store: &Store, to: &str) -> Result<Turn, motcua_store::StoreError> {
    let daily = store
        .quota_take(
            &format!("deliver:day:{to}"),
            Quota::MESSAGES_TO_RECIPIENT_DAILY,
        )
        .await?;
    if daily.is_err() {
        return Ok(Turn::Drop);
    }
    Ok(
        match store
            .quota_take(
                &format!("deliver:window:{to}"),
                Quota::MESSAGES_TO_RECIPIENT,
            )
            .await?
        {
            Ok(()) => Turn::Send,
            Err(until) => Turn::Wait(until),
        },
    )
}

/// Sends one claimed message and records the outcome.
async fn deliver<G: Gateway>(
    store: &Store,
    channel: DeliveryChannel,
    gateway: &G,
    m: &Claimed,
    config: WorkerConfig,
) {
    let turn = match recipient_turn(store, &m.recipient).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: recipient quota unreadable; message left for later");
            return;
        }
    };
    let recorded = match turn {
        Turn::Send => send(store, channel, gateway, m, config).await,
        Turn::Wait(until) => {
            tracing::info!(message = %m.id, channel = channel.as_str(), "outbox: recipient's quota for the quarter hour used; delivery waits");
            store
                .outbox_defer(
                    &m.id,
                    until,
                    "waiting: the recipient's quota for this quarter hour is used",
                )
                .await
        }
        Turn::Drop => {
            tracing::warn!(message = %m.id, channel = channel.as_str(), "outbox: recipient's quota for the day used; not sent");
            store
                .outbox_failed(
                    &m.id,
                    m.attempts,
                    true,
                    None,
                    "not sent: the recipient already had the day's maximum of messages (limit against message bombing)",
                    time::Duration::ZERO,
                )
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "outbox: could not record a delivery result");
    }
}

/// Sends a message through the gateway and records what the provider answered.
async fn send<G: Gateway>(
    store: &Store,
    channel: DeliveryChannel,
    gateway: &G,
    m: &Claimed,
    config: WorkerConfig,
) -> Result<(), motcua_store::StoreError> {
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
    match sent {
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
