//! Budget estimates (dự toán) of plan tasks: an agency drafts and submits, the monitor approves
//! or returns with reasons, a returned estimate is corrected and submitted again.

use serde::{Deserialize, Serialize};

/// Where an estimate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStatus {
    /// Being prepared by the agency.
    Draft,
    /// Sent to the monitor.
    Submitted,
    /// Approved.
    Approved,
    /// Sent back to the agency with reasons.
    Returned,
}

/// What is done to an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetAction {
    /// The agency submits it.
    Submit,
    /// The monitor approves it.
    Approve,
    /// The monitor returns it.
    Return,
}

/// Who acts on an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetActor {
    /// The agency that owns it.
    Agency,
    /// The plan monitor.
    Monitor,
}

impl BudgetStatus {
    /// Every status.
    pub const ALL: [BudgetStatus; 4] = [
        BudgetStatus::Draft,
        BudgetStatus::Submitted,
        BudgetStatus::Approved,
        BudgetStatus::Returned,
    ];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStatus::Draft => "draft",
            BudgetStatus::Submitted => "submitted",
            BudgetStatus::Approved => "approved",
            BudgetStatus::Returned => "returned",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<BudgetStatus> {
        BudgetStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            BudgetStatus::Draft => "Dự thảo",
            BudgetStatus::Submitted => "Đã trình",
            BudgetStatus::Approved => "Đã phê duyệt",
            BudgetStatus::Returned => "Trả lại để chỉnh sửa",
        }
    }
}

/// The status after `action` by `actor`, or `None` when the rules forbid it.
pub fn next_budget_status(
    from: BudgetStatus,
    action: BudgetAction,
    actor: BudgetActor,
) -> Option<BudgetStatus> {
    use BudgetAction::*;
    use BudgetStatus::*;
    match (from, action, actor) {
        (Draft | Returned, Submit, BudgetActor::Agency) => Some(Submitted),
        (Submitted, Approve, BudgetActor::Monitor) => Some(Approved),
        (Submitted, Return, BudgetActor::Monitor) => Some(Returned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_agency_submits_and_only_the_monitor_decides() {
        let actions = [
            BudgetAction::Submit,
            BudgetAction::Approve,
            BudgetAction::Return,
        ];
        let actors = [BudgetActor::Agency, BudgetActor::Monitor];
        let mut allowed = Vec::new();
        for s in BudgetStatus::ALL {
            for a in actions {
                for who in actors {
                    if let Some(to) = next_budget_status(s, a, who) {
                        allowed.push((s.as_str(), to.as_str()));
                    }
                }
            }
        }
        assert_eq!(
            allowed,
            [
                ("draft", "submitted"),
                ("submitted", "approved"),
                ("submitted", "returned"),
                ("returned", "submitted")
            ]
        );
        for s in BudgetStatus::ALL {
            assert_eq!(BudgetStatus::parse(s.as_str()), Some(s));
        }
    }
}
