//! The province's communication plan as data: tasks with lead and coordinating agencies,
//! periods, recurrence and targets, and the rules that turn progress reports into "expected
//! versus delivered".

pub mod budget;
pub mod period;
pub mod progress;

pub use budget::{next_budget_status, BudgetAction, BudgetActor, BudgetStatus};
pub use period::{periods, Month, MonthError, Period, Recurrence};
pub use progress::{
    check_report, progress, reminders, Reminder, ReminderKind, ReportError, ReportInput,
    TargetProgress,
};

use serde::{Deserialize, Serialize};

/// Who pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    /// The provincial budget (work of provincial departments and bodies).
    Province,
    /// The budget of the local People's Committee.
    Local,
}

/// A quantity a task must deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Stable key within the task (`reportage`, `leaflets`).
    pub key: String,
    /// How many, per period of `per` (or in all, for [`Recurrence::Once`]).
    pub quantity: u32,
    /// Unit as the plan writes it ("phóng sự", "tờ gấp").
    pub unit: String,
    /// Specification ("thời lượng từ 03 - 05 phút").
    #[serde(default)]
    pub spec: String,
    /// How often the quantity is due.
    pub per: Recurrence,
    /// First month it is due (defaults to the task's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Month>,
    /// Last month (defaults to the task's end, or open-ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Month>,
}

/// One task (nhiệm vụ) of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTask {
    /// Number as in the plan ("2.1").
    pub code: String,
    /// Title.
    pub title: String,
    /// Lead agencies (codes).
    pub lead_agencies: Vec<String>,
    /// Lead bodies the plan names collectively ("Ban biên tập các Trang TTĐT thành phần…").
    #[serde(default)]
    pub lead_text: String,
    /// Coordinating agencies (codes).
    #[serde(default)]
    pub coordinating_agencies: Vec<String>,
    /// Coordinating bodies named collectively ("các sở, ban, ngành; UBND các huyện, thành phố").
    #[serde(default)]
    pub coordinating_text: String,
    /// First month.
    pub start: Month,
    /// Last month; `None` for "and the following years".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Month>,
    /// The period as the plan writes it.
    pub period_text: String,
    /// How the work recurs.
    pub recurrence: Recurrence,
    /// Quantities to deliver.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Products (sản phẩm).
    #[serde(default)]
    pub products: String,
    /// Channels (portal, newspaper, radio/TV, Facebook, YouTube, SMS, Zalo…).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Funding source.
    pub funding: Funding,
}

/// A plan (kế hoạch) with its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Document number ("147/KH-UBND").
    pub code: String,
    /// Title.
    pub title: String,
    /// Date of issue, YYYY-MM-DD.
    pub issued_on: String,
    /// Issuing body.
    pub issuer: String,
    /// Tasks, in plan order.
    pub tasks: Vec<PlanTask>,
}

impl Plan {
    /// A task by its number.
    pub fn task(&self, code: &str) -> Option<&PlanTask> {
        self.tasks.iter().find(|t| t.code == code)
    }
}

/// A problem in a plan file or an edited task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task {task}: {message}")]
pub struct PlanProblem {
    /// Task number ("" for the plan itself).
    pub task: String,
    /// What is wrong, in English (the CLI and API say it).
    pub message: String,
    /// What is wrong, in Vietnamese (pages say it).
    pub message_vi: String,
}

impl Plan {
    /// Every problem of the plan at once: missing fields, duplicate numbers or target keys,
    /// unknown agencies, periods that end before they start, targets outside their task.
    pub fn validate(&self, known_agency: &dyn Fn(&str) -> bool) -> Vec<PlanProblem> {
        let mut out = Vec::new();
        let mut say = |task: &str, message: String, vi: String| {
            out.push(PlanProblem {
                task: task.to_owned(),
                message,
                message_vi: if task.is_empty() {
                    vi
                } else {
                    format!("Nhiệm vụ {task}: {vi}")
                },
            })
        };
        if self.code.trim().is_empty() {
            say(
                "",
                "the plan has no code (số kế hoạch)".into(),
                "kế hoạch chưa có số hiệu.".into(),
            );
        }
        if self.title.trim().is_empty() {
            say(
                "",
                "the plan has no title".into(),
                "kế hoạch chưa có tên.".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tasks {
            let c = t.code.as_str();
            if c.is_empty() || !c.split('.').all(|p| p.parse::<u32>().is_ok()) {
                say(
                    c,
                    "the task number must be like 2 or 2.1".into(),
                    "số thứ tự nhiệm vụ phải có dạng 2 hoặc 2.1.".into(),
                );
            }
            if !seen.insert(c) {
                say(
                    c,
                    "the task number appears twice".into(),
                    "số thứ tự bị trùng.".into(),
                );
            }
            if t.title.trim().is_empty() {
                say(
                    c,
                    "the task has no title".into(),
                    "chưa có tên nhiệm vụ.".into(),
                );
            }
            if t.lead_agencies.is_empty() && t.lead_text.trim().is_empty() {
                say(
                    c,
                    "the task has no lead agency".into(),
                    "chưa có cơ quan chủ trì.".into(),
                );
            }
            for a in t.lead_agencies.iter().chain(&t.coordinating_agencies) {
                if !known_agency(a) {
                    say(
                        c,
                        format!("agency '{a}' is unknown"),
                        format!("không có cơ quan mã '{a}'."),
                    );
                }
            }
            if t.end.is_some_and(|e| e < t.start) {
                say(
                    c,
                    "the task ends before it starts".into(),
                    "thời gian kết thúc trước thời gian bắt đầu.".into(),
                );
            }
            let mut keys = std::collections::HashSet::new();
            for target in &t.targets {
                if target.key.is_empty() || !keys.insert(target.key.as_str()) {
                    say(
                        c,
                        format!("target key '{}' is empty or repeated", target.key),
                        format!("mã chỉ tiêu '{}' trống hoặc bị trùng.", target.key),
                    );
                }
                if target.quantity == 0 {
                    say(
                        c,
                        format!("target '{}' has a quantity of 0", target.key),
                        format!("chỉ tiêu '{}' có số lượng 0.", target.key),
                    );
                }
                if target.unit.trim().is_empty() {
                    say(
                        c,
                        format!("target '{}' has no unit", target.key),
                        format!("chỉ tiêu '{}' chưa có đơn vị tính.", target.key),
                    );
                }
                let from = target.from.unwrap_or(t.start);
                let until = target.until.or(t.end);
                if from < t.start || t.end.is_some_and(|e| until.is_none_or(|u| u > e)) {
                    say(
                        c,
                        format!("target '{}' falls outside the task's period", target.key),
                        format!(
                            "chỉ tiêu '{}' nằm ngoài thời gian thực hiện nhiệm vụ.",
                            target.key
                        ),
                    );
                }
                if until.is_some_and(|u| u < from) {
                    say(
                        c,
                        format!("target '{}' ends before it starts", target.key),
                        format!("chỉ tiêu '{}' kết thúc trước khi bắt đầu.", target.key),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod validation_tests {
    use super::*;

    #[test]
    fn every_problem_of_a_plan_is_named() {
        let mut plan: Plan = serde_json::from_str(
            r#"{"code": "1/KH", "title": "Thử", "issued_on": "2026-01-01", "issuer": "UBND",
                "tasks": [
                  {"code": "1", "title": "A", "lead_agencies": ["so-tp"], "start": "2026-01",
                   "period_text": "", "recurrence": "monthly", "funding": "province",
                   "targets": [{"key": "x", "quantity": 1, "unit": "tin", "per": "monthly"}]}
                ]}"#,
        )
        .expect("plan");
        let known = |a: &str| a == "so-tp";
        assert!(plan.validate(&known).is_empty());
        let mut bad = plan.tasks[0].clone();
        bad.lead_agencies = vec!["so-nope".into()];
        bad.end = Some(Month {
            year: 2025,
            month: 1,
        });
        bad.targets[0].quantity = 0;
        plan.tasks.push(bad);
        let problems: Vec<String> = plan
            .validate(&known)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            problems,
            [
                "task 1: the task number appears twice",
                "task 1: agency 'so-nope' is unknown",
                "task 1: the task ends before it starts",
                "task 1: target 'x' has a quantity of 0",
                "task 1: target 'x' ends before it starts",
            ]
        );
    }
}
