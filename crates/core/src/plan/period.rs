//! Months, recurrence and the reporting periods a task expands into.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
}

/// A month that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a month: write YYYY-MM, e.g. 2018-11")]
pub struct MonthError(pub String);

impl Month {
    /// A month; `None` unless 1 ≤ month ≤ 12.
    pub fn new(year: i32, month: u8) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Months from `self` to `other` (0 when equal).
    pub fn months_until(self, other: Month) -> i64 {
        i64::from(other.year - self.year) * 12 + i64::from(other.month) - i64::from(self.month)
    }

    /// The quarter, 1–4.
    pub fn quarter(self) -> u8 {
        (self.month - 1) / 3 + 1
    }

    /// The month of a date.
    pub fn of(date: time::Date) -> Month {
        Month {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(s.to_owned());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

impl TryFrom<String> for Month {
    type Error = MonthError;
    fn try_from(s: String) -> Result<Month, MonthError> {
        s.parse()
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// How often a task's work or a target is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Once within the period.
    Once,
    /// Every month.
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Every year.
    Yearly,
    /// Ongoing, with no quantity per period; reported monthly.
    Continuous,
}

impl Recurrence {
    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Recurrence::Once => "Một lần",
            Recurrence::Monthly => "Hằng tháng",
            Recurrence::Quarterly => "Hằng quý",
            Recurrence::Yearly => "Hằng năm",
            Recurrence::Continuous => "Thường xuyên",
        }
    }
}

/// A reporting period: whole months, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    /// First month.
    pub start: Month,
    /// Last month.
    pub end: Month,
}

impl Period {
    /// Whether `m` falls in the period.
    pub fn contains(&self, m: Month) -> bool {
        self.start <= m && m <= self.end
    }

    /// How the period is written: "11/2018", "Quý IV/2018", "Năm 2019", "11/2018–12/2020".
    pub fn label_vi(&self) -> String {
        let roman = ["I", "II", "III", "IV"];
        if self.start == self.end {
            format!("{}/{}", self.start.month, self.start.year)
        } else if self.start.year == self.end.year && self.start.month == 1 && self.end.month == 12
        {
            format!("Năm {}", self.start.year)
        } else if self.start.year == self.end.year
            && (self.start.month - 1).is_multiple_of(3)
            && self.end.month == self.start.month + 2
        {
            format!(
                "Quý {}/{}",
                roman[usize::from(self.start.quarter() - 1)],
                self.start.year
            )
        } else {
            format!(
                "{}/{}–{}/{}",
                self.start.month, self.start.year, self.end.month, self.end.year
            )
        }
    }
}

/// The periods of work recurring as `recurrence` from `start` to `end` (open-ended: up to
/// `until`), cut to that range: a quarterly task starting in November has a first period of
/// November–December. `Once` is a single period over the whole range.
pub fn periods(
    start: Month,
    end: Option<Month>,
    recurrence: Recurrence,
    until: Month,
) -> Vec<Period> {
    let last = match end {
        Some(e) => e.min(until),
        None => until,
    };
    if last < start {
        return Vec::new();
    }
    if recurrence == Recurrence::Once {
        return vec![Period {
            start,
            end: end.unwrap_or(last),
        }];
    }
    let closes = |m: Month| match recurrence {
        Recurrence::Monthly | Recurrence::Continuous => true,
        Recurrence::Quarterly => m.month.is_multiple_of(3),
        Recurrence::Yearly => m.month == 12,
        Recurrence::Once => false,
    };
    let mut out = Vec::new();
    let mut open = start;
    let mut m = start;
    loop {
        if closes(m) || m == last {
            out.push(Period {
                start: open,
                end: m,
            });
            open = m.next();
        }
        if m == last {
            break;
        }
        m = m.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Month {
        s.parse().expect("month")
    }

    #[test]
    fn a_monthly_task_from_11_2018_to_12_2020_has_26_periods() {
        let p = periods(
            m("2018-11"),
            Some(m("2020-12")),
            Recurrence::Monthly,
            m("2030-01"),
        );
        assert_eq!(p.len(), 26);
        assert_eq!(p[0].label_vi(), "11/2018");
        assert_eq!(p[25].label_vi(), "12/2020");
    }

    #[test]
    fn quarters_and_years_are_cut_to_the_task() {
        let q = periods(
            m("2018-11"),
            Some(m("2019-12")),
            Recurrence::Quarterly,
            m("2030-01"),
        );
        let labels: Vec<String> = q.iter().map(Period::label_vi).collect();
        assert_eq!(
            labels,
            [
                "11/2018–12/2018",
                "Quý I/2019",
                "Quý II/2019",
                "Quý III/2019",
                "Quý IV/2019"
            ]
        );
        let y = periods(m("2018-10"), None, Recurrence::Yearly, m("2020-03"));
        let labels: Vec<String> = y.iter().map(Period::label_vi).collect();
        assert_eq!(labels, ["Quý IV/2018", "Năm 2019", "Quý I/2020"]);
        let once = periods(
            m("2018-10"),
            Some(m("2019-12")),
            Recurrence::Once,
            m("2019-03"),
        );
        assert_eq!(
            once,
            vec![Period {
                start: m("2018-10"),
                end: m("2019-12")
            }]
        );
        assert!(periods(m("2030-01"), None, Recurrence::Monthly, m("2020-01")).is_empty());
    }

    #[test]
    fn months_read_back_and_bad_ones_are_refused() {
        assert_eq!(m("2018-11").to_string(), "2018-11");
        for bad in ["2018-13", "2018-1", "18-11", "2018/11", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    fn any_month() -> impl Strategy<Value = Month> {
        (2000i32..2040, 1u8..=12).prop_map(|(y, mo)| Month { year: y, month: mo })
    }

    fn any_recurrence() -> impl Strategy<Value = Recurrence> {
        proptest::sample::select(vec![
            Recurrence::Monthly,
            Recurrence::Quarterly,
            Recurrence::Yearly,
            Recurrence::Continuous,
        ])
    }

    proptest! {
        /// Periods tile the range: contiguous, in order, no gap, no overlap, within bounds.
        #[test]
        fn periods_tile_the_range(start in any_month(), len in 0i64..120, r in any_recurrence()) {
            let mut end = start;
            for _ in 0..len { end = end.next(); }
            let p = periods(start, Some(end), r, Month { year: 2100, month: 1 });
            prop_assert_eq!(p.first().map(|x| x.start), Some(start));
            prop_assert_eq!(p.last().map(|x| x.end), Some(end));
            for w in p.windows(2) {
                prop_assert_eq!(w[0].end.next(), w[1].start);
            }
            let months: i64 = p.iter().map(|x| x.start.months_until(x.end) + 1).sum();
            prop_assert_eq!(months, len + 1);
            if r == Recurrence::Monthly {
                prop_assert_eq!(p.len() as i64, len + 1);
            }
        }
    }
}
