//! Commands in, transitions out. A [`Command`] carries exactly what its action needs; with the
//! dossier's [`Lifecycle`], what the store read for it ([`Context`]) and `now`, [`handle`]
//! returns a [`Transition`]: the new state, one event with a typed payload, the requests to other
//! agencies it opens or answers, and the notices to send. The store saves every transition the
//! same way, in one transaction; nothing here reads or writes anything.

use super::event::{Detail, EventKind, Payload, SentStep};
use super::lifecycle::{Lifecycle, ReplayError};
use super::machine::{decide, Action, Actor, Assignee, Facts, RuleError};
use super::timing::{apology_window_open, step_due, supplement_window_open, valid_new_appointment};
use super::wording::{format_local, Addressee, Notice};
use super::{deadline_at_reception, Channel, ConsultMode, FileKind, HandOverMethod};
use super::{OfflineReason, Outcome, Status, StepKind, Workflow};
use crate::calendar::deadline::{TimeLimit, WorkCalendar};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The issued result document, already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultDoc {
    /// Content hash.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// Name the applicant downloads.
    pub file_name: String,
    /// Type from the content.
    pub kind: FileKind,
}

/// Something asked of a dossier, with exactly the data it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Submit a draft online.
    Submit,
    /// Accept a complete dossier; the processing time when the procedure publishes none (or
    /// the desk corrects it).
    Receive {
        /// A processing time to use instead of the published one.
        time_limit: Option<TimeLimit>,
        /// Remark.
        note: String,
    },
    /// Ask for missing documents, once and completely.
    RequestSupplement {
        /// What to add or fix.
        items: Vec<String>,
        /// Why.
        reason: String,
    },
    /// Send back the completed dossier.
    Resubmit,
    /// Refuse at reception.
    Refuse {
        /// Why.
        reason: String,
    },
    /// Withdraw before a decision.
    Withdraw {
        /// Why.
        reason: String,
    },
    /// Assign a specialist of the agency.
    Assign {
        /// Their account id.
        specialist: String,
        /// Remark.
        note: String,
    },
    /// Send to another agency; `None` for the first step not sent yet.
    Transfer {
        /// The workflow step (index) chosen.
        step: Option<usize>,
        /// Remark.
        note: String,
    },
    /// The consulted agency answers.
    Answer {
        /// The answer.
        answer: String,
    },
    /// Send the dossier back one step.
    SendBack {
        /// Why.
        reason: String,
    },
    /// Propose a result.
    Propose {
        /// Grant or reject.
        outcome: Outcome,
        /// Remark.
        note: String,
    },
    /// Approve the proposal.
    Approve {
        /// Remark.
        note: String,
    },
    /// Issue the signed result.
    IssueResult {
        /// The stored document.
        result: ResultDoc,
        /// Remark.
        note: String,
    },
    /// Hand the result over.
    HandOver {
        /// How.
        method: HandOverMethod,
        /// Remark.
        note: String,
    },
    /// Apologise and give the one new appointment.
    ApologiseAndReschedule {
        /// The new appointment.
        new_due: OffsetDateTime,
        /// Why late.
        reason: String,
    },
}

/// What a page or API form gave for an action, every field optional: [`Command::from_inputs`]
/// turns it into a command or says what is missing.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Reason or note.
    pub note: String,
    /// Supplement items.
    pub items: Vec<String>,
    /// Processing time at reception.
    pub time_limit: Option<TimeLimit>,
    /// Specialist to assign.
    pub assignee: Option<String>,
    /// Workflow step to send.
    pub step: Option<usize>,
    /// Proposed outcome.
    pub outcome: Option<Outcome>,
    /// Issued result.
    pub result: Option<ResultDoc>,
    /// Hand-over method.
    pub hand_over: Option<HandOverMethod>,
    /// New appointment.
    pub new_due: Option<OffsetDateTime>,
}

/// Why a command did not become a transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The rules forbid it.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// Something the action needs was not given.
    #[error("{0} is required for this action")]
    Missing(&'static str),
    /// The procedure publishes no processing time and none was given.
    #[error("the procedure has no processing time; give one to receive the dossier")]
    NoTimeLimit,
    /// The chosen specialist does not work at the competent agency.
    #[error("the assignee is not a specialist of the competent agency")]
    BadAssignee,
    /// The chosen step is not a step at another agency still to send.
    #[error("step {0} is not a step at another agency that can be sent now")]
    BadStep(usize),
    /// The new appointment is not after the current due moment.
    #[error("the new appointment must be after the current due moment")]
    BadAppointment,
    /// An answer from an agency that was not asked.
    #[error("no open request to the actor's agency")]
    NotAsked,
    /// The store did not read what the command needs (a bug, not a refusal).
    #[error("the store did not look up {0}")]
    Unresolved(&'static str),
    /// The state could not be recorded as a payload.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

impl Command {
    /// Its action.
    pub fn action(&self) -> Action {
        match self {
            Command::Submit => Action::Submit,
            Command::Receive { .. } => Action::Receive,
            Command::RequestSupplement { .. } => Action::RequestSupplement,
            Command::Resubmit => Action::Resubmit,
            Command::Refuse { .. } => Action::Refuse,
            Command::Withdraw { .. } => Action::Withdraw,
            Command::Assign { .. } => Action::Assign,
            Command::Transfer { .. } => Action::Transfer,
            Command::Answer { .. } => Action::Answer,
            Command::SendBack { .. } => Action::SendBack,
            Command::Propose { .. } => Action::Propose,
            Command::Approve { .. } => Action::Approve,
            Command::IssueResult { .. } => Action::IssueResult,
            Command::HandOver { .. } => Action::HandOver,
            Command::ApologiseAndReschedule { .. } => Action::ApologiseAndReschedule,
        }
    }

    /// The words the person wrote with it (reason, answer, remark).
    pub fn note(&self) -> &str {
        match self {
            Command::Submit | Command::Resubmit => "",
            Command::Receive { note, .. }
            | Command::Assign { note, .. }
            | Command::Transfer { note, .. }
            | Command::Propose { note, .. }
            | Command::Approve { note }
            | Command::IssueResult { note, .. }
            | Command::HandOver { note, .. } => note,
            Command::RequestSupplement { reason, .. }
            | Command::Refuse { reason }
            | Command::Withdraw { reason }
            | Command::SendBack { reason }
            | Command::ApologiseAndReschedule { reason, .. } => reason,
            Command::Answer { answer } => answer,
        }
    }

    /// Whether it says why (a supplement request's items count as a reason).
    fn reason_given(&self) -> bool {
        match self {
            Command::RequestSupplement { items, reason } => {
                !items.is_empty() || !reason.trim().is_empty()
            }
            other => !other.note().trim().is_empty(),
        }
    }

    /// The command for `action` from a form's fields, or which field it lacks.
    pub fn from_inputs(action: Action, i: Inputs) -> Result<Command, CommandError> {
        let note = i.note.trim().to_owned();
        Ok(match action {
            Action::Submit => Command::Submit,
            Action::Resubmit => Command::Resubmit,
            Action::Receive => Command::Receive {
                time_limit: i.time_limit,
                note,
            },
            Action::RequestSupplement => Command::RequestSupplement {
                items: i.items,
                reason: note,
            },
            Action::Refuse => Command::Refuse { reason: note },
            Action::Withdraw => Command::Withdraw { reason: note },
            Action::Assign => Command::Assign {
                specialist: i.assignee.ok_or(CommandError::Missing("assignee"))?,
                note,
            },
            Action::Transfer => Command::Transfer { step: i.step, note },
            Action::Answer => Command::Answer { answer: note },
            Action::SendBack => Command::SendBack { reason: note },
            Action::Propose => Command::Propose {
                outcome: i.outcome.ok_or(CommandError::Missing("outcome"))?,
                note,
            },
            Action::Approve => Command::Approve { note },
            Action::IssueResult => Command::IssueResult {
                result: i.result.ok_or(CommandError::Missing("result file"))?,
                note,
            },
            Action::HandOver => Command::HandOver {
                method: i
                    .hand_over
                    .ok_or(CommandError::Missing("hand-over method"))?,
                note,
            },
            Action::ApologiseAndReschedule => Command::ApologiseAndReschedule {
                new_due: i.new_due.ok_or(CommandError::Missing("new appointment"))?,
                reason: note,
            },
        })
    }
}

/// A request to another agency as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// Its id.
    pub id: String,
    /// Workflow step.
    pub step: i64,
    /// The agency asked.
    pub agency: String,
    /// Whether it answered.
    pub answered: bool,
}

/// Who acts.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    /// Account id.
    pub id: &'a str,
    /// Name, as events show it.
    pub name: &'a str,
    /// Agencies where the account is a specialist or a leader.
    pub agencies: &'a [&'a str],
}

/// The dossier's fixed facts that a transition names.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Competent agency.
    pub agency_code: &'a str,
    /// Applicant's name.
    pub applicant_name: &'a str,
    /// Procedure's name, for notices.
    pub procedure_name: &'a str,
    /// How it came in.
    pub channel: Channel,
}

/// What the store looked up for a command, inside the transaction that records it.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// Submit: the next code of the day's sequence.
    pub code: Option<String>,
    /// Submit: the desk that receives it.
    pub desk: Option<String>,
    /// Receive: the processing time the procedure publishes.
    pub published_limit: Option<TimeLimit>,
    /// Receive: the procedure's current workflow and its version.
    pub workflow: Option<(i64, Workflow)>,
    /// Assign: the chosen specialist's name, when they are an active specialist of the agency.
    pub specialist_name: Option<String>,
}

/// Everything [`handle`] needs besides the state and the command.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// In which capacity.
    pub actor: Actor,
    /// Who.
    pub by: By<'a>,
    /// The dossier's fixed facts.
    pub subject: Subject<'a>,
    /// Its requests to other agencies.
    pub asked: &'a [Asked],
    /// The working calendar.
    pub calendar: &'a WorkCalendar<'a>,
    /// What the store looked up.
    pub lookups: &'a Lookups,
    /// Now.
    pub now: OffsetDateTime,
}

/// The event a transition appends.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// Status after it.
    pub status: Status,
    /// The unit that acted (agency or desk code), where the control sheet needs it.
    pub unit: String,
    /// Who or which unit the dossier went to.
    pub target: String,
    /// The words the person wrote.
    pub note: String,
    /// The facts and the fields changed.
    pub payload: Payload,
}

/// What a command does.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The state after it.
    pub state: Lifecycle,
    /// The event to append.
    pub event: NewEvent,
    /// Requests to other agencies to open.
    pub asks: Vec<SentStep>,
    /// The request it answers (id) with the answer.
    pub answers: Option<(String, String)>,
    /// The result document to register.
    pub result: Option<ResultDoc>,
    /// Notices to send.
    pub notices: Vec<Notice>,
}

impl Facts {
    /// The facts of a dossier in `s`, with requests `asked`, when `by` acts at `now`.
    pub fn of(
        s: &Lifecycle,
        asked: &[Asked],
        by: By<'_>,
        calendar: &WorkCalendar<'_>,
        now: OffsetDateTime,
        reason_given: bool,
    ) -> Facts {
        let wf = s.current_workflow();
        let sent = |i: usize| asked.iter().any(|c| c.step == i as i64);
        let answered = |i: usize| asked.iter().any(|c| c.step == i as i64 && c.answered);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Facts {
            received_before: s.received_at.is_some(),
            supplement_requests: u32::try_from(s.supplement_requests).unwrap_or(u32::MAX),
            supplement_window_open: s
                .received_at
                .is_none_or(|r| supplement_window_open(calendar, r, now)),
            reschedules: u32::try_from(s.reschedules).unwrap_or(u32::MAX),
            apology_window_open: s
                .due_at
                .is_some_and(|due| apology_window_open(calendar, due, now)),
            assignee: match s.assignee_id.as_deref() {
                None => Assignee::Nobody,
                Some(id) if id == by.id => Assignee::Actor,
                Some(_) => Assignee::Other,
            },
            pending_consultations: count(asked.iter().filter(|c| !c.answered).count()),
            consultation_for_actor: asked
                .iter()
                .any(|c| !c.answered && by.agencies.contains(&c.agency.as_str())),
            transferable_steps: count(wf.consults().filter(|(i, ..)| !sent(*i)).count()),
            missing_mandatory: count(
                wf.consults()
                    .filter(|(i, .., optional)| !optional && !answered(*i))
                    .count(),
            ),
            reason_given,
        }
    }
}

/// The steps a transfer sends: the chosen (or first unsent) step at another agency and, when it
/// runs in parallel, every other unsent mandatory parallel step with it.
pub fn steps_to_send(
    wf: &Workflow,
    sent: &[i64],
    chosen: Option<usize>,
) -> Result<Vec<usize>, CommandError> {
    let unsent: Vec<_> = wf
        .consults()
        .filter(|(i, ..)| !sent.contains(&(*i as i64)))
        .collect();
    let first = match chosen {
        Some(i) => unsent
            .iter()
            .find(|(j, ..)| *j == i)
            .ok_or(CommandError::BadStep(i + 1))?,
        None => unsent
            .iter()
            .find(|(.., optional)| !optional)
            .or(unsent.first())
            .ok_or(CommandError::BadStep(0))?,
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

/// When a step with `share_percent` of the processing time, starting `now`, is due.
fn step_moment(
    cal: &WorkCalendar<'_>,
    s: &Lifecycle,
    share_percent: u8,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let dl = s.deadline.as_ref()?;
    let due = s.due_at?;
    let start = cal.counting_start(dl.received, dl.cutoff);
    Some(micros(step_due(cal, start, due, share_percent, now)))
}

/// Times are stored to the microsecond on both databases; a transition computes them so.
pub fn micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// What `command`, taken in the context `ctx`, does to a dossier in `before`.
pub fn handle(
    before: &Lifecycle,
    command: &Command,
    ctx: &Context<'_>,
) -> Result<Transition, CommandError> {
    let now = ctx.now;
    let action = command.action();
    let facts = Facts::of(
        before,
        ctx.asked,
        ctx.by,
        ctx.calendar,
        now,
        command.reason_given(),
    );
    let to = decide(before.status, action, ctx.actor, &facts)?;
    let wf = before.current_workflow();
    let mut after = before.clone();
    after.status = to;
    let mut unit = match ctx.actor {
        Actor::Reception => before.desk_code.clone().unwrap_or_default(),
        Actor::Specialist | Actor::Leader => ctx.subject.agency_code.to_owned(),
        Actor::Applicant | Actor::Consulted => String::new(),
    };
    let mut target = String::new();
    let mut asks = Vec::new();
    let mut answers = None;
    let mut result = None;
    let detail = match command {
        Command::Submit => {
            after.code = Some(
                ctx.lookups
                    .code
                    .clone()
                    .ok_or(CommandError::Unresolved("code"))?,
            );
            after.submitted_at = Some(now);
            after.desk_code = ctx.lookups.desk.clone();
            Detail::Submitted
        }
        Command::Receive { time_limit, .. } => {
            let limit = time_limit
                .or(ctx.lookups.published_limit)
                .ok_or(CommandError::NoTimeLimit)?;
            after.deadline = Some(deadline_at_reception(limit, ctx.subject.channel, now));
            after.received_at = Some(now);
            let (v, w) = ctx.lookups.workflow.clone().unwrap_or_default();
            after.workflow_version = v;
            after.workflow = Some(w);
            target = ctx.subject.agency_code.to_owned();
            Detail::Received {
                time_limit: limit,
                workflow_version: v,
            }
        }
        Command::RequestSupplement { items, .. } => {
            after.supplement_requests += 1;
            after.supplement_items = items.clone();
            target = ctx.subject.applicant_name.to_owned();
            Detail::SupplementRequested {
                items: items.clone(),
            }
        }
        Command::Resubmit => {
            if let (true, Some(dl)) = (to.is_processing(), before.deadline.as_ref()) {
                after.deadline = Some(dl.restart(now));
            }
            after.supplement_items = Vec::new();
            Detail::Resubmitted
        }
        Command::Refuse { .. } => {
            after.closed_at = Some(now);
            Detail::Refused
        }
        Command::Withdraw { .. } => {
            after.closed_at = Some(now);
            Detail::Withdrawn
        }
        Command::Assign { specialist, .. } => {
            let name = ctx
                .lookups
                .specialist_name
                .clone()
                .ok_or(CommandError::BadAssignee)?;
            after.assignee_id = Some(specialist.clone());
            after.assignee_name = name.clone();
            if before.status == Status::Received {
                let share = wf.examine().map_or(100, |(_, s)| s.share_percent);
                after.step_due_at = step_moment(ctx.calendar, &after, share, now);
            }
            target = name.clone();
            Detail::Assigned {
                specialist_id: specialist.clone(),
                specialist_name: name,
            }
        }
        Command::Transfer { step, .. } => {
            let sent: Vec<i64> = ctx.asked.iter().map(|c| c.step).collect();
            let mut latest = None;
            for i in steps_to_send(&wf, &sent, *step)? {
                let s = &wf.steps[i];
                let StepKind::Consult { agency, .. } = &s.kind else {
                    continue;
                };
                let due = step_moment(ctx.calendar, &after, s.share_percent, now);
                latest = latest.max(due);
                asks.push(SentStep {
                    step: i as i64,
                    agency: agency.clone(),
                    due_at: due,
                });
            }
            after.step_due_at = latest;
            target = asks
                .iter()
                .map(|a| a.agency.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            Detail::Transferred {
                steps: asks.clone(),
            }
        }
        Command::Answer { answer } => {
            let mine = ctx
                .asked
                .iter()
                .find(|c| !c.answered && ctx.by.agencies.contains(&c.agency.as_str()))
                .ok_or(CommandError::NotAsked)?;
            answers = Some((mine.id.clone(), answer.trim().to_owned()));
            unit = mine.agency.clone();
            target = before.assignee_name.clone();
            Detail::Answered {
                agency: mine.agency.clone(),
            }
        }
        Command::SendBack { .. } => {
            if to == Status::Received {
                after.assignee_id = None;
                after.assignee_name = String::new();
                after.step_due_at = None;
                target = ctx.subject.agency_code.to_owned();
            } else {
                target = before.assignee_name.clone();
            }
            after.outcome = None;
            Detail::SentBack
        }
        Command::Propose { outcome, .. } => {
            after.outcome = Some(*outcome);
            let share = wf.approve().map_or(100, |(_, s)| s.share_percent);
            after.step_due_at = step_moment(ctx.calendar, &after, share, now);
            Detail::Proposed { outcome: *outcome }
        }
        Command::Approve { .. } => {
            target = before.assignee_name.clone();
            Detail::Approved
        }
        Command::IssueResult { result: doc, .. } => {
            after.result_sha256 = Some(doc.sha256.clone());
            after.result_file_name = Some(doc.file_name.clone());
            after.decided_at = Some(now);
            after.step_due_at = None;
            target = before.desk_code.clone().unwrap_or_default();
            result = Some(doc.clone());
            Detail::ResultIssued {
                file_name: doc.file_name.clone(),
                sha256: doc.sha256.clone(),
            }
        }
        Command::HandOver { method, .. } => {
            after.hand_over_method = Some(*method);
            after.closed_at = Some(now);
            target = ctx.subject.applicant_name.to_owned();
            Detail::HandedOver { method: *method }
        }
        Command::ApologiseAndReschedule { new_due, .. } => {
            let new_due = micros(*new_due);
            let due = before.due_at.ok_or(CommandError::BadAppointment)?;
            if !valid_new_appointment(due, new_due) {
                return Err(CommandError::BadAppointment);
            }
            after.reschedules += 1;
            after.original_due_at = Some(due);
            after.due_at = Some(new_due);
            target = ctx.subject.applicant_name.to_owned();
            Detail::Rescheduled { new_due }
        }
    };
    // The due moment follows the calendar until a new appointment fixes it.
    if after.reschedules == 0 {
        after.due_at = after
            .deadline
            .as_ref()
            .map(|dl| micros(dl.due(ctx.calendar)));
    }
    if action == Action::Receive {
        after.step_due_at = None;
    }
    // Back from a supplement request: the clock restarted, and so does the examination.
    if action == Action::Resubmit && to == Status::InProgress {
        let share = wf.examine().map_or(100, |(_, s)| s.share_percent);
        after.step_due_at = step_moment(ctx.calendar, &after, share, now);
    }
    let note = command.note().trim().to_owned();
    let notices = notice(&after, action, &note, ctx.subject)
        .into_iter()
        .collect();
    Ok(Transition {
        event: NewEvent {
            kind: EventKind::Act(action),
            status: to,
            unit,
            target,
            note,
            payload: Payload {
                detail,
                changes: before.changes_to(&after)?,
            },
        },
        state: after,
        asks,
        answers,
        result,
        notices,
    })
}

/// The notice telling the applicant about `action`, or `None` for the agency's internal steps.
fn notice(s: &Lifecycle, action: Action, note: &str, subject: Subject<'_>) -> Option<Notice> {
    if matches!(
        action,
        Action::Assign
            | Action::Transfer
            | Action::Answer
            | Action::SendBack
            | Action::Propose
            | Action::Approve
    ) {
        return None;
    }
    let mut values = BTreeMap::new();
    values.insert("code", s.code.clone().unwrap_or_default());
    values.insert("procedure", subject.procedure_name.to_owned());
    values.insert("reason", note.to_owned());
    if let Some(due) = s.due_at {
        values.insert("due", format_local(due));
    }
    if action == Action::RequestSupplement {
        values.insert("items", s.supplement_items.join("; "));
    }
    if let Some(o) = s.outcome {
        values.insert("outcome", o.as_str().to_owned());
    }
    if let Some(m) = s.hand_over_method {
        values.insert("method", m.as_str().to_owned());
    }
    Some(Notice {
        action,
        to: Addressee::Applicant,
        values,
    })
}

/// A draft created online: nothing decided yet.
pub fn created() -> Result<Transition, CommandError> {
    let s = Lifecycle::blank();
    Ok(Transition {
        event: NewEvent {
            kind: EventKind::Create,
            status: Status::Draft,
            unit: String::new(),
            target: String::new(),
            note: String::new(),
            payload: Payload {
                detail: Detail::Created,
                changes: Lifecycle::blank().changes_to(&s)?,
            },
        },
        state: s,
        asks: Vec::new(),
        answers: None,
        result: None,
        notices: Vec::new(),
    })
}

/// What registering a paper dossier needs.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    /// Counter or post.
    pub channel: Channel,
    /// Why not online.
    pub offline_reason: OfflineReason,
    /// Its code.
    pub code: &'a str,
    /// The desk registering it.
    pub desk: &'a str,
    /// The processing time.
    pub time_limit: TimeLimit,
    /// The procedure's name, for the notice.
    pub procedure_name: &'a str,
}

/// A paper dossier registered at the counter or from the post: received at once, its clock
/// started, the applicant told.
pub fn registered(
    r: Registration<'_>,
    calendar: &WorkCalendar<'_>,
    now: OffsetDateTime,
) -> Result<Transition, CommandError> {
    let before = Lifecycle::blank();
    let mut s = before.clone();
    let deadline = deadline_at_reception(r.time_limit, r.channel, now);
    s.status = Status::Received;
    s.code = Some(r.code.to_owned());
    s.desk_code = Some(r.desk.to_owned());
    s.due_at = Some(micros(deadline.due(calendar)));
    s.deadline = Some(deadline);
    s.submitted_at = Some(now);
    s.received_at = Some(now);
    let subject = Subject {
        agency_code: "",
        applicant_name: "",
        procedure_name: r.procedure_name,
        channel: r.channel,
    };
    let notices = notice(&s, Action::Receive, "", subject)
        .into_iter()
        .collect();
    Ok(Transition {
        event: NewEvent {
            kind: EventKind::Register,
            status: Status::Received,
            unit: String::new(),
            target: String::new(),
            note: String::new(),
            payload: Payload {
                detail: Detail::Registered {
                    channel: r.channel,
                    offline_reason: r.offline_reason,
                },
                changes: before.changes_to(&s)?,
            },
        },
        state: s,
        asks: Vec::new(),
        answers: None,
        result: None,
        notices,
    })
}

/// The due moment of an open dossier under a changed calendar; `None` when it did not move or a
/// new appointment fixes it.
pub fn due_recomputed(
    before: &Lifecycle,
    calendar: &WorkCalendar<'_>,
) -> Result<Option<Transition>, CommandError> {
    let Some(dl) = &before.deadline else {
        return Ok(None);
    };
    let due = micros(dl.due(calendar));
    if before.reschedules > 0 || before.due_at == Some(due) {
        return Ok(None);
    }
    let mut s = before.clone();
    s.due_at = Some(due);
    Ok(Some(Transition {
        event: NewEvent {
            kind: EventKind::RecomputeDue,
            status: before.status,
            unit: String::new(),
            target: String::new(),
            note: String::new(),
            payload: Payload {
                detail: Detail::DueRecomputed {
                    from: before.due_at,
                    to: due,
                },
                changes: before.changes_to(&s)?,
            },
        },
        state: s,
        asks: Vec::new(),
        answers: None,
        result: None,
        notices: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dossier::{Step, StepKind};

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
        assert_eq!(
            steps_to_send(&wf, &[1], Some(1)),
            Err(CommandError::BadStep(2))
        );
        assert_eq!(
            steps_to_send(&wf, &[1, 2, 3, 4], None),
            Err(CommandError::BadStep(0))
        );
    }

    #[test]
    fn a_form_without_what_the_action_needs_says_which_field() {
        assert_eq!(
            Command::from_inputs(Action::Assign, Inputs::default()),
            Err(CommandError::Missing("assignee"))
        );
        assert_eq!(
            Command::from_inputs(Action::HandOver, Inputs::default()),
            Err(CommandError::Missing("hand-over method"))
        );
        let refuse = Command::from_inputs(
            Action::Refuse,
            Inputs {
                note: "  Không thuộc thẩm quyền ".into(),
                ..Inputs::default()
            },
        )
        .unwrap();
        assert_eq!(refuse.note(), "Không thuộc thẩm quyền");
        assert_eq!(refuse.action(), Action::Refuse);
    }
}
