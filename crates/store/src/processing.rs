//! The back office in the store: every action on a dossier goes through [`Store::act`], which
//! reads the locked row, its requests to other agencies and the calendar, asks the core's state
//! machine, and writes the new state, the hash-chained event and the applicant's notification in
//! one transaction. Also here: who may act on a dossier in which capacity, and workflows.

use crate::accounts::Account;
use crate::backend::{on_pool, BeginWrite};
use crate::dossiers::{
    append_event_to, micros, next_code, notify, procedure_body, Act, ActError, CodeSettings,
    Dossier, EventActor, Row, COLUMNS,
};
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, WorkCalendar};
use motcua_core::dossier::timing::{
    apology_window_open, step_due, supplement_window_open, valid_new_appointment,
};
use motcua_core::dossier::{
    deadline_at_reception, decide, receiving_desk, Action, Actor, Assignee, ConsultMode, Facts,
    Status, Workflow,
};
use motcua_core::Role;
use time::OffsetDateTime;

/// A request to another agency (liên thông) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Consultation {
    /// Id.
    pub id: String,
    /// Dossier.
    pub dossier_id: String,
    /// Workflow step it belongs to.
    pub step: i64,
    /// The agency asked.
    pub agency_code: String,
    /// Sent.
    pub sent_at: OffsetDateTime,
    /// Its share of the time ends.
    pub due_at: Option<OffsetDateTime>,
    /// Answered.
    pub answered_at: Option<OffsetDateTime>,
    /// The answer.
    pub answer: String,
}

/// A stored workflow version of a procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowVersion {
    /// Version, from 1 (0 is the built-in default).
    pub version: i64,
    /// Steps.
    pub workflow: Workflow,
    /// When saved.
    pub created_at: Option<OffsetDateTime>,
}

/// The capacities in which `account` may act on `d`, given the agencies with an open request
/// for this dossier. Empty: the account has nothing to do with it (the pages answer 404).
pub fn capacities(account: &Account, d: &Dossier, pending_agencies: &[String]) -> Vec<Actor> {
    let party = motcua_core::dossier::Party {
        id: &account.id,
        roles: &account.roles,
    };
    let holders = motcua_core::dossier::Holders {
        applicant_id: d.applicant_id.as_deref(),
        desk_code: d.desk_code.as_deref(),
        agency_code: &d.agency_code,
        status: d.status,
        asked: pending_agencies,
        pending: pending_agencies,
    };
    motcua_core::dossier::standing::capacities(party, holders)
}

/// The capacity to take `action` in, among those the account has: the first the rules accept
/// for that action, or the account's first capacity (which the rules then refuse, saying why).
pub fn actor_for(action: Action, caps: &[Actor]) -> Option<Actor> {
    action
        .actors()
        .iter()
        .copied()
        .find(|a| caps.contains(a))
        .or_else(|| caps.first().copied())
}

fn officer_agencies(account: &Account) -> Vec<&str> {
    account
        .roles
        .iter()
        .filter(|(r, _)| matches!(r, Role::Specialist | Role::Leader))
        .filter_map(|(_, a)| a.as_deref())
        .collect()
}

/// The steps a transfer sends: the chosen (or first unsent) step at another agency and, when it
/// runs in parallel, every other unsent mandatory parallel step with it.
fn steps_to_send(
    wf: &Workflow,
    sent: &[i64],
    chosen: Option<usize>,
) -> Result<Vec<usize>, ActError> {
    let unsent: Vec<_> = wf
        .consults()
        .filter(|(i, ..)| !sent.contains(&(*i as i64)))
        .collect();
    let first = match chosen {
        Some(i) => unsent
            .iter()
            .find(|(j, ..)| *j == i)
            .ok_or(ActError::BadStep(i + 1))?,
        None => unsent
            .iter()
            .find(|(.., optional)| !optional)
            .or(unsent.first())
            .ok_or(ActError::BadStep(0))?,
    };
    let mut out = vec![first.0];
    if first.3 == ConsultMode::Parallel {
        out.extend(
            unsent
                .iter()
                .filter(|(j, _, _, mode, optional)| {
                    *j != first.0 && *mode == ConsultMode::Parallel && !optional
                })
                .map(|(j, ..)| *j),
        );
    }
    Ok(out)
}

/// A consultation as the rules see it: id, step, agency, answered at.
type ConsultRow = (String, i64, String, Option<OffsetDateTime>);

/// What the rules need to know about `d` when `by` acts at `now`.
fn facts_for(
    d: &Dossier,
    consults: &[ConsultRow],
    by: &Account,
    cal: &WorkCalendar<'_>,
    now: OffsetDateTime,
    reason_given: bool,
) -> Facts {
    let wf = d.workflow();
    let mine = officer_agencies(by);
    let sent = |i: usize| consults.iter().any(|c| c.1 == i as i64);
    let answered = |i: usize| consults.iter().any(|c| c.1 == i as i64 && c.3.is_some());
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Facts {
        received_before: d.received_at.is_some(),
        supplement_requests: u32::try_from(d.supplement_requests).unwrap_or(u32::MAX),
        supplement_window_open: d
            .received_at
            .is_none_or(|r| supplement_window_open(cal, r, now)),
        reschedules: u32::try_from(d.reschedules).unwrap_or(u32::MAX),
        apology_window_open: d
            .due_at
            .is_some_and(|due| apology_window_open(cal, due, now)),
        assignee: match d.assignee_id.as_deref() {
            None => Assignee::Nobody,
            Some(id) if id == by.id => Assignee::Actor,
            Some(_) => Assignee::Other,
        },
        pending_consultations: count(consults.iter().filter(|c| c.3.is_none()).count()),
        consultation_for_actor: consults
            .iter()
            .any(|c| c.3.is_none() && mine.contains(&c.2.as_str())),
        transferable_steps: count(wf.consults().filter(|(i, ..)| !sent(*i)).count()),
        missing_mandatory: count(
            wf.consults()
                .filter(|(i, .., optional)| !optional && !answered(*i))
                .count(),
        ),
        reason_given,
    }
}

impl Store {
    /// The actions `by` may take on `d` now, each with the capacity it would be taken in (a
    /// reason assumed given): what the dossier page offers. The store re-checks on submit.
    pub async fn available_actions(
        &self,
        d: &Dossier,
        by: &Account,
        hours: &OfficeHours,
    ) -> Result<Vec<(Action, Actor)>, StoreError> {
        let holidays = self.holiday_calendar().await?;
        let cal = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let consults: Vec<ConsultRow> = on_pool!(self.backend(), p => sqlx::query_as("SELECT id, step, agency_code, answered_at FROM consultations WHERE dossier_id = $1 ORDER BY step").bind(&d.id).fetch_all(p).await)?;
        let pending: Vec<String> = consults
            .iter()
            .filter(|c| c.3.is_none())
            .map(|c| c.2.clone())
            .collect();
        let caps = capacities(by, d, &pending);
        let facts = facts_for(d, &consults, by, &cal, OffsetDateTime::now_utc(), true);
        Ok(Action::ALL
            .into_iter()
            .filter_map(|a| {
                a.actors()
                    .iter()
                    .copied()
                    .filter(|who| caps.contains(who))
                    .find(|who| decide(d.status, a, *who, &facts).is_ok())
                    .map(|who| (a, who))
            })
            .collect())
    }

    /// Applies an action: checks the rules against the current row inside the transaction, then
    /// writes the new state, its event and the applicant's notification together. Two officers
    /// acting at once: the second finds the version moved and gets [`ActError::Conflict`].
    pub async fn act(
        &self,
        act: Act<'_>,
        codes: &CodeSettings,
        hours: &OfficeHours,
    ) -> Result<Dossier, ActError> {
        let holidays = self.holiday_calendar().await?;
        let cal = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let now = micros(OffsetDateTime::now_utc());
        let my_agencies = officer_agencies(act.by);
        // Read before the transaction, and only for a submission, which routes by it (kept in
        // memory, see `desks`).
        let desks = match act.action {
            Action::Submit => Some(self.desk_directory().await?),
            _ => None,
        };
        let _turn = self.write_turn().await;
        let result: Result<Dossier, ActError> = on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1");
            let row: Option<Row> = sqlx::query_as(&sql).bind(act.dossier_id).fetch_optional(&mut *tx).await?;
            let d = Dossier::try_from(row.ok_or(ActError::NotFound)?)?;
            if act.expected_version.is_some_and(|v| v != d.version) {
                return Err(ActError::Conflict(d.status));
            }
            let consults: Vec<ConsultRow> = sqlx::query_as("SELECT id, step, agency_code, answered_at FROM consultations WHERE dossier_id = $1 ORDER BY step")
                .bind(&d.id).fetch_all(&mut *tx).await?;
            let wf = d.workflow();
            let pending: Vec<&ConsultRow> = consults.iter().filter(|c| c.3.is_none()).collect();
            let sent: Vec<i64> = consults.iter().map(|c| c.1).collect();
            let reason_given = !act.note.trim().is_empty() || (act.action == Action::RequestSupplement && !act.items.is_empty());
            let facts = facts_for(&d, &consults, act.by, &cal, now, reason_given);
            // The capacity claimed must be one the account holds for this very dossier.
            let pending_agencies: Vec<String> = pending.iter().map(|c| c.2.clone()).collect();
            if !capacities(act.by, &d, &pending_agencies).contains(&act.actor) {
                return Err(motcua_core::dossier::RuleError::NotYours(act.actor, act.action).into());
            }
            let to = decide(d.status, act.action, act.actor, &facts)?;
            let mut after = d.clone();
            after.status = to;
            after.updated_at = now;
            let mut target = String::new();
            let mut unit = match act.actor {
                Actor::Reception => d.desk_code.clone().unwrap_or_default(),
                Actor::Specialist | Actor::Leader => d.agency_code.clone(),
                Actor::Applicant | Actor::Consulted => String::new(),
            };
            let mut note = act.note.trim().to_owned();
            match act.action {
                Action::Submit => {
                    after.code = Some(next_code(&mut tx, codes, now).await?);
                    after.submitted_at = Some(now);
                    let levels = procedure_body(&mut tx, &d.procedure_id, d.procedure_version).await?.map(|p| p.levels).unwrap_or_default();
                    after.desk_code = desks.as_ref().and_then(|dir| dir.desk(&receiving_desk(&levels, d.admin_unit_code.as_deref()))).map(str::to_owned);
                }
                Action::Receive => {
                    let limit = match act.time_limit {
                        Some(l) => l,
                        None => procedure_body(&mut tx, &d.procedure_id, d.procedure_version).await?.and_then(|p| p.time_limit).ok_or(ActError::NoTimeLimit)?,
                    };
                    after.deadline = Some(deadline_at_reception(limit, d.channel, now));
                    after.received_at = Some(now);
                    let current: Option<(i64, String)> = sqlx::query_as("SELECT version, body FROM workflows WHERE procedure_id = $1 ORDER BY version DESC LIMIT 1")
                        .bind(&d.procedure_id).fetch_optional(&mut *tx).await?;
                    let (v, w) = match current {
                        Some((v, body)) => (v, serde_json::from_str(&body).map_err(|e| StoreError::Invalid(format!("workflow of {}: {e}", d.procedure_id)))?),
                        None => (0, Workflow::default()),
                    };
                    after.workflow_version = v;
                    after.workflow = Some(w);
                    target = d.agency_code.clone();
                }
                Action::RequestSupplement => {
                    after.supplement_requests += 1;
                    after.supplement_items = act.items.to_vec();
                    note = format!("{}{}{}", act.items.join("; "), if note.is_empty() { "" } else { " — Lý do: " }, note);
                    target = d.applicant_name.clone();
                }
                Action::Resubmit => {
                    if let (true, Some(dl)) = (to.is_processing(), d.deadline.as_ref()) {
                        after.deadline = Some(dl.restart(now));
                    }
                    after.supplement_items = Vec::new();
                }
                Action::Refuse | Action::Withdraw => after.closed_at = Some(now),
                Action::Assign => {
                    let who = act.assignee.ok_or(ActError::Missing("assignee"))?;
                    let name: Option<(String,)> = sqlx::query_as("SELECT u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id WHERE u.id = $1 AND u.status = 'active' AND r.role = 'specialist' AND r.agency_code = $2")
                        .bind(who).bind(&d.agency_code).fetch_optional(&mut *tx).await?;
                    let (name,) = name.ok_or(ActError::BadAssignee)?;
                    after.assignee_id = Some(who.to_owned());
                    after.assignee_name = name.clone();
                    if d.status == Status::Received {
                        after.step_due_at = step_moment(&cal, &after, wf.examine().map_or(100, |(_, s)| s.share_percent), now);
                    }
                    target = name;
                }
                Action::Transfer => {
                    let steps = steps_to_send(&wf, &sent, act.step)?;
                    let mut names = Vec::new();
                    let mut latest = None;
                    for i in steps {
                        let step = &wf.steps[i];
                        let motcua_core::dossier::StepKind::Consult { agency, .. } = &step.kind else { continue };
                        let due = step_moment(&cal, &after, step.share_percent, now);
                        latest = latest.max(due);
                        sqlx::query("INSERT INTO consultations (id, dossier_id, step, agency_code, sent_at, due_at) VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind(crate::ids::row_id()).bind(&d.id).bind(i as i64).bind(agency).bind(now).bind(due)
                            .execute(&mut *tx).await?;
                        names.push(agency.clone());
                    }
                    after.step_due_at = latest;
                    target = names.join(", ");
                }
                Action::Answer => {
                    let mine = pending.iter().find(|c| my_agencies.contains(&c.2.as_str())).ok_or(ActError::NotFound)?;
                    sqlx::query("UPDATE consultations SET answered_at = $1, answer = $2, answered_by = $3 WHERE id = $4")
                        .bind(now).bind(&note).bind(&act.by.id).bind(&mine.0).execute(&mut *tx).await?;
                    unit = mine.2.clone();
                    target = d.assignee_name.clone();
                }
                Action::SendBack => {
                    if to == Status::Received {
                        after.assignee_id = None;
                        after.assignee_name = String::new();
                        after.step_due_at = None;
                        target = d.agency_code.clone();
                    } else {
                        target = d.assignee_name.clone();
                    }
                    after.outcome = None;
                }
                Action::Propose => {
                    after.outcome = Some(act.outcome.ok_or(ActError::Missing("outcome"))?);
                    let share = wf.approve().map_or(100, |(_, s)| s.share_percent);
                    after.step_due_at = step_moment(&cal, &after, share, now);
                    if let Some(o) = after.outcome {
                        note = if note.is_empty() { o.label_vi().to_owned() } else { format!("{} — {note}", o.label_vi()) };
                    }
                }
                Action::Approve => target = d.assignee_name.clone(),
                Action::IssueResult => {
                    let file = act.result.ok_or(ActError::Missing("result file"))?;
                    let size = i64::try_from(file.size).unwrap_or(i64::MAX);
                    sqlx::query("INSERT INTO blobs (sha256, size, media_type, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
                        .bind(file.sha256).bind(size).bind(file.kind.media_type()).bind(now).execute(&mut *tx).await?;
                    after.result_sha256 = Some(file.sha256.to_owned());
                    after.result_file_name = Some(file.file_name.to_owned());
                    after.decided_at = Some(now);
                    after.step_due_at = None;
                    if note.is_empty() {
                        note = file.file_name.to_owned();
                    }
                    target = d.desk_code.clone().unwrap_or_default();
                }
                Action::HandOver => {
                    let method = act.hand_over.ok_or(ActError::Missing("hand-over method"))?;
                    after.hand_over_method = Some(method);
                    after.closed_at = Some(now);
                    note = if note.is_empty() { method.label_vi().to_owned() } else { format!("{} — {note}", method.label_vi()) };
                    target = d.applicant_name.clone();
                }
                Action::ApologiseAndReschedule => {
                    let new_due = micros(act.new_due.ok_or(ActError::Missing("new appointment"))?);
                    let due = d.due_at.ok_or(ActError::BadAppointment)?;
                    if !valid_new_appointment(due, new_due) {
                        return Err(ActError::BadAppointment);
                    }
                    after.reschedules += 1;
                    after.original_due_at = Some(due);
                    after.due_at = Some(new_due);
                    note = format!("{note} — Hẹn lại: {}", crate::dossiers::format_local(new_due));
                    target = d.applicant_name.clone();
                }
            }
            // The due moment follows the calendar until a new appointment fixes it.
            if after.reschedules == 0 {
                after.due_at = after.deadline.as_ref().map(|dl| micros(dl.due(&cal)));
            }
            if act.action == Action::Receive {
                after.step_due_at = None;
            }
            // Back from a supplement request: the clock restarted, and so does the examination.
            if act.action == Action::Resubmit && to == Status::InProgress {
                let share = wf.examine().map_or(100, |(_, s)| s.share_percent);
                after.step_due_at = step_moment(&cal, &after, share, now);
            }
            if save(&mut tx, &d, &after).await?.rows_affected() != 1 {
                return Err(ActError::Conflict(d.status));
            }
            let by = EventActor { id: Some(&act.by.id), name: &act.by.display_name, agency: &unit };
            append_event_to(&mut tx, &d.id, act.action.as_str(), by, now, to, &note, &target).await?;
            notify(&mut tx, &after, act.action, act.note, act.items, now).await?;
            tx.commit().await?;
            after.version = d.version + 1;
            Ok(after)
        });
        result
    }

    /// A dossier's requests to other agencies, in workflow order.
    pub async fn consultations(&self, dossier_id: &str) -> Result<Vec<Consultation>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_as("SELECT id, dossier_id, step, agency_code, sent_at, due_at, answered_at, answer FROM consultations WHERE dossier_id = $1 ORDER BY step").bind(dossier_id).fetch_all(p).await)?,
        )
    }

    /// Agencies asked about a dossier that have not answered yet.
    pub async fn pending_agencies(&self, dossier_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_scalar("SELECT agency_code FROM consultations WHERE dossier_id = $1 AND answered_at IS NULL").bind(dossier_id).fetch_all(p).await)?,
        )
    }

    /// The current workflow of a procedure (version 0: the built-in default).
    pub async fn workflow(&self, procedure_id: &str) -> Result<WorkflowVersion, StoreError> {
        let row: Option<(i64, String, OffsetDateTime)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT version, body, created_at FROM workflows WHERE procedure_id = $1 ORDER BY version DESC LIMIT 1").bind(procedure_id).fetch_optional(p).await)?;
        match row {
            None => Ok(WorkflowVersion {
                version: 0,
                workflow: Workflow::default(),
                created_at: None,
            }),
            Some((version, body, at)) => Ok(WorkflowVersion {
                version,
                workflow: serde_json::from_str(&body)
                    .map_err(|e| StoreError::Invalid(format!("workflow of {procedure_id}: {e}")))?,
                created_at: Some(at),
            }),
        }
    }

    /// Saves a new version of a procedure's workflow (already validated); dossiers under way keep
    /// the version they started with. Returns the new version number.
    pub async fn save_workflow(
        &self,
        procedure_id: &str,
        workflow: &Workflow,
        by: &Account,
    ) -> Result<i64, StoreError> {
        let body =
            serde_json::to_string(workflow).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM workflows WHERE procedure_id = $1").bind(procedure_id).fetch_one(&mut *tx).await?;
            let version = last.unwrap_or(0) + 1;
            sqlx::query("INSERT INTO workflows (procedure_id, version, body, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
                .bind(procedure_id).bind(version).bind(&body).bind(now).bind(&by.id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(version)
        })
    }

    /// A work queue of an agency: dossiers in `statuses` (optionally only those assigned to
    /// `assignee`), or with a request to the agency still unanswered (`consulted`), the most
    /// urgent first.
    pub async fn work_queue(
        &self,
        agency: &str,
        statuses: &[Status],
        assignee: Option<&str>,
        consulted: bool,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let rows: Vec<Row> = if consulted {
            let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE status = 'consulting' AND id IN (SELECT dossier_id FROM consultations WHERE agency_code = $1 AND answered_at IS NULL) ORDER BY due_at IS NULL, due_at LIMIT $2");
            on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(agency).bind(limit).fetch_all(p).await)?
        } else {
            let list = statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE agency_code = $1 AND status IN ({list}) AND ($2 = '' OR assignee_id = $2) ORDER BY due_at IS NULL, due_at, received_at LIMIT $3");
            on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(agency).bind(assignee.unwrap_or("")).bind(limit).fetch_all(p).await)?
        };
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// The ledger (Sổ theo dõi hồ sơ, Mẫu 06) of a desk or agency: dossiers it received or
    /// decides, received in `[from, until)`, in order of reception.
    pub async fn ledger(
        &self,
        unit: &str,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE (desk_code = $1 OR agency_code = $1) AND received_at >= $2 AND received_at < $3 ORDER BY received_at, id LIMIT 100000");
        let rows: Vec<Row> = on_pool!(self.backend(), p => sqlx::query_as(&sql).bind(unit).bind(micros(from)).bind(micros(until)).fetch_all(p).await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// The media type a blob was stored with.
    pub async fn blob_media_type(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_scalar("SELECT media_type FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(p).await)?,
        )
    }

    /// Stores generated bytes (a result the system issued) as a durable blob; returns its hash
    /// and size.
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<(String, u64), StoreError> {
        let blobs = self.blobs.clone();
        let staged = tokio::task::spawn_blocking(move || {
            let mut s =
                crate::blobs::Staging::new(crate::blobs::BlobStore::staging_dir(blobs.as_ref()))?;
            s.write(&bytes)?;
            let staged = s.finish()?;
            crate::blobs::BlobStore::commit(blobs.as_ref(), &staged)?;
            Ok::<_, StoreError>(staged)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("blob write interrupted: {e}")))??;
        Ok((staged.sha256.clone(), staged.size))
    }

    /// Active specialists of an agency (whom a leader may assign), by name.
    pub async fn specialists(&self, agency: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            on_pool!(self.backend(), p => sqlx::query_as("SELECT u.id, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = 'specialist' AND r.agency_code = $1 AND u.status = 'active' ORDER BY u.display_name, u.id").bind(agency).fetch_all(p).await)?,
        )
    }
}

/// When a step with `share_percent` of the processing time, starting `now`, is due.
fn step_moment(
    cal: &WorkCalendar<'_>,
    d: &Dossier,
    share_percent: u8,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let dl = d.deadline.as_ref()?;
    let due = d.due_at?;
    let start = cal.counting_start(dl.received, dl.cutoff);
    Some(micros(step_due(cal, start, due, share_percent, now)))
}

/// Writes every column an action may change, guarded by the version read in the transaction;
/// the caller checks that one row changed.
async fn save<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    before: &Dossier,
    d: &Dossier,
) -> Result<DB::QueryResult, ActError>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<OffsetDateTime>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let deadline = d
        .deadline
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let items = if d.supplement_items.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(&d.supplement_items)
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
    };
    let workflow = d
        .workflow
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(sqlx::query::<DB>("UPDATE dossiers SET code = $1, status = $2, deadline = $3, due_at = $4, supplement_requests = $5, supplement_items = $6, submitted_at = $7, received_at = $8, closed_at = $9, updated_at = $10, version = version + 1, desk_code = $11, workflow = $12, workflow_version = $13, assignee_id = $14, assignee_name = $15, step_due_at = $16, outcome = $17, reschedules = $18, original_due_at = $19, result_sha256 = $20, result_file_name = $21, decided_at = $22, hand_over_method = $23 WHERE id = $24 AND version = $25")
        .bind(d.code.clone())
        .bind(d.status.as_str())
        .bind(deadline)
        .bind(d.due_at)
        .bind(d.supplement_requests)
        .bind(items)
        .bind(d.submitted_at)
        .bind(d.received_at)
        .bind(d.closed_at)
        .bind(d.updated_at)
        .bind(d.desk_code.clone())
        .bind(workflow)
        .bind(d.workflow_version)
        .bind(d.assignee_id.clone())
        .bind(d.assignee_name.clone())
        .bind(d.step_due_at)
        .bind(d.outcome.map(|o| o.as_str().to_owned()))
        .bind(d.reschedules)
        .bind(d.original_due_at)
        .bind(d.result_sha256.clone())
        .bind(d.result_file_name.clone())
        .bind(d.decided_at)
        .bind(d.hand_over_method.map(|m| m.as_str().to_owned()))
        .bind(d.id.as_str())
        .bind(before.version)
        .execute(&mut **tx)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::dossier::{Step, StepKind};

    fn consult(agency: &str, mode: ConsultMode, optional: bool) -> Step {
        Step {
            name: agency.into(),
            kind: StepKind::Consult {
                agency: agency.into(),
                mode,
                optional,
            },
            share_percent: 10,
        }
    }

    #[test]
    fn parallel_steps_go_together_and_sequential_ones_alone() {
        let mut wf = Workflow::default();
        wf.steps
            .insert(1, consult("so-tc", ConsultMode::Parallel, false));
        wf.steps
            .insert(2, consult("ca-tinh", ConsultMode::Parallel, false));
        wf.steps
            .insert(3, consult("thue-tinh", ConsultMode::Parallel, true));
        wf.steps
            .insert(4, consult("so-xd", ConsultMode::Sequential, false));
        assert_eq!(steps_to_send(&wf, &[], None).unwrap(), vec![1, 2]);
        assert_eq!(steps_to_send(&wf, &[1, 2], None).unwrap(), vec![4]);
        assert_eq!(steps_to_send(&wf, &[1, 2, 4], None).unwrap(), vec![3]);
        assert_eq!(steps_to_send(&wf, &[], Some(3)).unwrap(), vec![3, 1, 2]);
        assert!(matches!(
            steps_to_send(&wf, &[1], Some(1)),
            Err(ActError::BadStep(2))
        ));
        assert!(matches!(
            steps_to_send(&wf, &[1, 2, 3, 4], None),
            Err(ActError::BadStep(0))
        ));
    }
}
