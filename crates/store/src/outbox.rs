//! The outbox: messages written in the same transaction as the change they announce, then
//! delivered at least once by a worker per channel (`motcua-delivery`). A claim is a lease on a
//! message; the outcome keeps the provider's own id or status, so a receipt or a complaint can be
//! traced to what the provider was told.

use crate::backend::{on_pool, on_tx, positional, BeginWrite, WriteTx};
use crate::{Store, StoreError};
use motcua_core::delivery::{DeliveryChannel, MessageKind};
use time::{Duration, OffsetDateTime};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Written, not yet tried.
    Created,
    /// Claimed by a worker that is sending it.
    Sending,
    /// The provider accepted it.
    Delivered,
    /// Failed, to be tried again.
    TemporaryFailure,
    /// Failed for good (refused, or out of attempts).
    PermanentFailure,
    /// Our side or the provider's API failed until the budget ran out, or the provider never
    /// confirmed an accepted message.
    TechnicalFailure,
}

impl OutboxStatus {
    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Created => "created",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::TemporaryFailure => "temporary_failure",
            OutboxStatus::PermanentFailure => "permanent_failure",
            OutboxStatus::TechnicalFailure => "technical_failure",
        }
    }

    /// The name on officials' pages.
    pub fn label_vi(self) -> &'static str {
        match self {
            OutboxStatus::Created => "Chờ gửi",
            OutboxStatus::Sending => "Đang gửi",
            OutboxStatus::Delivered => "Đã nhận",
            OutboxStatus::TemporaryFailure => "Lỗi tạm thời, sẽ gửi lại",
            OutboxStatus::PermanentFailure => "Không gửi được",
            OutboxStatus::TechnicalFailure => "Lỗi kỹ thuật",
        }
    }

    /// Reads an identifier as stored.
    pub fn parse(s: &str) -> Option<OutboxStatus> {
        [
            OutboxStatus::Created,
            OutboxStatus::Sending,
            OutboxStatus::Delivered,
            OutboxStatus::TemporaryFailure,
            OutboxStatus::PermanentFailure,
            OutboxStatus::TechnicalFailure,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Id.
    pub id: String,
    /// How it travels.
    pub channel: DeliveryChannel,
    /// Address or phone.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Delivery status.
    pub status: OutboxStatus,
    /// Written at.
    pub created_at: OffsetDateTime,
}

/// A message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Id (and idempotency key of the delivery).
    pub id: String,
    /// Address or phone.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// What kind of message it is.
    pub kind: MessageKind,
    /// When it was written: its retry budget runs from here.
    pub created_at: OffsetDateTime,
    /// Whether Zalo was already tried (and did not deliver), or the person declined Zalo for
    /// notices: it goes by SMS now.
    pub zalo_tried: bool,
    /// Whether the person declined SMS for notices: Zalo only, no fallback. Not stored: the
    /// worker sets it from the consents when it takes the batch.
    pub sms_declined: bool,
}

/// What became of a message: status, attempts, the last error, and the provider's id of the
/// accepted message or its status code of the last refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Status.
    pub status: OutboxStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure, as the provider put it.
    pub last_error: Option<String>,
    /// The provider's id of the message, once one took it.
    pub provider_ref: Option<String>,
    /// The provider's own status of the last answer or receipt (`550`, `EXPIRED`, `-118`).
    pub provider_status: Option<String>,
    /// The provider that took it or last refused it (`smtp`, `vnpt`, `viettel`, `zns`).
    pub provider: Option<String>,
    /// How it travels now.
    pub channel: DeliveryChannel,
    /// Units billed.
    pub billed_units: i64,
}

/// How long a claim lasts: a worker that dies mid-send leaves the message to be claimed again
/// after this (at-least-once delivery). Each provider call is bounded to ten seconds, so a
/// living worker has recorded its batch well within a minute.
pub const CLAIM_LEASE: Duration = Duration::minutes(1);
/// After this many attempts a message is given up as a permanent failure.
pub const MAX_ATTEMPTS: i64 = 10;

/// An accepted message is not due again for this long: it waits for its receipt, and the sweep
/// ends it as a technical failure once the same time has passed without one.
pub const AWAIT_RECEIPT: Duration = Duration::days(3);

/// How long a message may be retried, from when it was written: then it fails for good (the
/// budget of GOV.UK Notify's providers, about four hours).
pub const RETRY_BUDGET: Duration = Duration::hours(4);

/// Writes a message to the outbox in the caller's transaction, so it exists exactly when the
/// change it announces does; the channel follows from the address.
pub(crate) async fn enqueue(
    tx: WriteTx<'_, '_>,
    recipient: &str,
    subject: &str,
    body: &str,
    key: &str,
    now: OffsetDateTime,
    kind: MessageKind,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |tx| {
        const INSERT: &str = "INSERT INTO outbox \
            (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at, \
            kind) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING";
        sqlx::query(INSERT)
            .bind(crate::ids::row_id())
            .bind(DeliveryChannel::for_address(recipient).as_str())
            .bind(recipient)
            .bind(subject)
            .bind(body)
            .bind(key)
            .bind(now)
            .bind(kind.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
}

/// How an attempt ended, as the history keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took it (and will send a receipt, or not).
    Accepted,
    /// A receipt said it reached the person.
    Delivered,
    /// Worth another try.
    TemporaryFailure,
    /// Our side or the provider's API failed.
    TechnicalFailure,
    /// Never going to work as is.
    PermanentFailure,
    /// Held by a quota, untried.
    Deferred,
    /// Zalo did not deliver in time: SMS takes over.
    FellBack,
    /// An operator sent it again.
    Resent,
}

impl Outcome {
    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Delivered => "delivered",
            Outcome::TemporaryFailure => "temporary_failure",
            Outcome::TechnicalFailure => "technical_failure",
            Outcome::PermanentFailure => "permanent_failure",
            Outcome::Deferred => "deferred",
            Outcome::FellBack => "fell_back",
            Outcome::Resent => "resent",
        }
    }
}

/// Why an attempt failed, as the worker classified the provider's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The recipient could not be reached now.
    Temporary,
    /// The provider's API or ours failed.
    Technical,
    /// Refused for good.
    Permanent,
}

/// What a provider's receipt says of a message it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// It reached the phone.
    Delivered,
    /// The phone could not be reached in the provider's own retry time.
    Undelivered,
}

const INSERT_ATTEMPT: &str = "INSERT INTO outbox_attempts \
     (message_id, at, provider, outcome, provider_status, detail) VALUES ($1, $2, $3, $4, $5, $6)";

/// What came of one attempt on a claimed message, to be recorded with its batch
/// ([`Store::outbox_record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `provider` took it and will confirm it by a receipt: it stays "sending" (and is never
    /// claimed again by a lease's expiry) until the receipt or the sweep.
    Accepted {
        /// The message.
        id: String,
        /// How it went.
        channel: DeliveryChannel,
        /// Who took it.
        provider: String,
        /// The provider's id for it.
        provider_id: Option<String>,
        /// Units billed.
        billed_units: u32,
        /// What it cost, in đồng.
        cost: u32,
    },
    /// The provider took it and that is the last word (SMTP).
    Delivered {
        /// The message.
        id: String,
        /// Who took it.
        provider: String,
        /// The provider's id for it.
        provider_id: Option<String>,
    },
    /// The attempt failed: retried after `retry_in` unless the failure is permanent, the
    /// attempts are spent or the retry would fall outside the budget; then it ends as a
    /// permanent or (when our side or the API failed) technical failure.
    Failed {
        /// The message as claimed.
        message: Claimed,
        /// Who refused it.
        provider: String,
        /// Why.
        failure: Failure,
        /// The provider's own code, kept as given.
        provider_status: Option<String>,
        /// What it said.
        error: String,
        /// When to try again.
        retry_in: Duration,
    },
    /// Zalo did not take a notice (no Zalo account, declined, Zalo failing): SMS from now on.
    ZaloDeclined {
        /// The message.
        id: String,
        /// Zalo's code.
        provider_status: Option<String>,
        /// What Zalo said.
        error: String,
    },
    /// Untried, put back until `until` (a quota's window is used up); the claim's attempt is
    /// given back.
    Deferred {
        /// The message.
        id: String,
        /// When it may go.
        until: OffsetDateTime,
        /// Why it waits.
        why: String,
    },
}

/// The statements that record `n` acceptances at once: the rows' update (parameters: the moment,
/// the moment it stops being due — far off, so that claims' index scans pass over messages
/// waiting for receipts — then per message its id, provider, provider's id, billed units,
/// channel and cost), returning the ids it moved, and a function giving the history's insert for
/// that many of them (per line: id, moment, provider).
fn accept_all_sql(n: usize) -> (String, fn(usize) -> String) {
    let values: Vec<String> = (0..n)
        .map(|i| {
            let p = 3 + i * 6;
            format!(
                "(${}, ${}, ${}, CAST(${} AS BIGINT), ${}, CAST(${} AS BIGINT))",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect();
    let update = format!(
        "UPDATE outbox SET status = 'sending', accepted_at = $1, next_attempt_at = $2, \
         provider = v.column2, provider_ref = v.column3, billed_units = v.column4, \
         channel = v.column5, cost = v.column6, last_error = NULL, provider_status = NULL \
         FROM (VALUES {}) AS v WHERE outbox.id = v.column1 AND outbox.status = 'sending' \
         RETURNING outbox.id",
        values.join(", ")
    );
    fn history(n: usize) -> String {
        let rows: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, 'accepted', NULL, '')",
                    1 + i * 3,
                    2 + i * 3,
                    3 + i * 3
                )
            })
            .collect();
        format!(
            "INSERT INTO outbox_attempts (message_id, at, provider, outcome, provider_status, \
             detail) VALUES {}",
            rows.join(", ")
        )
    }
    (update, history)
}

/// A step as statements: the row's update and its history line.
struct Planned {
    id: String,
    provider: String,
    outcome: Outcome,
    provider_status: Option<String>,
    detail: String,
    update: &'static str,
    args: Vec<Val>,
}

/// An owned parameter.
enum Val {
    Text(Option<String>),
    Int(i64),
    Time(OffsetDateTime),
}

impl Step {
    fn plan(&self, now: OffsetDateTime) -> Planned {
        const ACCEPTED: &str = "UPDATE outbox SET status = 'sending', accepted_at = $1, \
            next_attempt_at = $7, provider = $2, provider_ref = $3, billed_units = $4, channel = $5, last_error = NULL, \
            provider_status = NULL, cost = $8 WHERE id = $6 AND status = 'sending'";
        const DELIVERED: &str = "UPDATE outbox SET status = 'delivered', delivered_at = $1, \
            accepted_at = $1, last_error = NULL, provider = $2, provider_ref = $3 WHERE id = $4";
        const FAILED: &str = "UPDATE outbox SET status = $1, last_error = $2, \
            provider_status = $3, provider = $4, next_attempt_at = $5 WHERE id = $6";
        const ZALO_DECLINED: &str = "UPDATE outbox SET zalo_tried_at = $1 WHERE id = $2";
        const DEFERRED: &str = "UPDATE outbox SET status = 'temporary_failure', \
            attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
            next_attempt_at = $1, last_error = $2 WHERE id = $3 AND status = 'sending'";
        let text = |s: &str| Val::Text(Some(s.to_owned()));
        match self {
            Step::Accepted {
                id,
                channel,
                provider,
                provider_id,
                billed_units,
                cost,
            } => Planned {
                id: id.clone(),
                provider: provider.clone(),
                outcome: Outcome::Accepted,
                provider_status: None,
                detail: String::new(),
                update: ACCEPTED,
                args: vec![
                    Val::Time(now),
                    text(provider),
                    Val::Text(provider_id.clone()),
                    Val::Int(i64::from(*billed_units)),
                    text(channel.as_str()),
                    text(id),
                    Val::Time(now + AWAIT_RECEIPT),
                    Val::Int(i64::from(*cost)),
                ],
            },
            Step::Delivered {
                id,
                provider,
                provider_id,
            } => Planned {
                id: id.clone(),
                provider: provider.clone(),
                outcome: Outcome::Delivered,
                provider_status: None,
                detail: String::new(),
                update: DELIVERED,
                args: vec![
                    Val::Time(now),
                    text(provider),
                    Val::Text(provider_id.clone()),
                    text(id),
                ],
            },
            Step::Failed {
                message: m,
                provider,
                failure,
                provider_status,
                error,
                retry_in,
            } => {
                let out_of_budget =
                    m.attempts >= MAX_ATTEMPTS || now + *retry_in > m.created_at + RETRY_BUDGET;
                let (status, outcome) = match failure {
                    Failure::Permanent => {
                        (OutboxStatus::PermanentFailure, Outcome::PermanentFailure)
                    }
                    Failure::Technical if out_of_budget => {
                        (OutboxStatus::TechnicalFailure, Outcome::TechnicalFailure)
                    }
                    Failure::Temporary if out_of_budget => {
                        (OutboxStatus::PermanentFailure, Outcome::TemporaryFailure)
                    }
                    Failure::Technical => {
                        (OutboxStatus::TemporaryFailure, Outcome::TechnicalFailure)
                    }
                    Failure::Temporary => {
                        (OutboxStatus::TemporaryFailure, Outcome::TemporaryFailure)
                    }
                };
                let error: String = error.chars().take(500).collect();
                Planned {
                    id: m.id.clone(),
                    provider: provider.clone(),
                    outcome,
                    provider_status: provider_status.clone(),
                    detail: error.clone(),
                    update: FAILED,
                    args: vec![
                        text(status.as_str()),
                        Val::Text(Some(error)),
                        Val::Text(provider_status.clone()),
                        text(provider),
                        Val::Time(now + *retry_in),
                        text(&m.id),
                    ],
                }
            }
            Step::ZaloDeclined {
                id,
                provider_status,
                error,
            } => Planned {
                id: id.clone(),
                provider: "zns".to_owned(),
                outcome: Outcome::FellBack,
                provider_status: provider_status.clone(),
                detail: error.chars().take(500).collect(),
                update: ZALO_DECLINED,
                args: vec![Val::Time(now), text(id)],
            },
            Step::Deferred { id, until, why } => Planned {
                id: id.clone(),
                provider: "-".to_owned(),
                outcome: Outcome::Deferred,
                provider_status: None,
                detail: why.clone(),
                update: DEFERRED,
                args: vec![Val::Time(*until), text(why), text(id)],
            },
        }
    }
}

/// One line of history as an update writes it.
struct Line<'a> {
    provider: &'a str,
    outcome: Outcome,
    provider_status: Option<&'a str>,
    detail: &'a str,
}

/// A parameter of an outbox update.
enum Arg<'a> {
    Text(Option<&'a str>),
    Time(OffsetDateTime),
}

/// One line of a message's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When.
    pub at: OffsetDateTime,
    /// The provider asked (`-` for the engine's own steps).
    pub provider: String,
    /// How it ended (see [`Outcome`]).
    pub outcome: String,
    /// The provider's own status.
    pub provider_status: Option<String>,
    /// What it said.
    pub detail: String,
}

/// A channel's deliveries over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReport {
    /// The channel.
    pub channel: DeliveryChannel,
    /// Messages by status.
    pub by_status: Vec<(OutboxStatus, i64)>,
    /// Units billed (SMS segments, ZNS messages).
    pub billed_units: i64,
    /// What they cost, in đồng.
    pub cost: i64,
    /// Messages a provider took (delivered since, or waiting for the receipt).
    pub accepted: i64,
    /// Messages delivered.
    pub delivered: i64,
    /// Of those, delivered within ten seconds of being written.
    pub within_10s: i64,
}

impl Default for ChannelReport {
    fn default() -> Self {
        ChannelReport {
            channel: DeliveryChannel::Email,
            by_status: Vec::new(),
            billed_units: 0,
            cost: 0,
            accepted: 0,
            delivered: 0,
            within_10s: 0,
        }
    }
}

/// A message's row: id, channel, recipient, subject, body, status, written at.
type MessageRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    OffsetDateTime,
);

fn message_of(row: MessageRow) -> Result<OutboxMessage, StoreError> {
    let (id, channel, recipient, subject, body, status, created_at) = row;
    Ok(OutboxMessage {
        channel: DeliveryChannel::parse(&channel)
            .ok_or_else(|| corrupt(&id, "channel", &channel))?,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt(&id, "status", &status))?,
        id,
        recipient,
        subject,
        body,
        created_at,
    })
}

fn corrupt(id: &str, column: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("outbox message {id}: unknown {column} '{value}'"))
}

impl Store {
    /// The newest outbox messages (the demo's dev inbox).
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, StoreError> {
        const SQL: &str = "SELECT id, channel, recipient, subject, body, status, created_at \
            FROM outbox ORDER BY created_at DESC LIMIT $1";
        let rows: Vec<MessageRow> = on_pool!(self.backend(), |p| sqlx::query_as(SQL)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(message_of).collect()
    }

    /// Claims up to `limit` messages of `channel` that are due: new ones, temporary failures whose
    /// retry time has come, and claims whose lease expired before the provider took the message.
    /// One statement: on PostgreSQL the rows are locked and others' locked rows skipped, so
    /// several nodes never claim one message; SQLite has one writer.
    pub async fn claim_outbox(
        &self,
        channel: DeliveryChannel,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lock = match self.backend() {
            crate::Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1 \
             WHERE id IN (SELECT id FROM outbox \
             WHERE status IN ('created', 'temporary_failure', 'sending') \
             AND next_attempt_at <= $3 AND channel = $2 \
             AND (status <> 'sending' OR accepted_at IS NULL) \
             ORDER BY next_attempt_at LIMIT $4{lock}) \
             RETURNING id, recipient, subject, body, attempts, kind, created_at, zalo_tried_at"
        );
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            String,
            OffsetDateTime,
            Option<OffsetDateTime>,
        );
        let now = OffsetDateTime::now_utc();
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(now + CLAIM_LEASE)
            .bind(channel.as_str())
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter()
            .map(
                |(id, recipient, subject, body, attempts, kind, created_at, zalo)| {
                    Ok(Claimed {
                        kind: MessageKind::parse(&kind)
                            .ok_or_else(|| corrupt(&id, "kind", &kind))?,
                        id,
                        recipient,
                        subject,
                        body,
                        attempts,
                        created_at,
                        zalo_tried: zalo.is_some(),
                        sms_declined: false,
                    })
                },
            )
            .collect()
    }

    /// Writes one line of a message's history and applies `update` (bound by `bind`) to its row,
    /// in one transaction.
    async fn attempt(
        &self,
        id: &str,
        line: Line<'_>,
        update: &str,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        let Line {
            provider,
            outcome,
            provider_status,
            detail,
        } = line;
        let detail: String = detail.chars().take(500).collect();
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query(update);
            for a in args {
                q = match a {
                    Arg::Text(v) => q.bind(*v),
                    Arg::Time(v) => q.bind(*v),
                };
            }
            let moved = q.execute(&mut *tx).await?.rows_affected();
            if moved > 0 {
                sqlx::query(INSERT_ATTEMPT)
                    .bind(id)
                    .bind(now)
                    .bind(provider)
                    .bind(outcome.as_str())
                    .bind(provider_status)
                    .bind(&detail)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(moved)
        })
    }

    /// Records what came of a batch of claimed messages in one transaction: a write (and, on
    /// SQLite, an fsync) for the batch instead of one per message. Each step changes its
    /// message's row and adds a line to its history.
    pub async fn outbox_record(&self, steps: &[Step]) -> Result<(), StoreError> {
        if steps.is_empty() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        // Acceptances are most of a batch: two statements for all of them; the rest one by one.
        let accepted: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Accepted { .. }))
            .collect();
        let planned: Vec<Planned> = steps
            .iter()
            .filter(|s| !matches!(s, Step::Accepted { .. }))
            .map(|s| s.plan(now))
            .collect();
        let accept = (!accepted.is_empty()).then(|| {
            let (update, history) = accept_all_sql(accepted.len());
            (positional(self.backend(), update), history)
        });
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some((update, history)) = &accept {
                let mut q = sqlx::query_scalar::<_, String>(update)
                    .bind(now)
                    .bind(now + AWAIT_RECEIPT);
                for s in &accepted {
                    if let Step::Accepted {
                        id,
                        channel,
                        provider,
                        provider_id,
                        billed_units,
                        cost,
                    } = s
                    {
                        q = q
                            .bind(id.as_str())
                            .bind(provider.as_str())
                            .bind(provider_id.as_deref())
                            .bind(i64::from(*billed_units))
                            .bind(channel.as_str())
                            .bind(i64::from(*cost));
                    }
                }
                let moved: Vec<String> = q.fetch_all(&mut *tx).await?;
                let moved: std::collections::HashSet<&str> =
                    moved.iter().map(String::as_str).collect();
                let lines: Vec<(&str, &str)> = accepted
                    .iter()
                    .filter_map(|s| match s {
                        Step::Accepted { id, provider, .. } if moved.contains(id.as_str()) => {
                            Some((id.as_str(), provider.as_str()))
                        }
                        _ => None,
                    })
                    .collect();
                if !lines.is_empty() {
                    let sql = positional(self.backend(), history(lines.len()));
                    let mut q = sqlx::query(&sql);
                    for (id, provider) in &lines {
                        q = q.bind(*id).bind(now).bind(*provider);
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            for p in &planned {
                let mut q = sqlx::query(p.update);
                for a in &p.args {
                    q = match a {
                        Val::Text(v) => q.bind(v.as_deref()),
                        Val::Int(v) => q.bind(*v),
                        Val::Time(v) => q.bind(*v),
                    };
                }
                if q.execute(&mut *tx).await?.rows_affected() > 0 {
                    sqlx::query(INSERT_ATTEMPT)
                        .bind(p.id.as_str())
                        .bind(now)
                        .bind(p.provider.as_str())
                        .bind(p.outcome.as_str())
                        .bind(p.provider_status.as_deref())
                        .bind(p.detail.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Applies a provider's receipt for the message it knows as `provider_ref`; `false` when no
    /// message awaits that receipt (unknown, already settled, or a replay).
    pub async fn outbox_receipt(
        &self,
        provider: &str,
        provider_ref: &str,
        receipt: Receipt,
        provider_status: &str,
    ) -> Result<bool, StoreError> {
        const DELIVERED: &str = "UPDATE outbox SET status = 'delivered', delivered_at = $1, \
            provider_status = $2 WHERE provider = $3 AND provider_ref = $4 AND status = 'sending' \
            AND accepted_at IS NOT NULL";
        // The provider retried in its own time: ours resumes, within the message's budget.
        const UNDELIVERED: &str = "UPDATE outbox SET \
            status = CASE WHEN created_at < $5 THEN 'permanent_failure' ELSE 'temporary_failure' END, \
            next_attempt_at = $1, provider_status = $2, accepted_at = NULL, \
            last_error = 'the provider could not reach the phone' \
            WHERE provider = $3 AND provider_ref = $4 AND status = 'sending' \
            AND accepted_at IS NOT NULL";
        let now = OffsetDateTime::now_utc();
        let id: Option<String> = {
            const FIND: &str = "SELECT id FROM outbox WHERE provider = $1 AND provider_ref = $2";
            on_pool!(self.backend(), |p| sqlx::query_scalar(FIND)
                .bind(provider)
                .bind(provider_ref)
                .fetch_optional(p)
                .await)?
        };
        let Some(id) = id else { return Ok(false) };
        let (sql, outcome, args) = match receipt {
            Receipt::Delivered => (
                DELIVERED,
                Outcome::Delivered,
                vec![
                    Arg::Time(now),
                    Arg::Text(Some(provider_status)),
                    Arg::Text(Some(provider)),
                    Arg::Text(Some(provider_ref)),
                ],
            ),
            Receipt::Undelivered => (
                UNDELIVERED,
                Outcome::TemporaryFailure,
                vec![
                    Arg::Time(now + Duration::minutes(5)),
                    Arg::Text(Some(provider_status)),
                    Arg::Text(Some(provider)),
                    Arg::Text(Some(provider_ref)),
                    Arg::Time(now - RETRY_BUDGET),
                ],
            ),
        };
        let moved = self
            .attempt(
                &id,
                Line {
                    provider,
                    outcome,
                    provider_status: Some(provider_status),
                    detail: "receipt",
                },
                sql,
                &args,
            )
            .await?;
        Ok(moved > 0)
    }

    /// Moves on what waits too long for a receipt: a notice Zalo took but did not confirm within
    /// `fallback_after` goes by SMS; anything accepted and unconfirmed for `stuck_after` ends as
    /// a technical failure. Returns how many of each.
    pub async fn outbox_sweep(
        &self,
        fallback_after: Duration,
        stuck_after: Duration,
    ) -> Result<(u64, u64), StoreError> {
        const FALL_BACK: &str = "UPDATE outbox SET channel = 'sms', status = 'created', \
            zalo_tried_at = $1, next_attempt_at = $1, accepted_at = NULL \
            WHERE channel = 'zalo' AND status = 'sending' AND accepted_at < $2 RETURNING id";
        const STUCK: &str = "UPDATE outbox SET status = 'technical_failure', \
            last_error = 'the provider never confirmed delivery' \
            WHERE status = 'sending' AND accepted_at < $1 RETURNING id";
        let now = OffsetDateTime::now_utc();
        let (fell, stuck): (Vec<String>, Vec<String>) = on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let fell: Vec<String> = sqlx::query_scalar(FALL_BACK)
                .bind(now)
                .bind(now - fallback_after)
                .fetch_all(&mut *tx)
                .await?;
            let stuck: Vec<String> = sqlx::query_scalar(STUCK)
                .bind(now - stuck_after)
                .fetch_all(&mut *tx)
                .await?;
            for (ids, outcome, detail) in [
                (
                    &fell,
                    Outcome::FellBack,
                    "no receipt from Zalo in time: sent by SMS",
                ),
                (
                    &stuck,
                    Outcome::TechnicalFailure,
                    "the provider never confirmed delivery",
                ),
            ] {
                for id in ids {
                    sqlx::query(INSERT_ATTEMPT)
                        .bind(id)
                        .bind(now)
                        .bind("-")
                        .bind(outcome.as_str())
                        .bind(None::<&str>)
                        .bind(detail)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>((fell, stuck))
        })?;
        Ok((fell.len() as u64, stuck.len() as u64))
    }

    /// A message's history, oldest first.
    pub async fn outbox_history(&self, id: &str) -> Result<Vec<Attempt>, StoreError> {
        const SQL: &str = "SELECT at, provider, outcome, provider_status, detail \
            FROM outbox_attempts WHERE message_id = $1 ORDER BY at";
        let rows: Vec<(OffsetDateTime, String, String, Option<String>, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SQL)
                .bind(id)
                .fetch_all(p)
                .await)?;
        Ok(rows
            .into_iter()
            .map(|(at, provider, outcome, provider_status, detail)| Attempt {
                at,
                provider,
                outcome,
                provider_status,
                detail,
            })
            .collect())
    }

    /// Sends per message: how many messages were handed to a provider more than once (the
    /// duplicates at-least-once delivery allows where a protocol has no idempotency key).
    pub async fn outbox_duplicate_sends(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM (SELECT message_id FROM outbox_attempts \
            WHERE outcome IN ('accepted', 'delivered') AND detail = '' \
            GROUP BY message_id HAVING COUNT(*) > 1) d";
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .fetch_one(p)
            .await)?)
    }

    /// Counts per channel and status since `since`, with billed units and the share of
    /// delivered messages that were delivered within ten seconds of being written.
    pub async fn delivery_report(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<ChannelReport>, StoreError> {
        const COUNTS: &str = "SELECT channel, status, COUNT(*), \
            CAST(COALESCE(SUM(billed_units), 0) AS BIGINT), \
            CAST(COALESCE(SUM(cost), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN accepted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
            FROM outbox WHERE created_at >= $1 GROUP BY channel, status";
        const DELIVERED: &str = "SELECT channel, created_at, delivered_at FROM outbox \
            WHERE created_at >= $1 AND status = 'delivered' AND delivered_at IS NOT NULL";
        let counts: Vec<(String, String, i64, i64, i64, i64)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(COUNTS).bind(since).fetch_all(p).await
        })?;
        let delivered: Vec<(String, OffsetDateTime, OffsetDateTime)> =
            on_pool!(self.backend(), |p| {
                sqlx::query_as(DELIVERED).bind(since).fetch_all(p).await
            })?;
        let mut out: Vec<ChannelReport> = DeliveryChannel::ALL
            .into_iter()
            .filter(|c| *c != DeliveryChannel::InApp)
            .map(|channel| ChannelReport {
                channel,
                ..ChannelReport::default()
            })
            .collect();
        for (channel, status, n, units, cost, accepted) in counts {
            let Some(r) = out.iter_mut().find(|r| r.channel.as_str() == channel) else {
                continue;
            };
            let status =
                OutboxStatus::parse(&status).ok_or_else(|| corrupt("-", "status", &status))?;
            r.by_status.push((status, n));
            r.billed_units += units;
            r.cost += cost;
            r.accepted += accepted;
        }
        for (channel, created, done) in delivered {
            if let Some(r) = out.iter_mut().find(|r| r.channel.as_str() == channel) {
                r.delivered += 1;
                if done - created <= Duration::seconds(10) {
                    r.within_10s += 1;
                }
            }
        }
        Ok(out)
    }

    /// The stored tokens of `provider` (the Zalo OA).
    pub async fn provider_tokens(
        &self,
        provider: &str,
    ) -> Result<Option<(String, String, i64)>, StoreError> {
        const SQL: &str =
            "SELECT access_token, refresh_token, expires_at FROM provider_tokens WHERE provider = $1";
        Ok(on_pool!(self.backend(), |p| sqlx::query_as(SQL)
            .bind(provider)
            .fetch_optional(p)
            .await)?)
    }

    /// Forgets the stored tokens of `provider` (the demo's sandbox starts afresh each time).
    pub async fn forget_provider_tokens(&self, provider: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM provider_tokens WHERE provider = $1";
        on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(provider)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Stores tokens for `provider` in place of the pair whose refresh token was `spent`
    /// (`None`: the first authorisation, only if none is stored); `false` when the stored pair is
    /// another (someone renewed first).
    pub async fn replace_provider_tokens(
        &self,
        provider: &str,
        spent: Option<&str>,
        access_token: &str,
        refresh_token: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        const UPDATE: &str = "UPDATE provider_tokens SET access_token = $1, refresh_token = $2, \
            expires_at = $3, updated_at = $4 WHERE provider = $5 AND refresh_token = $6";
        const INSERT: &str = "INSERT INTO provider_tokens \
            (provider, access_token, refresh_token, expires_at, updated_at) \
            VALUES ($5, $1, $2, $3, $4) ON CONFLICT (provider) DO NOTHING";
        let now = OffsetDateTime::now_utc();
        let sql = if spent.is_some() { UPDATE } else { INSERT };
        let n = on_pool!(self.backend(), |p| {
            let q = sqlx::query(sql)
                .bind(access_token)
                .bind(refresh_token)
                .bind(expires_at)
                .bind(now)
                .bind(provider);
            let q = match spent {
                Some(s) => q.bind(s),
                None => q,
            };
            q.execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// What became of a message (for tests and operators).
    pub async fn outbox_status(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        const SQL: &str = "SELECT status, attempts, last_error, provider_ref, provider_status, \
            provider, channel, billed_units FROM outbox WHERE id = $1";
        type Row = (
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            i64,
        );
        let row: Option<Row> = on_pool!(self.backend(), |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?;
        row.map(
            |(
                status,
                attempts,
                last_error,
                provider_ref,
                provider_status,
                provider,
                channel,
                billed_units,
            )| {
                Ok(Delivery {
                    status: OutboxStatus::parse(&status)
                        .ok_or_else(|| corrupt(id, "status", &status))?,
                    attempts,
                    last_error,
                    provider_ref,
                    provider_status,
                    provider,
                    channel: DeliveryChannel::parse(&channel)
                        .ok_or_else(|| corrupt(id, "channel", &channel))?,
                    billed_units,
                })
            },
        )
        .transpose()
    }

    /// Queues many messages of one `kind` in one transaction, a thousand rows a statement (a
    /// campaign's audience, say); a row whose key is already queued is skipped. Each row is
    /// (recipient, subject, body, key).
    pub async fn queue_messages(
        &self,
        rows: &[(String, String, String, String)],
        kind: MessageKind,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in rows.chunks(1000) {
                let mut sql = String::from(
                    "INSERT INTO outbox (id, channel, recipient, subject, body, idempotency_key, \
                     created_at, next_attempt_at, kind) VALUES ",
                );
                // Every value bound once, in order: SQLite then binds by position (see
                // `positional`), a chunk's 9,000 parameters at no cost.
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    let row: Vec<String> = (1..=9).map(|c| format!("${}", i * 9 + c)).collect();
                    sql.push_str(&format!("({})", row.join(", ")));
                }
                sql.push_str(" ON CONFLICT (idempotency_key) DO NOTHING");
                let sql = positional(self.backend(), sql);
                let mut q = sqlx::query(&sql);
                for (to, subject, body, key) in chunk {
                    q = q
                        .bind(crate::ids::row_id())
                        .bind(DeliveryChannel::for_address(to).as_str())
                        .bind(to.as_str())
                        .bind(subject.as_str())
                        .bind(body.as_str())
                        .bind(key.as_str())
                        .bind(now)
                        .bind(now)
                        .bind(kind.as_str());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// From being written to being taken by a provider, for the `last` messages a provider took
    /// most recently: the delivery latency (`/metrics`, the benchmarks).
    pub async fn acceptance_delays(&self, last: i64) -> Result<Vec<Duration>, StoreError> {
        const SQL: &str = "SELECT created_at, accepted_at FROM outbox \
            WHERE accepted_at IS NOT NULL ORDER BY accepted_at DESC LIMIT $1";
        let rows: Vec<(OffsetDateTime, OffsetDateTime)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(SQL).bind(last).fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(|(c, a)| a - c).collect())
    }

    /// Sends a message that failed again: due now, its attempts and its Zalo try forgotten, with
    /// a line in its history naming who asked. `false` when the message is not a failed one.
    pub async fn outbox_resend(&self, id: &str, by: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE outbox SET status = 'created', attempts = 0, \
            next_attempt_at = $1, accepted_at = NULL, zalo_tried_at = NULL, last_error = NULL \
            WHERE id = $2 AND status IN ('permanent_failure', 'technical_failure', 'temporary_failure')";
        let now = OffsetDateTime::now_utc();
        let detail = format!("sent again at the request of {by}");
        let moved = self
            .attempt(
                id,
                Line {
                    provider: "-",
                    outcome: Outcome::Resent,
                    provider_status: None,
                    detail: &detail,
                },
                SQL,
                &[Arg::Time(now), Arg::Text(Some(id))],
            )
            .await?;
        Ok(moved > 0)
    }

    /// Messages waiting to go (new, or failed and due again): the queue's depth for `/metrics`.
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM outbox \
            WHERE status IN ('created', 'temporary_failure')";
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .fetch_one(p)
            .await)?)
    }

    /// One message as the delivery page shows it.
    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        const SQL: &str = "SELECT id, channel, recipient, subject, body, status, created_at \
            FROM outbox WHERE id = $1";
        let row: Option<MessageRow> = on_pool!(self.backend(), |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?;
        row.map(message_of).transpose()
    }

    /// Queues a message outside any other change (a campaign's, an operator's test message): the
    /// same outbox, the same engine. A second call with the same `key` queues nothing.
    pub async fn queue_message(
        &self,
        recipient: &str,
        subject: &str,
        body: &str,
        key: &str,
        kind: MessageKind,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            enqueue((&mut tx).into(), recipient, subject, body, key, now, kind).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// How a consent was given or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentWay {
    /// On the account page.
    Account,
    /// By the link in a message.
    Link,
    /// By an SMS keyword.
    SmsKeyword,
}

impl ConsentWay {
    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentWay::Account => "account",
            ConsentWay::Link => "link",
            ConsentWay::SmsKeyword => "sms_keyword",
        }
    }
}

impl Store {
    /// Records that `address` agrees (`granted`) or no longer agrees to messages of `kind`;
    /// returns the token of its opt-out link.
    pub async fn set_consent(
        &self,
        address: &str,
        kind: MessageKind,
        granted: bool,
        how: ConsentWay,
    ) -> Result<String, StoreError> {
        self.set_channel_consent(address, kind, None, granted, how)
            .await
    }

    /// Records that `address` agrees or no longer agrees to messages of `kind` by `channel`
    /// (`None`: every channel of the address); returns the row's token.
    pub async fn set_channel_consent(
        &self,
        address: &str,
        kind: MessageKind,
        channel: Option<DeliveryChannel>,
        granted: bool,
        how: ConsentWay,
    ) -> Result<String, StoreError> {
        const SQL: &str = "INSERT INTO consents (address, kind, channel, granted, how, at, token) \
            VALUES ($1, $2, $7, $3, $4, $5, $6) ON CONFLICT (address, kind, channel) \
            DO UPDATE SET granted = $3, how = $4, at = $5 RETURNING token";
        let token = crate::accounts::new_secret();
        let channel = channel.map_or("", DeliveryChannel::as_str);
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .bind(address)
            .bind(kind.as_str())
            .bind(granted)
            .bind(how.as_str())
            .bind(OffsetDateTime::now_utc())
            .bind(&token)
            .bind(channel)
            .fetch_one(p)
            .await)?)
    }

    /// The channels by which `address` declined its dossiers' notices (never asked: none; a
    /// notice is part of the service asked for).
    pub async fn declined_notice_channels(
        &self,
        address: &str,
    ) -> Result<Vec<DeliveryChannel>, StoreError> {
        Ok(self
            .declined_notices(&[address])
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    /// `select` narrowed to `n` addresses, bound from parameter `first` on (positionally on
    /// SQLite: a batch names hundreds).
    fn with_addresses(&self, select: &str, first: usize, n: usize) -> String {
        let list: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
        positional(
            self.backend(),
            format!("{select} AND address IN ({})", list.join(", ")),
        )
    }

    /// Of `addresses`, each one's channels declined for notices.
    pub async fn declined_notices(
        &self,
        addresses: &[&str],
    ) -> Result<std::collections::HashSet<(String, DeliveryChannel)>, StoreError> {
        if addresses.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let sql = self.with_addresses(
            "SELECT address, channel FROM consents WHERE kind = 'notice' AND NOT granted",
            1,
            addresses.len(),
        );
        let rows: Vec<(String, String)> = on_pool!(self.backend(), |p| {
            let mut q = sqlx::query_as(&sql);
            for a in addresses {
                q = q.bind(*a);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(a, c)| DeliveryChannel::parse(&c).map(|c| (a, c)))
            .collect())
    }

    /// Whether `address` agrees to messages of `kind` on all its channels (never asked: no).
    pub async fn consents(&self, address: &str, kind: MessageKind) -> Result<bool, StoreError> {
        const SQL: &str =
            "SELECT granted FROM consents WHERE address = $1 AND kind = $2 AND channel = ''";
        let granted: Option<bool> = on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .bind(address)
            .bind(kind.as_str())
            .fetch_optional(p)
            .await)?;
        Ok(granted.unwrap_or(false))
    }

    /// Of `addresses`, those that agree to messages of `kind`.
    pub async fn consenting(
        &self,
        addresses: &[&str],
        kind: MessageKind,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if addresses.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let sql = self.with_addresses(
            "SELECT address FROM consents WHERE kind = $1 AND channel = '' AND granted",
            2,
            addresses.len(),
        );
        let rows: Vec<String> = on_pool!(self.backend(), |p| {
            let mut q = sqlx::query_scalar(&sql).bind(kind.as_str());
            for a in addresses {
                q = q.bind(*a);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().collect())
    }

    /// The address and kind an opt-out link's `token` stands for.
    pub async fn consent_of_token(
        &self,
        token: &str,
    ) -> Result<Option<(String, MessageKind, bool)>, StoreError> {
        const SQL: &str = "SELECT address, kind, granted FROM consents WHERE token = $1";
        let row: Option<(String, String, bool)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(SQL).bind(token).fetch_optional(p).await
        })?;
        row.map(|(address, kind, granted)| {
            Ok((
                address,
                MessageKind::parse(&kind).ok_or_else(|| corrupt("consent", "kind", &kind))?,
                granted,
            ))
        })
        .transpose()
    }
}
