//! Dates, moments, lunar dates and processing times as typed on the command line and in
//! procedure files, then a due moment computed from them: it never comes before the reception.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::calendar::deadline::{OfficeHours, TimeLimit, WorkCalendar};
use motcua_core::calendar::holidays::HolidayCalendar;
use motcua_core::calendar::input::{parse_date, parse_lunar, parse_moment};
use motcua_core::calendar::lunar;
use std::sync::OnceLock;

fn holidays() -> &'static HolidayCalendar {
    static CAL: OnceLock<HolidayCalendar> = OnceLock::new();
    CAL.get_or_init(HolidayCalendar::vietnam)
}

fuzz_target!(|input: (String, String, bool)| {
    let (moment, duration, cutoff) = input;
    if let Some(l) = parse_lunar(&moment) {
        if let Ok(d) = lunar::to_solar(l) {
            let _ = lunar::to_lunar(d);
        }
    }
    if let Some(d) = parse_date(&moment) {
        let _ = lunar::to_lunar(d);
    }
    let (Some(received), Ok(limit)) = (parse_moment(&moment), duration.parse::<TimeLimit>()) else {
        return;
    };
    // The holiday rules are known for these years; outside them the calendar refuses to guess.
    if !(2013..=2150).contains(&received.year()) || limit.validate().is_err() {
        return;
    }
    let hours = OfficeHours::default();
    let work = WorkCalendar {
        holidays: holidays(),
        hours: &hours,
    };
    let cutoff = cutoff.then(|| time::Time::from_hms(15, 0, 0).unwrap_or(time::Time::MIDNIGHT));
    let due = work.due(received, limit, cutoff);
    assert!(due >= received, "{received} + {limit:?} = {due}");
});
