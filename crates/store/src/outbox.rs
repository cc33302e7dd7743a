//! The outbox: messages written in the same transaction as the change they announce, then
//! delivered at least once by a worker per channel (`motcua-delivery`). A claim is a lease on a
//! message; the outcome keeps the provider's own id or status, so a receipt or a complaint can be
//! traced to what the provider was told.

use crate::backend::{on_pool, on_tx, WriteTx};
use crate::{Store, StoreError};
use motcua_core::delivery::DeliveryChannel;
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
    /// The provider's id (accepted) or status code (refused).
    pub provider_ref: Option<String>,
}

/// How long a claim lasts: a worker that dies mid-send leaves the message to be claimed again
/// after this (at-least-once delivery).
pub const CLAIM_LEASE: Duration = Duration::minutes(5);
/// After this many attempts a message is given up as a permanent failure.
pub const MAX_ATTEMPTS: i64 = 10;

/// Writes a message to the outbox in the caller's transaction, so it exists exactly when the
/// change it announces does; the channel follows from the address.
pub(crate) async fn enqueue(
    tx: WriteTx<'_, '_>,
    recipient: &str,
    subject: &str,
    body: &str,
    key: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |tx| {
        const INSERT: &str = "INSERT INTO outbox \
            (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
        sqlx::query(INSERT)
            .bind(crate::ids::row_id())
            .bind(DeliveryChannel::for_address(recipient).as_str())
            .bind(recipient)
            .bind(subject)
            .bind(body)
            .bind(key)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
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
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            OffsetDateTime,
        );
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(SQL)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter()
            .map(
                |(id, channel, recipient, subject, body, status, created_at)| {
                    Ok(OutboxMessage {
                        channel: DeliveryChannel::parse(&channel)
                            .ok_or_else(|| corrupt(&id, "channel", &channel))?,
                        status: OutboxStatus::parse(&status)
                            .ok_or_else(|| corrupt(&id, "status", &status))?,
                        id,
                        recipient,
                        subject,
                        body,
                        created_at,
                    })
                },
            )
            .collect()
    }

    /// Claims up to `limit` messages of `channel` that are due: new ones, temporary failures whose
    /// retry time has come, and sends whose lease expired. A claim is a conditional update, so two
    /// workers (or nodes) never both claim one message.
    pub async fn claim_outbox(
        &self,
        channel: DeliveryChannel,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        const DUE: &str = "SELECT id, status, attempts FROM outbox WHERE channel = $1 \
            AND status IN ('created', 'temporary_failure', 'sending') AND next_attempt_at <= $2 \
            ORDER BY next_attempt_at LIMIT $3";
        // The attempt counter is the version: only one claimer can move it from n to n + 1.
        const CLAIM: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
            next_attempt_at = $1 WHERE id = $2 AND status = $3 AND attempts = $4";
        const READ: &str =
            "SELECT id, recipient, subject, body, attempts FROM outbox WHERE id = $1";
        let now = OffsetDateTime::now_utc();
        let due: Vec<(String, String, i64)> = on_pool!(self.backend(), |p| sqlx::query_as(DUE)
            .bind(channel.as_str())
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        let mut claimed = Vec::new();
        for (id, status, attempts) in due {
            let won = on_pool!(self.backend(), |p| sqlx::query(CLAIM)
                .bind(now + CLAIM_LEASE)
                .bind(&id)
                .bind(&status)
                .bind(attempts)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))?;
            if won == 1 {
                let (id, recipient, subject, body, attempts) =
                    on_pool!(self.backend(), |p| sqlx::query_as(READ)
                        .bind(&id)
                        .fetch_one(p)
                        .await)?;
                claimed.push(Claimed {
                    id,
                    recipient,
                    subject,
                    body,
                    attempts,
                });
            }
        }
        Ok(claimed)
    }

    /// Records that the provider accepted a message, with its id for the message if it gave one.
    pub async fn outbox_delivered(
        &self,
        id: &str,
        provider_id: Option<&str>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET status = 'delivered', delivered_at = $1, \
            last_error = NULL, provider_ref = $2 WHERE id = $3";
        on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(OffsetDateTime::now_utc())
            .bind(provider_id)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed attempt: retried after `retry_in` unless `permanent` or out of attempts.
    /// `provider_status` is the provider's own code for the refusal, kept as it was given.
    pub async fn outbox_failed(
        &self,
        id: &str,
        attempts: i64,
        permanent: bool,
        provider_status: Option<&str>,
        error: &str,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET status = $1, last_error = $2, provider_ref = $3, \
            next_attempt_at = $4 WHERE id = $5";
        let status = if permanent || attempts >= MAX_ATTEMPTS {
            OutboxStatus::PermanentFailure
        } else {
            OutboxStatus::TemporaryFailure
        };
        let error: String = error.chars().take(500).collect();
        on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(status.as_str())
            .bind(&error)
            .bind(provider_status)
            .bind(OffsetDateTime::now_utc() + retry_in)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Puts a claimed message back, untried, until `until` (its recipient's quota for the window
    /// is used up): the claim's attempt is given back.
    pub async fn outbox_defer(
        &self,
        id: &str,
        until: OffsetDateTime,
        why: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET status = 'temporary_failure', \
            attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
            next_attempt_at = $1, last_error = $2 WHERE id = $3 AND status = 'sending'";
        on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(until)
            .bind(why)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// What became of a message (for tests and operators).
    pub async fn outbox_status(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        const SQL: &str =
            "SELECT status, attempts, last_error, provider_ref FROM outbox WHERE id = $1";
        let row: Option<(String, i64, Option<String>, Option<String>)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SQL)
                .bind(id)
                .fetch_optional(p)
                .await)?;
        row.map(|(status, attempts, last_error, provider_ref)| {
            Ok(Delivery {
                status: OutboxStatus::parse(&status)
                    .ok_or_else(|| corrupt(id, "status", &status))?,
                attempts,
                last_error,
                provider_ref,
            })
        })
        .transpose()
    }
}
