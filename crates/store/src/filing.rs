//! Filing complete online dossiers with group commit. Each filing is a handful of inserts; what
//! costs is the commit and, on PostgreSQL, setting up and running a statement. Concurrent
//! filings therefore queue to a writer that takes whatever is waiting and writes it together:
//! - on SQLite, which has one writer at a time, each filing behind its own savepoint, all under
//!   one commit: one synced write for many dossiers, and a failure of one rolls back that one;
//! - on PostgreSQL, all of them in one statement: one round trip, one statement set-up and one
//!   commit for many dossiers. If that statement fails, each of its filings is written again
//!   alone, so one bad filing fails only itself.
//!
//! A caller is answered only after the commit that holds its dossier. A filing that waits alone
//! is written at once: the queue batches only what arrives while a write is under way.

use crate::accounts::Account;
use crate::backend::BeginWrite;
use crate::blobs::InMemory;
use crate::catalogue::StoredProcedure;
use crate::dossiers::{micros, ActError, CodeSettings, Dossier, DossierEvent, NewFile};
use crate::events::{chained, EventActor};
use crate::files::Files;
use crate::packs::PackSpot;
use crate::transitions::{delivery, Delivery};
use crate::{Backend, Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, WorkCalendar};
use motcua_core::calendar::holidays::HolidayCalendar;
use motcua_core::dossier::command::{created, By, Lookups, Subject};
use motcua_core::dossier::{
    decide, handle, Action, Actor, Channel, Command, Context, Facts, FileKind, Lifecycle, Notice,
    Status,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

const UPSERT_DOSSIER_SEQUENCES: &str = "INSERT INTO dossier_sequences (prefix, day, last) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (prefix, day) \
     DO UPDATE \
     SET last = dossier_sequences.last + $3 \
     RETURNING last";

/// Most filings written under one commit.
const MAX_BATCH: usize = 64;

/// Bound parameters one PostgreSQL statement may carry (the protocol counts them in 16 bits);
/// a batch that would need more is split.
const PG_MAX_PARAMS: usize = 65_535;

/// Day numbers a PostgreSQL server takes from the counter at once. Taking one per filing would
/// cost every filing a second commit; a block costs one per this many, and leaves at most this
/// many minus one numbers unused when the server stops (a gap in the day's codes, never a repeat).
const NUMBER_BLOCK: i64 = 16;

/// The rest of each reserved block, by (code prefix, day): next number to give, last reserved.
#[derive(Default)]
pub(crate) struct NumberBlocks(tokio::sync::Mutex<HashMap<(String, String), (i64, i64)>>);

impl NumberBlocks {
    /// The next number of `day` for `prefix`, reserving a new block when this server's is used
    /// up. The lock is held across that reservation so two filings never reserve at once.
    async fn next(&self, pool: &sqlx::PgPool, prefix: &str, day: &str) -> Result<i64, StoreError> {
        let mut blocks = self.0.lock().await;
        let key = (prefix.to_owned(), day.to_owned());
        if let Some((next, last)) = blocks.get_mut(&key) {
            if *next <= *last {
                *next += 1;
                return Ok(*next - 1);
            }
        }
        let last: i64 = sqlx::query_scalar(UPSERT_DOSSIER_SEQUENCES)
            .bind(prefix)
            .bind(day)
            .bind(NUMBER_BLOCK)
            .fetch_one(pool)
            .await?;
        // Day keys (YYMMDD) sort by date: the blocks of days that are over are dropped.
        blocks.retain(|(_, d), _| d.as_str() >= day);
        let first = last - NUMBER_BLOCK + 1;
        blocks.insert(key, (first + 1, last));
        Ok(first)
    }
}

/// A file to attach, owned so the filing can wait in the queue.
#[derive(Debug, Clone)]
struct OwnedFile {
    document: String,
    file_name: String,
    sha256: String,
    size: i64,
    kind: FileKind,
    /// Content still to store, in a pack, before the rows are written.
    in_memory: Option<Arc<InMemory>>,
    /// Where that content went.
    spot: Option<PackSpot>,
}

/// Everything a filing writes, prepared (and read) before it joins the queue.
struct Filing {
    dossier: Dossier,
    codes: CodeSettings,
    files: Vec<OwnedFile>,
    form_json: String,
    /// The one-stop desk that receives it.
    desk: Option<String>,
    reply: oneshot::Sender<Result<Filed, ActError>>,
}

impl Filing {
    /// Its code, two events (created, submitted) and the notice it sends. The code is given
    /// before queueing on PostgreSQL (from this server's block of numbers); on SQLite the writer
    /// takes the day's next number inside the commit and sets it first, so the events, whose
    /// payload names the code, are made here, when it is known.
    fn code_events_notice(&self) -> Result<(&str, [DossierEvent; 2], Delivery), ActError> {
        let d = &self.dossier;
        let code = d
            .code
            .as_deref()
            .ok_or_else(|| StoreError::Internal("a filing has no code".into()))?;
        let (life, events, notices) = submission(d, code, self.desk.as_deref())?;
        let submitted = Dossier { life, ..d.clone() };
        let notice = notices
            .first()
            .map(|n| delivery(&submitted, n, d.created_at))
            .ok_or_else(|| StoreError::Internal("a submission always notifies".into()))?;
        Ok((code, events, notice))
    }
}

/// A submission computes no moment; the built-in calendar stands in for the stored one.
static BUILT_IN: std::sync::LazyLock<HolidayCalendar> =
    std::sync::LazyLock::new(HolidayCalendar::vietnam);

/// The created and submitted events of an API filing of `d` (created at `d.created_at` by its
/// applicant) under `code`, routed to `desk`: the same transitions a draft submitted on the
/// portal goes through, chained from the start.
fn submission(
    d: &Dossier,
    code: &str,
    desk: Option<&str>,
) -> Result<(Lifecycle, [DossierEvent; 2], Vec<Notice>), ActError> {
    let hours = OfficeHours::default();
    let calendar = WorkCalendar {
        holidays: &BUILT_IN,
        hours: &hours,
    };
    let applicant = d.applicant_id.as_deref().unwrap_or("");
    let by = EventActor {
        id: d.applicant_id.as_deref(),
        name: &d.applicant_name,
    };
    let lookups = Lookups {
        code: Some(code.to_owned()),
        desk: desk.map(str::to_owned),
        ..Lookups::default()
    };
    let ctx = Context {
        actor: Actor::Applicant,
        by: By {
            id: applicant,
            name: &d.applicant_name,
            agencies: &[],
        },
        subject: Subject {
            agency_code: &d.agency_code,
            applicant_name: &d.applicant_name,
            procedure_name: &d.procedure_name,
            channel: d.channel,
        },
        asked: &[],
        calendar: &calendar,
        lookups: &lookups,
        now: d.created_at,
    };
    let first = created()?;
    let submit = handle(&first.state, &Command::Submit, &ctx)?;
    let e1 = chained(&d.id, None, by, d.created_at, &first.event);
    let e2 = chained(
        &d.id,
        Some((e1.seq, e1.hash.clone())),
        by,
        d.created_at,
        &submit.event,
    );
    Ok((submit.state, [e1, e2], submit.notices))
}

/// What a stored filing got: its code.
type Filed = String;

/// The queue to the writer task.
pub(crate) struct FilingQueue(mpsc::Sender<Filing>);

/// The store's queue of SQLite writers, which the writer task joins for each batch.
type WriteTurns = std::sync::Arc<tokio::sync::Mutex<()>>;

impl FilingQueue {
    /// Starts the writer tasks for `backend` in the current runtime.
    pub(crate) fn start(backend: Backend, turns: WriteTurns, blobs: Arc<Files>) -> FilingQueue {
        let (tx, rx) = mpsc::channel(1024);
        let (packed, packed_rx) = mpsc::channel(PIPELINE);
        tokio::spawn(packer(blobs, rx, packed));
        match backend {
            Backend::Sqlite(pool) => tokio::spawn(sqlite_writer(pool, turns, packed_rx)),
            Backend::Postgres(pool) => tokio::spawn(pg_writer(pool, packed_rx)),
        };
        FilingQueue(tx)
    }
}

/// Batches whose files are stored and whose rows wait for the database writer. The two stages
/// overlap: while one batch's rows are committed, the next batch's files are being synced, so
/// the two syncs of a filing do not add up to the time between two batches.
const PIPELINE: usize = 4;

/// First stage: stores the files that came with the waiting filings, then hands them on.
async fn packer(
    blobs: Arc<Files>,
    mut rx: mpsc::Receiver<Filing>,
    next: mpsc::Sender<Vec<Filing>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let filings = pack_files(&blobs, std::mem::take(&mut batch)).await;
        if !filings.is_empty() && next.send(filings).await.is_err() {
            break;
        }
    }
}

/// What the packer handed on, as one batch.
async fn next_batch(rx: &mut mpsc::Receiver<Vec<Filing>>) -> Option<Vec<Filing>> {
    let mut batches = Vec::with_capacity(PIPELINE);
    (rx.recv_many(&mut batches, PIPELINE).await > 0)
        .then(|| batches.into_iter().flatten().collect())
}

async fn sqlite_writer(
    pool: sqlx::SqlitePool,
    turns: WriteTurns,
    mut rx: mpsc::Receiver<Vec<Filing>>,
) {
    while let Some(filings) = next_batch(&mut rx).await {
        let _turn = turns.lock().await;
        write_batch_sqlite(&pool, filings).await;
    }
}

/// Stores the in-memory files of `filings` durably (in a pack with one sync, or as objects put
/// side by side), and notes where each one went; the rows that name them are committed
/// afterwards. If they cannot be stored,
/// the filings that had such files are answered with the error and left out of the batch.
async fn pack_files(blobs: &Arc<Files>, mut filings: Vec<Filing>) -> Vec<Filing> {
    let contents: Vec<(String, Arc<InMemory>)> = filings
        .iter()
        .flat_map(|f| {
            f.files
                .iter()
                .filter_map(|a| Some((a.sha256.clone(), a.in_memory.clone()?)))
        })
        .collect();
    if contents.is_empty() {
        return filings;
    }
    let stored = blobs.store_filed(contents).await;
    match stored {
        Ok(spots) => {
            let mut spots = spots.into_iter();
            for a in filings.iter_mut().flat_map(|f| f.files.iter_mut()) {
                // Taken: the memory is given back as soon as the content is on disk.
                if a.in_memory.take().is_some() {
                    a.spot = spots.next().flatten();
                }
            }
            filings
        }
        Err(e) => {
            tracing::error!(error = %e, "files of a filing batch could not be stored");
            let message = e.to_string();
            let (failed, rest): (Vec<Filing>, Vec<Filing>) = filings
                .into_iter()
                .partition(|f| f.files.iter().any(|a| a.in_memory.is_some()));
            for f in failed {
                let _ = f
                    .reply
                    .send(Err(ActError::Store(StoreError::Internal(format!(
                        "the filing's files were not stored: {message}"
                    )))));
            }
            rest
        }
    }
}

/// Writes what is waiting, one batch at a time: while a batch runs and commits, the next
/// filings gather into the following one. Two writers at once were measured: in the submission
/// benchmark (8 clients) their batches averaged 1.6 filings instead of 2.6, and each filing cost
/// more CPU.
async fn pg_writer(pool: sqlx::PgPool, mut rx: mpsc::Receiver<Vec<Filing>>) {
    while let Some(filings) = next_batch(&mut rx).await {
        write_batch_pg(&pool, filings).await;
    }
}

async fn write_batch_sqlite(pool: &sqlx::SqlitePool, mut filings: Vec<Filing>) {
    let mut results: Vec<Result<Filed, ActError>> = Vec::with_capacity(filings.len());
    let committed: Result<(), sqlx::Error> = async {
        let mut tx = pool.begin_write().await?;
        for f in &mut filings {
            match write_one_sqlite(&mut tx, f).await {
                Ok(filed) => results.push(Ok(filed)),
                Err(e) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT filing")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("RELEASE SAVEPOINT filing")
                        .execute(&mut *tx)
                        .await?;
                    results.push(Err(e));
                }
            }
        }
        tx.commit().await
    }
    .await;
    match committed {
        Ok(()) => {
            for (f, r) in filings.into_iter().zip(results) {
                let _ = f.reply.send(r);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for f in filings {
                let _ = f
                    .reply
                    .send(Err(ActError::Store(StoreError::Internal(format!(
                        "the filing was not stored: {message}"
                    )))));
            }
        }
    }
}

/// Writes `filings` in as few statements as their parameters allow; when a statement fails,
/// writes each of its filings alone so that only the bad one fails.
async fn write_batch_pg(pool: &sqlx::PgPool, filings: Vec<Filing>) {
    let mut chunks: Vec<Vec<Filing>> = Vec::new();
    let mut params = 0;
    for f in filings {
        params += pg_params(&f);
        match chunks.last_mut() {
            Some(chunk) if params <= PG_MAX_PARAMS => chunk.push(f),
            _ => {
                params = pg_params(&f);
                chunks.push(vec![f]);
            }
        }
    }
    for chunk in chunks {
        match write_pg(pool, &chunk).await {
            Ok(()) => chunk.into_iter().for_each(|f| answer(f, Ok(()))),
            Err(e) if chunk.len() == 1 => {
                if let Some(f) = chunk.into_iter().next() {
                    answer(f, Err(e));
                }
            }
            Err(_) => {
                for f in chunk {
                    let written = write_pg(pool, std::slice::from_ref(&f)).await;
                    answer(f, written);
                }
            }
        }
    }

    /// Sends a filing its code, or why it was not stored.
    fn answer(f: Filing, written: Result<(), ActError>) {
        let r = written.and_then(|()| {
            f.dossier
                .life
                .code
                .ok_or_else(|| ActError::Store(StoreError::Internal("a filing has no code".into())))
        });
        let _ = f.reply.send(r);
    }
}

/// Bound parameters `f` needs at most in a PostgreSQL statement (see `PgRows::add`).
fn pg_params(f: &Filing) -> usize {
    35 + 8 * f.files.len()
}

/// One filing inside the batch, behind its own savepoint, in two round trips to SQLite's
/// connection thread: the savepoint with the day's number, then every row and the release in one
/// multi-statement query (sqlx binds the numbered parameters to each statement that uses them).
/// Returns the code.
async fn write_one_sqlite(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    f: &mut Filing,
) -> Result<Filed, ActError> {
    let date = f
        .dossier
        .created_at
        .to_offset(motcua_core::calendar::deadline::VIETNAM)
        .date();
    let first = "SAVEPOINT filing; INSERT INTO dossier_sequences (prefix, day, last) VALUES ($1, $2, 1) ON CONFLICT (prefix, day) DO UPDATE SET last = dossier_sequences.last + 1 RETURNING last";
    let seq: i64 = sqlx::query_scalar(first)
        .bind(f.codes.prefix.as_str())
        .bind(motcua_core::dossier::DossierCode::day_key(date))
        .fetch_one(&mut **tx)
        .await?;
    let code = motcua_core::dossier::DossierCode::new(
        f.codes.prefix.clone(),
        date,
        u32::try_from(seq).unwrap_or(u32::MAX),
        f.codes.width,
    )
    .map_err(|e| StoreError::Internal(e.to_string()))?
    .to_string();
    f.dossier.code = Some(code.clone());
    let f = &*f;
    let d = &f.dossier;
    let now = d.created_at;
    let (_, [created, submitted], notice) = f.code_events_notice()?;
    let mut sql = String::from("INSERT INTO dossiers (id, code, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, desk_code, applicant_id, applicant_name, applicant_phone, applicant_email, admin_unit_code, channel, status, form_data, created_at, submitted_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'online', 'submitted', $14, $15, $15, $15, 1);
        INSERT INTO dossier_events (dossier_id, seq, kind, actor_id, actor_name, at, status, note, prev_hash, hash, payload) VALUES ($1, $16, $17, $18, $19, $15, $20, '', $21, $22, $28), ($1, $23, $24, $18, $19, $15, $25, '', $26, $27, $29);");
    let mut next = 30;
    if notice.user.is_some() {
        sql.push_str(&format!(
            "INSERT INTO notifications (id, user_id, dossier_id, title, body, created_at) \
     VALUES (${}, ${}, $1, ${}, ${}, $15);",
            next,
            next + 1,
            next + 2,
            next + 3
        ));
        next += 4;
    }
    if notice.recipient.is_some() {
        sql.push_str(&format!("INSERT INTO outbox (id, channel, recipient, subject, body, idempotency_key, created_at, \
     next_attempt_at) \
     VALUES (${}, ${}, ${}, ${}, ${}, ${}, $15, $15);", next, next + 1, next + 2, next + 3, next + 4, next + 5));
        next += 6;
    }
    for _ in &f.files {
        sql.push_str(&format!(
            "INSERT INTO blobs (sha256, size, media_type, created_at, pack, pack_offset) \
     VALUES (${a}, ${b}, ${c}, $15, ${pack}, ${offset}) \
     ON CONFLICT (sha256) DO NOTHING; INSERT INTO attachments (id, dossier_id, document, \
     file_name, sha256, size, media_type, round, uploaded_at) \
     VALUES (${i}, $1, ${doc}, ${name}, ${a}, ${b}, ${c}, 0, $15);",
            a = next,
            b = next + 1,
            c = next + 2,
            i = next + 3,
            doc = next + 4,
            name = next + 5,
            pack = next + 6,
            offset = next + 7
        ));
        next += 8;
    }
    sql.push_str("RELEASE SAVEPOINT filing;");
    let mut q = sqlx::query(&sql)
        .bind(d.id.as_str())
        .bind(code.as_str())
        .bind(d.procedure_id.as_str())
        .bind(d.procedure_version)
        .bind(d.procedure_code.as_str())
        .bind(d.procedure_name.as_str())
        .bind(d.agency_code.as_str())
        .bind(f.desk.as_deref())
        .bind(d.applicant_id.as_deref())
        .bind(d.applicant_name.as_str())
        .bind(d.applicant_phone.as_str())
        .bind(d.applicant_email.as_deref())
        .bind(d.admin_unit_code.as_deref())
        .bind(f.form_json.as_str())
        .bind(now)
        .bind(created.seq)
        .bind(created.kind.as_str())
        .bind(created.actor_id.as_deref())
        .bind(created.actor_name.as_str())
        .bind(created.status.as_str())
        .bind(created.prev_hash.as_str())
        .bind(created.hash.as_str())
        .bind(submitted.seq)
        .bind(submitted.kind.as_str())
        .bind(submitted.status.as_str())
        .bind(submitted.prev_hash.as_str())
        .bind(submitted.hash.as_str())
        .bind(created.payload.as_str())
        .bind(submitted.payload.as_str());
    if let Some(user) = &notice.user {
        q = q
            .bind(crate::ids::row_id())
            .bind(user.as_str())
            .bind(notice.title.as_str())
            .bind(notice.body.as_str());
    }
    if let (Some(to), key) = (&notice.recipient, &notice.key) {
        let channel = motcua_core::delivery::DeliveryChannel::for_address(to).as_str();
        q = q
            .bind(crate::ids::row_id())
            .bind(channel)
            .bind(to.as_str())
            .bind(notice.title.as_str())
            .bind(notice.body.as_str())
            .bind(key.as_str());
    }
    for a in &f.files {
        q = q
            .bind(a.sha256.as_str())
            .bind(a.size)
            .bind(a.kind.media_type())
            .bind(crate::ids::row_id())
            .bind(a.document.as_str())
            .bind(a.file_name.as_str())
            .bind(a.spot.map(|s| s.pack))
            .bind(a.spot.map(|s| s.offset));
    }
    q.execute(&mut **tx).await?;
    Ok(code)
}

/// Parameters of a statement built with its SQL: each value is bound as it is placed, so the
/// placeholders and the values cannot drift apart whatever rows the statement has.
struct PgParams {
    args: sqlx::postgres::PgArguments,
    count: usize,
}

impl PgParams {
    /// Binds `value` and returns its placeholder.
    fn bind<'q, T>(&mut self, value: T) -> Result<String, StoreError>
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        use sqlx::Arguments;
        self.args
            .add(value)
            .map_err(|e| StoreError::Internal(format!("filing parameter: {e}")))?;
        self.count += 1;
        Ok(format!("${}", self.count))
    }
}

/// The rows of a PostgreSQL filing statement, table by table, as `VALUES` tuples of
/// placeholders.
#[derive(Default)]
struct PgRows {
    dossiers: Vec<String>,
    events: Vec<String>,
    blobs: Vec<String>,
    attachments: Vec<String>,
    notifications: Vec<String>,
    outbox: Vec<String>,
}

impl PgRows {
    /// Adds the rows of `f`, binding their values.
    fn add(&mut self, p: &mut PgParams, f: &Filing) -> Result<(), ActError> {
        let d = &f.dossier;
        let (code, [created, submitted], notice) = f.code_events_notice()?;
        let id = p.bind(&d.id)?;
        let now = p.bind(d.created_at)?;
        self.dossiers.push(format!(
            "({id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'online', 'submitted', {}, {now}, {now}, {now}, 1)",
            p.bind(code)?,
            p.bind(&d.procedure_id)?,
            p.bind(d.procedure_version)?,
            p.bind(&d.procedure_code)?,
            p.bind(&d.procedure_name)?,
            p.bind(&d.agency_code)?,
            p.bind(&f.desk)?,
            p.bind(&d.applicant_id)?,
            p.bind(&d.applicant_name)?,
            p.bind(&d.applicant_phone)?,
            p.bind(&d.applicant_email)?,
            p.bind(&d.admin_unit_code)?,
            p.bind(&f.form_json)?,
        ));
        let (actor_id, actor_name) = (p.bind(&created.actor_id)?, p.bind(&created.actor_name)?);
        for e in [created, submitted] {
            self.events.push(format!(
                "({id}, {}, {}, {actor_id}, {actor_name}, {now}, {}, '', {}, {}, {})",
                p.bind(e.seq)?,
                p.bind(e.kind.as_str())?,
                p.bind(e.status.as_str())?,
                p.bind(e.prev_hash)?,
                p.bind(e.hash)?,
                p.bind(e.payload)?,
            ));
        }
        for a in &f.files {
            let (sha, size, media) = (
                p.bind(&a.sha256)?,
                p.bind(a.size)?,
                p.bind(a.kind.media_type())?,
            );
            self.blobs.push(format!(
                "({sha}, {size}, {media}, {now}, {}, {})",
                p.bind(a.spot.map(|s| s.pack))?,
                p.bind(a.spot.map(|s| s.offset))?,
            ));
            self.attachments.push(format!(
                "({}, {id}, {}, {}, {sha}, {size}, {media}, 0, {now})",
                p.bind(crate::ids::row_id())?,
                p.bind(&a.document)?,
                p.bind(&a.file_name)?,
            ));
        }
        let (title, body) = (p.bind(&notice.title)?, p.bind(&notice.body)?);
        if let Some(user) = &notice.user {
            self.notifications.push(format!(
                "({}, {}, {id}, {title}, {body}, {now})",
                p.bind(crate::ids::row_id())?,
                p.bind(user)?,
            ));
        }
        if let (Some(to), key) = (&notice.recipient, &notice.key) {
            let channel = motcua_core::delivery::DeliveryChannel::for_address(to).as_str();
            self.outbox.push(format!(
                "({}, {}, {}, {title}, {body}, {}, {now}, {now})",
                p.bind(crate::ids::row_id())?,
                p.bind(channel)?,
                p.bind(to)?,
                p.bind(key)?,
            ));
        }
        Ok(())
    }

    /// The statement: one data-modifying CTE per table that has rows.
    fn statement(&self) -> String {
        let tables = [
            ("d", "dossiers (id, code, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, desk_code, applicant_id, applicant_name, applicant_phone, applicant_email, admin_unit_code, channel, status, form_data, created_at, submitted_at, updated_at, version)", &self.dossiers, ""),
            ("e", "dossier_events (dossier_id, seq, kind, actor_id, actor_name, at, status, note, prev_hash, hash, payload)", &self.events, ""),
            // The same content attached twice gives two blob rows: `ON CONFLICT` keeps one.
            ("b", "blobs (sha256, size, media_type, created_at, pack, pack_offset)", &self.blobs, " ON CONFLICT (sha256) DO NOTHING"),
            ("a", "attachments (id, dossier_id, document, file_name, sha256, size, media_type, round, uploaded_at)", &self.attachments, ""),
            ("n", "notifications (id, user_id, dossier_id, title, body, created_at)", &self.notifications, ""),
            ("o", "outbox (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at)", &self.outbox, ""),
        ];
        let ctes: Vec<String> = tables
            .iter()
            .filter(|(_, _, rows, _)| !rows.is_empty())
            .map(|(name, table, rows, tail)| {
                format!(
                    "{name} AS (INSERT INTO {table} VALUES {}{tail})",
                    rows.join(", ")
                )
            })
            .collect();
        format!("WITH {} SELECT 1", ctes.join(", "))
    }
}

/// Filings on PostgreSQL: every row of all of them in one statement of data-modifying CTEs,
/// which PostgreSQL runs atomically and commits on its own (foreign keys are checked at its end).
/// One round trip, one set-up and one commit for the lot, which is most of what a filing costs.
/// The rows are plain `VALUES` (one statement text per shape of batch, prepared once per
/// connection): PostgreSQL sets up a statement's whole plan on every execution, and array
/// unnesting or conditional `SELECT`s made that set-up a large part of the work.
async fn write_pg(pool: &sqlx::PgPool, filings: &[Filing]) -> Result<(), ActError> {
    let mut p = PgParams {
        args: sqlx::postgres::PgArguments::default(),
        count: 0,
    };
    let mut rows = PgRows::default();
    for f in filings {
        rows.add(&mut p, f)?;
    }
    sqlx::query_with(&rows.statement(), p.args)
        .execute(pool)
        .await
        .map_err(StoreError::from)?;
    Ok(())
}

impl Store {
    /// Files a complete online dossier: the dossier, its files (stored already, or stored now
    /// from memory), its code, its events and the notifications, written together and committed
    /// with whatever other filings are waiting. A success answer means all of it is on disk; a
    /// failure, none.
    pub async fn file_dossier(
        &self,
        applicant: &Account,
        procedure: &StoredProcedure,
        form: &BTreeMap<String, String>,
        files: &[NewFile<'_>],
        codes: &CodeSettings,
    ) -> Result<(Dossier, Vec<DossierEvent>), ActError> {
        decide(
            Status::Draft,
            Action::Submit,
            Actor::Applicant,
            &Facts::default(),
        )?;
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let form_json =
            serde_json::to_string(form).map_err(|e| StoreError::Internal(e.to_string()))?;
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        let commune = form
            .get("applicant_commune")
            .filter(|c| !c.is_empty())
            .cloned();
        let desk = self
            .desk_for(&procedure.procedure.levels, commune.as_deref())
            .await?;
        let dossier = Dossier {
            id,
            procedure_id: procedure.id.clone(),
            procedure_version: procedure.version,
            procedure_code: procedure.procedure.code.clone(),
            procedure_name: procedure.procedure.name.clone(),
            agency_code: procedure.procedure.agency_code.clone(),
            applicant_id: Some(applicant.id.clone()),
            applicant_name: get("applicant_name"),
            applicant_phone: get("applicant_phone"),
            applicant_email: Some(get("applicant_email")).filter(|e| !e.is_empty()),
            admin_unit_code: commune,
            channel: Channel::Online,
            offline_reason: None,
            form: form.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
            life: Lifecycle::blank(),
        };
        let files = files
            .iter()
            .map(|f| OwnedFile {
                document: f.document.to_owned(),
                file_name: f.file_name.to_owned(),
                sha256: f.sha256.to_owned(),
                size: i64::try_from(f.size).unwrap_or(i64::MAX),
                kind: f.kind,
                in_memory: f.in_memory.cloned(),
                spot: None,
            })
            .collect();
        let (reply, answer) = oneshot::channel();
        let mut filing = Filing {
            dossier: dossier.clone(),
            codes: codes.clone(),
            files,
            form_json,
            desk: desk.clone(),
            reply,
        };
        let done = |code: String| -> Result<(Dossier, Vec<DossierEvent>), ActError> {
            let (life, events, _) = submission(&dossier, &code, desk.as_deref())?;
            Ok((Dossier { life, ..dossier }, events.into()))
        };
        if let Backend::Postgres(pool) = self.backend() {
            // The number comes from a block this server reserved beforehand, so the day's
            // counter row is not locked for the whole filing (which would make filings wait for
            // each other's commits); a filing that then fails leaves a gap, never a repeat.
            let date = filing
                .dossier
                .created_at
                .to_offset(motcua_core::calendar::deadline::VIETNAM)
                .date();
            let seq = self
                .numbers
                .next(
                    pool,
                    codes.prefix.as_str(),
                    &motcua_core::dossier::DossierCode::day_key(date),
                )
                .await?;
            let code = motcua_core::dossier::DossierCode::new(
                codes.prefix.clone(),
                date,
                u32::try_from(seq).unwrap_or(u32::MAX),
                codes.width,
            )
            .map_err(|e| StoreError::Internal(e.to_string()))?
            .to_string();
            filing.dossier.code = Some(code);
        }
        let queue = self.filings.get_or_init(|| {
            FilingQueue::start(
                self.backend().clone(),
                self.writes.clone(),
                self.blobs.clone(),
            )
        });
        queue
            .0
            .send(filing)
            .await
            .map_err(|_| StoreError::Internal("the filing writer has stopped".into()))?;
        let code = answer
            .await
            .map_err(|_| StoreError::Internal("the filing writer has stopped".into()))??;
        done(code)
    }
}
