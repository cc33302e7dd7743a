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
