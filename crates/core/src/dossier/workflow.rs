//! A procedure's workflow (quy trình nội bộ): the steps a dossier goes through at the competent
//! agency after reception, who acts at each, and how much of the processing time each may use.
//! Steps at other agencies (liên thông) are either sequential (the dossier waits for the answer)
//! or parallel (sent together, answered while the examination goes on), and may be optional
//! (the specialist decides whether the case needs them). Each dossier keeps the version it
//! started with, so editing a workflow never changes dossiers already under way.

use serde::{Deserialize, Serialize};

/// How a step at another agency runs next to the examination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsultMode {
    /// The dossier waits at the other agency until it answers.
    Sequential,
    /// Sent at once with the others; the examination goes on meanwhile.
    Parallel,
}

impl ConsultMode {
    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            ConsultMode::Sequential => "Tuần tự (chờ trả lời)",
            ConsultMode::Parallel => "Song song",
        }
    }
}

/// What happens at a step, and so which role acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// A specialist of the competent agency examines and proposes a result.
    Examine,
    /// Another agency gives its opinion or part of the result (InterAgencyStep).
    Consult {
        /// The other agency.
        agency: String,
        /// Sequential or parallel.
        mode: ConsultMode,
        /// Whether the specialist may skip it.
        optional: bool,
    },
    /// The leader approves and signs.
    Approve,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Name shown in queues and on the control sheet (Mẫu 05).
    pub name: String,
    /// What happens.
    #[serde(flatten)]
    pub kind: StepKind,
    /// Share of the processing time, in percent.
    pub share_percent: u8,
}

impl Step {
    /// The role that acts at this step, in Vietnamese.
    pub fn role_vi(&self) -> &'static str {
        match self.kind {
            StepKind::Examine => "Chuyên viên",
            StepKind::Consult { .. } => "Cơ quan phối hợp",
            StepKind::Approve => "Lãnh đạo",
        }
    }
}

/// The steps of a procedure after reception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// In order.
    pub steps: Vec<Step>,
}

/// Why a workflow is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// No examine step, or more than one.
    #[error("a workflow has exactly one examine step")]
    Examine,
    /// The approve step is missing or not last.
    #[error("a workflow ends with exactly one approve step")]
    Approve,
    /// Shares do not add up.
    #[error("the shares of the processing time add up to {0} %, not 100 %")]
    Shares(u32),
    /// A step has no share.
    #[error("step {0} has no share of the processing time")]
    ZeroShare(usize),
    /// A step without a name.
    #[error("step {0} has no name")]
    Unnamed(usize),
    /// A consulted agency is the competent agency itself or unknown.
    #[error("step {0}: '{1}' is not another known agency")]
    Agency(usize, String),
    /// The same agency twice.
    #[error("agency '{0}' is consulted twice")]
    DuplicateAgency(String),
}

impl WorkflowError {
    /// The message for pages.
    pub fn message_vi(&self) -> String {
        match self {
            WorkflowError::Examine => "Quy trình phải có đúng một bước thẩm định.".into(),
            WorkflowError::Approve => {
                "Quy trình phải kết thúc bằng đúng một bước lãnh đạo phê duyệt.".into()
            }
            WorkflowError::Shares(n) => {
                format!("Tổng tỷ lệ thời gian các bước là {n}%, phải bằng 100%.")
            }
            WorkflowError::ZeroShare(i) => {
                format!("Bước {i} chưa có tỷ lệ thời gian giải quyết.")
            }
            WorkflowError::Unnamed(i) => format!("Bước {i} chưa có tên."),
            WorkflowError::Agency(i, a) => {
                format!("Bước {i}: \"{a}\" không phải là một cơ quan phối hợp hợp lệ.")
            }
            WorkflowError::DuplicateAgency(a) => {
                format!("Cơ quan \"{a}\" được lấy ý kiến hai lần.")
            }
        }
    }
}

impl Default for Workflow {
    /// Examination by a specialist (70 % of the time), approval by the leader (30 %).
    fn default() -> Self {
        Workflow {
            steps: vec![
                Step {
                    name: "Thẩm định hồ sơ".into(),
                    kind: StepKind::Examine,
                    share_percent: 70,
                },
                Step {
                    name: "Phê duyệt, ký kết quả".into(),
                    kind: StepKind::Approve,
                    share_percent: 30,
                },
            ],
        }
    }
}

impl Workflow {
    /// Checks the shape: one examine step first, consult steps after it, one approve step last,
    /// shares adding up to 100 %, other agencies known and distinct.
    pub fn validate(
        &self,
        own_agency: &str,
        known_agency: impl Fn(&str) -> bool,
    ) -> Result<(), WorkflowError> {
        let examines = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Examine)
            .count();
        if examines != 1 || self.steps.first().map(|s| &s.kind) != Some(&StepKind::Examine) {
            return Err(WorkflowError::Examine);
        }
        let approves = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Approve)
            .count();
        if approves != 1 || self.steps.last().map(|s| &s.kind) != Some(&StepKind::Approve) {
            return Err(WorkflowError::Approve);
        }
        let mut seen = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let n = i + 1;
            if s.name.trim().is_empty() {
                return Err(WorkflowError::Unnamed(n));
            }
            if s.share_percent == 0 {
                return Err(WorkflowError::ZeroShare(n));
            }
            if let StepKind::Consult { agency, .. } = &s.kind {
                if agency == own_agency || !known_agency(agency) {
                    return Err(WorkflowError::Agency(n, agency.clone()));
                }
                if seen.contains(&agency) {
                    return Err(WorkflowError::DuplicateAgency(agency.clone()));
                }
                seen.push(agency);
            }
        }
        let total: u32 = self.steps.iter().map(|s| u32::from(s.share_percent)).sum();
        if total != 100 {
            return Err(WorkflowError::Shares(total));
        }
        Ok(())
    }

    /// The examine step (index 0 of a valid workflow).
    pub fn examine(&self) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.kind == StepKind::Examine)
    }

    /// The approve step.
    pub fn approve(&self) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.kind == StepKind::Approve)
    }

    /// The steps at other agencies, with their index.
    pub fn consults(&self) -> impl Iterator<Item = (usize, &Step, &str, ConsultMode, bool)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.kind {
                StepKind::Consult {
                    agency,
                    mode,
                    optional,
                } => Some((i, s, agency.as_str(), *mode, *optional)),
                _ => None,
            })
    }

    /// The working minutes a step may use out of `total`.
    pub fn step_minutes(&self, index: usize, total: i64) -> i64 {
        let share = self
            .steps
            .get(index)
            .map_or(0, |s| i64::from(s.share_percent));
        total.max(0) * share / 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consult(agency: &str, share: u8) -> Step {
        Step {
            name: format!("Lấy ý kiến {agency}"),
            kind: StepKind::Consult {
                agency: agency.into(),
                mode: ConsultMode::Parallel,
                optional: false,
            },
            share_percent: share,
        }
    }

    fn known(a: &str) -> bool {
        matches!(a, "so-xd" | "so-tc" | "ca-tinh")
    }

    #[test]
    fn the_default_workflow_is_valid_and_reads_back() {
        let w = Workflow::default();
        assert_eq!(w.validate("so-xd", known), Ok(()));
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<Workflow>(&json).unwrap(), w);
        assert_eq!(w.step_minutes(0, 1000), 700);
        assert_eq!(w.step_minutes(1, 1000), 300);
        assert_eq!(w.step_minutes(5, 1000), 0);
    }

    #[test]
    fn every_shape_rule_is_enforced() {
        let mut w = Workflow::default();
        w.steps.insert(1, consult("so-tc", 20));
        w.steps[0].share_percent = 50;
        assert_eq!(w.validate("so-xd", known), Ok(()));

        let mut bad = w.clone();
        bad.steps[1].share_percent = 30;
        assert_eq!(
            bad.validate("so-xd", known),
            Err(WorkflowError::Shares(110))
        );

        let mut bad = w.clone();
        bad.steps.insert(2, consult("so-tc", 0));
        assert_eq!(
            bad.validate("so-xd", known),
            Err(WorkflowError::ZeroShare(3))
        );

        let mut bad = w.clone();
        bad.steps[1] = consult("so-xd", 20);
        assert_eq!(
            bad.validate("so-xd", known),
            Err(WorkflowError::Agency(2, "so-xd".into()))
        );
        bad.steps[1] = consult("khong-co", 20);
        assert!(matches!(
            bad.validate("so-xd", known),
            Err(WorkflowError::Agency(2, _))
        ));

        let mut bad = w.clone();
        bad.steps.swap(1, 2);
        assert_eq!(bad.validate("so-xd", known), Err(WorkflowError::Approve));

        let mut bad = w.clone();
        bad.steps.swap(0, 1);
        assert_eq!(bad.validate("so-xd", known), Err(WorkflowError::Examine));

        let mut bad = w.clone();
        bad.steps[1].share_percent = 10;
        bad.steps.insert(2, consult("so-tc", 10));
        assert_eq!(
            bad.validate("so-xd", known),
            Err(WorkflowError::DuplicateAgency("so-tc".into()))
        );

        let mut bad = w;
        bad.steps[1].name = "  ".into();
        assert_eq!(bad.validate("so-xd", known), Err(WorkflowError::Unnamed(2)));
        for e in [WorkflowError::Examine, WorkflowError::Shares(90)] {
            assert!(!e.message_vi().is_empty());
        }
    }
}
