//! The delivery engine: delivers what handlers wrote to the outbox in their transactions, one
//! worker per delivery channel, each with its channel's route: email through SMTP; a phone through
//! Zalo first for notices where ZNS is configured, else (or when Zalo does not take it, or does not
//! confirm it in time) through the SMS brandname gateway. A sweeper moves on what waits too long
//! for a receipt. Delivery is at least once (a claim is a
//! lease; a crash means another try) and each message carries its id to the provider, so a
//! duplicate can be recognised. Failures are retried with exponential backoff; a permanent
//! refusal or exhausted attempts end the message. What the provider said (its id for an accepted
//! message, its status code for a refusal) is kept with the message.

mod tokens;

pub use tokens::StoreTokens;

use motcua_core::accounts::Quota;
use motcua_core::delivery::{DeliveryChannel, MessageKind};
use motcua_gateways::{Accepted, DeliveryError, Gateway, Outgoing};
use motcua_store::outbox::{Claimed, Failure};
use motcua_store::{Store, StoreError};
use std::future::Future;
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

/// How a claimed message of one channel reaches its provider.
pub trait Route: Send + Sync + 'static {
    /// Sends `m` and records what came of it.
    fn send(
        &self,
        store: &Store,
        m: &Claimed,
        config: WorkerConfig,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One gateway for the whole channel (email through SMTP).
pub struct Direct<G: Gateway>(pub Arc<G>);

impl<G: Gateway> Route for Direct<G> {
    async fn send(
        &self,
        store: &Store,
        m: &Claimed,
        config: WorkerConfig,
    ) -> Result<(), StoreError> {
        let channel = DeliveryChannel::for_address(&m.recipient);
        attempt(store, channel, self.0.as_ref(), m, config).await
    }
}

/// A phone: Zalo first for notices when ZNS is configured and was not tried yet, SMS otherwise
/// and whenever Zalo does not take the message. One-time codes go by SMS at once: they are
/// awaited on a screen and must not wait for a fallback.
pub struct Phone<S: Gateway, Z: Gateway> {
    /// The SMS brandname gateway.
    pub sms: Arc<S>,
    /// ZNS, when configured.
    pub zalo: Option<Arc<Z>>,
}

impl<S: Gateway, Z: Gateway> Route for Phone<S, Z> {
    async fn send(
        &self,
        store: &Store,
        m: &Claimed,
        config: WorkerConfig,
    ) -> Result<(), StoreError> {
        if let Some(zalo) = self
            .zalo
            .as_ref()
            .filter(|_| m.kind == MessageKind::Notice && !m.zalo_tried)
        {
            match guarded_send(zalo.as_ref(), m).await {
                Ok(accepted) => {
                    return accepted_by(store, DeliveryChannel::Zalo, zalo.provider(), m, &accepted)
                        .await
                }
                Err(e) => {
                    tracing::info!(message = %m.id, provider_status = e.provider_status().unwrap_or("-"),
                        "outbox: Zalo did not take a notice; SMS takes over");
                    store
                        .outbox_zalo_declined(&m.id, e.provider_status(), &e.to_string())
                        .await?;
                }
            }
        }
        attempt(store, DeliveryChannel::Sms, self.sms.as_ref(), m, config).await
    }
}

/// Delivers the outbox's messages of `channel` through `route` until the task is aborted.
/// Messages of channels without a worker wait in the outbox until one is configured.
pub fn spawn_worker<R: Route>(
    store: Arc<Store>,
    channel: DeliveryChannel,
    route: R,
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
            // The batch's messages go out together: a provider's latency is paid once a batch,
            // not once a message.
            let sends = batch
                .iter()
                .map(|m| deliver(&store, channel, &route, m, config));
            futures_util::future::join_all(sends).await;
            if idle {
                tokio::time::sleep(config.poll).await;
            }
        }
    })
}

/// How long the sweeper lets an accepted message wait for its receipt.
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// A notice Zalo took but did not confirm in this time goes by SMS.
    pub zalo_fallback_after: time::Duration,
    /// A message accepted and unconfirmed this long ends as a technical failure (Notify: 3 days).
    pub stuck_after: time::Duration,
    /// Pause between sweeps.
    pub every: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            zalo_fallback_after: time::Duration::minutes(5),
            stuck_after: time::Duration::days(3),
            every: Duration::from_secs(10),
        }
    }
}

/// Sweeps the outbox every `config.every` until the task is aborted.
pub fn spawn_sweeper(store: Arc<Store>, config: SweepConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store
                .outbox_sweep(config.zalo_fallback_after, config.stuck_after)
                .await
            {
                Ok((0, 0)) => {}
                Ok((fell, stuck)) => {
                    tracing::info!(fell_back_to_sms = fell, stuck, "outbox: swept")
                }
                Err(e) => tracing::warn!(error = %e, "outbox: sweep failed"),
            }
            tokio::time::sleep(config.every).await;
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
async fn deliver<R: Route>(
    store: &Store,
    channel: DeliveryChannel,
    route: &R,
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
        Turn::Send => route.send(store, m, config).await,
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
                    m,
                    "-",
                    Failure::Permanent,
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

/// Sends through `gateway`, a panic counted as a failure of this message only.
async fn guarded_send<G: Gateway>(gateway: &G, m: &Claimed) -> Result<Accepted, DeliveryError> {
    let outgoing = Outgoing {
        id: &m.id,
        to: &m.recipient,
        subject: &m.subject,
        body: &m.body,
    };
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(gateway.send(&outgoing))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(DeliveryError::technical(
                None,
                "the gateway failed on this message",
            ))
        })
}

/// Records that a provider took `m`: delivered when its acceptance is the last word, else sent
/// and waiting for the receipt.
async fn accepted_by(
    store: &Store,
    channel: DeliveryChannel,
    provider: &str,
    m: &Claimed,
    a: &Accepted,
) -> Result<(), StoreError> {
    if a.over_budget {
        tracing::warn!(message = %m.id, units = a.billed_units, "outbox: text longer than its template is priced for");
    }
    if a.receipt_expected {
        store
            .outbox_accepted(
                &m.id,
                channel,
                provider,
                a.provider_id.as_deref(),
                a.billed_units,
            )
            .await
    } else {
        store
            .outbox_delivered(&m.id, provider, a.provider_id.as_deref())
            .await
    }
}

/// Sends a message through one gateway and records what the provider answered.
async fn attempt<G: Gateway>(
    store: &Store,
    channel: DeliveryChannel,
    gateway: &G,
    m: &Claimed,
    config: WorkerConfig,
) -> Result<(), StoreError> {
    match guarded_send(gateway, m).await {
        Ok(accepted) => accepted_by(store, channel, gateway.provider(), m, &accepted).await,
        Err(e) => {
            let failure = match e {
                DeliveryError::Temporary { .. } => Failure::Temporary,
                DeliveryError::Technical { .. } => Failure::Technical,
                DeliveryError::Permanent { .. } => Failure::Permanent,
            };
            // The log names the provider's answer, never the recipient's address.
            tracing::warn!(message = %m.id, channel = channel.as_str(), provider = gateway.provider(),
                attempts = m.attempts, ?failure, provider_status = e.provider_status().unwrap_or("-"),
                "outbox: delivery failed");
            let delay = time::Duration::try_from(retry_delay(config.backoff, m.attempts))
                .unwrap_or(time::Duration::HOUR);
            store
                .outbox_failed(
                    m,
                    gateway.provider(),
                    failure,
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
