//! Public holidays as data: statutory rules with the period each is in force, plus each year's
//! official schedule (exact Tết days, the adjacent National Day, day swaps, make-up Saturdays).
//! A new holiday — 24 November is proposed — is one more rule, not a code change.

use super::lunar;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use time::{Date, Duration, Month, Weekday};

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

mod opt_iso_date {
    use time::Date;

    pub fn serialize<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::iso_date::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap(#[serde(with = "super::iso_date")] Date);
        Ok(<Option<Wrap> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
    }
}

/// Where a holiday falls in a given year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleDate {
    /// A fixed Gregorian date.
    Solar {
        /// 1–12.
        month: u8,
        /// 1–31.
        day: u8,
    },
    /// A fixed lunar date (e.g. Giỗ Tổ Hùng Vương, 10/3).
    Lunar {
        /// 1–12.
        month: u8,
        /// 1–30.
        day: u8,
    },
    /// Lunar New Year: starts `days_before` days before mùng 1.
    LunarNewYear {
        /// Days of the old year included.
        days_before: u8,
    },
}

/// A statutory holiday rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayRule {
    /// Stable identifier; a yearly schedule overrides a rule by this id.
    pub id: String,
    /// Vietnamese name.
    pub name: String,
    /// First day.
    pub date: RuleDate,
    /// Consecutive days from the first.
    pub days: u8,
    /// First day the rule is in force.
    #[serde(with = "iso_date")]
    pub effective_from: Date,
    /// Last day the rule is in force, for rules since replaced.
    #[serde(
        default,
        with = "opt_iso_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub effective_until: Option<Date>,
}

/// The exact days of one holiday in one year, as the yearly notice fixes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOverride {
    /// The rule's id.
    pub rule: String,
    /// Its days this year.
    pub days: Vec<IsoDate>,
}

/// A date in `YYYY-MM-DD` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IsoDate(#[serde(with = "iso_date")] pub Date);

/// A dated entry of a yearly schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDay {
    /// The day.
    #[serde(with = "iso_date")]
    pub date: Date,
    /// Why.
    pub name: String,
}

/// The official schedule of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearSchedule {
    /// Gregorian year.
    pub year: i32,
    /// The notice it comes from.
    pub source: String,
    /// Holidays whose days the notice fixes.
    #[serde(default)]
    pub overrides: Vec<RuleOverride>,
    /// Extra days off (the day-off side of a swap).
    #[serde(default)]
    pub days_off: Vec<NamedDay>,
    /// Saturdays or Sundays that become working days (the make-up side of a swap).
    #[serde(default)]
    pub working_days: Vec<NamedDay>,
}

/// Why a day is not worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOffKind {
    /// A statutory holiday.
    Holiday,
    /// The next working day, given for a holiday that fell on a weekend.
    Compensatory,
    /// A weekday given off in exchange for a make-up Saturday.
    Swapped,
}

/// One day off in a year's list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DayOff {
    /// The day.
    pub date: Date,
    /// What kind.
    pub kind: DayOffKind,
    /// Vietnamese name.
    pub name: String,
}

/// A problem in holiday data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidayDataError {
    /// The JSON does not parse.
    #[error("holiday data: {0}")]
    Parse(String),
    /// A schedule names a rule that does not exist.
    #[error("schedule {year}: override of unknown rule '{rule}'")]
    UnknownRule {
        /// Schedule year.
        year: i32,
        /// The id.
        rule: String,
    },
    /// A schedule lists a day of another year.
    #[error("schedule {year}: {date} is not in {year}")]
    WrongYear {
        /// Schedule year.
        year: i32,
        /// The day.
        date: Date,
    },
    /// A make-up working day is already a weekday.
    #[error("schedule {year}: make-up working day {date} is not a Saturday or Sunday")]
    NotAWeekend {
        /// Schedule year.
        year: i32,
        /// The day.
        date: Date,
    },
    /// Two schedules for one year.
    #[error("two schedules for {0}")]
    DuplicateYear(i32),
}

#[derive(Deserialize)]
struct HolidayData {
    rules: Vec<HolidayRule>,
    #[serde(default)]
    schedules: Vec<YearSchedule>,
}

/// The first and last year the calendar caches (the lunar range).
const FIRST_YEAR: i32 = 1900;
const YEAR_COUNT: usize = 300;

/// One year's days off and make-up days as bit sets indexed by ordinal day.
#[derive(Debug, Default)]
struct YearDays {
    off: [u64; 6],
    makeup: [u64; 6],
    list: Vec<DayOff>,
}

impl YearDays {
    fn bit(set: &[u64; 6], d: Date) -> bool {
        let i = usize::from(d.ordinal() - 1);
        set[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(set: &mut [u64; 6], d: Date) {
        let i = usize::from(d.ordinal() - 1);
        set[i / 64] |= 1 << (i % 64);
    }
}

/// Holiday rules and yearly schedules, with each year's days computed once and cached.
#[derive(Debug)]
pub struct HolidayCalendar {
    rules: Vec<HolidayRule>,
    schedules: BTreeMap<i32, YearSchedule>,
    years: Vec<OnceLock<YearDays>>,
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl HolidayCalendar {
    /// Builds a calendar, checking every schedule against the rules.
    pub fn new(
        rules: Vec<HolidayRule>,
        schedules: Vec<YearSchedule>,
    ) -> Result<Self, HolidayDataError> {
        let mut by_year = BTreeMap::new();
        for s in schedules {
            for o in &s.overrides {
                if !rules.iter().any(|r| r.id == o.rule) {
                    return Err(HolidayDataError::UnknownRule {
                        year: s.year,
                        rule: o.rule.clone(),
                    });
                }
            }
            let dates = s
                .overrides
                .iter()
                .flat_map(|o| o.days.iter().map(|d| d.0))
                .chain(s.days_off.iter().map(|d| d.date))
                .chain(s.working_days.iter().map(|d| d.date));
            for date in dates {
                if date.year() != s.year {
                    return Err(HolidayDataError::WrongYear { year: s.year, date });
                }
            }
            if let Some(d) = s.working_days.iter().find(|d| !is_weekend(d.date)) {
                return Err(HolidayDataError::NotAWeekend {
                    year: s.year,
                    date: d.date,
                });
            }
            let year = s.year;
            if by_year.insert(year, s).is_some() {
                return Err(HolidayDataError::DuplicateYear(year));
            }
        }
        Ok(HolidayCalendar {
            rules,
            schedules: by_year,
            years: (0..YEAR_COUNT).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Parses rules and schedules from the JSON format of `data/holidays.json`.
    pub fn from_json(json: &str) -> Result<Self, HolidayDataError> {
        let data: HolidayData =
            serde_json::from_str(json).map_err(|e| HolidayDataError::Parse(e.to_string()))?;
        Self::new(data.rules, data.schedules)
    }

    /// Vietnam's statutory rules and the official 2025 and 2026 schedules, as shipped.
    pub fn vietnam() -> Self {
        // The shipped file is checked by a test; failing here would be a build defect.
        Self::from_json(include_str!("../../data/holidays.json")).unwrap_or_else(|_| {
            Self::new(Vec::new(), Vec::new()).unwrap_or_else(|_| unreachable!())
        })
    }

    /// The rules.
    pub fn rules(&self) -> &[HolidayRule] {
        &self.rules
    }

    /// The official schedule of `year`, if one was entered.
    pub fn schedule(&self, year: i32) -> Option<&YearSchedule> {
        self.schedules.get(&year)
    }

    /// A copy with one more (or a replaced) yearly schedule.
    pub fn with_schedule(&self, schedule: YearSchedule) -> Result<Self, HolidayDataError> {
        let mut schedules: Vec<YearSchedule> = self
            .schedules
            .values()
            .filter(|s| s.year != schedule.year)
            .cloned()
            .collect();
        schedules.push(schedule);
        Self::new(self.rules.clone(), schedules)
    }

    fn year(&self, year: i32) -> Option<&YearDays> {
        let i = usize::try_from(year - FIRST_YEAR)
            .ok()
            .filter(|&i| i < YEAR_COUNT)?;
        Some(self.years[i].get_or_init(|| self.compute(year)))
    }

    fn rule_days(rule: &HolidayRule, year: i32) -> Vec<Date> {
        let first = match rule.date {
            RuleDate::Solar { month, day } => Month::try_from(month)
                .ok()
                .and_then(|m| Date::from_calendar_date(year, m, day).ok()),
            RuleDate::Lunar { month, day } => lunar::to_solar(lunar::LunarDate {
                year,
                month,
                day,
                leap: false,
            })
            .ok(),
            RuleDate::LunarNewYear { days_before } => lunar::tet(year)
                .ok()
                .map(|t| t - Duration::days(i64::from(days_before))),
        };
        let Some(first) = first else {
            return Vec::new();
        };
        let in_force =
            |d: &Date| *d >= rule.effective_from && rule.effective_until.is_none_or(|u| *d <= u);
        (0..i64::from(rule.days))
            .map(|i| first + Duration::days(i))
            .filter(in_force)
            .collect()
    }

    /// The statutory holidays of `year`: computed from the rules in force, except those whose
    /// days the year's notice fixes.
    fn holidays_of(&self, year: i32) -> Vec<(Date, String)> {
        let schedule = self.schedules.get(&year);
        let overridden =
            |id: &str| schedule.is_some_and(|s| s.overrides.iter().any(|o| o.rule == id));
        let mut out: Vec<(Date, String)> = self
            .rules
            .iter()
            .filter(|r| !overridden(&r.id))
            .flat_map(|r| {
                Self::rule_days(r, year)
                    .into_iter()
                    .map(|d| (d, r.name.clone()))
            })
            .collect();
        for o in schedule.map(|s| s.overrides.as_slice()).unwrap_or_default() {
            let name = self
                .rules
                .iter()
                .find(|r| r.id == o.rule)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            out.extend(o.days.iter().map(|d| (d.0, name.clone())));
        }
        out.retain(|(d, _)| d.year() == year);
        out.sort();
        out.dedup_by_key(|(d, _)| *d);
        out
    }

    /// Labour Code art. 111(3): a holiday on a weekend is rested on the next working day; several
    /// in a row take consecutive days. The result may reach into January of the next year.
    fn compensations(&self, year: i32, holidays: &[(Date, String)]) -> Vec<DayOff> {
        let taken: BTreeSet<Date> = holidays.iter().map(|(d, _)| *d).collect();
        let makeup: BTreeSet<Date> = self
            .schedules
            .get(&year)
            .map(|s| s.working_days.iter().map(|d| d.date).collect())
            .unwrap_or_default();
        let mut given: BTreeSet<Date> = BTreeSet::new();
        let mut out = Vec::new();
        for (date, name) in holidays.iter().filter(|(d, _)| is_weekend(*d)) {
            let mut next = *date + Duration::days(1);
            while is_weekend(next)
                || taken.contains(&next)
                || given.contains(&next)
                || makeup.contains(&next)
            {
                next += Duration::days(1);
            }
            given.insert(next);
            out.push(DayOff {
                date: next,
                kind: DayOffKind::Compensatory,
                name: format!("Nghỉ bù {name}"),
            });
        }
        out
    }

    fn compute(&self, year: i32) -> YearDays {
        let holidays = self.holidays_of(year);
        let mut list: Vec<DayOff> = holidays
            .iter()
            .map(|(date, name)| DayOff {
                date: *date,
                kind: DayOffKind::Holiday,
                name: name.clone(),
            })
            .collect();
        list.extend(self.compensations(year, &holidays));
        if year > FIRST_YEAR {
            let before = self.holidays_of(year - 1);
            list.extend(self.compensations(year - 1, &before));
        }
        let mut days = YearDays::default();
        if let Some(s) = self.schedules.get(&year) {
            list.extend(s.days_off.iter().map(|d| DayOff {
                date: d.date,
                kind: DayOffKind::Swapped,
                name: d.name.clone(),
            }));
            for d in &s.working_days {
                YearDays::set(&mut days.makeup, d.date);
            }
        }
        list.retain(|d| d.date.year() == year);
        list.sort();
        for d in &list {
            YearDays::set(&mut days.off, d.date);
        }
        days.list = list;
        days
    }

    /// Every day off of `year` (holidays, compensatory and swapped days; not ordinary weekends),
    /// in date order.
    pub fn days_off(&self, year: i32) -> &[DayOff] {
        self.year(year).map_or(&[], |y| y.list.as_slice())
    }

    /// Whether civil servants work on `date`: Monday–Friday except days off, plus make-up days.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.year(date.year()) {
            Some(y) if YearDays::bit(&y.makeup, date) => true,
            Some(y) => !is_weekend(date) && !YearDays::bit(&y.off, date),
            None => !is_weekend(date),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn off(cal: &HolidayCalendar, year: i32) -> Vec<(Date, DayOffKind)> {
        cal.days_off(year)
            .iter()
            .map(|d| (d.date, d.kind))
            .collect()
    }

    fn not_working(cal: &HolidayCalendar, from: Date, to: Date) -> Vec<Date> {
        let mut out = Vec::new();
        let mut d = from;
        while d <= to {
            if !cal.is_working_day(d) {
                out.push(d);
            }
            d += Duration::days(1);
        }
        out
    }

    fn range(from: Date, to: Date) -> Vec<Date> {
        let mut out = Vec::new();
        let mut d = from;
        while d <= to {
            out.push(d);
            d += Duration::days(1);
        }
        out
    }

    #[test]
    fn the_shipped_data_parses() {
        let json = include_str!("../../data/holidays.json");
        assert!(HolidayCalendar::from_json(json).is_ok());
        assert_eq!(HolidayCalendar::vietnam().rules().len(), 7);
    }

    #[test]
    fn official_2025_schedule_matches_the_notice() {
        let cal = HolidayCalendar::vietnam();
        // Tết: 25/01 (Sat) to 02/02 (Sun), 9 days in a row.
        assert_eq!(
            not_working(&cal, date!(2025 - 01 - 20), date!(2025 - 02 - 07)),
            range(date!(2025 - 01 - 25), date!(2025 - 02 - 02))
        );
        // 30/4–4/5 off, Sat 26/4 worked.
        assert!(cal.is_working_day(date!(2025 - 04 - 26)));
        assert_eq!(
            not_working(&cal, date!(2025 - 04 - 26), date!(2025 - 05 - 06)),
            range(date!(2025 - 04 - 27), date!(2025 - 04 - 27))
                .into_iter()
                .chain(range(date!(2025 - 04 - 30), date!(2025 - 05 - 04)))
                .collect::<Vec<_>>()
        );
        // Quốc khánh: 30/08–02/09.
        assert_eq!(
            not_working(&cal, date!(2025 - 08 - 29), date!(2025 - 09 - 05)),
            range(date!(2025 - 08 - 30), date!(2025 - 09 - 02))
        );
        // Giỗ Tổ Mon 07/04, computed.
        assert!(!cal.is_working_day(date!(2025 - 04 - 07)));
    }

    #[test]
    fn official_2026_schedule_matches_the_notice() {
        let cal = HolidayCalendar::vietnam();
        assert_eq!(
            not_working(&cal, date!(2026 - 02 - 10), date!(2026 - 02 - 25)),
            range(date!(2026 - 02 - 14), date!(2026 - 02 - 22))
        );
        // Giỗ Tổ on Sunday 26/04 → Monday 27/04 off.
        assert_eq!(
            not_working(&cal, date!(2026 - 04 - 24), date!(2026 - 04 - 28)),
            range(date!(2026 - 04 - 25), date!(2026 - 04 - 27))
        );
        // 22/08 (Sat) worked, 29/08–02/09 off.
        assert!(cal.is_working_day(date!(2026 - 08 - 22)));
        assert_eq!(
            not_working(&cal, date!(2026 - 08 - 28), date!(2026 - 09 - 04)),
            range(date!(2026 - 08 - 29), date!(2026 - 09 - 02))
        );
        let statutory = cal
            .days_off(2026)
            .iter()
            .filter(|d| d.kind == DayOffKind::Holiday)
            .count();
        assert_eq!(statutory, 11, "11 statutory days in 2026");
    }

    #[test]
    fn weekend_holidays_are_compensated_on_consecutive_working_days() {
        let cal = HolidayCalendar::vietnam();
        // 2022: 30/4 Sat and 1/5 Sun → Mon 2/5 and Tue 3/5.
        let days = off(&cal, 2022);
        assert!(days.contains(&(date!(2022 - 05 - 02), DayOffKind::Compensatory)));
        assert!(days.contains(&(date!(2022 - 05 - 03), DayOffKind::Compensatory)));
        // 2022: 1/1 Sat → Mon 3/1.
        assert!(days.contains(&(date!(2022 - 01 - 03), DayOffKind::Compensatory)));
        // 2023: 2/9 Sat (with 1/9 Fri) → Mon 4/9.
        assert!(!cal.is_working_day(date!(2023 - 09 - 04)));
        // 2028: 1/1 Sat → Mon 3/1; 30/4 Sun → Tue 2/5 (Mon 1/5 is a holiday).
        assert!(!cal.is_working_day(date!(2028 - 01 - 03)));
        assert!(!cal.is_working_day(date!(2028 - 05 - 02)));
        assert!(cal.is_working_day(date!(2028 - 05 - 03)));
    }

    #[test]
    fn rules_follow_their_effective_dates() {
        let cal = HolidayCalendar::vietnam();
        // Before 2021 National Day was one day: 1/9/2020 (Tue) was worked.
        assert!(cal.is_working_day(date!(2020 - 09 - 01)));
        assert!(!cal.is_working_day(date!(2020 - 09 - 02)));
        // 2018: 2/9 Sunday → Monday 3/9 off.
        assert!(!cal.is_working_day(date!(2018 - 09 - 03)));
    }

    #[test]
    fn a_new_holiday_is_a_data_change() {
        let mut rules = HolidayCalendar::vietnam().rules().to_vec();
        rules.push(HolidayRule {
            id: "culture_day".into(),
            name: "Ngày Văn hóa Việt Nam".into(),
            date: RuleDate::Solar { month: 11, day: 24 },
            days: 1,
            effective_from: date!(2027 - 01 - 01),
            effective_until: None,
        });
        let cal = HolidayCalendar::new(rules, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            cal.is_working_day(date!(2026 - 11 - 24)),
            "not yet in force in 2026"
        );
        assert!(!cal.is_working_day(date!(2027 - 11 - 24)));
        // 24/11/2029 is a Saturday → Monday 26/11 off.
        assert!(!cal.is_working_day(date!(2029 - 11 - 26)));
    }

    #[test]
    fn bad_schedules_are_refused() {
        let base = HolidayCalendar::vietnam();
        let schedule = |overrides, working_days| YearSchedule {
            year: 2027,
            source: "test".into(),
            overrides,
            days_off: vec![],
            working_days,
        };
        assert_eq!(
            base.with_schedule(schedule(
                vec![RuleOverride {
                    rule: "nope".into(),
                    days: vec![]
                }],
                vec![]
            ))
            .err(),
            Some(HolidayDataError::UnknownRule {
                year: 2027,
                rule: "nope".into()
            })
        );
        assert!(matches!(
            base.with_schedule(schedule(
                vec![RuleOverride {
                    rule: "tet".into(),
                    days: vec![IsoDate(date!(2026 - 02 - 16))]
                }],
                vec![]
            )),
            Err(HolidayDataError::WrongYear { .. })
        ));
        assert!(matches!(
            base.with_schedule(schedule(
                vec![],
                vec![NamedDay {
                    date: date!(2027 - 03 - 03),
                    name: "x".into()
                }]
            )),
            Err(HolidayDataError::NotAWeekend { .. })
        ));
    }

    #[test]
    fn a_schedule_entered_later_replaces_the_computed_days() {
        let cal = HolidayCalendar::vietnam();
        // Default Tết 2027 rule: 29 Chạp (Fri 5/2) + mùng 1–4; mùng 1–2 fall on the weekend.
        assert!(!cal.is_working_day(date!(2027 - 02 - 05)));
        assert!(!cal.is_working_day(date!(2027 - 02 - 11)));
        let notice = YearSchedule {
            year: 2027,
            source: "test notice".into(),
            overrides: vec![RuleOverride {
                rule: "tet".into(),
                days: [4, 5, 8, 9, 10]
                    .iter()
                    .map(|d| IsoDate(date!(2027 - 02 - 01) + Duration::days(d - 1)))
                    .collect(),
            }],
            days_off: vec![],
            working_days: vec![],
        };
        let cal = cal.with_schedule(notice).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cal.is_working_day(date!(2027 - 02 - 04)));
        assert!(cal.is_working_day(date!(2027 - 02 - 11)));
    }
}
