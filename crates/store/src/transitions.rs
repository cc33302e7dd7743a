//! One way to save what the core decided. Every change of a dossier — a back-office action, a
//! submission, a recomputed due moment — is a [`Transition`], written here in the caller's
//! transaction: the state (guarded by the version read), the requests to other agencies it opens
//! or answers, the result it registers, its event, and its notices rendered once for the inbox
//! and the outbox.

use crate::backend::{on_tx, WriteTx};
use crate::dossiers::{ActError, Dossier};
use crate::events::{chained, last_event, DossierEvent, EventActor, EVENT_TABLE};
use crate::StoreError;
use motcua_core::delivery::{DeliveryChannel, ZALO_FOLLOWER};
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

const NOTIFICATION_TABLE: &str = "notifications (id, user_id, dossier_id, title, body, created_at)";

const OUTBOX_TABLE: &str = "outbox \
     (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at)";

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Saves `t` on the dossier read as `before`: the dossier after it, or
/// [`ActError::Conflict`] when someone changed the row since it was read. `tip` is the last
/// event's number and hash when the caller read them with the row (`Some(None)`: no event yet);
/// `None` reads them here.
///
/// Round trips are what an action costs (see docs/performance.md), so the update, the event and
/// the notices go in one: on PostgreSQL one statement of data-modifying CTEs that write only when
/// the guarded update moved the row; on SQLite the update (whose `RETURNING` says whether it
/// moved), then the rows after it as one multi-statement query.
pub(crate) async fn record(
    tx: WriteTx<'_, '_>,
    before: &Dossier,
    t: &Transition,
    by: EventActor<'_>,
    now: OffsetDateTime,
    tip: Option<Option<(i64, String)>>,
) -> Result<Dossier, ActError> {
    let postgres = matches!(tx, WriteTx::Postgres(_));
    on_tx!(tx, |tx| {
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
        let last = match tip {
            Some(known) => known,
            None => last_event(WriteTx::from(&mut *tx), &before.id).await?,
        };
        let mut after = before.clone();
        after.life = t.state.clone();
        after.updated_at = now;
        let event = chained(&before.id, last, by, now, &t.event);
        let mut update = Batch::default();
        bind_update(&mut update, before, &after)?;
        let (update, mut rest) = if postgres {
            (None, update)
        } else {
            (Some(update), Batch::default())
        };
        let inserts = rows_after(&mut rest, &before.id, &event, &after, &t.notices, now);
        let version = if postgres {
            let mut sql = format!("WITH moved AS ({UPDATE_DOSSIER})");
            for (i, insert) in inserts.iter().enumerate() {
                let from = insert
                    .from
                    .as_deref()
                    .map_or(String::new(), |f| format!(", {f}"));
                sql.push_str(&format!(
                    ", w{i} AS (INSERT INTO {} SELECT {} FROM moved{from})",
                    insert.into, insert.values
                ));
            }
            sql.push_str(" SELECT version FROM moved");
            rest.query_as(&sql).fetch_optional(&mut **tx).await?
        } else {
            let update = update.unwrap_or_default();
            let moved: Option<(i64,)> = update
                .query_as(UPDATE_DOSSIER)
                .fetch_optional(&mut **tx)
                .await?;
            if moved.is_some() {
                let sql: String = inserts
                    .iter()
                    .map(|i| match &i.from {
                        None => format!("INSERT INTO {} VALUES ({});", i.into, i.values),
                        Some(f) => format!("INSERT INTO {} SELECT {} FROM {f};", i.into, i.values),
                    })
                    .collect();
                rest.query(&sql).execute(&mut **tx).await?;
            }
            moved
        };
        let Some((version,)) = version else {
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
        after.version = version;
        Ok(after)
    })
}

/// Binds [`UPDATE_DOSSIER`]'s parameters, `$1` to `$25`, for the move from `before` to `after`.
fn bind_update(b: &mut Batch, before: &Dossier, after: &Dossier) -> Result<(), StoreError> {
    let s = &after.life;
    let items = if s.supplement_items.is_empty() {
        None
    } else {
        Some(json(&s.supplement_items)?)
    };
    b.text(s.code.clone());
    b.text(Some(s.status.as_str().to_owned()));
    b.text(s.deadline.as_ref().map(json).transpose()?);
    b.time(s.due_at);
    b.int(Some(s.supplement_requests));
    b.text(items);
    b.time(s.submitted_at);
    b.time(s.received_at);
    b.time(s.closed_at);
    b.time(Some(after.updated_at));
    b.text(s.desk_code.clone());
    b.text(s.workflow.as_ref().map(json).transpose()?);
    b.int(Some(s.workflow_version));
    b.text(s.assignee_id.clone());
    b.text(Some(s.assignee_name.clone()));
    b.time(s.step_due_at);
    b.text(s.outcome.map(|o| o.as_str().to_owned()));
    b.int(Some(s.reschedules));
    b.time(s.original_due_at);
    b.text(s.result_sha256.clone());
    b.text(s.result_file_name.clone());
    b.time(s.decided_at);
    b.text(s.hand_over_method.map(|m| m.as_str().to_owned()));
    b.text(Some(before.id.clone()));
    b.int(Some(before.version));
    Ok(())
}

/// Rows to insert: the table with its columns, the placeholders (or expressions) of its values,
/// and, for rows made from other rows, the tables and condition they come from.
struct Insert {
    into: &'static str,
    values: String,
    from: Option<String>,
}

/// The rows a transition writes once its update moved the dossier: its event, then for each
/// notice the applicant's inbox row and outbox message. Their values are pushed onto `b`.
fn rows_after(
    b: &mut Batch,
    dossier_id: &str,
    e: &DossierEvent,
    after: &Dossier,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Vec<Insert> {
    let id = b.text(Some(dossier_id.to_owned()));
    let at = b.time(Some(now));
    let values = [
        id.clone(),
        b.int(Some(e.seq)),
        b.text(Some(e.kind.as_str().to_owned())),
        b.text(e.actor_id.clone()),
        b.text(Some(e.actor_name.clone())),
        at.clone(),
        b.text(Some(e.status.as_str().to_owned())),
        b.text(Some(e.note.clone())),
        b.text(Some(e.agency_code.clone())),
        b.text(Some(e.target.clone())),
        b.text(Some(e.payload.clone())),
        b.text(Some(e.prev_hash.clone())),
        b.text(Some(e.hash.clone())),
    ];
    let mut rows = vec![Insert {
        into: EVENT_TABLE,
        values: values.join(", "),
        from: None,
    }];
    for n in notices {
        let out = delivery(after, n, now);
        let title = b.text(Some(out.title));
        let body = b.text(Some(out.body));
        if let Some(user) = out.user {
            let values = [
                b.text(Some(crate::ids::row_id())),
                b.text(Some(user)),
                id.clone(),
                title.clone(),
                body.clone(),
                at.clone(),
            ];
            rows.push(Insert {
                into: NOTIFICATION_TABLE,
                values: values.join(", "),
                from: None,
            });
        }
        // The dossier's Zalo followers get the notice too, each with its own message and key.
        let (row, key) = (
            b.text(Some(crate::ids::row_id())),
            b.text(Some(out.key.clone())),
        );
        let values = [
            format!("{row} || f.zalo_user_id"),
            format!("'{}'", DeliveryChannel::Zalo.as_str()),
            format!("'{ZALO_FOLLOWER}' || f.zalo_user_id"),
            title.clone(),
            body.clone(),
            format!("{key} || ':zalo:' || f.zalo_user_id"),
            at.clone(),
            at.clone(),
        ];
        rows.push(Insert {
            into: OUTBOX_TABLE,
            values: values.join(", "),
            from: Some(format!("dossier_followers f WHERE f.dossier_id = {id}")),
        });
        if let Some(to) = out.recipient {
            let values = [
                b.text(Some(crate::ids::row_id())),
                b.text(Some(DeliveryChannel::for_address(&to).as_str().to_owned())),
                b.text(Some(to)),
                title,
                body,
                key,
                at.clone(),
                at.clone(),
            ];
            rows.push(Insert {
                into: OUTBOX_TABLE,
                values: values.join(", "),
                from: None,
            });
        }
    }
    rows
}

/// A statement's parameters of mixed types, numbered as they are pushed.
#[derive(Default)]
struct Batch {
    args: Vec<Arg>,
}

enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Time(Option<OffsetDateTime>),
}

impl Batch {
    fn push(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
    fn text(&mut self, v: Option<String>) -> String {
        self.push(Arg::Text(v))
    }
    fn int(&mut self, v: Option<i64>) -> String {
        self.push(Arg::Int(v))
    }
    fn time(&mut self, v: Option<OffsetDateTime>) -> String {
        self.push(Arg::Time(v))
    }
}

impl Batch {
    fn query_as<'q, DB, O>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database,
        O: for<'r> sqlx::FromRow<'r, DB::Row>,
        Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<OffsetDateTime>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut q = sqlx::query_as(sql);
        for a in &self.args {
            q = match a {
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Int(v) => q.bind(*v),
                Arg::Time(v) => q.bind(*v),
            };
        }
        q
    }

    fn query<'q, DB>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database,
        Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<OffsetDateTime>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut q = sqlx::query(sql);
        for a in &self.args {
            q = match a {
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Int(v) => q.bind(*v),
                Arg::Time(v) => q.bind(*v),
            };
        }
        q
    }
}
/// Where a notice to the applicant of `d` goes: the account's inbox, and the outbox address
/// (email if given, else phone) with the message's idempotency key.
pub(crate) struct Delivery {
    pub title: String,
    pub body: String,
    pub user: Option<String>,
    /// The applicant's address, if any.
    pub recipient: Option<String>,
    /// The message's idempotency key (followers' messages add their id to it).
    pub key: String,
}

/// Renders `n` for the applicant of `d`; the idempotency key is the dossier, template and moment.
pub(crate) fn delivery(d: &Dossier, n: &Notice, now: OffsetDateTime) -> Delivery {
    let (title, body) = n.render_vi();
    let recipient = d
        .applicant_email
        .as_deref()
        .filter(|e| !e.is_empty())
        .or(Some(d.applicant_phone.as_str()).filter(|p| !p.is_empty()))
        .map(str::to_owned);
    let key = format!(
        "dossier:{}:{}:{}",
        d.id,
        n.template(),
        now.unix_timestamp_nanos()
    );
    Delivery {
        title,
        body,
        user: d.applicant_id.clone(),
        recipient,
        key,
    }
}
