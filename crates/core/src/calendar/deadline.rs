//! Deadlines of dossiers in Vietnamese working time.
//!
//! Rules (domain.md §2.6): a period starts when the office can act on a complete dossier — inside a
//! working session, or at the next session when received outside office hours, during the lunch
//! break, or after the 15:00 cut-off where it applies. A period of N working days ends at the close
//! of the N-th working day after that day (Civil Code arts. 147–148: counting starts the next day,
//! and a period never ends on a rest day). Calendar days end likewise at the close of the N-th day,
//! moved to the next working day if that is a rest day. Hours count working time only. Everything
//! is computed in Vietnam's time (UTC+7, no daylight saving) whatever offset the input carries.

use super::holidays::HolidayCalendar;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Vietnam's UTC offset.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The unit of a procedure's processing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Ngày làm việc.
    WorkingDays,
    /// Ngày (calendar days).
    CalendarDays,
    /// Giờ làm việc.
    WorkingHours,
    /// Trong ngày: the result is due by the close of the day counting starts.
    SameDay,
}

/// A processing time (thời hạn giải quyết): a number and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeLimit {
    /// How many units; ignored for [`TimeUnit::SameDay`].
    pub amount: u32,
    /// The unit.
    pub unit: TimeUnit,
}

impl TimeLimit {
    /// N working days.
    pub const fn working_days(n: u32) -> Self {
        TimeLimit {
            amount: n,
            unit: TimeUnit::WorkingDays,
        }
    }
}

/// Why a time limit or office hours are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// Zero days or hours: use "same day" instead.
    #[error("a processing time of 0 is not valid; use \"same day\"")]
    Zero,
    /// Longer than any procedure (over 5 years of working days).
    #[error("a processing time of {0} is longer than the calendar supports")]
    TooLong(u32),
    /// Office hours with no session, an empty session or overlapping sessions.
    #[error(
        "office hours must be one or more non-overlapping sessions, each starting before it ends"
    )]
    BadOfficeHours,
    /// `"5d"` style text that does not parse.
    #[error("'{0}' is not a processing time: use e.g. 5d (working days), 30cd (calendar days), 8h (working hours) or 0d/same-day")]
    BadText(String),
}

impl std::str::FromStr for TimeLimit {
    type Err = DeadlineError;
    /// `5d` working days, `30cd` calendar days, `8h` working hours, `sameday` or `0d` same day.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "sameday" || t == "same-day" || t == "0d" {
            return Ok(TimeLimit {
                amount: 0,
                unit: TimeUnit::SameDay,
            });
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let amount: u32 = n
            .parse()
            .map_err(|_| DeadlineError::BadText(s.to_owned()))?;
        let unit = match unit {
            "d" | "wd" => TimeUnit::WorkingDays,
            "cd" => TimeUnit::CalendarDays,
            "h" | "wh" => TimeUnit::WorkingHours,
            _ => return Err(DeadlineError::BadText(s.to_owned())),
        };
        let limit = TimeLimit { amount, unit };
        limit.validate()?;
        Ok(limit)
    }
}

impl TimeLimit {
    /// Refuses zero and absurd lengths.
    pub fn validate(&self) -> Result<(), DeadlineError> {
        let max = match self.unit {
            TimeUnit::SameDay => return Ok(()),
            TimeUnit::WorkingDays => 1_300,
            TimeUnit::CalendarDays => 1_830,
            TimeUnit::WorkingHours => 10_000,
        };
        match self.amount {
            0 => Err(DeadlineError::Zero),
            n if n > max => Err(DeadlineError::TooLong(n)),
            _ => Ok(()),
        }
    }
}

/// An agency's working sessions in a day, e.g. 07:30–11:30 and 13:30–17:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeHours {
    sessions: Vec<(Time, Time)>,
}

impl OfficeHours {
    /// Checks that sessions are non-empty, ordered and do not overlap.
    pub fn new(mut sessions: Vec<(Time, Time)>) -> Result<Self, DeadlineError> {
        sessions.sort();
        let ok = !sessions.is_empty()
            && sessions.iter().all(|(a, b)| a < b)
            && sessions.windows(2).all(|w| w[0].1 <= w[1].0);
        if ok {
            Ok(OfficeHours { sessions })
        } else {
            Err(DeadlineError::BadOfficeHours)
        }
    }

    /// The sessions, in order.
    pub fn sessions(&self) -> &[(Time, Time)] {
        &self.sessions
    }

    /// When the first session opens.
    pub fn opening(&self) -> Time {
        self.sessions[0].0
    }

    /// When the last session closes: a day-based period ends then.
    pub fn closing(&self) -> Time {
        self.sessions[self.sessions.len() - 1].1
    }

    /// Minutes worked in a full day.
    pub fn minutes_per_day(&self) -> i64 {
        self.sessions
            .iter()
            .map(|(a, b)| (*b - *a).whole_minutes())
            .sum()
    }

    /// Whether `t` is inside a session (ends included).
    pub fn contains(&self, t: Time) -> bool {
        self.sessions.iter().any(|(a, b)| *a <= t && t <= *b)
    }
}

impl Default for OfficeHours {
    /// Monday–Friday 07:30–11:30 and 13:30–17:00.
    fn default() -> Self {
        OfficeHours {
            sessions: vec![
                (
                    Time::from_hms(7, 30, 0).unwrap_or(Time::MIDNIGHT),
                    Time::from_hms(11, 30, 0).unwrap_or(Time::MIDNIGHT),
                ),
                (
                    Time::from_hms(13, 30, 0).unwrap_or(Time::MIDNIGHT),
                    Time::from_hms(17, 0, 0).unwrap_or(Time::MIDNIGHT),
                ),
            ],
        }
    }
}

/// Whether a dossier is on time, due soon or overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Đúng hạn: more than the warning threshold left.
    OnTime,
    /// Sắp đến hạn: within the threshold.
    DueSoon,
    /// Quá hạn.
    Overdue,
}

/// Working days and office hours together: everything needed to count working time.
#[derive(Debug, Clone, Copy)]
pub struct WorkCalendar<'a> {
    /// Days off.
    pub holidays: &'a HolidayCalendar,
    /// Sessions of a working day.
    pub hours: &'a OfficeHours,
}

fn local(t: OffsetDateTime) -> PrimitiveDateTime {
    let l = t.to_offset(VIETNAM);
    PrimitiveDateTime::new(l.date(), l.time())
}

fn at(date: Date, time: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time).assume_offset(VIETNAM)
}

impl WorkCalendar<'_> {
    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.holidays.is_working_day(date)
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        let mut d = date + Duration::days(1);
        while !self.is_working_day(d) {
            d += Duration::days(1);
        }
        d
    }

    /// The `n`-th working day after `date` (n = 0: `date` itself).
    pub fn add_working_days(&self, date: Date, n: u32) -> Date {
        (0..n).fold(date, |d, _| self.next_working_day(d))
    }

    /// When counting starts for a dossier received at `received`: at once inside a session,
    /// otherwise at the next session; after `cutoff` (e.g. 15:00, where the procedure applies it)
    /// at the opening of the next working day.
    pub fn counting_start(&self, received: OffsetDateTime, cutoff: Option<Time>) -> OffsetDateTime {
        let l = local(received);
        let (date, time) = (l.date(), l.time());
        if self.is_working_day(date) && cutoff.is_none_or(|c| time <= c) {
            if let Some((start, _)) = self.hours.sessions.iter().find(|(_, end)| time < *end) {
                return at(date, time.max(*start));
            }
        }
        at(self.next_working_day(date), self.hours.opening())
    }

    /// The due moment (hạn trả kết quả) of a dossier received at `received`.
    pub fn due(
        &self,
        received: OffsetDateTime,
        limit: TimeLimit,
        cutoff: Option<Time>,
    ) -> OffsetDateTime {
        let start = self.counting_start(received, cutoff);
        let day0 = local(start).date();
        let close = self.hours.closing();
        match limit.unit {
            TimeUnit::SameDay => at(day0, close),
            TimeUnit::WorkingDays => at(self.add_working_days(day0, limit.amount), close),
            TimeUnit::CalendarDays => {
                let mut d = day0 + Duration::days(i64::from(limit.amount));
                while !self.is_working_day(d) {
                    d += Duration::days(1);
                }
                at(d, close)
            }
            TimeUnit::WorkingHours => self.add_working_minutes(start, i64::from(limit.amount) * 60),
        }
    }

    /// Moves `from` (inside a session) forward by `minutes` of working time; a result that lands on
    /// a session's end stays there rather than jumping to the next opening.
    pub fn add_working_minutes(&self, from: OffsetDateTime, minutes: i64) -> OffsetDateTime {
        let mut left = minutes;
        let mut now = local(self.counting_start(from, None));
        loop {
            for (start, end) in &self.hours.sessions {
                let t = now.time();
                if t >= *end {
                    continue;
                }
                let begin = t.max(*start);
                let available = (*end - begin).whole_minutes();
                if left <= available {
                    return at(now.date(), begin) + Duration::minutes(left);
                }
                left -= available;
                now = PrimitiveDateTime::new(now.date(), *end);
            }
            now = PrimitiveDateTime::new(self.next_working_day(now.date()), Time::MIDNIGHT);
        }
    }

    /// Working minutes from `a` to `b`; negative when `b` is before `a`.
    pub fn working_minutes_between(&self, a: OffsetDateTime, b: OffsetDateTime) -> i64 {
        if b < a {
            return -self.working_minutes_between(b, a);
        }
        let (a, b) = (local(a), local(b));
        let mut total = 0;
        let mut day = a.date();
        while day <= b.date() {
            if self.is_working_day(day) {
                for (start, end) in &self.hours.sessions {
                    let lo = if day == a.date() {
                        a.time().max(*start)
                    } else {
                        *start
                    };
                    let hi = if day == b.date() {
                        b.time().min(*end)
                    } else {
                        *end
                    };
                    if lo < hi {
                        total += (hi - lo).whole_minutes();
                    }
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// On time, due soon (at most `due_soon_minutes` of working time left) or overdue.
    pub fn status(
        &self,
        now: OffsetDateTime,
        due: OffsetDateTime,
        due_soon_minutes: i64,
    ) -> DeadlineStatus {
        if now > due {
            DeadlineStatus::Overdue
        } else if self.working_minutes_between(now, due) <= due_soon_minutes {
            DeadlineStatus::DueSoon
        } else {
            DeadlineStatus::OnTime
        }
    }

    /// Working days wholly or partly inside a pause from `paused` to `resumed`: the days the
    /// citizen had the dossier. A pause started and ended on one day counts 0.
    pub fn paused_working_days(&self, paused: OffsetDateTime, resumed: OffsetDateTime) -> u32 {
        let (mut d, end) = (local(paused).date(), local(resumed).date());
        let mut n = 0;
        while d < end {
            if self.is_working_day(d) {
                n += 1;
            }
            d += Duration::days(1);
        }
        n
    }

    /// The due moment moved by `k` working days, keeping its time of day.
    pub fn shift_due(&self, due: OffsetDateTime, k: u32) -> OffsetDateTime {
        let l = local(due);
        at(self.add_working_days(l.date(), k), l.time())
    }
}

/// One pause of the clock: waiting for the citizen (e.g. a fee, a clarification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the clock stopped.
    pub from: OffsetDateTime,
    /// When it started again.
    pub until: OffsetDateTime,
}

/// What determines a dossier's due moment; kept with the dossier so the due moment can be
/// recomputed when the calendar changes (an added day off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// When the complete dossier was received; after a supplement request (Mẫu 02) this is the
    /// moment the completed dossier arrived, because the clock restarts from zero.
    pub received: OffsetDateTime,
    /// Processing time.
    pub limit: TimeLimit,
    /// The 15:00 cut-off, where the procedure applies it.
    pub cutoff: Option<Time>,
    /// Pauses since `received`.
    pub pauses: Vec<Pause>,
}

impl Deadline {
    /// The due moment under `calendar`.
    pub fn due(&self, calendar: &WorkCalendar<'_>) -> OffsetDateTime {
        let base = calendar.due(self.received, self.limit, self.cutoff);
        let paused: u32 = self
            .pauses
            .iter()
            .map(|p| calendar.paused_working_days(p.from, p.until))
            .sum();
        calendar.shift_due(base, paused)
    }

    /// After a supplement request: counting restarts from zero when the complete dossier arrives.
    pub fn restart(&self, completed: OffsetDateTime) -> Deadline {
        Deadline {
            received: completed,
            limit: self.limit,
            cutoff: self.cutoff,
            pauses: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::holidays::{IsoDate, RuleOverride, YearSchedule};
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;
    use time::macros::{datetime, time};

    static HOLIDAYS: LazyLock<HolidayCalendar> = LazyLock::new(HolidayCalendar::vietnam);
    static HOURS: LazyLock<OfficeHours> = LazyLock::new(OfficeHours::default);

    fn cal() -> WorkCalendar<'static> {
        WorkCalendar {
            holidays: &HOLIDAYS,
            hours: &HOURS,
        }
    }

    fn vn(t: PrimitiveDateTime) -> OffsetDateTime {
        t.assume_offset(VIETNAM)
    }

    const CUTOFF: Option<Time> = Some(time!(15:00));

    #[test]
    fn five_working_days_skip_tet_2027_and_its_compensatory_days() {
        // Wed 3/2/2027: Tết days 5/2 and 8–9/2, mùng 1–2 on the weekend → 10–11/2 compensatory.
        let due = cal().due(
            vn(datetime!(2027-02-03 09:00)),
            TimeLimit::working_days(5),
            None,
        );
        assert_eq!(due, vn(datetime!(2027-02-17 17:00)));
    }

    #[test]
    fn counting_starts_at_the_next_session_outside_office_hours() {
        let c = cal();
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-27 12:10)), None),
            vn(datetime!(2026-11-27 13:30)),
            "lunch break"
        );
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-28 09:00)), None),
            vn(datetime!(2026-11-30 07:30)),
            "Saturday"
        );
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-27 18:00)), None),
            vn(datetime!(2026-11-30 07:30)),
            "Friday evening"
        );
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-27 06:00)), None),
            vn(datetime!(2026-11-27 07:30)),
            "before opening"
        );
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-26 15:30)), CUTOFF),
            vn(datetime!(2026-11-27 07:30)),
            "after the 15:00 cut-off"
        );
        assert_eq!(
            c.counting_start(vn(datetime!(2026-11-26 15:30)), None),
            vn(datetime!(2026-11-26 15:30)),
            "no cut-off for this procedure"
        );
        // Any offset in, Vietnam's time out: 02:00 UTC is 09:00 in Hà Nội.
        let utc = datetime!(2026-11-26 02:00).assume_utc();
        assert_eq!(c.counting_start(utc, None), vn(datetime!(2026-11-26 09:00)));
    }

    #[test]
    fn same_day_procedures_received_after_15h_are_due_the_next_working_day() {
        let c = cal();
        let limit = TimeLimit {
            amount: 0,
            unit: TimeUnit::SameDay,
        };
        assert_eq!(
            c.due(vn(datetime!(2026-11-26 10:00)), limit, CUTOFF),
            vn(datetime!(2026-11-26 17:00))
        );
        assert_eq!(
            c.due(vn(datetime!(2026-11-27 15:01)), limit, CUTOFF),
            vn(datetime!(2026-11-30 17:00))
        );
    }

    #[test]
    fn hours_count_working_time_only() {
        let c = cal();
        let limit = TimeLimit {
            amount: 8,
            unit: TimeUnit::WorkingHours,
        };
        // Mon 16:00 → 1 h Mon, 4 h Tue morning, 3 h Tue afternoon.
        assert_eq!(
            c.due(vn(datetime!(2026-11-23 16:00)), limit, None),
            vn(datetime!(2026-11-24 16:30))
        );
        // Ends exactly at noon closing: stays at 11:30.
        let four = TimeLimit {
            amount: 4,
            unit: TimeUnit::WorkingHours,
        };
        assert_eq!(
            c.due(vn(datetime!(2026-11-23 07:30)), four, None),
            vn(datetime!(2026-11-23 11:30))
        );
        assert_eq!(
            c.working_minutes_between(
                vn(datetime!(2026-11-23 07:00)),
                vn(datetime!(2026-11-23 18:00))
            ),
            450
        );
    }

    #[test]
    fn calendar_days_ending_on_a_rest_day_move_to_the_next_working_day() {
        let c = cal();
        let limit = TimeLimit {
            amount: 30,
            unit: TimeUnit::CalendarDays,
        };
        // Thu 29/10/2026 + 30 days = Sat 28/11 → Mon 30/11.
        assert_eq!(
            c.due(vn(datetime!(2026-10-29 10:00)), limit, None),
            vn(datetime!(2026-11-30 17:00))
        );
    }

    #[test]
    fn status_follows_the_remaining_working_time() {
        let c = cal();
        let due = vn(datetime!(2026-11-27 17:00));
        let day = HOURS.minutes_per_day();
        assert_eq!(
            c.status(vn(datetime!(2026-11-25 09:00)), due, day),
            DeadlineStatus::OnTime
        );
        assert_eq!(
            c.status(vn(datetime!(2026-11-27 09:00)), due, day),
            DeadlineStatus::DueSoon
        );
        assert_eq!(
            c.status(vn(datetime!(2026-11-27 17:01)), due, day),
            DeadlineStatus::Overdue
        );
        assert_eq!(
            c.working_minutes_between(vn(datetime!(2026-11-30 08:00)), due),
            -30,
            "overdue by half an hour of working time"
        );
    }

    #[test]
    fn a_supplement_request_restarts_the_clock_from_zero() {
        let c = cal();
        let first = Deadline {
            received: vn(datetime!(2026-11-02 09:00)),
            limit: TimeLimit::working_days(10),
            cutoff: None,
            pauses: vec![],
        };
        assert_eq!(first.due(&c), vn(datetime!(2026-11-16 17:00)));
        let again = first.restart(vn(datetime!(2026-11-20 10:00)));
        assert_eq!(again.due(&c), vn(datetime!(2026-12-04 17:00)));
    }

    #[test]
    fn a_day_off_added_later_moves_open_deadlines() {
        let d = Deadline {
            received: vn(datetime!(2027-03-01 09:00)),
            limit: TimeLimit::working_days(5),
            cutoff: None,
            pauses: vec![],
        };
        let before = d.due(&cal());
        let extra = HOLIDAYS
            .with_schedule(YearSchedule {
                year: 2027,
                source: "test".into(),
                overrides: vec![RuleOverride {
                    rule: "new_year".into(),
                    days: vec![IsoDate(time::macros::date!(2027 - 01 - 01))],
                }],
                days_off: vec![super::super::holidays::NamedDay {
                    date: time::macros::date!(2027 - 03 - 03),
                    name: "Nghỉ đột xuất".into(),
                }],
                working_days: vec![],
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let after = d.due(&WorkCalendar {
            holidays: &extra,
            hours: &HOURS,
        });
        assert_eq!(before, vn(datetime!(2027-03-08 17:00)));
        assert_eq!(after, vn(datetime!(2027-03-09 17:00)));
    }

    #[test]
    fn time_limits_parse_from_text() {
        assert_eq!("5d".parse(), Ok(TimeLimit::working_days(5)));
        assert_eq!(
            "30cd".parse(),
            Ok(TimeLimit {
                amount: 30,
                unit: TimeUnit::CalendarDays
            })
        );
        assert_eq!(
            "8h".parse(),
            Ok(TimeLimit {
                amount: 8,
                unit: TimeUnit::WorkingHours
            })
        );
        assert_eq!(
            "sameday".parse(),
            Ok(TimeLimit {
                amount: 0,
                unit: TimeUnit::SameDay
            })
        );
        assert_eq!(
            "-3d".parse::<TimeLimit>(),
            Err(DeadlineError::BadText("-3d".into()))
        );
        assert_eq!("0h".parse::<TimeLimit>(), Err(DeadlineError::Zero));
        assert_eq!(
            "99999d".parse::<TimeLimit>(),
            Err(DeadlineError::TooLong(99_999))
        );
        assert!("5 ngày".parse::<TimeLimit>().is_err());
    }

    #[test]
    fn office_hours_must_be_sane() {
        assert_eq!(OfficeHours::new(vec![]), Err(DeadlineError::BadOfficeHours));
        assert_eq!(
            OfficeHours::new(vec![(time!(11:00), time!(10:00))]),
            Err(DeadlineError::BadOfficeHours)
        );
        assert_eq!(
            OfficeHours::new(vec![
                (time!(8:00), time!(12:00)),
                (time!(11:00), time!(17:00))
            ]),
            Err(DeadlineError::BadOfficeHours)
        );
        assert_eq!(OfficeHours::default().minutes_per_day(), 450);
    }

    fn any_moment() -> impl Strategy<Value = OffsetDateTime> {
        // 2018-01-01 … 2030-12-31, any minute.
        let start = datetime!(2018-01-01 00:00)
            .assume_offset(VIETNAM)
            .unix_timestamp()
            / 60;
        let end = datetime!(2030-12-31 23:59)
            .assume_offset(VIETNAM)
            .unix_timestamp()
            / 60;
        (start..=end).prop_map(|m| {
            OffsetDateTime::from_unix_timestamp(m * 60)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                .to_offset(VIETNAM)
        })
    }

    fn any_limit() -> impl Strategy<Value = TimeLimit> {
        prop_oneof![
            (1u32..60).prop_map(TimeLimit::working_days),
            (1u32..90).prop_map(|n| TimeLimit {
                amount: n,
                unit: TimeUnit::CalendarDays
            }),
            (1u32..80).prop_map(|n| TimeLimit {
                amount: n,
                unit: TimeUnit::WorkingHours
            }),
            Just(TimeLimit {
                amount: 0,
                unit: TimeUnit::SameDay
            }),
        ]
    }

    proptest! {
        #[test]
        fn a_due_moment_is_inside_office_hours_on_a_working_day(t in any_moment(), limit in any_limit(), cut in any::<bool>()) {
            let due = cal().due(t, limit, if cut { CUTOFF } else { None });
            let l = local(due);
            prop_assert!(cal().is_working_day(l.date()), "{due} is not a working day");
            prop_assert!(HOURS.contains(l.time()), "{due} is outside office hours");
            prop_assert!(due > t);
        }

        #[test]
        fn due_is_strictly_increasing_in_the_duration(t in any_moment(), n in 1u32..60, hours in any::<bool>()) {
            let unit = if hours { TimeUnit::WorkingHours } else { TimeUnit::WorkingDays };
            let a = cal().due(t, TimeLimit { amount: n, unit }, None);
            let b = cal().due(t, TimeLimit { amount: n + 1, unit }, None);
            prop_assert!(b > a);
        }

        #[test]
        fn calendar_days_never_decrease(t in any_moment(), n in 1u32..90) {
            // Not strict: N and N+1 days can both end on a weekend and move to the same Monday.
            let a = cal().due(t, TimeLimit { amount: n, unit: TimeUnit::CalendarDays }, None);
            let b = cal().due(t, TimeLimit { amount: n + 1, unit: TimeUnit::CalendarDays }, None);
            prop_assert!(b >= a);
        }

        #[test]
        fn a_pause_of_k_working_days_moves_due_by_exactly_k_working_days(
            t in any_moment(), limit in any_limit(), k in 0u32..15, offset in 0u32..5, at_hour in 8u8..17,
        ) {
            let c = cal();
            let mut d = Deadline { received: t, limit, cutoff: None, pauses: vec![] };
            let due = d.due(&c);
            let start = c.add_working_days(local(c.counting_start(t, None)).date(), offset);
            let until = c.add_working_days(start, k);
            let hour = Time::from_hms(at_hour, 0, 0).unwrap_or(Time::MIDNIGHT);
            let pause = Pause { from: at(start, hour), until: at(until, hour) };
            prop_assert_eq!(c.paused_working_days(pause.from, pause.until), k);
            d.pauses.push(pause);
            let moved = d.due(&c);
            let (from, to) = (local(due).date(), local(moved).date());
            prop_assert_eq!(c.add_working_days(from, k), to);
            prop_assert_eq!(local(moved).time(), local(due).time());
        }

        #[test]
        fn remaining_time_plus_elapsed_time_is_the_whole_period(t in any_moment(), n in 1u32..40) {
            let c = cal();
            let start = c.counting_start(t, None);
            let due = c.due(t, TimeLimit { amount: n, unit: TimeUnit::WorkingHours }, None);
            prop_assert_eq!(c.working_minutes_between(start, due), i64::from(n) * 60);
        }
    }
}
