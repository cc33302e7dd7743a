//! The delivery engine: delivers what handlers wrote to the outbox in their transactions, one
//! worker per delivery channel, each with its channel's route: email through SMTP; a phone through
//! Zalo first for notices where it is configured (the Official Account when the person follows
//! it, else ZNS), else (or when Zalo does not take it, or does not confirm it in time) through the
//! SMS brandname gateway; a dossier's Zalo followers through the Official Account. A sweeper
//! moves on what waits too long for a receipt. Delivery is at least once (a claim is a lease; a
//! crash means another try) and each message carries its id to the provider, so a duplicate can
//! be recognised. Failures are retried with exponential backoff; a permanent
//! refusal or exhausted attempts end the message. What the provider said (its id for an accepted
//! message, its status code for a refusal) is kept with the message.

mod pace;
mod tokens;

pub use pace::{Pace, Paced};
pub use tokens::StoreTokens;

use motcua_core::accounts::Quota;
use motcua_core::delivery::outreach::OutreachRules;
use motcua_core::delivery::{DeliveryChannel, MessageKind};
use motcua_gateways::{Accepted, DeliveryError, Gateway, Outgoing};
use motcua_store::outbox::{Claimed, Failure, Step};
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

/// Messages claimed at once: the writes of a batch cost the same whatever its size.
const BATCH: i64 = 200;

/// Sends in flight at once, within a batch.
const IN_FLIGHT: usize = 50;

/// Batches in progress at once, per worker.
const LOOPS: usize = 3;

/// At most this many messages of one worker are between their claim and the record of their
/// outcome: what a crash can leave sent but unrecorded, to be sent again after the lease.
pub const MAX_UNRECORDED: usize = BATCH as usize * LOOPS;

/// The retry delay after `attempts` attempts.
pub fn retry_delay(base: Duration, attempts: i64) -> Duration {
    let factor = 2_u32.saturating_pow(u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0));
    base.saturating_mul(factor)
        .min(Duration::from_secs(6 * 3600))
}

/// How a claimed message of one channel reaches its provider.
pub trait Route: Send + Sync + 'static {
    /// Sends `m`; what came of it, to be recorded with its batch.
    fn send(&self, m: &Claimed, config: WorkerConfig) -> impl Future<Output = Vec<Step>> + Send;
}

/// One gateway for the whole channel (email through SMTP).
pub struct Direct<G: Gateway>(pub Arc<G>);

impl<G: Gateway> Route for Direct<G> {
    async fn send(&self, m: &Claimed, config: WorkerConfig) -> Vec<Step> {
        let channel = DeliveryChannel::for_address(&m.recipient);
        vec![attempt(channel, self.0.as_ref(), m, config).await]
    }
}

/// A phone: Zalo first for notices when it is configured and was not tried yet — the Official
/// Account if the person follows it (cheaper), else ZNS — SMS otherwise and whenever Zalo does
/// not take the message, unless the person declined SMS for notices. One-time codes go by SMS at
/// once: they are awaited on a screen and must not wait for a fallback.
pub struct Phone<S: Gateway, Z: Gateway, O: Gateway = Z> {
    /// The SMS brandname gateway.
    pub sms: Arc<S>,
    /// ZNS, when configured.
    pub zalo: Option<Arc<Z>>,
    /// The Official Account's messages to its followers, when configured.
    pub oa: Option<Arc<O>>,
}

impl<S: Gateway, Z: Gateway, O: Gateway> Phone<S, Z, O> {
    /// Zalo's answer to a notice: the OA's if it took it, else ZNS's.
    async fn zalo(&self, m: &Claimed) -> Option<Result<Step, DeliveryError>> {
        let mut last = None;
        if let Some(oa) = &self.oa {
            match guarded_send(oa.as_ref(), m).await {
                Ok(a) => return Some(Ok(accepted_by(DeliveryChannel::Zalo, oa.provider(), m, &a))),
                Err(e) => last = Some(Err(e)),
            }
        }
        if let Some(zns) = &self.zalo {
            return Some(
                guarded_send(zns.as_ref(), m)
                    .await
                    .map(|a| accepted_by(DeliveryChannel::Zalo, zns.provider(), m, &a)),
            );
        }
        last
    }
}

impl<S: Gateway, Z: Gateway, O: Gateway> Route for Phone<S, Z, O> {
    async fn send(&self, m: &Claimed, config: WorkerConfig) -> Vec<Step> {
        let mut steps = Vec::new();
        if m.kind == MessageKind::Notice && !m.zalo_tried {
            match self.zalo(m).await {
                Some(Ok(step)) => return vec![step],
                Some(Err(e)) => {
                    tracing::info!(message = %m.id, provider_status = e.provider_status().unwrap_or("-"),
                        "outbox: Zalo did not take a notice; SMS takes over");
                    steps.push(Step::ZaloDeclined {
                        id: m.id.clone(),
                        provider_status: e.provider_status().map(str::to_owned),
                        error: e.to_string(),
                    });
                }
                None => {}
            }
        }
        if m.sms_declined && m.kind == MessageKind::Notice {
            steps.push(declined(m, "SMS"));
            return steps;
        }
        steps.push(attempt(DeliveryChannel::Sms, self.sms.as_ref(), m, config).await);
        steps
    }
}

/// The end of a notice whose only channels left are ones the person declined.
fn declined(m: &Claimed, channel: &str) -> Step {
    Step::Failed {
        message: m.clone(),
        provider: "-".to_owned(),
        failure: Failure::Permanent,
        provider_status: None,
        error: format!("not sent: the person declined dossier notices by {channel}"),
        retry_in: time::Duration::ZERO,
    }
}

/// Delivers the outbox's messages of `channel` through `route` until the task is aborted.
/// Messages of channels without a worker wait in the outbox until one is configured.
///
/// A batch costs four writes whatever its size: the claim, the recipients' quotas, and the
/// record of what came of every message; its sends go out together, so a provider's latency
/// is paid once a batch.
pub fn spawn_worker<R: Route>(
    store: Arc<Store>,
    channel: DeliveryChannel,
    route: R,
    config: WorkerConfig,
) -> tokio::task::JoinHandle<()> {
    let route = Arc::new(route);
    tokio::spawn(async move {
        // Batches overlap: while one is being recorded, the next is claimed and sent. Claims
        // never overlap (one statement each, rows locked on PostgreSQL).
        let loops = (0..LOOPS).map(|_| {
            let (store, route) = (store.clone(), route.clone());
            async move {
                loop {
                    let batch = match store.claim_outbox(channel, BATCH).await {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::warn!(error = %e, channel = channel.as_str(), "outbox: claim failed");
                            Vec::new()
                        }
                    };
                    if batch.is_empty() {
                        tokio::time::sleep(config.poll).await;
                        continue;
                    }
                    if let Err(e) =
                        deliver_batch(&store, channel, route.as_ref(), &batch, config).await
                    {
                        // The claims' lease runs out and the batch goes again: at least once.
                        tracing::warn!(error = %e, channel = channel.as_str(), "outbox: a batch's outcome could not be recorded");
                        tokio::time::sleep(config.poll).await;
                    }
                }
            }
        });
        futures_util::future::join_all(loops).await;
    })
}

/// Sends a claimed batch, each message if its recipient's quotas allow, and records everything
/// that came of it in one transaction.
async fn deliver_batch<R: Route>(
    store: &Store,
    channel: DeliveryChannel,
    route: &R,
    batch: &[Claimed],
    config: WorkerConfig,
) -> Result<(), StoreError> {
    let mut steps = Vec::new();
    // Outreach goes only to who agreed, only in the day's hours, labelled (see `outreach`).
    let rules = OutreachRules::default();
    let now = time::OffsetDateTime::now_utc();
    let outreach: Vec<&str> = batch
        .iter()
        .filter(|m| m.kind == MessageKind::Outreach)
        .map(|m| m.recipient.as_str())
        .collect();
    let consenting = store.consenting(&outreach, MessageKind::Outreach).await?;
    let notices: Vec<&str> = batch
        .iter()
        .filter(|m| m.kind == MessageKind::Notice)
        .map(|m| m.recipient.as_str())
        .collect();
    let declined_by = store.declined_notices(&notices).await?;
    let declines =
        |m: &Claimed, c: DeliveryChannel| declined_by.contains(&(m.recipient.clone(), c));
    let mut ready: Vec<Claimed> = Vec::with_capacity(batch.len());
    for m in batch {
        if m.kind == MessageKind::Notice && !declined_by.is_empty() {
            let mut m = m.clone();
            m.zalo_tried |= declines(&m, DeliveryChannel::Zalo);
            m.sms_declined = declines(&m, DeliveryChannel::Sms);
            if declines(&m, DeliveryChannel::Email) && channel == DeliveryChannel::Email {
                steps.push(declined(&m, "email"));
            } else if m.zalo_tried && m.sms_declined {
                steps.push(declined(&m, "Zalo and SMS"));
            } else {
                ready.push(m);
            }
        } else if m.kind != MessageKind::Outreach {
            ready.push(m.clone());
        } else if !consenting.contains(&m.recipient) {
            steps.push(Step::Failed {
                message: m.clone(),
                provider: "-".to_owned(),
                failure: Failure::Permanent,
                provider_status: None,
                error: "not sent: the recipient has not agreed to outreach, or opted out"
                    .to_owned(),
                retry_in: time::Duration::ZERO,
            });
        } else if let Some(until) = rules.held_until(now) {
            steps.push(Step::Deferred {
                id: m.id.clone(),
                until,
                why: "waiting: outreach goes only between 07:00 and 22:00".to_owned(),
            });
        } else {
            let mut labelled = m.clone();
            labelled.body = rules.labelled(&m.body);
            ready.push(labelled);
        }
    }
    let turns = recipient_turns(store, &ready, &rules).await?;
    let mut sends = Vec::new();
    for (m, turn) in ready.iter().zip(turns) {
        match turn {
            Turn::Send => sends.push(route.send(m, config)),
            Turn::Wait(until) => {
                tracing::info!(message = %m.id, channel = channel.as_str(), "outbox: a recipient's quota for the window is used; delivery waits");
                steps.push(Step::Deferred {
                    id: m.id.clone(),
                    until,
                    why: "waiting: the recipient's quota for this window is used".to_owned(),
                });
            }
            Turn::Drop => {
                tracing::warn!(message = %m.id, channel = channel.as_str(), "outbox: recipient's quota for the day used; not sent");
                steps.push(Step::Failed {
                    message: m.clone(),
                    provider: "-".to_owned(),
                    failure: Failure::Permanent,
                    provider_status: None,
                    error: "not sent: the recipient already had the day's maximum of messages (limit against message bombing)".to_owned(),
                    retry_in: time::Duration::ZERO,
                });
            }
        }
    }
    use futures_util::StreamExt;
    let mut sent = futures_util::stream::iter(sends).buffer_unordered(IN_FLIGHT);
    let mut untried = Vec::new();
    while let Some(s) = sent.next().await {
        // A route defers only what its provider sent back untried (throttled).
        untried.extend(s.iter().filter_map(|step| match step {
            Step::Deferred { id, .. } => Some(id.clone()),
            _ => None,
        }));
        steps.extend(s);
    }
    if !untried.is_empty() {
        let keys: Vec<String> = ready
            .iter()
            .filter(|m| untried.contains(&m.id))
            .flat_map(|m| quota_keys(m, &rules).into_iter().map(|(k, _)| k))
            .collect();
        store.quota_give_back(&keys).await?;
    }
    store.outbox_record(&steps).await
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

/// The quotas one message counts against: its recipient's day and quarter hour, and for
/// outreach the day's cap of the anti-spam rules.
fn quota_keys(m: &Claimed, rules: &OutreachRules) -> Vec<(String, Quota)> {
    let mut keys = vec![
        (
            format!("deliver:day:{}", m.recipient),
            Quota::MESSAGES_TO_RECIPIENT_DAILY,
        ),
        (
            format!("deliver:window:{}", m.recipient),
            Quota::MESSAGES_TO_RECIPIENT,
        ),
    ];
    if m.kind == MessageKind::Outreach {
        keys.push((
            format!("outreach:day:{}", m.recipient),
            Quota {
                max: rules.daily_cap,
                window: time::Duration::hours(24),
            },
        ));
    }
    keys
}

/// The turns of a batch's messages, their quotas taken in one transaction: every message
/// counts against its recipient's quarter-hour and day, outreach also against its own daily cap
/// (a message over that cap waits for the window's end).
async fn recipient_turns(
    store: &Store,
    batch: &[Claimed],
    rules: &OutreachRules,
) -> Result<Vec<Turn>, StoreError> {
    let takes: Vec<(String, Quota)> = batch.iter().flat_map(|m| quota_keys(m, rules)).collect();
    let mut answers = store.quota_take_many(&takes).await?.into_iter();
    let mut turns = Vec::with_capacity(batch.len());
    for m in batch {
        let day = answers.next().unwrap_or(Ok(()));
        let window = answers.next().unwrap_or(Ok(()));
        let cap = if m.kind == MessageKind::Outreach {
            answers.next().unwrap_or(Ok(()))
        } else {
            Ok(())
        };
        turns.push(match (day, window, cap) {
            (Err(_), _, _) => Turn::Drop,
            (Ok(()), Err(until), _) | (Ok(()), Ok(()), Err(until)) => Turn::Wait(until),
            _ => Turn::Send,
        });
    }
    Ok(turns)
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

/// What a provider's acceptance of `m` means: delivered when it is the last word, else sent and
/// waiting for the receipt.
fn accepted_by(channel: DeliveryChannel, provider: &str, m: &Claimed, a: &Accepted) -> Step {
    if a.over_budget {
        tracing::warn!(message = %m.id, units = a.billed_units, "outbox: text longer than its template is priced for");
    }
    if a.receipt_expected {
        Step::Accepted {
            id: m.id.clone(),
            channel,
            provider: provider.to_owned(),
            provider_id: a.provider_id.clone(),
            billed_units: a.billed_units,
            cost: a.cost,
        }
    } else {
        Step::Delivered {
            id: m.id.clone(),
            provider: provider.to_owned(),
            provider_id: a.provider_id.clone(),
        }
    }
}

/// Sends a message through one gateway; what the provider answered.
async fn attempt<G: Gateway>(
    channel: DeliveryChannel,
    gateway: &G,
    m: &Claimed,
    config: WorkerConfig,
) -> Step {
    match guarded_send(gateway, m).await {
        Ok(accepted) => accepted_by(channel, gateway.provider(), m, &accepted),
        Err(DeliveryError::Throttled {
            message,
            retry_after,
            ..
        }) => {
            // The provider (or our pace for it) takes no more now: back in the queue, untried.
            tracing::info!(message = %m.id, channel = channel.as_str(), provider = gateway.provider(),
                "outbox: throttled; the message waits");
            let wait = time::Duration::try_from(retry_after).unwrap_or(time::Duration::SECOND);
            Step::Deferred {
                id: m.id.clone(),
                until: time::OffsetDateTime::now_utc() + wait,
                why: format!("waiting: {message}"),
            }
        }
        Err(e) => {
            let failure = match e {
                DeliveryError::Temporary { .. } | DeliveryError::Throttled { .. } => {
                    Failure::Temporary
                }
                DeliveryError::Technical { .. } => Failure::Technical,
                DeliveryError::Permanent { .. } => Failure::Permanent,
            };
            // The log names the provider's answer, never the recipient's address.
            tracing::warn!(message = %m.id, channel = channel.as_str(), provider = gateway.provider(),
                attempts = m.attempts, ?failure, provider_status = e.provider_status().unwrap_or("-"),
                "outbox: delivery failed");
            let delay = time::Duration::try_from(retry_delay(config.backoff, m.attempts))
                .unwrap_or(time::Duration::HOUR);
            Step::Failed {
                message: m.clone(),
                provider: gateway.provider().to_owned(),
                failure,
                provider_status: e.provider_status().map(str::to_owned),
                error: e.to_string(),
                retry_in: delay,
            }
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
