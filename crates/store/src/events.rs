//! A dossier's history: append-only events, hash-chained per dossier (a global chain would
//! serialise the province's writes), each with its typed payload. `verify_events` names the
//! first event that does not match; old events without a payload verify as they always did.

use crate::backend::{on_pool, on_tx, WriteTx};
use crate::{Store, StoreError};
use motcua_core::dossier::command::NewEvent;
use motcua_core::dossier::{Detail, EventKind, Payload, Status};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// One entry of a dossier's timeline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DossierEvent {
    /// Position in the dossier's history, from 1.
    pub seq: i64,
    /// What happened.
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    /// Who did it (account id), if an account.
    pub actor_id: Option<String>,
    /// Who did it, as shown to officials.
    pub actor_name: String,
    /// When.
    pub at: OffsetDateTime,
    /// Status after it.
    #[sqlx(try_from = "String")]
    pub status: Status,
    /// The words the person wrote (before payloads: the whole rendered text).
    pub note: String,
    /// The unit that acted (agency code), where it matters for the control sheet.
    pub agency_code: String,
    /// Who or which unit the dossier went to.
    pub target: String,
    /// The typed payload as stored (JSON), empty for events written before payloads.
    pub payload: String,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// Hash of this event.
    pub hash: String,
}

impl DossierEvent {
    /// Vietnamese label of the event.
    pub fn label_vi(&self) -> &'static str {
        self.kind.label_vi()
    }

    /// The typed payload; `None` for an event written before payloads (or one that cannot be
    /// read, which `verify_events` reports through its hash only if it was altered).
    pub fn payload(&self) -> Option<Payload> {
        Payload::from_json(&self.payload).ok().flatten()
    }

    /// The facts of the event, when it has a payload.
    pub fn detail(&self) -> Option<Detail> {
        self.payload().map(|p| p.detail)
    }

    /// What the timeline says of it: rendered from the payload, or the old note as written.
    pub fn text_vi(&self) -> String {
        match self.detail() {
            Some(d) => d.describe_vi(&self.note),
            None => self.note.clone(),
        }
    }

    /// The reason the person gave (refusal, supplement request, apology), for the forms.
    pub fn reason_vi(&self) -> String {
        if self.payload.is_empty() {
            Detail::reason_of_legacy_note(self.kind, &self.note).to_owned()
        } else {
            self.note.clone()
        }
    }
}

/// The hash of an event: everything it says, chained to the one before.
pub fn event_hash(dossier_id: &str, e: &DossierEvent) -> String {
    let mut h = Sha256::new();
    for part in [
        e.prev_hash.as_str(),
        dossier_id,
        &e.seq.to_string(),
        e.kind.as_str(),
        e.actor_id.as_deref().unwrap_or(""),
        &e.actor_name,
        &(e.at.unix_timestamp_nanos() / 1000).to_string(),
        e.status.as_str(),
        &e.note,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    // Added with the back office (unit, target) and with typed payloads; each left out when
    // empty so events written before still verify.
    for part in [e.agency_code.as_str(), e.target.as_str()] {
        if !part.is_empty() {
            h.update(part.len().to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    if !e.payload.is_empty() {
        h.update(b"payload");
        h.update(e.payload.len().to_le_bytes());
        h.update(e.payload.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The hash before a dossier's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The first event whose hash does not match its content or its predecessor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenEvent {
    /// Dossier id.
    pub dossier_id: String,
    /// Its code, if any.
    pub code: Option<String>,
    /// Event number.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// The latest event of one of `kinds` in a dossier's history, if any.
pub fn last_of<'e>(events: &'e [DossierEvent], kinds: &[EventKind]) -> Option<&'e DossierEvent> {
    events.iter().rev().find(|e| kinds.contains(&e.kind))
}

/// Who acted, for an event: account and name.
#[derive(Debug, Clone, Copy)]
pub struct EventActor<'a> {
    /// Account id; `None` for the system.
    pub id: Option<&'a str>,
    /// Name as shown.
    pub name: &'a str,
}

/// The next event of a dossier whose last event is `last` (seq and hash), hashed.
pub(crate) fn chained(
    dossier_id: &str,
    last: Option<(i64, String)>,
    by: EventActor<'_>,
    at: OffsetDateTime,
    e: &NewEvent,
) -> DossierEvent {
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let mut event = DossierEvent {
        seq,
        kind: e.kind,
        actor_id: by.id.map(str::to_owned),
        actor_name: by.name.to_owned(),
        at,
        status: e.status,
        note: e.note.clone(),
        agency_code: e.unit.clone(),
        target: e.target.clone(),
        payload: e.payload.to_json(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(dossier_id, &event);
    event
}

/// The number and hash of a dossier's last event, if it has one.
pub(crate) async fn last_event(
    tx: WriteTx<'_, '_>,
    dossier_id: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    const LAST: &str =
        "SELECT seq, hash FROM dossier_events WHERE dossier_id = $1 ORDER BY seq DESC LIMIT 1";
    on_tx!(tx, |tx| {
        sqlx::query_as::<_, (i64, String)>(LAST)
            .bind(dossier_id)
            .fetch_optional(&mut **tx)
            .await
    })
}

/// Appends an event to a dossier's chain inside the caller's transaction, after `tip` (the last
/// event's number and hash) when the caller read it with the dossier's locked row; `None` reads
/// it here.
pub(crate) async fn append_event(
    mut tx: WriteTx<'_, '_>,
    dossier_id: &str,
    by: EventActor<'_>,
    at: OffsetDateTime,
    e: &NewEvent,
    tip: Option<Option<(i64, String)>>,
) -> Result<(), sqlx::Error> {
    let last = match tip {
        Some(known) => known,
        None => last_event(tx.reborrow(), dossier_id).await?,
    };
    on_tx!(tx, |tx| {
        let event = chained(dossier_id, last, by, at, e);
        sqlx::query(INSERT_EVENT)
            .bind(dossier_id)
            .bind(event.seq)
            .bind(event.kind.as_str())
            .bind(event.actor_id)
            .bind(event.actor_name)
            .bind(event.at)
            .bind(event.status.as_str())
            .bind(event.note)
            .bind(event.agency_code)
            .bind(event.target)
            .bind(event.payload)
            .bind(event.prev_hash)
            .bind(event.hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
}

/// Every column of an event row, in the order [`INSERT_EVENT`] and [`DossierEvent`] use.
pub(crate) const EVENT_COLUMNS: &str = "seq, kind, actor_id, actor_name, at, status, note, \
     agency_code, target, payload, prev_hash, hash";

/// The event table with every column an insert names.
pub(crate) const EVENT_TABLE: &str = "dossier_events \
     (dossier_id, seq, kind, actor_id, actor_name, at, status, note, agency_code, target, payload, \
     prev_hash, hash)";

const INSERT_EVENT: &str = const_format::concatcp!(
    "INSERT INTO ",
    EVENT_TABLE,
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);

impl Store {
    /// A dossier's history, oldest first.
    pub async fn dossier_events(&self, id: &str) -> Result<Vec<DossierEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM dossier_events WHERE dossier_id = $1 ORDER BY seq"
        );
        Ok(on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// Walks every dossier's event chain; the first event that does not match, if any.
    pub async fn verify_events(&self) -> Result<(u64, Option<BrokenEvent>), StoreError> {
        const IDS: &str = "SELECT id, code FROM dossiers ORDER BY created_at, id";
        let ids: Vec<(String, Option<String>)> =
            on_pool!(self.backend(), |p| sqlx::query_as(IDS).fetch_all(p).await)?;
        let mut checked = 0;
        for (id, code) in ids {
            let mut prev = GENESIS.to_owned();
            for (i, e) in self.dossier_events(&id).await?.into_iter().enumerate() {
                checked += 1;
                let broken = |reason: &str| BrokenEvent {
                    dossier_id: id.clone(),
                    code: code.clone(),
                    seq: e.seq,
                    reason: reason.to_owned(),
                };
                if e.seq != i as i64 + 1 {
                    return Ok((checked, Some(broken("events are missing before this one"))));
                }
                if e.prev_hash != prev {
                    return Ok((
                        checked,
                        Some(broken("it does not follow the event before it")),
                    ));
                }
                if event_hash(&id, &e) != e.hash {
                    return Ok((
                        checked,
                        Some(broken("its content was changed after it was written")),
                    ));
                }
                if !e.payload.is_empty() && e.payload().is_none() {
                    return Ok((checked, Some(broken("its payload cannot be read"))));
                }
                prev = e.hash;
            }
        }
        Ok((checked, None))
    }
}
