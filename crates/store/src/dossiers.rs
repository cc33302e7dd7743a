//! Dossiers in the store. The current state is a row; every change is also an append-only event,
//! hash-chained per dossier, written in the same transaction as the row, the notification to the
//! applicant (outbox + in-app inbox) and, on submission, the next number of the daily code
//! sequence. Rules come from `motcua_core::dossier`: the store re-checks them inside the
//! transaction against the row it locked, so two officers acting at once cannot both win.

use crate::accounts::Account;
use crate::backend::{on_pool, BeginWrite};
use crate::blobs::{BlobStore, Staged};
use crate::outbox::enqueue;
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{Deadline, OfficeHours, TimeLimit, WorkCalendar, VIETNAM};
use motcua_core::dossier::{
    deadline_at_reception, Action, Actor, Channel, CodePrefix, DossierCode, FileKind,
    HandOverMethod, OfflineReason, Outcome, RuleError, Status, Workflow,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// How codes are made: the receiving agency's identifier and the sequence width.
#[derive(Debug, Clone)]
pub struct CodeSettings {
    /// Agency identifier, e.g. `000.00.00.H37`.
    pub prefix: CodePrefix,
    /// Minimum digits of the daily sequence.
    pub width: usize,
}

/// A dossier as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    /// Id (internal; URLs of the portal use it, the public uses the code).
    pub id: String,
    /// Code, once submitted.
    pub code: Option<String>,
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
    /// The one-stop desk that receives it (set on submission).
    pub desk_code: Option<String>,
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
    /// Status.
    pub status: Status,
    /// Form values.
    pub form: BTreeMap<String, String>,
    /// What the due moment is computed from, once received.
    pub deadline: Option<Deadline>,
    /// Due moment.
    pub due_at: Option<OffsetDateTime>,
    /// Supplement requests so far.
    pub supplement_requests: i64,
    /// The open supplement request: what to add or fix.
    pub supplement_items: Vec<String>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Submitted (online) or registered (paper).
    pub submitted_at: Option<OffsetDateTime>,
    /// Received.
    pub received_at: Option<OffsetDateTime>,
    /// Closed (refused, withdrawn, handed over).
    pub closed_at: Option<OffsetDateTime>,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// The workflow it follows, copied at reception (so later edits do not change it).
    pub workflow: Option<Workflow>,
    /// Version of that workflow (0: the default one).
    pub workflow_version: i64,
    /// The specialist who examines it.
    pub assignee_id: Option<String>,
    /// Their name.
    pub assignee_name: String,
    /// When the current step is due.
    pub step_due_at: Option<OffsetDateTime>,
    /// The proposed (then approved) outcome.
    pub outcome: Option<Outcome>,
    /// New appointments given (Mẫu 04; at most one).
    pub reschedules: i64,
    /// The due moment before the new appointment.
    pub original_due_at: Option<OffsetDateTime>,
    /// The issued result file.
    pub result_sha256: Option<String>,
    /// Its name.
    pub result_file_name: Option<String>,
    /// When the result was issued.
    pub decided_at: Option<OffsetDateTime>,
    /// How the result was handed over.
    pub hand_over_method: Option<HandOverMethod>,
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

pub(crate) const COLUMNS: &str = "id, code, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, desk_code, applicant_id, applicant_name, applicant_phone, applicant_email, admin_unit_code, channel, offline_reason, status, form_data, deadline, due_at, supplement_requests, supplement_items, created_at, submitted_at, received_at, closed_at, updated_at, version, workflow, workflow_version, assignee_id, assignee_name, step_due_at, outcome, reschedules, original_due_at, result_sha256, result_file_name, decided_at, hand_over_method";

fn corrupt(id: &str, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("dossier {id}: stored {what} is corrupt: {e}"))
}

impl TryFrom<Row> for Dossier {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Dossier, StoreError> {
        let id = r.id;
        Ok(Dossier {
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| corrupt(&id, "channel", &r.channel))?,
            offline_reason: r.offline_reason.as_deref().and_then(OfflineReason::parse),
            status: Status::parse(&r.status).ok_or_else(|| corrupt(&id, "status", &r.status))?,
            form: serde_json::from_str(&r.form_data).map_err(|e| corrupt(&id, "form", e))?,
            deadline: r
                .deadline
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "deadline", e))?,
            supplement_items: r
                .supplement_items
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "supplement items", e))?
                .unwrap_or_default(),
            workflow: r
                .workflow
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt(&id, "workflow", e))?,
            outcome: r.outcome.as_deref().and_then(Outcome::parse),
            hand_over_method: r
                .hand_over_method
                .as_deref()
                .and_then(HandOverMethod::parse),
            workflow_version: r.workflow_version,
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_name,
            step_due_at: r.step_due_at,
            reschedules: r.reschedules,
            original_due_at: r.original_due_at,
            result_sha256: r.result_sha256,
            result_file_name: r.result_file_name,
            decided_at: r.decided_at,
            id,
            code: r.code,
            procedure_id: r.procedure_id,
            procedure_version: r.procedure_version,
            procedure_code: r.procedure_code,
            procedure_name: r.procedure_name,
            agency_code: r.agency_code,
            desk_code: r.desk_code,
            applicant_id: r.applicant_id,
            applicant_name: r.applicant_name,
            applicant_phone: r.applicant_phone,
            applicant_email: r.applicant_email,
            admin_unit_code: r.admin_unit_code,
            due_at: r.due_at,
            supplement_requests: r.supplement_requests,
            created_at: r.created_at,
            submitted_at: r.submitted_at,
            received_at: r.received_at,
            closed_at: r.closed_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

/// One entry of a dossier's timeline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DossierEvent {
    /// Position in the dossier's history, from 1.
    pub seq: i64,
    /// What happened (`create`, `submit`, `receive`, …).
    pub kind: String,
    /// Who did it (account id), if an account.
    pub actor_id: Option<String>,
    /// Who did it, as shown to officials.
    pub actor_name: String,
    /// When.
    pub at: OffsetDateTime,
    /// Status after it.
    pub status: String,
    /// Reason or note.
    pub note: String,
    /// The unit that acted (agency code), where it matters for the control sheet.
    pub agency_code: String,
    /// Who or which unit the dossier went to.
    pub target: String,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// Hash of this event.
    pub hash: String,
}

impl DossierEvent {
    /// Vietnamese label of the event.
    pub fn label_vi(&self) -> &'static str {
        match self.kind.as_str() {
            "create" => "Tạo hồ sơ",
            "register" => "Tiếp nhận hồ sơ giấy tại Bộ phận Một cửa",
            "recompute_due" => "Cập nhật hạn trả kết quả theo lịch nghỉ mới",
            other => Action::parse(other).map_or("Cập nhật hồ sơ", Action::label_vi),
        }
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

/// A change asked of a dossier.
#[derive(Debug, Clone)]
pub struct Act<'a> {
    /// The dossier.
    pub dossier_id: &'a str,
    /// What.
    pub action: Action,
    /// In which capacity.
    pub actor: Actor,
    /// Who.
    pub by: &'a Account,
    /// Reason or note (refusal, withdrawal, supplement reason).
    pub note: &'a str,
    /// For a supplement request: what to add or fix.
    pub items: &'a [String],
    /// The version the actor saw; `None` to act on whatever is current.
    pub expected_version: Option<i64>,
    /// At reception, the processing time when the procedure publishes none (or the desk corrects it).
    pub time_limit: Option<TimeLimit>,
    /// Assign: the specialist's account id.
    pub assignee: Option<&'a str>,
    /// Transfer: the workflow step at another agency to send (every other mandatory parallel
    /// step goes with it); `None` for the first one not sent yet.
    pub step: Option<usize>,
    /// Propose: grant or reject.
    pub outcome: Option<Outcome>,
    /// Issue the result: the signed file, already a durable blob.
    pub result: Option<ResultFile<'a>>,
    /// Hand over: how.
    pub hand_over: Option<HandOverMethod>,
    /// Apologise: the one new appointment.
    pub new_due: Option<OffsetDateTime>,
}

/// The issued result document.
#[derive(Debug, Clone, Copy)]
pub struct ResultFile<'a> {
    /// Blob hash (committed before the action).
    pub sha256: &'a str,
    /// Bytes.
    pub size: u64,
    /// Name the applicant downloads.
    pub file_name: &'a str,
    /// Type from the content.
    pub kind: FileKind,
}

impl<'a> Act<'a> {
    /// An action with nothing but a note; set the other fields as the action needs.
    pub fn new(
        dossier_id: &'a str,
        action: Action,
        actor: Actor,
        by: &'a Account,
        note: &'a str,
    ) -> Act<'a> {
        Act {
            dossier_id,
            action,
            actor,
            by,
            note,
            items: &[],
            expected_version: None,
            time_limit: None,
            assignee: None,
            step: None,
            outcome: None,
            result: None,
            hand_over: None,
            new_due: None,
        }
    }

    /// An applicant's action (submit, resubmit, withdraw): no items, no time limit.
    pub fn by_applicant(
        dossier_id: &'a str,
        action: Action,
        by: &'a Account,
        note: &'a str,
        expected_version: Option<i64>,
    ) -> Act<'a> {
        Act {
            expected_version,
            ..Act::new(dossier_id, action, Actor::Applicant, by, note)
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

pub(crate) fn micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// The hash of an event: everything it says, chained to the one before.
pub fn event_hash(dossier_id: &str, e: &DossierEvent) -> String {
    let mut h = Sha256::new();
    for part in [
        e.prev_hash.as_str(),
        dossier_id,
        &e.seq.to_string(),
        &e.kind,
        e.actor_id.as_deref().unwrap_or(""),
        &e.actor_name,
        &(e.at.unix_timestamp_nanos() / 1000).to_string(),
        &e.status,
        &e.note,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    // Added with the back office; left out when empty so events written before still verify.
    for part in [e.agency_code.as_str(), e.target.as_str()] {
        if !part.is_empty() {
            h.update(part.len().to_le_bytes());
            h.update(part.as_bytes());
        }
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

/// Text of the notification an applicant receives for `action`; `None` for the agency's
/// internal steps, which do not concern them.
fn notice(d: &Dossier, action: Action, note: &str, items: &[String]) -> Option<(String, String)> {
    let code = d.code.as_deref().unwrap_or("");
    let title = match action {
        Action::Submit => format!("Đã nộp hồ sơ {code}"),
        Action::Receive => format!("Hồ sơ {code} đã được tiếp nhận"),
        Action::RequestSupplement => format!("Hồ sơ {code} cần bổ sung"),
        Action::Resubmit => format!("Đã nộp bổ sung hồ sơ {code}"),
        Action::Refuse => format!("Hồ sơ {code} không được tiếp nhận"),
        Action::Withdraw => format!("Hồ sơ {code} đã dừng giải quyết"),
        Action::IssueResult => format!("Hồ sơ {code} đã có kết quả"),
        Action::HandOver => format!("Đã trả kết quả hồ sơ {code}"),
        Action::ApologiseAndReschedule => {
            format!("Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}")
        }
        Action::Assign
        | Action::Transfer
        | Action::Answer
        | Action::SendBack
        | Action::Propose
        | Action::Approve => return None,
    };
    let mut body = format!("Thủ tục: {}. ", d.procedure_name);
    match action {
        Action::Submit => body.push_str(
            "Hồ sơ đang chờ cơ quan tiếp nhận. Bạn sẽ được báo khi hồ sơ được tiếp nhận.",
        ),
        Action::Receive => {
            if let Some(due) = d.due_at {
                body.push_str(&format!("Hạn trả kết quả: {}.", format_local(due)));
            }
        }
        Action::RequestSupplement => {
            body.push_str("Cần bổ sung, hoàn thiện: ");
            body.push_str(&items.join("; "));
            if !note.is_empty() {
                body.push_str(&format!(". Lý do: {note}"));
            }
            body.push('.');
        }
        Action::Resubmit => body.push_str("Hồ sơ bổ sung đã được ghi nhận."),
        Action::Refuse => body.push_str(&format!("Lý do: {note}.")),
        Action::Withdraw => {
            body.push_str("Thông báo dừng giải quyết hồ sơ theo yêu cầu rút hồ sơ.")
        }
        Action::IssueResult => body.push_str(match d.outcome {
            Some(Outcome::Reject) => "Cơ quan đã có văn bản trả lời (từ chối giải quyết, có nêu lý do). Mời ông/bà nhận kết quả.",
            _ => "Kết quả giải quyết đã sẵn sàng. Mời ông/bà nhận kết quả.",
        }),
        Action::HandOver => {
            if d.hand_over_method == Some(HandOverMethod::Online) {
                body.push_str("Kết quả đã được trả trực tuyến; ông/bà tải về tại trang hồ sơ.");
            } else {
                body.push_str("Kết quả đã được trả. Cảm ơn ông/bà đã sử dụng dịch vụ.");
            }
        }
        Action::ApologiseAndReschedule => {
            body.push_str(&format!(
                "Cơ quan xin lỗi vì chưa trả kết quả đúng hẹn. Lý do: {note}. Ngày hẹn trả kết quả mới: {}.",
                d.due_at.map(format_local).unwrap_or_default()
            ));
        }
        _ => {}
    }
    Some((title, body))
}

/// "dd/mm/yyyy" in Vietnam's time: the date line of a form.
pub fn format_day(t: OffsetDateTime) -> String {
    let l = t.to_offset(VIETNAM);
    format!("{:02}/{:02}/{}", l.day(), u8::from(l.month()), l.year())
}

/// The latest event of one of `kinds` in a dossier's history, if any.
pub fn last_of<'e>(events: &'e [DossierEvent], kinds: &[&str]) -> Option<&'e DossierEvent> {
    events
        .iter()
        .rev()
        .find(|e| kinds.contains(&e.kind.as_str()))
}

/// "hh:mm dd/mm/yyyy" in Vietnam's time, as the forms print it.
pub fn format_local(t: OffsetDateTime) -> String {
    let l = t.to_offset(VIETNAM);
    format!(
        "{:02}:{:02} {:02}/{:02}/{}",
        l.hour(),
        l.minute(),
        l.day(),
        u8::from(l.month()),
        l.year()
    )
}

impl Store {
    /// The blob store of this data directory.
    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    async fn dossier_where(&self, clause: &str, arg: &str) -> Result<Option<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE {clause}");
        let row: Option<Row> =
            on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(arg).fetch_optional(p).await)?;
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
        let rows: Vec<Row> =
            on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(user_id).fetch_all(p).await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// An agency's dossiers in one status, the most urgent first.
    pub async fn agency_dossiers(
        &self,
        agency: &str,
        status: Status,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE agency_code = $1 AND status = $2 ORDER BY due_at IS NULL, due_at, submitted_at LIMIT $3");
        let rows: Vec<Row> = on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(agency).bind(status.as_str()).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// A desk's dossiers in one status, the most urgent first: what its reception officers work on.
    pub async fn desk_dossiers(
        &self,
        desk: &str,
        status: Status,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE desk_code = $1 AND status = $2 ORDER BY due_at IS NULL, due_at, submitted_at LIMIT $3");
        let rows: Vec<Row> = on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(desk).bind(status.as_str()).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// Number of a desk's dossiers per status.
    pub async fn desk_counts(&self, desk: &str) -> Result<Vec<(Status, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT status, COUNT(*) FROM dossiers WHERE desk_code = $1 AND status <> 'draft' GROUP BY status").bind(desk).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Status::parse(&s).map(|s| (s, n)))
            .collect())
    }

    /// The timeline of a dossier, oldest first.
    pub async fn dossier_events(&self, id: &str) -> Result<Vec<DossierEvent>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_as("SELECT seq, kind, actor_id, actor_name, at, status, note, agency_code, target, prev_hash, hash FROM dossier_events WHERE dossier_id = $1 ORDER BY seq").bind(id).fetch_all(p).await)?,
        )
    }

    /// The files of a dossier.
    pub async fn attachments(&self, dossier_id: &str) -> Result<Vec<Attachment>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_as("SELECT id, dossier_id, document, file_name, sha256, size, media_type, round, uploaded_at FROM attachments WHERE dossier_id = $1 ORDER BY uploaded_at, id").bind(dossier_id).fetch_all(p).await)?,
        )
    }

    /// The applicant's open draft of a procedure (so a citizen resumes it on any device), or a
    /// new one prefilled with `prefill`.
    pub async fn open_draft(
        &self,
        applicant: &Account,
        procedure_id: &str,
        prefill: &BTreeMap<String, String>,
    ) -> Result<String, StoreError> {
        let existing: Option<String> = on_pool!(self.backend(), p => sqlx::query_scalar("SELECT id FROM dossiers WHERE applicant_id = $1 AND procedure_id = $2 AND status = 'draft' ORDER BY created_at DESC LIMIT 1").bind(&applicant.id).bind(procedure_id).fetch_optional(p).await)?;
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
        let proc_row: Option<(i64, String, String, String)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT version, code, name, agency_code FROM procedures WHERE id = $1").bind(procedure_id).fetch_optional(p).await)?;
        let (version, code, name, agency) = proc_row.ok_or_else(|| {
            StoreError::Invalid(format!("procedure {procedure_id} does not exist"))
        })?;
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let form =
            serde_json::to_string(prefill).map_err(|e| StoreError::Invalid(e.to_string()))?;
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO dossiers (id, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, applicant_id, applicant_name, applicant_phone, applicant_email, admin_unit_code, channel, status, form_data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'online', 'draft', $12, $13, $13)")
                .bind(&id).bind(procedure_id).bind(version).bind(&code).bind(&name).bind(&agency)
                .bind(&applicant.id).bind(&applicant.display_name).bind(applicant.phone.as_deref().unwrap_or(""))
                .bind(applicant.email.as_deref()).bind(applicant.admin_unit_code.as_deref()).bind(&form).bind(now)
                .execute(&mut *tx).await?;
            append_event(&mut tx, &id, "create", Some(&applicant.id), &applicant.display_name, now, Status::Draft, "").await?;
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
        let body = serde_json::to_string(form).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = micros(OffsetDateTime::now_utc());
        let name = form.get("applicant_name").map_or("", String::as_str);
        let phone = form.get("applicant_phone").map_or("", String::as_str);
        let email = form.get("applicant_email").map(String::as_str);
        let n = on_pool!(self.backend(), p => sqlx::query("UPDATE dossiers SET form_data = $1, applicant_name = $2, applicant_phone = $3, applicant_email = $4, admin_unit_code = COALESCE($5, admin_unit_code), updated_at = $6, version = version + 1 WHERE id = $7 AND status IN ('draft', 'supplement_requested')")
            .bind(&body).bind(name).bind(phone).bind(email).bind(admin_unit).bind(now).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The files already attached to a dossier: their bytes and their number.
    pub async fn dossier_held(
        &self,
        dossier_id: &str,
    ) -> Result<motcua_core::dossier::Held, StoreError> {
        let (bytes, files): (i64, i64) = on_pool!(self.backend(), p => sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*) FROM attachments WHERE dossier_id = $1").bind(dossier_id).fetch_one(p).await)?;
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

    /// Makes a staged file a durable blob (off the async threads: it syncs the disk).
    pub async fn commit_blob(&self, staged: &Staged) -> Result<(), StoreError> {
        let blobs = self.blobs.clone();
        let s = staged.clone();
        tokio::task::spawn_blocking(move || blobs.commit(&s))
            .await
            .map_err(|e| StoreError::Invalid(format!("blob write interrupted: {e}")))?
    }

    /// Opens a stored file for reading, wherever it is kept (a file of its own, or a pack),
    /// limited to its length.
    pub async fn open_blob(
        &self,
        sha256: &str,
    ) -> Result<std::io::Take<std::fs::File>, StoreError> {
        let sql = "SELECT size, pack, pack_offset FROM blobs WHERE sha256 = $1";
        let row: Option<(i64, Option<i64>, Option<i64>)> = on_pool!(self.backend(), p => sqlx::query_as(sql).bind(sha256).fetch_optional(p).await)?;
        let (size, spot) = match row {
            Some((size, Some(pack), Some(offset))) => {
                (size, Some(crate::packs::PackSpot { pack, offset }))
            }
            Some((size, _, _)) => (size, None),
            None => return Err(StoreError::Invalid(format!("no stored file {sha256}"))),
        };
        // Opening and seeking touch metadata only: no blocking hop.
        let file = match spot {
            Some(spot) => self.blobs.open_packed(spot)?,
            None => self.blobs.open(sha256)?,
        };
        Ok(std::io::Read::take(file, u64::try_from(size).unwrap_or(0)))
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
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            let status: Option<(String, i64)> = sqlx::query_as("SELECT status, supplement_requests FROM dossiers WHERE id = $1").bind(dossier_id).fetch_optional(&mut *tx).await?;
            let round = match status {
                Some((s, _)) if s == "draft" => 0,
                Some((s, n)) if s == "supplement_requested" => n,
                _ => return Ok(None),
            };
            sqlx::query("INSERT INTO blobs (sha256, size, media_type, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
                .bind(sha256).bind(size).bind(kind.media_type()).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO attachments (id, dossier_id, document, file_name, sha256, size, media_type, round, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&id).bind(dossier_id).bind(document).bind(file_name).bind(sha256).bind(size).bind(kind.media_type()).bind(round).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE dossiers SET updated_at = $1, version = version + 1 WHERE id = $2").bind(now).bind(dossier_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// Removes a file from a dossier that can still be edited (the blob stays: others may share
    /// it, and the audit may need it).
    pub async fn detach(&self, dossier_id: &str, attachment_id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self.backend(), p => sqlx::query("DELETE FROM attachments WHERE id = $1 AND dossier_id = $2 AND dossier_id IN (SELECT id FROM dossiers WHERE status = 'draft' OR (status = 'supplement_requested' AND attachments.round = dossiers.supplement_requests))")
            .bind(attachment_id).bind(dossier_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Deletes a draft and its files' rows.
    pub async fn delete_draft(&self, dossier_id: &str) -> Result<bool, StoreError> {
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM attachments WHERE dossier_id = $1 AND dossier_id IN (SELECT id FROM dossiers WHERE status = 'draft')").bind(dossier_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM dossier_events WHERE dossier_id = $1 AND dossier_id IN (SELECT id FROM dossiers WHERE status = 'draft')").bind(dossier_id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM dossiers WHERE id = $1 AND status = 'draft'").bind(dossier_id).execute(&mut *tx).await?.rows_affected();
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
            serde_json::to_string(paper.form).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let get = |k: &str| paper.form.get(k).cloned().unwrap_or_default();
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            let proc_row: Option<(i64, String, String, String)> = sqlx::query_as("SELECT version, code, name, agency_code FROM procedures WHERE id = $1").bind(paper.procedure_id).fetch_optional(&mut *tx).await?;
            let (version, pcode, name, agency) = proc_row.ok_or(ActError::NotFound)?;
            let limit = match paper.time_limit {
                Some(l) => l,
                None => procedure_body(&mut tx, paper.procedure_id, version).await?.and_then(|p| p.time_limit).ok_or(ActError::NoTimeLimit)?,
            };
            let deadline = deadline_at_reception(limit, paper.channel, now);
            let due = micros(deadline.due(&calendar));
            let code = next_code(&mut tx, codes, now).await?;
            let deadline_json = serde_json::to_string(&deadline).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let email = Some(get("applicant_email")).filter(|e| !e.is_empty());
            sqlx::query("INSERT INTO dossiers (id, code, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, applicant_name, applicant_phone, applicant_email, channel, offline_reason, status, form_data, deadline, due_at, created_at, submitted_at, received_at, updated_at, desk_code, admin_unit_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'received', $13, $14, $15, $16, $16, $16, $16, $17, $18)")
                .bind(&id).bind(&code).bind(paper.procedure_id).bind(version).bind(&pcode).bind(&name).bind(&agency)
                .bind(get("applicant_name")).bind(get("applicant_phone")).bind(&email)
                .bind(paper.channel.as_str()).bind(paper.offline_reason.as_str()).bind(&form).bind(&deadline_json).bind(due).bind(now)
                .bind(paper.desk_code).bind(paper.form.get("applicant_commune").filter(|c| !c.is_empty()))
                .execute(&mut *tx).await?;
            append_event(&mut tx, &id, "register", Some(&paper.by.id), &paper.by.display_name, now, Status::Received,
                &format!("{} — {}", paper.channel.label_vi(), paper.offline_reason.label_vi())).await?;
            let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1")).bind(&id).fetch_one(&mut *tx).await?;
            let d = Dossier::try_from(row)?;
            notify(&mut tx, &d, Action::Receive, "", &[], now).await?;
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
                .map_err(|e| StoreError::Invalid(e.to_string()))?
                .midnight()
                .assume_offset(VIETNAM),
        );
        Ok(
            on_pool!(self.backend(), p => sqlx::query_scalar("SELECT COUNT(*) FROM dossiers WHERE desk_code = $1 AND received_at >= $2 AND (received_at < $3 OR (received_at = $3 AND id <= $4))")
            .bind(d.desk_code.as_deref()).bind(year_start).bind(received).bind(&d.id).fetch_one(p).await)?,
        )
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
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE status IN ('submitted', 'received', 'in_progress', 'consulting', 'awaiting_approval', 'approved', 'supplement_requested') AND deadline IS NOT NULL AND reschedules = 0");
        let rows: Vec<Row> =
            on_pool!(self.backend(), p => sqlx::query_as(&sql).fetch_all(p).await)?;
        let now = micros(OffsetDateTime::now_utc());
        let mut moved = 0;
        for row in rows {
            let d = Dossier::try_from(row)?;
            let Some(dl) = &d.deadline else { continue };
            let due = micros(dl.due(&calendar));
            if Some(due) == d.due_at {
                continue;
            }
            let done: bool = on_pool!(self.backend(), pool => {
                let mut tx = pool.begin_write().await?;
                let n = sqlx::query("UPDATE dossiers SET due_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
                    .bind(due).bind(now).bind(&d.id).bind(d.version).execute(&mut *tx).await?.rows_affected();
                if n == 1 {
                    let note = format!("{} → {}", d.due_at.map(format_local).unwrap_or_default(), format_local(due));
                    append_event(&mut tx, &d.id, "recompute_due", None, "Hệ thống", now, d.status, &note).await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(n == 1)
            })?;
            moved += u64::from(done);
        }
        Ok(moved)
    }

    /// Walks every dossier's event chain; the first event that does not match, if any.
    pub async fn verify_events(&self) -> Result<(u64, Option<BrokenEvent>), StoreError> {
        let ids: Vec<(String, Option<String>)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT id, code FROM dossiers ORDER BY created_at, id").fetch_all(p).await)?;
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
                prev = e.hash;
            }
        }
        Ok((checked, None))
    }

    /// The applicant's in-app notifications, newest first.
    pub async fn notifications(&self, user_id: &str) -> Result<Vec<Notification>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_as("SELECT id, dossier_id, title, body, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100").bind(user_id).fetch_all(p).await)?,
        )
    }

    /// Marks all of a user's notifications read.
    pub async fn mark_notifications_read(&self, user_id: &str) -> Result<(), StoreError> {
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), p => sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL").bind(now).bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}

pub(crate) async fn procedure_body<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    procedure_id: &str,
    version: i64,
) -> Result<Option<motcua_core::catalogue::Procedure>, ActError>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'r> (String,): sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
    let body: Option<(String,)> = sqlx::query_as::<DB, (String,)>(
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
}

/// The next code of the day, in the caller's transaction. The per-day counter row is locked by
/// the upsert until the transaction ends, so concurrent submissions never share a number, and a
/// rolled-back submission's number is simply never used.
pub(crate) async fn next_code<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    codes: &CodeSettings,
    now: OffsetDateTime,
) -> Result<String, ActError>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
    let date = now.to_offset(VIETNAM).date();
    let (seq,): (i64,) = sqlx::query_as::<DB, (i64,)>("INSERT INTO dossier_sequences (prefix, day, last) VALUES ($1, $2, 1) ON CONFLICT (prefix, day) DO UPDATE SET last = dossier_sequences.last + 1 RETURNING last")
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
    .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(code.to_string())
}

/// Appends an event to a dossier's chain inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_event<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    dossier_id: &str,
    kind: &str,
    actor_id: Option<&str>,
    actor_name: &str,
    at: OffsetDateTime,
    status: Status,
    note: &str,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64, String): sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
    let by = EventActor {
        id: actor_id,
        name: actor_name,
        agency: "",
    };
    append_event_to(tx, dossier_id, kind, by, at, status, note, "").await
}

/// Who acted, for an event: account, name and the unit they acted for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventActor<'a> {
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub agency: &'a str,
}

/// Appends an event naming the acting unit and where the dossier went (the control sheet).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_event_to<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    dossier_id: &str,
    kind: &str,
    by: EventActor<'_>,
    at: OffsetDateTime,
    status: Status,
    note: &str,
    target: &str,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64, String): sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
    let last: Option<(i64, String)> = sqlx::query_as::<DB, (i64, String)>(
        "SELECT seq, hash FROM dossier_events WHERE dossier_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(dossier_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let mut event = DossierEvent {
        seq,
        kind: kind.to_owned(),
        actor_id: by.id.map(str::to_owned),
        actor_name: by.name.to_owned(),
        at,
        status: status.as_str().to_owned(),
        note: note.to_owned(),
        agency_code: by.agency.to_owned(),
        target: target.to_owned(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(dossier_id, &event);
    sqlx::query::<DB>("INSERT INTO dossier_events (dossier_id, seq, kind, actor_id, actor_name, at, status, note, agency_code, target, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(dossier_id)
        .bind(event.seq)
        .bind(event.kind)
        .bind(by.id)
        .bind(event.actor_name)
        .bind(at)
        .bind(event.status)
        .bind(event.note)
        .bind(event.agency_code)
        .bind(event.target)
        .bind(event.prev_hash)
        .bind(event.hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What telling the applicant about a step writes: the notice, the account that sees it in the
/// app (if any), and the outbox recipient with the message's idempotency key (if any).
pub(crate) struct Notice {
    pub title: String,
    pub body: String,
    pub user: Option<String>,
    pub recipient: Option<(String, String)>,
}

/// The notice for `action` on `d`, or `None` for the agency's internal steps.
pub(crate) fn notice_for(
    d: &Dossier,
    action: Action,
    note: &str,
    items: &[String],
    now: OffsetDateTime,
) -> Option<Notice> {
    let (title, body) = notice(d, action, note, items)?;
    let recipient = d
        .applicant_email
        .as_deref()
        .filter(|e| !e.is_empty())
        .or(Some(d.applicant_phone.as_str()).filter(|p| !p.is_empty()))
        .map(|to| {
            let key = format!(
                "dossier:{}:{}:{}",
                d.id,
                action.as_str(),
                now.unix_timestamp_nanos()
            );
            (to.to_owned(), key)
        });
    Some(Notice {
        title,
        body,
        user: d.applicant_id.clone(),
        recipient,
    })
}

/// Tells the applicant: in the app (when they have an account) and by email or SMS through the
/// outbox, in the caller's transaction. The idempotency key is the dossier, action and moment.
pub(crate) async fn notify<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    d: &Dossier,
    action: Action,
    note: &str,
    items: &[String],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let Some(n) = notice_for(d, action, note, items, now) else {
        return Ok(());
    };
    if let Some(user) = &n.user {
        sqlx::query::<DB>("INSERT INTO notifications (id, user_id, dossier_id, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(crate::ids::row_id())
            .bind(user.as_str())
            .bind(d.id.as_str())
            .bind(n.title.as_str())
            .bind(n.body.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    if let Some((to, key)) = &n.recipient {
        enqueue(tx, to, &n.title, &n.body, key, now).await?;
    }
    Ok(())
}
