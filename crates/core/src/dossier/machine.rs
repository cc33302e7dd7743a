//! What may happen to a dossier, and who may do it. The store asks [`decide`] before every
//! change and records only what it allows; the back office adds its own actions on top.

use super::Status;
use serde::{Deserialize, Serialize};

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The applicant (or a portal acting for them with their token).
    Applicant,
    /// A reception officer of the competent agency's one-stop desk.
    Reception,
}

/// Something done to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Submit a draft online.
    Submit,
    /// Accept a complete dossier: the clock starts (Mẫu 01).
    Receive,
    /// Ask for missing documents, all at once (Mẫu 02).
    RequestSupplement,
    /// Send back the completed dossier after a supplement request.
    Resubmit,
    /// Refuse at reception, with reasons (Mẫu 03).
    Refuse,
    /// Withdraw before a decision: processing stops (stop notice).
    Withdraw,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 6] = [
        Action::Submit,
        Action::Receive,
        Action::RequestSupplement,
        Action::Resubmit,
        Action::Refuse,
        Action::Withdraw,
    ];

    /// Database identifier of the event this action records.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Receive => "receive",
            Action::RequestSupplement => "request_supplement",
            Action::Resubmit => "resubmit",
            Action::Refuse => "refuse",
            Action::Withdraw => "withdraw",
        }
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
        }
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
    /// Supplements are asked for once, completely (Decree 61/2018 Art. 15).
    #[error("supplements were already requested once for this dossier")]
    SupplementAlreadyRequested,
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
            RuleError::SupplementAlreadyRequested => {
                "Hồ sơ đã được yêu cầu bổ sung một lần; theo quy định, yêu cầu bổ sung phải đầy đủ trong một lần.".into()
            }
        }
    }

    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::NotNow(..) => "invalid_state",
            RuleError::NotYours(..) => "not_allowed",
            RuleError::SupplementAlreadyRequested => "supplement_already_requested",
        }
    }
}

/// What the rules need to know of a dossier's past.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// It was received once (so a resubmission restarts the clock rather than waiting for
    /// reception again).
    pub received_before: bool,
    /// Supplement requests so far.
    pub supplement_requests: u32,
}

/// The status after `action` by `actor` on a dossier in `from`, or why not.
pub fn decide(
    from: Status,
    action: Action,
    actor: Actor,
    history: History,
) -> Result<Status, RuleError> {
    use Action::*;
    use Status::*;
    let allowed_actor = match action {
        Submit | Resubmit => actor == Actor::Applicant,
        Receive | RequestSupplement | Refuse => actor == Actor::Reception,
        // At the counter the desk records a withdrawal asked for in person or by post.
        Withdraw => true,
    };
    if !allowed_actor {
        return Err(RuleError::NotYours(actor, action));
    }
    let to = match (from, action) {
        (Draft, Submit) => Submitted,
        (Submitted, Receive) => Received,
        (Submitted | Received, RequestSupplement) => {
            if history.supplement_requests > 0 {
                return Err(RuleError::SupplementAlreadyRequested);
            }
            SupplementRequested
        }
        (SupplementRequested, Resubmit) if history.received_before => Received,
        (SupplementRequested, Resubmit) => Submitted,
        (Submitted, Refuse) => Refused,
        (Submitted | Received | SupplementRequested, Withdraw) => Withdrawn,
        _ => return Err(RuleError::NotNow(from, action)),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ACTORS: [Actor; 2] = [Actor::Applicant, Actor::Reception];

    /// The whole table written out: every allowed (status, action, actor) and its result.
    fn expected(from: Status, action: Action, actor: Actor, h: History) -> Option<Status> {
        use Action::*;
        use Status::*;
        let applicant = actor == Actor::Applicant;
        match (from, action) {
            (Draft, Submit) if applicant => Some(Submitted),
            (Submitted, Receive) if !applicant => Some(Received),
            (Submitted | Received, RequestSupplement)
                if !applicant && h.supplement_requests == 0 =>
            {
                Some(SupplementRequested)
            }
            (SupplementRequested, Resubmit) if applicant => Some(if h.received_before {
                Received
            } else {
                Submitted
            }),
            (Submitted, Refuse) if !applicant => Some(Refused),
            (Submitted | Received | SupplementRequested, Withdraw) => Some(Withdrawn),
            _ => None,
        }
    }

    #[test]
    fn exactly_the_allowed_combinations_succeed() {
        for from in Status::ALL {
            for action in Action::ALL {
                for actor in ACTORS {
                    for h in [
                        History::default(),
                        History {
                            received_before: true,
                            supplement_requests: 1,
                        },
                    ] {
                        assert_eq!(
                            decide(from, action, actor, h).ok(),
                            expected(from, action, actor, h),
                            "{from:?} {action:?} {actor:?} {h:?}"
                        );
                    }
                }
            }
        }
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }
    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(Action::ALL.to_vec())
    }

    proptest! {
        /// A random walk never leaves a closed dossier and never returns to a draft.
        #[test]
        fn closed_dossiers_stay_closed(
            steps in proptest::collection::vec((any_action(), any::<bool>()), 1..30)
        ) {
            let mut status = Status::Draft;
            let mut h = History::default();
            for (action, by_applicant) in steps {
                let actor = if by_applicant { Actor::Applicant } else { Actor::Reception };
                let before = status;
                if let Ok(next) = decide(status, action, actor, h) {
                    prop_assert!(before == Status::Draft || before.is_open());
                    prop_assert_ne!(next, Status::Draft);
                    if next == Status::Received { h.received_before = true; }
                    if next == Status::SupplementRequested { h.supplement_requests += 1; }
                    status = next;
                }
            }
        }

        #[test]
        fn refusals_say_why(from in any_status(), action in any_action()) {
            for actor in ACTORS {
                if let Err(e) = decide(from, action, actor, History::default()) {
                    prop_assert!(!e.message_vi().is_empty());
                    prop_assert!(!e.code().is_empty());
                }
            }
        }
    }
}
