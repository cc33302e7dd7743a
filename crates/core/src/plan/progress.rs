//! Expected versus delivered, and the checks a progress report must pass.

use super::{periods, Month, Period, PlanTask, Recurrence, Target};
use serde::Serialize;

/// A report as an agency files it, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// The reporting agency.
    pub agency: String,
    /// The month the work was delivered in.
    pub month: Month,
    /// Which target it counts towards (`None` for work without a quantity).
    pub target: Option<String>,
    /// Quantity delivered.
    pub quantity: i64,
    /// Cost in đồng.
    pub cost_vnd: i64,
    /// What was done.
    pub done: String,
}

/// Why a report is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The agency neither leads nor coordinates the task (nor succeeds one that does).
    #[error("agency {0} has no part in this task")]
    NotYourTask(String),
    /// A negative quantity.
    #[error("the quantity cannot be negative")]
    NegativeQuantity,
    /// A negative cost.
    #[error("the cost cannot be negative")]
    NegativeCost,
    /// The month is outside the task's (or the target's) period.
    #[error("{0} is outside the period of the task")]
    OutsidePeriod(Month),
    /// The target is not one of the task's.
    #[error("the task has no target '{0}'")]
    UnknownTarget(String),
    /// Nothing said of what was done.
    #[error("say what was done")]
    EmptyReport,
}

impl ReportError {
    /// What the page says.
    pub fn message_vi(&self) -> String {
        match self {
            ReportError::NotYourTask(_) => {
                "Cơ quan của bạn không chủ trì hoặc phối hợp thực hiện nhiệm vụ này.".into()
            }
            ReportError::NegativeQuantity => "Số lượng không được âm.".into(),
            ReportError::NegativeCost => "Kinh phí không được âm.".into(),
            ReportError::OutsidePeriod(m) => format!(
                "Tháng {}/{} nằm ngoài thời gian thực hiện của nhiệm vụ.",
                m.month, m.year
            ),
            ReportError::UnknownTarget(_) => "Chỉ tiêu không thuộc nhiệm vụ này.".into(),
            ReportError::EmptyReport => "Hãy nêu nội dung đã thực hiện.".into(),
        }
    }

    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::NotYourTask(_) => "not_your_task",
            ReportError::NegativeQuantity => "negative_quantity",
            ReportError::NegativeCost => "negative_cost",
            ReportError::OutsidePeriod(_) => "outside_period",
            ReportError::UnknownTarget(_) => "unknown_target",
            ReportError::EmptyReport => "empty_report",
        }
    }
}

/// Checks a report against its task. `acts_for` lists the agencies the reporter may speak for:
/// their own and the ones it succeeded (a merged department reports for its predecessor's tasks).
pub fn check_report(
    task: &PlanTask,
    report: &ReportInput,
    acts_for: &[String],
) -> Result<(), ReportError> {
    let involved = task
        .lead_agencies
        .iter()
        .chain(&task.coordinating_agencies)
        .any(|a| acts_for.contains(a));
    if !involved {
        return Err(ReportError::NotYourTask(report.agency.clone()));
    }
    if report.quantity < 0 {
        return Err(ReportError::NegativeQuantity);
    }
    if report.cost_vnd < 0 {
        return Err(ReportError::NegativeCost);
    }
    if report.done.trim().is_empty() {
        return Err(ReportError::EmptyReport);
    }
    let (from, until) = match &report.target {
        Some(key) => {
            let t = task
                .targets
                .iter()
                .find(|t| &t.key == key)
                .ok_or_else(|| ReportError::UnknownTarget(key.clone()))?;
            (t.from.unwrap_or(task.start), t.until.or(task.end))
        }
        None => (task.start, task.end),
    };
    if report.month < from || until.is_some_and(|u| report.month > u) {
        return Err(ReportError::OutsidePeriod(report.month));
    }
    Ok(())
}

/// One target's progress up to a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetProgress {
    /// The target.
    pub key: String,
    /// Its unit.
    pub unit: String,
    /// Due by the month (whole periods that have closed, plus a once-only target in full).
    pub expected: i64,
    /// Reported.
    pub delivered: i64,
    /// Periods that closed without their quantity.
    pub missing_periods: Vec<Period>,
}

impl TargetProgress {
    /// Delivered as a percentage of expected (100 when nothing was due yet).
    pub fn percent(&self) -> i64 {
        if self.expected == 0 {
            100
        } else {
            (self.delivered * 100 / self.expected).min(999)
        }
    }
}

/// Expected versus delivered for each target of `task`, counting periods that closed by
/// `as_of`; `delivered` lists (target, month, quantity) of the reports.
pub fn progress(
    task: &PlanTask,
    delivered: &[(String, Month, i64)],
    as_of: Month,
) -> Vec<TargetProgress> {
    task.targets
        .iter()
        .map(|t| target_progress(task, t, delivered, as_of))
        .collect()
}

fn target_progress(
    task: &PlanTask,
    t: &Target,
    delivered: &[(String, Month, i64)],
    as_of: Month,
) -> TargetProgress {
    let from = t.from.unwrap_or(task.start);
    let until = t.until.or(task.end);
    let mine: Vec<(Month, i64)> = delivered
        .iter()
        .filter(|(k, _, _)| *k == t.key)
        .map(|(_, m, q)| (*m, *q))
        .collect();
    let in_period = |p: &Period| -> i64 {
        mine.iter()
            .filter(|(m, _)| p.contains(*m))
            .map(|(_, q)| q)
            .sum()
    };
    let closed: Vec<Period> = periods(from, until, t.per, as_of)
        .into_iter()
        .filter(|p| {
            p.end < as_of || (t.per == Recurrence::Once && until.is_some_and(|u| u < as_of))
        })
        .collect();
    let quantity = i64::from(t.quantity);
    let expected = quantity * closed.len() as i64;
    let missing_periods = closed
        .iter()
        .filter(|p| in_period(p) < quantity)
        .copied()
        .collect();
    TargetProgress {
        key: t.key.clone(),
        unit: t.unit.clone(),
        expected,
        delivered: mine.iter().map(|(_, q)| q).sum(),
        missing_periods,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Funding;
    use super::*;

    fn m(s: &str) -> Month {
        s.parse().expect("month")
    }

    fn reportage() -> PlanTask {
        PlanTask {
            code: "2.1".into(),
            title: "Phóng sự".into(),
            lead_agencies: vec!["dai-ptth".into()],
            lead_text: String::new(),
            coordinating_agencies: vec!["so-tttt".into()],
            coordinating_text: String::new(),
            start: m("2018-10"),
            end: None,
            period_text: "Quý IV/2018 và những năm tiếp theo".into(),
            recurrence: Recurrence::Monthly,
            targets: vec![Target {
                key: "reportage".into(),
                quantity: 1,
                unit: "phóng sự".into(),
                spec: "03 - 05 phút".into(),
                per: Recurrence::Monthly,
                from: None,
                until: None,
            }],
            products: String::new(),
            channels: vec![],
            funding: Funding::Province,
        }
    }

    #[test]
    fn twelve_expected_ten_delivered_is_83_percent_with_two_missing() {
        let task = reportage();
        let delivered: Vec<(String, Month, i64)> = (1..=12)
            .filter(|mo| *mo != 4 && *mo != 9)
            .map(|mo| ("reportage".to_owned(), Month::new(2019, mo).expect("m"), 1))
            .collect();
        let mut task19 = task.clone();
        task19.start = m("2019-01");
        let p = progress(&task19, &delivered, m("2020-01"));
        assert_eq!(
            (p[0].expected, p[0].delivered, p[0].percent()),
            (12, 10, 83)
        );
        let missing: Vec<String> = p[0].missing_periods.iter().map(Period::label_vi).collect();
        assert_eq!(missing, ["4/2019", "9/2019"]);
    }

    #[test]
    fn reports_are_checked_against_the_task() {
        let task = reportage();
        let ok = ReportInput {
            agency: "dai-ptth".into(),
            month: m("2019-03"),
            target: Some("reportage".into()),
            quantity: 1,
            cost_vnd: 5_000_000,
            done: "Phóng sự về DVCTT".into(),
        };
        let own = vec!["dai-ptth".to_owned()];
        assert_eq!(check_report(&task, &ok, &own), Ok(()));
        // The successor of a coordinating agency may report too.
        assert_eq!(
            check_report(&task, &ok, &["so-khcn".into(), "so-tttt".into()]),
            Ok(())
        );
        let other = vec!["so-tp".to_owned()];
        assert_eq!(
            check_report(&task, &ok, &other).unwrap_err().code(),
            "not_your_task"
        );
        let negative = ReportInput {
            quantity: -1,
            ..ok.clone()
        };
        assert_eq!(
            check_report(&task, &negative, &own).unwrap_err().code(),
            "negative_quantity"
        );
        let early = ReportInput {
            month: m("2018-09"),
            ..ok.clone()
        };
        assert_eq!(
            check_report(&task, &early, &own).unwrap_err().code(),
            "outside_period"
        );
        let unknown = ReportInput {
            target: Some("clip".into()),
            ..ok
        };
        assert_eq!(
            check_report(&task, &unknown, &own).unwrap_err().code(),
            "unknown_target"
        );
    }
}

/// Why an agency is reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ReminderKind {
    /// The period closes within the notice and the target is not met yet.
    Closing,
    /// The period closed (recently) without the target met.
    Late,
}

/// A reminder to send about one target of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// The target.
    pub target: String,
    /// Its period.
    pub period: Period,
    /// Why.
    pub kind: ReminderKind,
}

/// Days before a period closes when agencies are reminded, and days after it closed during which
/// a missing report is chased.
pub const REMIND_BEFORE_DAYS: i64 = 5;
/// See [`REMIND_BEFORE_DAYS`].
pub const CHASE_AFTER_DAYS: i64 = 10;

fn last_day(m: Month) -> Option<time::Date> {
    let first_next = m.next();
    let month = time::Month::try_from(first_next.month).ok()?;
    time::Date::from_calendar_date(first_next.year, month, 1)
        .ok()?
        .previous_day()
}

/// The reminders due on `today` for `task`: each target whose current period closes within
/// [`REMIND_BEFORE_DAYS`] unmet, or whose period closed at most [`CHASE_AFTER_DAYS`] ago unmet.
pub fn reminders(
    task: &PlanTask,
    delivered: &[(String, Month, i64)],
    today: time::Date,
) -> Vec<Reminder> {
    let now = Month::of(today);
    let mut out = Vec::new();
    for t in &task.targets {
        let from = t.from.unwrap_or(task.start);
        let until = t.until.or(task.end);
        let reach = now.next();
        for p in periods(from, until, t.per, reach) {
            let Some(close) = last_day(p.end) else {
                continue;
            };
            let days = (close - today).whole_days();
            let kind = if (0..=REMIND_BEFORE_DAYS).contains(&days) {
                ReminderKind::Closing
            } else if (-CHASE_AFTER_DAYS..0).contains(&days) {
                ReminderKind::Late
            } else {
                continue;
            };
            let got: i64 = delivered
                .iter()
                .filter(|(k, m, _)| *k == t.key && p.contains(*m))
                .map(|(_, _, q)| q)
                .sum();
            if got < i64::from(t.quantity) {
                out.push(Reminder {
                    target: t.key.clone(),
                    period: p,
                    kind,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod reminder_tests {
    use super::super::{Funding, Target};
    use super::*;
    use time::macros::date;

    fn monthly() -> PlanTask {
        PlanTask {
            code: "2.1".into(),
            title: String::new(),
            lead_agencies: vec!["dai-ptth".into()],
            lead_text: String::new(),
            coordinating_agencies: vec![],
            coordinating_text: String::new(),
            start: "2019-01".parse().expect("m"),
            end: None,
            period_text: String::new(),
            recurrence: Recurrence::Monthly,
            targets: vec![Target {
                key: "reportage".into(),
                quantity: 1,
                unit: "phóng sự".into(),
                spec: String::new(),
                per: Recurrence::Monthly,
                from: None,
                until: None,
            }],
            products: String::new(),
            channels: vec![],
            funding: Funding::Province,
        }
    }

    #[test]
    fn agencies_are_reminded_before_a_period_closes_and_chased_after() {
        let task = monthly();
        let march = "2019-03".parse().expect("m");
        // 27 March: March closes in 4 days, nothing reported yet.
        let r = reminders(&task, &[], date!(2019 - 03 - 27));
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].kind, r[0].period.start),
            (ReminderKind::Closing, march)
        );
        // Reported: no reminder.
        let done = vec![("reportage".to_owned(), march, 1)];
        assert!(reminders(&task, &done, date!(2019 - 03 - 27)).is_empty());
        // 5 April, March unmet: chased as late; mid-month nothing is due.
        let late = reminders(&task, &[], date!(2019 - 04 - 05));
        assert_eq!(
            (late[0].kind, late[0].period.start),
            (ReminderKind::Late, march)
        );
        assert!(reminders(&task, &[], date!(2019 - 04 - 15)).is_empty());
    }
}
