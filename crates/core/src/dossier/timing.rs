//! The time rules of processing, on top of the working calendar: the window for a supplement
//! request (03 working days after reception, Decree 61/2018 Art. 19(4)), the window for an
//! apology with a new appointment (at least 01 working day before the due moment, Art. 19(9)),
//! and the due moment of each workflow step from its share of the processing time.

use crate::calendar::deadline::{WorkCalendar, VIETNAM};
use time::{Duration, OffsetDateTime};

/// Working days after reception during which supplements may still be requested.
pub const SUPPLEMENT_WINDOW_WORKING_DAYS: u32 = 3;

/// Whether a supplement may still be requested at `now` for a dossier received at `received`:
/// until the close of the third working day after the day of reception.
pub fn supplement_window_open(
    calendar: &WorkCalendar<'_>,
    received: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    let day = received.to_offset(VIETNAM).date();
    let last = calendar.add_working_days(day, SUPPLEMENT_WINDOW_WORKING_DAYS);
    let end = last
        .with_time(calendar.hours.closing())
        .assume_offset(VIETNAM);
    now <= end
}

/// Whether an apology with a new appointment may still be sent at `now` for a dossier due at
/// `due`: at least one full working day of office time must remain.
pub fn apology_window_open(
    calendar: &WorkCalendar<'_>,
    due: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    now < due && calendar.working_minutes_between(now, due) >= calendar.hours.minutes_per_day()
}

/// When a step that starts at `start` is due, given the step's share of the working minutes
/// between the start of counting (`received`) and the dossier's due moment.
pub fn step_due(
    calendar: &WorkCalendar<'_>,
    received: OffsetDateTime,
    due: OffsetDateTime,
    share_percent: u8,
    start: OffsetDateTime,
) -> OffsetDateTime {
    let total = calendar.working_minutes_between(received, due).max(0);
    let minutes = total * i64::from(share_percent) / 100;
    let at = calendar.add_working_minutes(start, minutes);
    // A step never ends after the dossier itself is due.
    if at > due && start <= due {
        due
    } else {
        at
    }
}

/// A new appointment must be later than the current due moment, and not absurdly far.
pub fn valid_new_appointment(due: OffsetDateTime, new_due: OffsetDateTime) -> bool {
    new_due > due && new_due - due <= Duration::days(366)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::deadline::OfficeHours;
    use crate::calendar::holidays::HolidayCalendar;
    use proptest::prelude::*;
    use std::sync::LazyLock;
    use time::macros::datetime;

    static HOLIDAYS: LazyLock<HolidayCalendar> = LazyLock::new(HolidayCalendar::vietnam);
    static HOURS: LazyLock<OfficeHours> = LazyLock::new(OfficeHours::default);

    fn cal() -> WorkCalendar<'static> {
        WorkCalendar {
            holidays: &HOLIDAYS,
            hours: &HOURS,
        }
    }

    #[test]
    fn supplement_window_is_three_working_days_after_reception() {
        // Received Thursday 5 November 2026: Friday, Monday, Tuesday are the three days.
        let received = datetime!(2026-11-05 09:00 +7);
        assert!(supplement_window_open(
            &cal(),
            received,
            datetime!(2026-11-10 16:59 +7)
        ));
        assert!(!supplement_window_open(
            &cal(),
            received,
            datetime!(2026-11-11 08:00 +7)
        ));
    }

    #[test]
    fn apology_needs_a_working_day_left() {
        let due = datetime!(2026-11-10 17:00 +7);
        assert!(apology_window_open(
            &cal(),
            due,
            datetime!(2026-11-09 08:00 +7)
        ));
        assert!(!apology_window_open(
            &cal(),
            due,
            datetime!(2026-11-10 08:00 +7)
        ));
        // The weekend is no working time: Friday's close before a Monday 12:00 due is too late.
        let monday = datetime!(2026-11-16 12:00 +7);
        assert!(!apology_window_open(
            &cal(),
            monday,
            datetime!(2026-11-13 17:00 +7)
        ));
        assert!(apology_window_open(
            &cal(),
            monday,
            datetime!(2026-11-13 08:00 +7)
        ));
        assert!(!apology_window_open(
            &cal(),
            due,
            datetime!(2026-11-11 08:00 +7)
        ));
    }

    proptest! {
        /// Step due moments grow with the share and never pass the dossier's due moment.
        #[test]
        fn step_due_is_monotone_and_bounded(days in 1u32..40, a in 1u8..100, b in 1u8..100, hour in 7u8..17) {
            let received = datetime!(2026-03-02 00:00 +7).replace_hour(hour).unwrap();
            let due = cal().due(received, crate::calendar::deadline::TimeLimit::working_days(days), None);
            let (lo, hi) = (a.min(b), a.max(b));
            let d_lo = step_due(&cal(), received, due, lo, received);
            let d_hi = step_due(&cal(), received, due, hi, received);
            prop_assert!(d_lo <= d_hi);
            prop_assert!(d_hi <= due);
            prop_assert_eq!(step_due(&cal(), received, due, 100, received), due.min(cal().add_working_minutes(received, cal().working_minutes_between(received, due))));
        }
    }

    #[test]
    fn a_new_appointment_is_later() {
        let due = datetime!(2026-11-10 17:00 +7);
        assert!(valid_new_appointment(due, due + Duration::days(3)));
        assert!(!valid_new_appointment(due, due));
        assert!(!valid_new_appointment(due, due + Duration::days(400)));
    }
}
