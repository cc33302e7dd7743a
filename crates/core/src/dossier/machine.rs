//! What may happen to a dossier, and who may do it: the one-stop rules of Decree 61/2018 (kept by
//! Decree 118/2025) as a pure function. The store asks [`decide`] inside the transaction that
//! records the change, with the facts it read from the locked row, and records only what it
//! allows; anything refused changes nothing and says why.

use super::Status;
use serde::{Deserialize, Serialize};

/// In which capacity someone acts on a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The applicant (or a portal acting for them with their token).
    Applicant,
    /// A reception officer of the dossier's one-stop desk.
    Reception,
    /// A specialist (chuyên viên) of the competent agency.
    Specialist,
    /// A leader (lãnh đạo) of the competent agency.
    Leader,
    /// An officer of another agency asked for its opinion (liên thông).
    Consulted,
}

impl Actor {
    /// Every capacity.
    pub const ALL: [Actor; 5] = [
        Actor::Applicant,
        Actor::Reception,
        Actor::Specialist,
        Actor::Leader,
        Actor::Consulted,
    ];

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Actor::Applicant => "Người nộp hồ sơ",
            Actor::Reception => "Cán bộ tiếp nhận",
            Actor::Specialist => "Chuyên viên",
            Actor::Leader => "Lãnh đạo",
            Actor::Consulted => "Cơ quan phối hợp",
        }
    }
}

/// Something done to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Submit a draft online.
    Submit,
    /// Accept a complete dossier: the clock starts (Mẫu 01).
    Receive,
    /// Ask for missing documents, once and completely (Mẫu 02).
    RequestSupplement,
    /// Send back the completed dossier after a supplement request.
    Resubmit,
    /// Refuse at reception, with reasons (Mẫu 03).
    Refuse,
    /// Withdraw before a decision: processing stops (stop notice).
    Withdraw,
    /// The leader assigns (or reassigns) a specialist of the agency.
    Assign,
    /// Send to another agency for its opinion (liên thông).
    Transfer,
    /// The other agency answers.
    Answer,
    /// Send the dossier back one step, with a reason.
    SendBack,
    /// The specialist proposes a result (grant or reject).
    Propose,
    /// The leader approves the proposal.
    Approve,
    /// The signed result is issued (uploaded or generated).
    IssueResult,
    /// The result reaches the applicant (online, at the counter, by post).
    HandOver,
    /// Late: apologise and give one new appointment (Mẫu 04, once).
    ApologiseAndReschedule,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 15] = [
        Action::Submit,
        Action::Receive,
        Action::RequestSupplement,
        Action::Resubmit,
        Action::Refuse,
        Action::Withdraw,
        Action::Assign,
        Action::Transfer,
        Action::Answer,
        Action::SendBack,
        Action::Propose,
        Action::Approve,
        Action::IssueResult,
        Action::HandOver,
        Action::ApologiseAndReschedule,
    ];

    /// Identifier in the database, the API and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Receive => "receive",
            Action::RequestSupplement => "request_supplement",
            Action::Resubmit => "resubmit",
            Action::Refuse => "refuse",
            Action::Withdraw => "withdraw",
            Action::Assign => "assign",
            Action::Transfer => "transfer",
            Action::Answer => "answer",
            Action::SendBack => "send_back",
            Action::Propose => "propose",
            Action::Approve => "approve",
            Action::IssueResult => "issue_result",
            Action::HandOver => "hand_over",
            Action::ApologiseAndReschedule => "apologise_and_reschedule",
        }
    }

    /// Reads an identifier.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// How the timeline names it.
    pub fn label_vi(self) -> &'static str {
        match self {
            Action::Submit => "Nộp hồ sơ trực tuyến",
            Action::Receive => "Tiếp nhận hồ sơ",
            Action::RequestSupplement => "Yêu cầu bổ sung, hoàn thiện hồ sơ",
            Action::Resubmit => "Nộp bổ sung hồ sơ",
            Action::Refuse => "Từ chối tiếp nhận",
            Action::Withdraw => "Rút hồ sơ, dừng giải quyết",
            Action::Assign => "Phân công xử lý",
            Action::Transfer => "Chuyển cơ quan phối hợp (liên thông)",
            Action::Answer => "Cơ quan phối hợp trả lời",
            Action::SendBack => "Trả lại bước trước",
            Action::Propose => "Trình kết quả giải quyết",
            Action::Approve => "Phê duyệt kết quả",
            Action::IssueResult => "Ban hành kết quả",
            Action::HandOver => "Trả kết quả",
            Action::ApologiseAndReschedule => "Xin lỗi và hẹn lại ngày trả kết quả",
        }
    }

    /// The capacities in which this action may be taken.
    pub fn actors(self) -> &'static [Actor] {
        use Actor::*;
        match self {
            Action::Submit | Action::Resubmit => &[Applicant],
            Action::Receive | Action::Refuse | Action::HandOver => &[Reception],
            Action::RequestSupplement => &[Reception, Specialist],
            Action::Withdraw => &[Applicant, Reception],
            Action::Assign | Action::Approve => &[Leader],
            Action::Transfer | Action::Propose => &[Specialist],
            Action::Answer => &[Consulted],
            Action::SendBack | Action::IssueResult | Action::ApologiseAndReschedule => {
                &[Specialist, Leader]
            }
        }
    }

    /// Whether the action must say why (refusal, sending back, apology, supplement request).
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Refuse
                | Action::SendBack
                | Action::ApologiseAndReschedule
                | Action::RequestSupplement
                | Action::Answer
        )
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The action does not apply in this status.
    #[error("a dossier in status '{status}' cannot be {action}", status = .0.as_str(), action = .1.as_str())]
    NotNow(Status, Action),
    /// This actor may not take this action.
    #[error("{actor:?} may not {action}", actor = .0, action = .1.as_str())]
    NotYours(Actor, Action),
    /// A specialist acts only on the dossiers assigned to them.
    #[error("the dossier is not assigned to you")]
    NotAssigned,
    /// Supplements are asked for once, completely (Decree 61/2018 Art. 15).
    #[error("supplements were already requested once for this dossier")]
    SupplementAlreadyRequested,
    /// More than 3 working days after reception (Decree 61/2018 Art. 19(4)).
    #[error("supplements can be requested only within 3 working days of reception")]
    SupplementTooLate,
    /// No step at another agency is left to send.
    #[error("the workflow has no step at another agency left to send")]
    NothingToTransfer,
    /// A mandatory step at another agency has not answered.
    #[error("a mandatory step at another agency has not answered yet")]
    ConsultationMissing,
    /// The new appointment is given once (Decree 61/2018 Art. 19(9)).
    #[error("the return date was already rescheduled once")]
    AlreadyRescheduled,
    /// The apology comes at least one working day before the due moment.
    #[error("an apology must be sent at least one working day before the due moment")]
    ApologyTooLate,
    /// A reason is required.
    #[error("a reason is required for {}", .0.as_str())]
    ReasonRequired(Action),
}

impl RuleError {
    /// The message for pages.
    pub fn message_vi(&self) -> String {
        match self {
            RuleError::NotNow(s, a) => format!(
                "Không thể thực hiện \"{}\" khi hồ sơ ở trạng thái \"{}\".",
                a.label_vi(),
                s.label_vi()
            ),
            RuleError::NotYours(_, a) => {
                format!("Bạn không có quyền thực hiện \"{}\".", a.label_vi())
            }
            RuleError::NotAssigned => "Hồ sơ không được phân công cho bạn.".into(),
            RuleError::SupplementAlreadyRequested => {
                "Hồ sơ đã được yêu cầu bổ sung một lần; theo quy định, yêu cầu bổ sung phải đầy đủ trong một lần.".into()
            }
            RuleError::SupplementTooLate => {
                "Đã quá 03 ngày làm việc kể từ khi tiếp nhận; không thể yêu cầu bổ sung hồ sơ.".into()
            }
            RuleError::NothingToTransfer => {
                "Quy trình không còn bước liên thông nào để chuyển.".into()
            }
            RuleError::ConsultationMissing => {
                "Chưa có ý kiến của cơ quan phối hợp bắt buộc; chưa thể trình kết quả.".into()
            }
            RuleError::AlreadyRescheduled => {
                "Hồ sơ đã được hẹn lại ngày trả kết quả một lần; không được hẹn lại lần thứ hai.".into()
            }
            RuleError::ApologyTooLate => {
                "Phiếu xin lỗi phải gửi trước hạn trả kết quả ít nhất 01 ngày làm việc.".into()
            }
            RuleError::ReasonRequired(a) => {
                format!("Cần ghi rõ lý do khi thực hiện \"{}\".", a.label_vi())
            }
        }
    }

    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::NotNow(..) => "invalid_state",
            RuleError::NotYours(..) => "not_allowed",
            RuleError::NotAssigned => "not_assigned",
            RuleError::SupplementAlreadyRequested => "supplement_already_requested",
            RuleError::SupplementTooLate => "supplement_too_late",
            RuleError::NothingToTransfer => "nothing_to_transfer",
            RuleError::ConsultationMissing => "consultation_missing",
            RuleError::AlreadyRescheduled => "already_rescheduled",
            RuleError::ApologyTooLate => "apology_too_late",
            RuleError::ReasonRequired(_) => "reason_required",
        }
    }
}

/// Who the dossier is assigned to, seen from the one acting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Assignee {
    /// Nobody yet.
    #[default]
    Nobody,
    /// The one acting.
    Actor,
    /// Another specialist.
    Other,
}

/// What the rules need to know of a dossier beyond its status: its past, the clock and who holds
/// it. The store reads these from the locked row; [`crate::dossier::timing`] computes the windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// It was received once (so a resubmission goes back to the agency, not to reception).
    pub received_before: bool,
    /// Supplement requests so far.
    pub supplement_requests: u32,
    /// Still within 3 working days of reception.
    pub supplement_window_open: bool,
    /// Apologies (new appointments) so far.
    pub reschedules: u32,
    /// At least one working day left before the due moment.
    pub apology_window_open: bool,
    /// Who examines it.
    pub assignee: Assignee,
    /// Requests to other agencies not yet answered.
    pub pending_consultations: u32,
    /// One of them is addressed to the actor's agency.
    pub consultation_for_actor: bool,
    /// Steps at other agencies that may still be sent now.
    pub transferable_steps: u32,
    /// Mandatory steps at other agencies not yet answered.
    pub missing_mandatory: u32,
    /// A reason (or the items of a supplement request) was given.
    pub reason_given: bool,
}

/// The status after `action` by `actor` on a dossier in `from`, or why not.
pub fn decide(from: Status, action: Action, actor: Actor, f: &Facts) -> Result<Status, RuleError> {
    use Action::*;
    use Status::*;
    if !action.actors().contains(&actor) {
        return Err(RuleError::NotYours(actor, action));
    }
    let not_now = Err(RuleError::NotNow(from, action));
    // A specialist acts on the dossiers assigned to them; the leader on any of the agency's.
    let must_hold = actor == Actor::Specialist;
    let to = match (from, action) {
        (Draft, Submit) => Submitted,
        (Submitted, Receive) => Received,
        (Submitted | Received, RequestSupplement) if actor == Actor::Reception => {
            if from == Received && !f.supplement_window_open {
                return Err(RuleError::SupplementTooLate);
            }
            SupplementRequested
        }
        (InProgress, RequestSupplement) if actor == Actor::Specialist => {
            if !f.supplement_window_open {
                return Err(RuleError::SupplementTooLate);
            }
            SupplementRequested
        }
        (SupplementRequested, Resubmit) => match (f.received_before, f.assignee) {
            (false, _) => Submitted,
            (true, Assignee::Nobody) => Received,
            (true, _) => InProgress,
        },
        (Submitted, Refuse) => Refused,
        (
            Submitted | Received | InProgress | Consulting | AwaitingApproval | SupplementRequested,
            Withdraw,
        ) => Withdrawn,
        (Received | InProgress, Assign) => InProgress,
        (Consulting, Assign) => Consulting,
        (InProgress, Transfer) => Consulting,
        (Consulting, Answer) => {
            if !f.consultation_for_actor {
                return Err(RuleError::NotYours(actor, action));
            }
            if f.pending_consultations <= 1 {
                InProgress
            } else {
                Consulting
            }
        }
        (AwaitingApproval, SendBack) if actor == Actor::Leader => InProgress,
        (InProgress, SendBack) if actor == Actor::Specialist => Received,
        (InProgress, Propose) => AwaitingApproval,
        (AwaitingApproval, Approve) => Approved,
        (Approved, IssueResult) => Decided,
        (Decided, HandOver) => HandedOver,
        (
            Received | InProgress | Consulting | AwaitingApproval | Approved,
            ApologiseAndReschedule,
        ) => from,
        _ => return not_now,
    };
    if must_hold && f.assignee != Assignee::Actor {
        return Err(RuleError::NotAssigned);
    }
    match action {
        RequestSupplement if f.supplement_requests > 0 => {
            return Err(RuleError::SupplementAlreadyRequested)
        }
        Transfer if f.transferable_steps == 0 => return Err(RuleError::NothingToTransfer),
        Propose if f.missing_mandatory > 0 => return Err(RuleError::ConsultationMissing),
        ApologiseAndReschedule if f.reschedules > 0 => return Err(RuleError::AlreadyRescheduled),
        ApologiseAndReschedule if !f.apology_window_open => return Err(RuleError::ApologyTooLate),
        _ => {}
    }
    if action.needs_reason() && !f.reason_given {
        return Err(RuleError::ReasonRequired(action));
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rules written out a second way, as the one-stop regulation reads: for each action the
    /// statuses it applies to, who may take it and the extra conditions.
    fn expected(from: Status, action: Action, actor: Actor, f: &Facts) -> Option<Status> {
        use Action::*;
        use Actor::*;
        use Status::*;
        let holds = f.assignee == Assignee::Actor;
        let reason = f.reason_given;
        let first_supplement = f.supplement_requests == 0;
        match (action, actor, from) {
            (Submit, Applicant, Draft) => Some(Submitted),
            (Receive, Reception, Submitted) => Some(Received),
            (RequestSupplement, Reception, Submitted) if first_supplement && reason => {
                Some(SupplementRequested)
            }
            (RequestSupplement, Reception, Received)
                if first_supplement && reason && f.supplement_window_open =>
            {
                Some(SupplementRequested)
            }
            (RequestSupplement, Specialist, InProgress)
                if holds && first_supplement && reason && f.supplement_window_open =>
            {
                Some(SupplementRequested)
            }
            (Resubmit, Applicant, SupplementRequested) => Some(if !f.received_before {
                Submitted
            } else if f.assignee == Assignee::Nobody {
                Received
            } else {
                InProgress
            }),
            (Refuse, Reception, Submitted) if reason => Some(Refused),
            (Withdraw, Applicant | Reception, s) if s.is_open() && s != Approved => Some(Withdrawn),
            (Assign, Leader, Received | InProgress) => Some(InProgress),
            (Assign, Leader, Consulting) => Some(Consulting),
            (Transfer, Specialist, InProgress) if holds && f.transferable_steps > 0 => {
                Some(Consulting)
            }
            (Answer, Consulted, Consulting) if f.consultation_for_actor && reason => {
                Some(if f.pending_consultations > 1 {
                    Consulting
                } else {
                    InProgress
                })
            }
            (SendBack, Leader, AwaitingApproval) if reason => Some(InProgress),
            (SendBack, Specialist, InProgress) if holds && reason => Some(Received),
            (Propose, Specialist, InProgress) if holds && f.missing_mandatory == 0 => {
                Some(AwaitingApproval)
            }
            (Approve, Leader, AwaitingApproval) => Some(Approved),
            (IssueResult, Leader, Approved) => Some(Decided),
            (IssueResult, Specialist, Approved) if holds => Some(Decided),
            (HandOver, Reception, Decided) => Some(HandedOver),
            (ApologiseAndReschedule, Leader | Specialist, s)
                if s.is_processing()
                    && (actor == Leader || holds)
                    && f.reschedules == 0
                    && f.apology_window_open
                    && reason =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    /// Facts that flip every condition the rules look at.
    fn fact_variants() -> Vec<Facts> {
        let mut out = Vec::new();
        for bits in 0u32..(1 << 9) {
            let b = |i: u32| bits & (1 << i) != 0;
            out.push(Facts {
                received_before: b(0),
                supplement_requests: u32::from(b(1)),
                supplement_window_open: b(2),
                reschedules: u32::from(b(3)),
                apology_window_open: b(4),
                assignee: match (b(5), b(6)) {
                    (false, false) => Assignee::Nobody,
                    (true, _) => Assignee::Actor,
                    (false, true) => Assignee::Other,
                },
                pending_consultations: if b(7) { 2 } else { 1 },
                consultation_for_actor: b(7) || b(8),
                transferable_steps: u32::from(b(8)),
                missing_mandatory: u32::from(b(6) && b(8)),
                reason_given: !(b(0) && b(3) && b(8)),
            });
        }
        out
    }

    #[test]
    fn exactly_the_allowed_combinations_succeed() {
        let facts = fact_variants();
        let mut allowed = 0;
        for from in Status::ALL {
            for action in Action::ALL {
                for actor in Actor::ALL {
                    for f in &facts {
                        let got = decide(from, action, actor, f);
                        assert_eq!(
                            got.clone().ok(),
                            expected(from, action, actor, f),
                            "{from:?} {action:?} {actor:?} {f:?}: {got:?}"
                        );
                        allowed += usize::from(got.is_ok());
                    }
                }
            }
        }
        assert!(allowed > 0);
    }

    #[test]
    fn refusals_name_the_rule_that_applies() {
        let base = Facts {
            received_before: true,
            supplement_window_open: true,
            apology_window_open: true,
            assignee: Assignee::Actor,
            reason_given: true,
            transferable_steps: 1,
            ..Facts::default()
        };
        let e = |s, a, who, f: Facts| decide(s, a, who, &f).unwrap_err();
        use Action::*;
        use Actor::*;
        use Status::*;
        assert_eq!(
            e(Received, Receive, Reception, base),
            RuleError::NotNow(Received, Receive)
        );
        assert_eq!(
            e(Submitted, Receive, Specialist, base),
            RuleError::NotYours(Specialist, Receive)
        );
        let other = Facts {
            assignee: Assignee::Other,
            ..base
        };
        assert_eq!(
            e(InProgress, Propose, Specialist, other),
            RuleError::NotAssigned
        );
        let once = Facts {
            supplement_requests: 1,
            ..base
        };
        assert_eq!(
            e(InProgress, RequestSupplement, Specialist, once),
            RuleError::SupplementAlreadyRequested
        );
        let late = Facts {
            supplement_window_open: false,
            ..base
        };
        assert_eq!(
            e(Received, RequestSupplement, Reception, late),
            RuleError::SupplementTooLate
        );
        let again = Facts {
            reschedules: 1,
            ..base
        };
        assert_eq!(
            e(InProgress, ApologiseAndReschedule, Leader, again),
            RuleError::AlreadyRescheduled
        );
        let too_late = Facts {
            apology_window_open: false,
            ..base
        };
        assert_eq!(
            e(InProgress, ApologiseAndReschedule, Leader, too_late),
            RuleError::ApologyTooLate
        );
        let silent = Facts {
            reason_given: false,
            ..base
        };
        assert_eq!(
            e(Submitted, Refuse, Reception, silent),
            RuleError::ReasonRequired(Refuse)
        );
        let none = Facts {
            transferable_steps: 0,
            ..base
        };
        assert_eq!(
            e(InProgress, Transfer, Specialist, none),
            RuleError::NothingToTransfer
        );
        let waiting = Facts {
            missing_mandatory: 1,
            ..base
        };
        assert_eq!(
            e(InProgress, Propose, Specialist, waiting),
            RuleError::ConsultationMissing
        );
        assert_eq!(
            e(Approved, Withdraw, Applicant, base),
            RuleError::NotNow(Approved, Withdraw)
        );
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }
    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(Action::ALL.to_vec())
    }
    fn any_actor() -> impl Strategy<Value = Actor> {
        proptest::sample::select(Actor::ALL.to_vec())
    }

    proptest! {
        /// A random walk never leaves a closed dossier, never returns to a draft, and reaches
        /// "handed over" only through approval and issue of the result.
        #[test]
        fn closed_dossiers_stay_closed(
            steps in proptest::collection::vec((any_action(), any_actor(), any::<bool>()), 1..60)
        ) {
            let mut status = Status::Draft;
            let mut f = Facts {
                supplement_window_open: true,
                apology_window_open: true,
                reason_given: true,
                transferable_steps: 1,
                ..Facts::default()
            };
            let mut approved = false;
            for (action, actor, assigned) in steps {
                f.assignee = if assigned { Assignee::Actor } else { Assignee::Nobody };
                f.consultation_for_actor = f.pending_consultations > 0;
                let before = status;
                if let Ok(next) = decide(status, action, actor, &f) {
                    prop_assert!(before == Status::Draft || before.is_open() || before == Status::Decided);
                    prop_assert_ne!(next, Status::Draft);
                    match action {
                        Action::Receive => f.received_before = true,
                        Action::RequestSupplement => f.supplement_requests += 1,
                        Action::ApologiseAndReschedule => f.reschedules += 1,
                        Action::Transfer => f.pending_consultations += 1,
                        Action::Answer => f.pending_consultations -= 1,
                        Action::Approve => approved = true,
                        _ => {}
                    }
                    if next == Status::HandedOver {
                        prop_assert!(approved);
                    }
                    status = next;
                }
            }
        }

        #[test]
        fn refusals_say_why(from in any_status(), action in any_action(), actor in any_actor()) {
            if let Err(e) = decide(from, action, actor, &Facts::default()) {
                prop_assert!(!e.message_vi().is_empty());
                prop_assert!(!e.code().is_empty());
            }
        }
    }
}
