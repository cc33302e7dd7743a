//! One way to save what the core decided. Every change of a dossier — a back-office action, a
//! submission, a recomputed due moment — is a [`Transition`], written here in the caller's
//! transaction: the state (guarded by the version read), the requests to other agencies it opens
//! or answers, the result it registers, its event, and its notices rendered once for the inbox
//! and the outbox.

use crate::backend::{on_tx, WriteTx};
use crate::dossiers::{ActError, Dossier};
use crate::events::{append_event, EventActor};
use crate::outbox::enqueue;
use crate::StoreError;
use motcua_core::dossier::{Notice, Transition};
use time::OffsetDateTime;

const UPDATE_DOSSIER: &str = "UPDATE dossiers SET code = $1, status = $2, deadline = $3, \
     due_at = $4, supplement_requests = $5, supplement_items = $6, submitted_at = $7, \
     received_at = $8, closed_at = $9, updated_at = $10, version = version + 1, desk_code = $11, \
     workflow = $12, workflow_version = $13, assignee_id = $14, assignee_name = $15, \
     step_due_at = $16, outcome = $17, reschedules = $18, original_due_at = $19, \
     result_sha256 = $20, result_file_name = $21, decided_at = $22, hand_over_method = $23 \
     WHERE id = $24 AND version = $25 RETURNING version";

const INSERT_CONSULTATION: &str = "INSERT INTO consultations \
     (id, dossier_id, step, agency_code, sent_at, due_at) VALUES ($1, $2, $3, $4, $5, $6)";

const ANSWER_CONSULTATION: &str = "UPDATE consultations \
     SET answered_at = $1, answer = $2, answered_by = $3 WHERE id = $4";

const INSERT_BLOB: &str = "INSERT INTO blobs (sha256, size, media_type, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING";

const INSERT_NOTIFICATION: &str = "INSERT INTO notifications \
     (id, user_id, dossier_id, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Saves `t` on the dossier read as `before`: the dossier after it, or
/// [`ActError::Conflict`] when someone changed the row since it was read. `tip` is the last
/// event's number and hash when the caller read them with the row (`Some(None)`: no event yet);
/// `None` reads them here.
pub(crate) async fn record(
    tx: WriteTx<'_, '_>,
    before: &Dossier,
    t: &Transition,
    by: EventActor<'_>,
    now: OffsetDateTime,
    tip: Option<Option<(i64, String)>>,
) -> Result<Dossier, ActError> {
    on_tx!(tx, tx => {
        // The row names the result's blob: its row comes first.
        if let Some(doc) = &t.result {
            sqlx::query(INSERT_BLOB)
                .bind(doc.sha256.as_str())
                .bind(i64::try_from(doc.size).unwrap_or(i64::MAX))
                .bind(doc.kind.media_type())
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        let mut after = before.clone();
        after.life = t.state.clone();
        after.updated_at = now;
        let s = &after.life;
        let items = if s.supplement_items.is_empty() {
            None
        } else {
            Some(json(&s.supplement_items)?)
        };
        let moved: Option<(i64,)> = sqlx::query_as::<_, (i64,)>(UPDATE_DOSSIER)
            .bind(s.code.clone())
            .bind(s.status.as_str())
            .bind(s.deadline.as_ref().map(json).transpose()?)
            .bind(s.due_at)
            .bind(s.supplement_requests)
            .bind(items)
            .bind(s.submitted_at)
            .bind(s.received_at)
            .bind(s.closed_at)
            .bind(now)
            .bind(s.desk_code.clone())
            .bind(s.workflow.as_ref().map(json).transpose()?)
            .bind(s.workflow_version)
            .bind(s.assignee_id.clone())
            .bind(s.assignee_name.clone())
            .bind(s.step_due_at)
            .bind(s.outcome.map(|o| o.as_str().to_owned()))
            .bind(s.reschedules)
            .bind(s.original_due_at)
            .bind(s.result_sha256.clone())
            .bind(s.result_file_name.clone())
            .bind(s.decided_at)
            .bind(s.hand_over_method.map(|m| m.as_str().to_owned()))
            .bind(before.id.as_str())
            .bind(before.version)
            .fetch_optional(&mut **tx)
            .await?;
        let Some((version,)) = moved else {
            return Err(ActError::Conflict(before.status));
        };
        for ask in &t.asks {
            sqlx::query(INSERT_CONSULTATION)
                .bind(crate::ids::row_id())
                .bind(before.id.as_str())
                .bind(ask.step)
                .bind(ask.agency.as_str())
                .bind(now)
                .bind(ask.due_at)
                .execute(&mut **tx)
                .await?;
        }
        if let Some((id, answer)) = &t.answers {
            sqlx::query(ANSWER_CONSULTATION)
                .bind(now)
                .bind(answer.as_str())
                .bind(by.id.map(str::to_owned))
                .bind(id.as_str())
                .execute(&mut **tx)
                .await?;
        }
        append_event(WriteTx::from(&mut *tx), &before.id, by, now, &t.event, tip).await?;
        send_notices(WriteTx::from(&mut *tx), &after, &t.notices, now).await?;
        after.version = version;
        Ok(after)
    })
}

/// Where a notice to the applicant of `d` goes: the account's inbox, and the outbox address
/// (email if given, else phone) with the message's idempotency key.
pub(crate) struct Delivery {
    pub title: String,
    pub body: String,
    pub user: Option<String>,
    pub recipient: Option<(String, String)>,
}

/// Renders `n` for the applicant of `d`; the idempotency key is the dossier, template and moment.
pub(crate) fn delivery(d: &Dossier, n: &Notice, now: OffsetDateTime) -> Delivery {
    let (title, body) = n.render_vi();
    let recipient = d
        .applicant_email
        .as_deref()
        .filter(|e| !e.is_empty())
        .or(Some(d.applicant_phone.as_str()).filter(|p| !p.is_empty()))
        .map(|to| {
            let key = format!(
                "dossier:{}:{}:{}",
                d.id,
                n.template(),
                now.unix_timestamp_nanos()
            );
            (to.to_owned(), key)
        });
    Delivery {
        title,
        body,
        user: d.applicant_id.clone(),
        recipient,
    }
}

/// Tells the applicant: in the app (when they have an account) and by email or SMS through the
/// outbox, in the caller's transaction.
pub(crate) async fn send_notices(
    tx: WriteTx<'_, '_>,
    d: &Dossier,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, tx => {
        for n in notices {
            let out = delivery(d, n, now);
            if let Some(user) = &out.user {
                sqlx::query(INSERT_NOTIFICATION)
                    .bind(crate::ids::row_id())
                    .bind(user.as_str())
                    .bind(d.id.as_str())
                    .bind(out.title.as_str())
                    .bind(out.body.as_str())
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
            if let Some((to, key)) = &out.recipient {
                enqueue(WriteTx::from(&mut *tx), to, &out.title, &out.body, key, now).await?;
            }
        }
        Ok(())
    })
}
