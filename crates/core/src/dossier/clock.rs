//! When a dossier's clock starts: at reception of the complete dossier, with the 15:00 cut-off
//! for paper dossiers and same-day procedures (Decree 61/2018 Art. 18(2)), and from zero again
//! when a completed dossier comes back after a supplement request (Art. 19(4)).

use super::Channel;
use crate::calendar::deadline::{Deadline, TimeLimit, TimeUnit};
use time::{OffsetDateTime, Time};

/// The 15:00 cut-off.
pub const CUTOFF: Time = match Time::from_hms(15, 0, 0) {
    Ok(t) => t,
    Err(_) => Time::MIDNIGHT,
};

/// The deadline of a dossier received complete at `received` through `channel`.
pub fn deadline_at_reception(
    limit: TimeLimit,
    channel: Channel,
    received: OffsetDateTime,
) -> Deadline {
    let cutoff = (limit.unit == TimeUnit::SameDay || channel != Channel::Online).then_some(CUTOFF);
    Deadline {
        received,
        limit,
        cutoff,
        pauses: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::deadline::{OfficeHours, WorkCalendar};
    use crate::calendar::holidays::HolidayCalendar;
    use time::macros::datetime;

    #[test]
    fn paper_dossiers_after_three_pm_start_the_next_working_day() {
        let holidays = HolidayCalendar::vietnam();
        let hours = OfficeHours::default();
        let cal = WorkCalendar {
            holidays: &holidays,
            hours: &hours,
        };
        let limit = TimeLimit::working_days(1);
        // Monday 30/11/2026, 15:30 local.
        let at = datetime!(2026-11-30 15:30 +7);
        let paper = deadline_at_reception(limit, Channel::Counter, at).due(&cal);
        let online = deadline_at_reception(limit, Channel::Online, at).due(&cal);
        assert!(paper > online);
        // The clock restarts from zero after a supplement.
        let later = datetime!(2026-12-07 09:00 +7);
        let restarted = deadline_at_reception(limit, Channel::Online, at).restart(later);
        assert_eq!(restarted.received, later);
        assert!(restarted.due(&cal) > online);
    }
}
