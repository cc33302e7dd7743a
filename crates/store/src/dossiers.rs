//! Dossiers in the store. The current state is a row; every change is also an append-only event,
//! hash-chained per dossier, written in the same transaction as the row, the notification to the
//! applicant (outbox + in-app inbox) and, on submission, the next number of the daily code
//! sequence. Rules come from `motcua_core::dossier`: the store re-checks them inside the
//! transaction against the row it locked, so two officers acting at once cannot both win.

use crate::accounts::Account;
use crate::backend::{on_pool, on_tx, BeginWrite, WriteTx};
use crate::blobs::Staged;
use crate::events::{append_event, EventActor};
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, TimeLimit, WorkCalendar, VIETNAM};
use motcua_core::dossier::command::{created, due_recomputed, registered, Registration};
use motcua_core::dossier::{
    Actor, Channel, CodePrefix, Command, CommandError, DossierCode, FileKind, HandOverMethod,
    Lifecycle, OfflineReason, Outcome, RuleError, Status, Workflow,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub use crate::events::{event_hash, last_of, BrokenEvent, DossierEvent, GENESIS};
pub use motcua_core::dossier::command::micros;
pub use motcua_core::dossier::{format_day, format_local};

const SELECT_DOSSIERS_BY_DESK_CODE: &str = "SELECT status, COUNT(*) \
     FROM dossiers \
     WHERE desk_code = $1 AND status <> 'draft' \
     GROUP BY status";

const SELECT_ATTACHMENTS_BY_DOSSIER_ID: &str =
    "SELECT id, dossier_id, document, file_name, sha256, size, media_type, round, uploaded_at \
     FROM attachments \
     WHERE dossier_id = $1 \
     ORDER BY uploaded_at, id";

const SELECT_DOSSIERS_BY_APPLICANT_ID: &str = "SELECT id \
     FROM dossiers \
     WHERE applicant_id = $1 AND procedure_id = $2 AND status = 'draft' \
     ORDER BY created_at DESC \
     LIMIT 1";

const SELECT_PROCEDURES_BY_ID: &str = "SELECT version, code, name, agency_code \
     FROM procedures \
     WHERE id = $1";

const INSERT_DOSSIERS: &str =
    "INSERT INTO dossiers (id, procedure_id, procedure_version, procedure_code, \
     procedure_name, agency_code, applicant_id, applicant_name, applicant_phone, \
     applicant_email, admin_unit_code, channel, status, form_data, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'online', 'draft', $12, $13, $13)";

const UPDATE_DOSSIERS_FORM_DATA: &str = "UPDATE dossiers \
     SET form_data = $1, applicant_name = $2, applicant_phone = $3, applicant_email = $4, \
     admin_unit_code = COALESCE($5, admin_unit_code), updated_at = $6, version = version + 1 \
     WHERE id = $7 AND status IN ('draft', 'supplement_requested')";

const ATTACHMENT_TOTALS: &str = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*) \
     FROM attachments \
     WHERE dossier_id = $1";

const SELECT_DOSSIERS_BY_ID: &str = "SELECT status, supplement_requests \
     FROM dossiers \
     WHERE id = $1";

const INSERT_BLOBS: &str = "INSERT INTO blobs (sha256, size, media_type, created_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (sha256) DO NOTHING";

const INSERT_ATTACHMENTS: &str =
    "INSERT INTO attachments (id, dossier_id, document, file_name, sha256, size, media_type, \
     round, uploaded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const UPDATE_DOSSIERS_UPDATED_AT: &str = "UPDATE dossiers \
     SET updated_at = $1, version = version + 1 \
     WHERE id = $2";

const DELETE_ATTACHMENTS_BY_ID: &str = "DELETE \
     FROM attachments \
     WHERE id = $1 AND dossier_id = $2 AND dossier_id IN (SELECT id FROM dossiers WHERE \
     status = 'draft' OR (status = 'supplement_requested' AND attachments.round = \
     dossiers.supplement_requests))";

const DELETE_ATTACHMENTS_BY_DOSSIER_ID: &str = "DELETE \
     FROM attachments \
     WHERE dossier_id = $1 AND dossier_id IN (SELECT id FROM dossiers WHERE status = 'draft')";

const DELETE_DOSSIER_EVENTS_BY_DOSSIER_ID: &str = "DELETE \
     FROM dossier_events \
     WHERE dossier_id = $1 AND dossier_id IN (SELECT id FROM dossiers WHERE status = 'draft')";

const DELETE_DOSSIERS_BY_ID: &str = "DELETE \
     FROM dossiers \
     WHERE id = $1 AND status = 'draft'";

const COUNT_DOSSIERS_BY_DESK_CODE: &str = "SELECT COUNT(*) \
     FROM dossiers \
     WHERE desk_code = $1 AND received_at >= $2 AND (received_at < $3 OR (received_at = $3 \
     AND id <= $4))";

const SELECT_NOTIFICATIONS_BY_USER_ID: &str =
    "SELECT id, dossier_id, title, body, created_at, read_at \
     FROM notifications \
     WHERE user_id = $1 \
     ORDER BY created_at DESC \
     LIMIT 100";

const UPDATE_NOTIFICATIONS_READ_AT: &str = "UPDATE notifications \
     SET read_at = $1 \
     WHERE user_id = $2 AND read_at IS NULL";

const SELECT_BLOBS_BY_SHA: &str = "SELECT size, pack, pack_offset \
     FROM blobs \
     WHERE sha256 = $1";

/// How codes are made: the receiving agency's identifier and the sequence width.
#[derive(Debug, Clone)]
pub struct CodeSettings {
    /// Agency identifier, e.g. `000.00.00.H37`.
    pub prefix: CodePrefix,
    /// Minimum digits of the daily sequence.
    pub width: usize,
}

/// A dossier as stored: who filed what, and what its history decided ([`Lifecycle`], whose
/// fields read as the dossier's own: `d.status`, `d.code`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    /// Id (internal; URLs of the portal use it, the public uses the code).
    pub id: String,
    /// Procedure id and the version the dossier was filed under.
    pub procedure_id: String,
    /// Version of the procedure.
    pub procedure_version: i64,
    /// National code of the procedure.
    pub procedure_code: String,
    /// Name of the procedure.
    pub procedure_name: String,
    /// Competent agency.
    pub agency_code: String,
    /// Account of the applicant (none for paper dossiers).
    pub applicant_id: Option<String>,
    /// Applicant's name.
    pub applicant_name: String,
    /// Applicant's phone.
    pub applicant_phone: String,
    /// Applicant's email.
    pub applicant_email: Option<String>,
    /// Commune or ward of the applicant.
    pub admin_unit_code: Option<String>,
    /// How it came in.
    pub channel: Channel,
    /// For paper dossiers: why not online.
    pub offline_reason: Option<OfflineReason>,
    /// Form values.
    pub form: BTreeMap<String, String>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last change (of the history, the form or the files).
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// What its history decided.
    pub life: Lifecycle,
}

impl std::ops::Deref for Dossier {
    type Target = Lifecycle;
    fn deref(&self) -> &Lifecycle {
        &self.life
    }
}

impl std::ops::DerefMut for Dossier {
    fn deref_mut(&mut self) -> &mut Lifecycle {
        &mut self.life
    }
}

impl Dossier {
    /// The workflow it follows (the default one until reception).
    pub fn workflow(&self) -> Workflow {
        self.workflow.clone().unwrap_or_default()
    }

    /// When the result was handed over.
    pub fn handed_over_at(&self) -> Option<OffsetDateTime> {
        self.closed_at.filter(|_| self.status == Status::HandedOver)
    }

    /// The last four digits of the applicant's phone, which the public lookup asks for.
    pub fn phone_last4(&self) -> &str {
        let p = self.applicant_phone.as_str();
        &p[p.len().saturating_sub(4)..]
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: String,
    code: Option<String>,
    procedure_id: String,
    procedure_version: i64,
    procedure_code: String,
    procedure_name: String,
    agency_code: String,
    desk_code: Option<String>,
    applicant_id: Option<String>,
    applicant_name: String,
    applicant_phone: String,
    applicant_email: Option<String>,
    admin_unit_code: Option<String>,
    channel: String,
    offline_reason: Option<String>,
    status: String,
    form_data: String,
    deadline: Option<String>,
    due_at: Option<OffsetDateTime>,
    supplement_requests: i64,
    supplement_items: Option<String>,
    created_at: OffsetDateTime,
    submitted_at: Option<OffsetDateTime>,
    received_at: Option<OffsetDateTime>,
    closed_at: Option<OffsetDateTime>,
    updated_at: OffsetDateTime,
    version: i64,
    workflow: Option<String>,
    workflow_version: i64,
    assignee_id: Option<String>,
    assignee_name: String,
    step_due_at: Option<OffsetDateTime>,
    outcome: Option<String>,
    reschedules: i64,
    original_due_at: Option<OffsetDateTime>,
    result_sha256: Option<String>,
    result_file_name: Option<String>,
    decided_at: Option<OffsetDateTime>,
    hand_over_method: Option<String>,
}

pub(crate) const COLUMNS: &str =
    "id, code, procedure_id, procedure_version, procedure_code, procedure_name, \
     agency_code, desk_code, applicant_id, applicant_name, applicant_phone, \
     applicant_email, admin_unit_code, channel, offline_reason, status, form_data, \
     deadline, due_at, supplement_requests, supplement_items, created_at, submitted_at, \
     received_at, closed_at, updated_at, version, workflow, workflow_version, assignee_id, \
     assignee_name, step_due_at, outcome, reschedules, original_due_at, result_sha256, \
     result_file_name, decided_at, hand_over_method";

fn corrupt(id: &str, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("dossier {id}: stored {what} is corrupt: {e}"))
}

impl TryFrom<Row> for Dossier {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Dossier, StoreError> {
        let id = r.id;
        let life = Lifecycle {
            status: Status::parse(&r.status).ok_or_else(|| corrupt(&id, "status", &r.status))?,
            code: r.code,
            desk_code: r.desk_code,
            deadline: r
                .deadline
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "deadline", e))?,
            due_at: r.due_at,
            supplement_requests: r.supplement_requests,
            supplement_items: r
                .supplement_items
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "supplement items", e))?
                .unwrap_or_default(),
            submitted_at: r.submitted_at,
            received_at: r.received_at,
            closed_at: r.closed_at,
            workflow: r
                .workflow
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "workflow", e))?,
            workflow_version: r.workflow_version,
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_name,
            step_due_at: r.step_due_at,
            outcome: r.outcome.as_deref().and_then(Outcome::parse),
            reschedules: r.reschedules,
            original_due_at: r.original_due_at,
            result_sha256: r.result_sha256,
            result_file_name: r.result_file_name,
            decided_at: r.decided_at,
            hand_over_method: r
                .hand_over_method
                .as_deref()
                .and_then(HandOverMethod::parse),
        };
        Ok(Dossier {
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| corrupt(&id, "channel", &r.channel))?,
            offline_reason: r.offline_reason.as_deref().and_then(OfflineReason::parse),
            form: serde_json::from_str(&r.form_data).map_err(|e| corrupt(&id, "form", e))?,
            id,
            procedure_id: r.procedure_id,
            procedure_version: r.procedure_version,
            procedure_code: r.procedure_code,
            procedure_name: r.procedure_name,
            agency_code: r.agency_code,
            applicant_id: r.applicant_id,
            applicant_name: r.applicant_name,
            applicant_phone: r.applicant_phone,
            applicant_email: r.applicant_email,
            admin_unit_code: r.admin_unit_code,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            life,
        })
    }
}

/// A file of a dossier.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attachment {
    /// Id.
    pub id: String,
    /// Dossier.
    pub dossier_id: String,
    /// Which required document it is (name as the procedure lists it).
    pub document: String,
    /// Name as uploaded.
    pub file_name: String,
    /// Content hash.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Media type, from the content.
    pub media_type: String,
    /// 0 for the original submission, 1 for the supplement.
    pub round: i64,
    /// When.
    pub uploaded_at: OffsetDateTime,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    /// Id.
    pub id: String,
    /// Dossier concerned.
    pub dossier_id: Option<String>,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Read at.
    pub read_at: Option<OffsetDateTime>,
}

/// Why a dossier change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// No such dossier.
    #[error("dossier not found")]
    NotFound,
    /// The rules forbid it.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// Someone else changed the dossier since the page was loaded.
    #[error("the dossier was changed by someone else (now '{}'); reload and try again", .0.as_str())]
    Conflict(Status),
    /// The procedure publishes no processing time and none was given.
    #[error("the procedure has no processing time; give one to receive the dossier")]
    NoTimeLimit,
    /// The action needs something that was not given (assignee, outcome, result file, method,
    /// new appointment).
    #[error("{0} is required for this action")]
    Missing(&'static str),
    /// The chosen specialist does not work at the competent agency.
    #[error("the assignee is not a specialist of the competent agency")]
    BadAssignee,
    /// The chosen step is not a step at another agency still to send.
    #[error("step {0} is not a step at another agency that can be sent now")]
    BadStep(usize),
    /// The new appointment is not after the current due moment.
    #[error("the new appointment must be after the current due moment")]
    BadAppointment,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActError {
    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            ActError::NotFound => "not_found",
            ActError::Rule(r) => r.code(),
            ActError::Conflict(_) => "conflict",
            ActError::NoTimeLimit => "no_time_limit",
            ActError::Missing(_) => "missing_input",
            ActError::BadAssignee => "bad_assignee",
            ActError::BadStep(_) => "bad_step",
            ActError::BadAppointment => "bad_appointment",
            ActError::Store(_) => "store_failed",
        }
    }

    /// What pages say about a refusal the user can fix or needs to know; `None` for a missing
    /// dossier, a conflict (the page reloads) or a store failure.
    pub fn message_vi(&self) -> Option<String> {
        Some(match self {
            ActError::Rule(r) => r.message_vi(),
            ActError::NoTimeLimit => {
                "Thủ tục chưa công bố thời hạn giải quyết: hãy nhập thời hạn để tiếp nhận hồ sơ."
                    .into()
            }
            ActError::Missing(what) => format!(
                "Thiếu thông tin bắt buộc cho thao tác này ({}).",
                match *what {
                    "assignee" => "chuyên viên được phân công",
                    "outcome" => "đề xuất giải quyết hay từ chối",
                    "result file" => "tệp kết quả",
                    "hand-over method" => "hình thức trả kết quả",
                    "new appointment" => "ngày hẹn trả kết quả mới",
                    other => other,
                }
            ),
            ActError::BadAssignee => {
                "Người được chọn không phải chuyên viên của cơ quan giải quyết.".into()
            }
            ActError::BadStep(_) => "Bước liên thông đã chọn không còn để chuyển.".into(),
            ActError::BadAppointment => {
                "Ngày hẹn mới phải sau hạn trả kết quả hiện tại (và không quá một năm).".into()
            }
            ActError::NotFound | ActError::Conflict(_) | ActError::Store(_) => return None,
        })
    }
}

impl From<sqlx::Error> for ActError {
    fn from(e: sqlx::Error) -> Self {
        ActError::Store(StoreError::Sql(e))
    }
}

/// A change asked of a dossier: the command, in which capacity, by whom, and the version the
/// actor saw (`None` to act on whatever is current).
#[derive(Debug, Clone)]
pub struct Act<'a> {
    /// The dossier.
    pub dossier_id: &'a str,
    /// What, with exactly the data it needs.
    pub command: Command,
    /// In which capacity.
    pub actor: Actor,
    /// Who.
    pub by: &'a Account,
    /// The version the actor saw.
    pub expected_version: Option<i64>,
}

impl<'a> Act<'a> {
    /// `command` by `by` in the capacity `actor`, on whatever version is current.
    pub fn new(dossier_id: &'a str, command: Command, actor: Actor, by: &'a Account) -> Act<'a> {
        Act {
            dossier_id,
            command,
            actor,
            by,
            expected_version: None,
        }
    }

    /// An applicant's command (submit, resubmit, withdraw).
    pub fn by_applicant(
        dossier_id: &'a str,
        command: Command,
        by: &'a Account,
        expected_version: Option<i64>,
    ) -> Act<'a> {
        Act {
            expected_version,
            ..Act::new(dossier_id, command, Actor::Applicant, by)
        }
    }
}

impl From<CommandError> for ActError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Rule(r) => ActError::Rule(r),
            CommandError::Missing(what) => ActError::Missing(what),
            CommandError::NoTimeLimit => ActError::NoTimeLimit,
            CommandError::BadAssignee => ActError::BadAssignee,
            CommandError::BadStep(n) => ActError::BadStep(n),
            CommandError::BadAppointment => ActError::BadAppointment,
            CommandError::NotAsked => ActError::NotFound,
            e @ (CommandError::Unresolved(_) | CommandError::Replay(_)) => {
                ActError::Store(StoreError::Internal(e.to_string()))
            }
        }
    }
}

/// A stored file to attach when filing a dossier in one go.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    /// Which required document it is.
    pub document: &'a str,
    /// Name as uploaded.
    pub file_name: &'a str,
    /// Blob hash.
    pub sha256: &'a str,
    /// Bytes.
    pub size: u64,
    /// Type from the content.
    pub kind: FileKind,
    /// The content, when it arrived with the filing and is held in memory: the filing stores it
    /// (in a pack, see [`crate::packs`]). `None`: the blob is stored already.
    pub in_memory: Option<&'a std::sync::Arc<crate::blobs::InMemory>>,
}

/// A dossier registered at the counter or received by post.
#[derive(Debug, Clone)]
pub struct PaperDossier<'a> {
    /// Procedure id.
    pub procedure_id: &'a str,
    /// Counter or post.
    pub channel: Channel,
    /// Why not online.
    pub offline_reason: OfflineReason,
    /// Applicant block and other form values, already validated.
    pub form: &'a BTreeMap<String, String>,
    /// Processing time if the procedure publishes none.
    pub time_limit: Option<TimeLimit>,
    /// The receiving officer.
    pub by: &'a Account,
    /// The desk registering it (the officer's agency).
    pub desk_code: &'a str,
}

/// A paper dossier's row before its registration is recorded (a draft that the registered
/// transition moves to `received` at once).
const INSERT_PAPER: &str = "INSERT INTO dossiers (id, procedure_id, procedure_version, \
     procedure_code, procedure_name, agency_code, applicant_name, applicant_phone, \
     applicant_email, channel, offline_reason, status, form_data, created_at, updated_at, \
     admin_unit_code) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12, $13, $13, $14)";

impl Store {
    /// The blob store of this data directory.
    pub fn blobs(&self) -> &crate::files::Files {
        &self.blobs
    }

    async fn dossier_where(&self, clause: &str, arg: &str) -> Result<Option<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE {clause}");
        let row: Option<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(arg)
            .fetch_optional(p)
            .await)?;
        row.map(Dossier::try_from).transpose()
    }

    /// A dossier by id.
    pub async fn dossier(&self, id: &str) -> Result<Option<Dossier>, StoreError> {
        self.dossier_where("id = $1", id).await
    }

    /// A dossier by code.
    pub async fn dossier_by_code(&self, code: &str) -> Result<Option<Dossier>, StoreError> {
        self.dossier_where("code = $1", code).await
    }

    /// The applicant's dossiers, newest change first.
    pub async fn dossiers_of(&self, user_id: &str) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE applicant_id = $1 ORDER BY updated_at DESC LIMIT 500");
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// An agency's dossiers in one status, the most urgent first.
    pub async fn agency_dossiers(
        &self,
        agency: &str,
        status: Status,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE agency_code = $1 AND status = $2 \
     ORDER BY due_at IS NULL, due_at, submitted_at \
     LIMIT $3"
        );
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(agency)
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// A desk's dossiers in one status, the most urgent first: what its reception officers work on.
    pub async fn desk_dossiers(
        &self,
        desk: &str,
        status: Status,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE desk_code = $1 AND status = $2 \
     ORDER BY due_at IS NULL, due_at, submitted_at \
     LIMIT $3"
        );
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(desk)
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// Number of a desk's dossiers per status.
    pub async fn desk_counts(&self, desk: &str) -> Result<Vec<(Status, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_DOSSIERS_BY_DESK_CODE)
                .bind(desk)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Status::parse(&s).map(|s| (s, n)))
            .collect())
    }

    /// The files of a dossier.
    pub async fn attachments(&self, dossier_id: &str) -> Result<Vec<Attachment>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_ATTACHMENTS_BY_DOSSIER_ID)
                .bind(dossier_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// The applicant's open draft of a procedure (so a citizen resumes it on any device), or a
    /// new one prefilled with `prefill`.
    pub async fn open_draft(
        &self,
        applicant: &Account,
        procedure_id: &str,
        prefill: &BTreeMap<String, String>,
    ) -> Result<String, StoreError> {
        let existing: Option<String> = on_pool!(self.backend(), |p| {
            sqlx::query_scalar(SELECT_DOSSIERS_BY_APPLICANT_ID)
                .bind(&applicant.id)
                .bind(procedure_id)
                .fetch_optional(p)
                .await
        })?;
        if let Some(id) = existing {
            return Ok(id);
        }
        self.create_draft(applicant, procedure_id, prefill).await
    }

    /// A new draft, whatever drafts exist: each API submission is its own dossier.
    pub async fn create_draft(
        &self,
        applicant: &Account,
        procedure_id: &str,
        prefill: &BTreeMap<String, String>,
    ) -> Result<String, StoreError> {
        let proc_row: Option<(i64, String, String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_PROCEDURES_BY_ID)
                .bind(procedure_id)
                .fetch_optional(p)
                .await)?;
        let (version, code, name, agency) = proc_row.ok_or_else(|| {
            StoreError::Refused(format!("procedure {procedure_id} does not exist"))
        })?;
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let form =
            serde_json::to_string(prefill).map_err(|e| StoreError::Internal(e.to_string()))?;
        let t = created().map_err(|e| StoreError::Internal(e.to_string()))?;
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(INSERT_DOSSIERS)
                .bind(&id)
                .bind(procedure_id)
                .bind(version)
                .bind(&code)
                .bind(&name)
                .bind(&agency)
                .bind(&applicant.id)
                .bind(&applicant.display_name)
                .bind(applicant.phone.as_deref().unwrap_or(""))
                .bind(applicant.email.as_deref())
                .bind(applicant.admin_unit_code.as_deref())
                .bind(&form)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let by = EventActor {
                id: Some(&applicant.id),
                name: &applicant.display_name,
            };
            append_event((&mut tx).into(), &id, by, now, &t.event, Some(None)).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(id)
    }

    /// Saves a draft's form values (already validated). Only drafts and dossiers awaiting a
    /// supplement can be edited; returns false otherwise.
    pub async fn save_form(
        &self,
        id: &str,
        form: &BTreeMap<String, String>,
        admin_unit: Option<&str>,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(form).map_err(|e| StoreError::Internal(e.to_string()))?;
        let now = micros(OffsetDateTime::now_utc());
        let name = form.get("applicant_name").map_or("", String::as_str);
        let phone = form.get("applicant_phone").map_or("", String::as_str);
        let email = form.get("applicant_email").map(String::as_str);
        let n = on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_DOSSIERS_FORM_DATA)
                .bind(&body)
                .bind(name)
                .bind(phone)
                .bind(email)
                .bind(admin_unit)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The files already attached to a dossier: their bytes and their number.
    pub async fn dossier_held(
        &self,
        dossier_id: &str,
    ) -> Result<motcua_core::dossier::Held, StoreError> {
        let (bytes, files): (i64, i64) = on_pool!(self.backend(), |p| {
            sqlx::query_as(ATTACHMENT_TOTALS)
                .bind(dossier_id)
                .fetch_one(p)
                .await
        })?;
        Ok(motcua_core::dossier::Held {
            bytes: u64::try_from(bytes).unwrap_or(0),
            files: usize::try_from(files).unwrap_or(0),
        })
    }

    /// Stores a received file (already checked) and attaches it to a dossier that can still be
    /// edited. The blob is durable before the row that names it is committed.
    pub async fn attach(
        &self,
        dossier_id: &str,
        document: &str,
        file_name: &str,
        staged: &Staged,
        kind: FileKind,
    ) -> Result<Option<String>, StoreError> {
        self.commit_blob(staged).await?;
        self.attach_blob(
            dossier_id,
            document,
            file_name,
            &staged.sha256,
            staged.size,
            kind,
        )
        .await
    }

    /// Makes a staged file a durable blob.
    pub async fn commit_blob(&self, staged: &Staged) -> Result<(), StoreError> {
        self.blobs.commit(staged).await
    }

    /// Reads back every stored file and checks it against its hash: how many were checked, or
    /// the first one that is missing or changed.
    pub async fn verify_blobs(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT sha256 FROM blobs ORDER BY sha256";
        let all: Vec<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .fetch_all(p)
            .await)?;
        for sha in &all {
            let (read, _) =
                self.open_blob(sha).await?.hash().await.map_err(|e| {
                    StoreError::Internal(format!("stored file {sha} unreadable: {e}"))
                })?;
            if &read != sha {
                return Err(StoreError::Internal(format!(
                    "stored file {sha} does not match its hash (reads as {read})"
                )));
            }
        }
        Ok(all.len() as u64)
    }

    /// Opens a stored file for reading, wherever it is kept (a file of its own, or a pack),
    /// limited to its length.
    pub async fn open_blob(&self, sha256: &str) -> Result<crate::files::Blob, StoreError> {
        let sql = SELECT_BLOBS_BY_SHA;
        let row: Option<(i64, Option<i64>, Option<i64>)> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql)
                .bind(sha256)
                .fetch_optional(p)
                .await)?;
        let (size, spot) = match row {
            Some((size, Some(pack), Some(offset))) => {
                (size, Some(crate::packs::PackSpot { pack, offset }))
            }
            Some((size, _, _)) => (size, None),
            None => return Err(StoreError::Internal(format!("no stored file {sha256}"))),
        };
        self.blobs
            .read(sha256, spot, u64::try_from(size).unwrap_or(0))
            .await
    }

    /// Attaches a stored blob to a dossier that can still be edited; `None` when it cannot.
    pub async fn attach_blob(
        &self,
        dossier_id: &str,
        document: &str,
        file_name: &str,
        sha256: &str,
        size: u64,
        kind: FileKind,
    ) -> Result<Option<String>, StoreError> {
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let status: Option<(String, i64)> = sqlx::query_as(SELECT_DOSSIERS_BY_ID)
                .bind(dossier_id)
                .fetch_optional(&mut *tx)
                .await?;
            let round = match status {
                Some((s, _)) if s == "draft" => 0,
                Some((s, n)) if s == "supplement_requested" => n,
                _ => return Ok(None),
            };
            sqlx::query(INSERT_BLOBS)
                .bind(sha256)
                .bind(size)
                .bind(kind.media_type())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_ATTACHMENTS)
                .bind(&id)
                .bind(dossier_id)
                .bind(document)
                .bind(file_name)
                .bind(sha256)
                .bind(size)
                .bind(kind.media_type())
                .bind(round)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(UPDATE_DOSSIERS_UPDATED_AT)
                .bind(now)
                .bind(dossier_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// Removes a file from a dossier that can still be edited (the blob stays: others may share
    /// it, and the audit may need it).
    pub async fn detach(&self, dossier_id: &str, attachment_id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self.backend(), |p| {
            sqlx::query(DELETE_ATTACHMENTS_BY_ID)
                .bind(attachment_id)
                .bind(dossier_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Deletes a draft and its files' rows.
    pub async fn delete_draft(&self, dossier_id: &str) -> Result<bool, StoreError> {
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(DELETE_ATTACHMENTS_BY_DOSSIER_ID)
                .bind(dossier_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DELETE_DOSSIER_EVENTS_BY_DOSSIER_ID)
                .bind(dossier_id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(DELETE_DOSSIERS_BY_ID)
                .bind(dossier_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Registers a paper dossier brought to the counter or received by post: it gets its code and
    /// is received at once, so its clock starts now.
    pub async fn register_paper(
        &self,
        paper: PaperDossier<'_>,
        codes: &CodeSettings,
        hours: &OfficeHours,
    ) -> Result<Dossier, ActError> {
        let holidays = self.holiday_calendar().await?;
        let calendar = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let now = micros(OffsetDateTime::now_utc());
        let id = crate::ids::row_id();
        let form =
            serde_json::to_string(paper.form).map_err(|e| StoreError::Internal(e.to_string()))?;
        let get = |k: &str| paper.form.get(k).cloned().unwrap_or_default();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let proc_row: Option<(i64, String, String, String)> = sqlx::query_as(
                "SELECT version, code, name, agency_code FROM procedures WHERE id = $1",
            )
            .bind(paper.procedure_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (version, pcode, name, agency) = proc_row.ok_or(ActError::NotFound)?;
            let limit = match paper.time_limit {
                Some(l) => l,
                None => procedure_body((&mut tx).into(), paper.procedure_id, version)
                    .await?
                    .and_then(|p| p.time_limit)
                    .ok_or(ActError::NoTimeLimit)?,
            };
            let code = next_code((&mut tx).into(), codes, now).await?;
            let t = registered(
                Registration {
                    channel: paper.channel,
                    offline_reason: paper.offline_reason,
                    code: &code,
                    desk: paper.desk_code,
                    time_limit: limit,
                    procedure_name: &name,
                },
                &calendar,
                now,
            )?;
            let email = Some(get("applicant_email")).filter(|e| !e.is_empty());
            sqlx::query(INSERT_PAPER)
                .bind(&id)
                .bind(paper.procedure_id)
                .bind(version)
                .bind(&pcode)
                .bind(&name)
                .bind(&agency)
                .bind(get("applicant_name"))
                .bind(get("applicant_phone"))
                .bind(&email)
                .bind(paper.channel.as_str())
                .bind(paper.offline_reason.as_str())
                .bind(&form)
                .bind(now)
                .bind(
                    paper
                        .form
                        .get("applicant_commune")
                        .filter(|c| !c.is_empty()),
                )
                .execute(&mut *tx)
                .await?;
            let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1"))
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
            let by = EventActor {
                id: Some(&paper.by.id),
                name: &paper.by.display_name,
            };
            let d = crate::transitions::record(
                (&mut tx).into(),
                &Dossier::try_from(row)?,
                &t,
                by,
                now,
                Some(None),
            )
            .await?;
            tx.commit().await?;
            Ok(d)
        })
    }

    /// The dossier's number in its desk's register (Sổ theo dõi, Mẫu 06) for the year of its
    /// reception: numbering runs from 01 each year and never restarts inside it (Circular
    /// 01/2018 Art. 10). Dossiers are never deleted once received, so the number is stable.
    pub async fn register_entry(&self, d: &Dossier) -> Result<i64, StoreError> {
        let Some(received) = d.received_at else {
            return Ok(0);
        };
        let local = received.to_offset(VIETNAM);
        let year_start = micros(
            time::Date::from_calendar_date(local.year(), time::Month::January, 1)
                .map_err(|e| StoreError::Internal(e.to_string()))?
                .midnight()
                .assume_offset(VIETNAM),
        );
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_scalar(COUNT_DOSSIERS_BY_DESK_CODE)
                .bind(d.desk_code.as_deref())
                .bind(year_start)
                .bind(received)
                .bind(&d.id)
                .fetch_one(p)
                .await
        })?)
    }

    /// The public lookup: a dossier by code, only when `last4` matches the applicant's phone.
    pub async fn lookup(&self, code: &str, last4: &str) -> Result<Option<Dossier>, StoreError> {
        let d = self.dossier_by_code(code).await?;
        Ok(d.filter(|d| {
            last4.len() == 4 && d.applicant_phone.len() >= 4 && d.phone_last4() == last4
        }))
    }

    /// Recomputes the due moment of every open dossier under today's holiday calendar (after a
    /// schedule was added or corrected). Returns how many moved.
    pub async fn recompute_due_moments(&self, hours: &OfficeHours) -> Result<u64, StoreError> {
        let holidays = self.holiday_calendar().await?;
        let calendar = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let sql = format!(
            "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE status IN ('submitted', 'received', 'in_progress', 'consulting', \
     'awaiting_approval', 'approved', \
     'supplement_requested') AND deadline IS NOT NULL AND reschedules = 0"
        );
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql).fetch_all(p).await)?;
        let now = micros(OffsetDateTime::now_utc());
        let mut moved = 0;
        for row in rows {
            let d = Dossier::try_from(row)?;
            let Some(t) = due_recomputed(&d.life, &calendar)
                .map_err(|e| StoreError::Internal(e.to_string()))?
            else {
                continue;
            };
            let by = EventActor {
                id: None,
                name: "Hệ thống",
            };
            let done: bool = on_pool!(self.backend(), |pool| {
                let mut tx = pool.begin_write().await?;
                let done = match crate::transitions::record((&mut tx).into(), &d, &t, by, now, None)
                    .await
                {
                    Ok(_) => true,
                    // Changed meanwhile: its next action computes the due moment anew.
                    Err(ActError::Conflict(_)) => false,
                    Err(ActError::Store(e)) => return Err(e),
                    Err(e) => return Err(StoreError::Internal(e.to_string())),
                };
                tx.commit().await?;
                Ok::<_, StoreError>(done)
            })?;
            moved += u64::from(done);
        }
        Ok(moved)
    }

    /// The applicant's in-app notifications, newest first.
    pub async fn notifications(&self, user_id: &str) -> Result<Vec<Notification>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_NOTIFICATIONS_BY_USER_ID)
                .bind(user_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Marks all of a user's notifications read.
    pub async fn mark_notifications_read(&self, user_id: &str) -> Result<(), StoreError> {
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), |p| sqlx::query(
            UPDATE_NOTIFICATIONS_READ_AT
        )
        .bind(now)
        .bind(user_id)
        .execute(p)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

pub(crate) async fn procedure_body(
    tx: WriteTx<'_, '_>,
    procedure_id: &str,
    version: i64,
) -> Result<Option<motcua_core::catalogue::Procedure>, ActError> {
    on_tx!(tx, |tx| {
        let body: Option<(String,)> = sqlx::query_as::<_, (String,)>(
            "SELECT body FROM procedure_versions WHERE procedure_id = $1 AND version = $2",
        )
        .bind(procedure_id)
        .bind(version)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((body,)) = body else {
            return Ok(None);
        };
        let p: motcua_core::catalogue::Procedure =
            serde_json::from_str(&body).map_err(|e| corrupt(procedure_id, "procedure", e))?;
        Ok(Some(p))
    })
}

/// The next code of the day, in the caller's transaction. The per-day counter row is locked by
/// the upsert until the transaction ends, so concurrent submissions never share a number, and a
/// rolled-back submission's number is simply never used.
pub(crate) async fn next_code(
    tx: WriteTx<'_, '_>,
    codes: &CodeSettings,
    now: OffsetDateTime,
) -> Result<String, ActError> {
    on_tx!(tx, |tx| {
        let date = now.to_offset(VIETNAM).date();
        let (seq,): (i64,) = sqlx::query_as::<_, (i64,)>("INSERT INTO dossier_sequences (prefix, day, last) VALUES ($1, $2, 1) ON CONFLICT (prefix, day) DO UPDATE SET last = dossier_sequences.last + 1 RETURNING last")
            .bind(codes.prefix.as_str())
            .bind(DossierCode::day_key(date))
            .fetch_one(&mut **tx)
            .await?;
        let code = DossierCode::new(
            codes.prefix.clone(),
            date,
            u32::try_from(seq).unwrap_or(u32::MAX),
            codes.width,
        )
        .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(code.to_string())
    })
}
