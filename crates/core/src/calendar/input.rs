//! Moments and dates as people type them on the command line and in forms.

use super::deadline::VIETNAM;
use super::lunar::LunarDate;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// `YYYY-MM-DDTHH:MM` with an offset (`+07:00`), without one (Vietnam time), or a bare
/// `YYYY-MM-DD` (07:30 that day, when offices open).
pub fn parse_moment(text: &str) -> Option<OffsetDateTime> {
    let with_offset = format_description!(
        "[year]-[month]-[day]T[hour]:[minute][offset_hour sign:mandatory]:[offset_minute]"
    );
    let local = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let day = format_description!("[year]-[month]-[day]");
    let opening = Time::from_hms(7, 30, 0).unwrap_or(Time::MIDNIGHT);
    OffsetDateTime::parse(text, with_offset)
        .or_else(|_| PrimitiveDateTime::parse(text, local).map(|t| t.assume_offset(VIETNAM)))
        .or_else(|_| Date::parse(text, day).map(|d| d.with_time(opening).assume_offset(VIETNAM)))
        .ok()
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// A lunar date as `D/M/YYYY`, with `L` after it for a leap month (`1/6/2025L`).
pub fn parse_lunar(text: &str) -> Option<LunarDate> {
    let t = text.trim();
    let (t, leap) = match t.strip_suffix(['L', 'l']) {
        Some(rest) => (rest, true),
        None => (t, false),
    };
    let mut parts = t.split('/');
    let day = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let year = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(LunarDate {
        year,
        month,
        day,
        leap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_read_in_vietnam_time_unless_an_offset_is_given() {
        let local = parse_moment("2026-12-07T09:15").expect("local");
        assert_eq!((local.hour(), local.offset()), (9, VIETNAM));
        let utc = parse_moment("2026-12-07T02:15+00:00").expect("offset");
        assert_eq!(utc, local, "the same moment");
        assert_eq!(parse_moment("2026-12-07").map(|m| m.hour()), Some(7));
        assert_eq!(parse_moment("07/12/2026"), None);
    }

    #[test]
    fn lunar_dates_parse_with_an_optional_leap_mark() {
        assert_eq!(
            parse_lunar("1/6/2025L"),
            Some(LunarDate {
                year: 2025,
                month: 6,
                day: 1,
                leap: true
            })
        );
        assert_eq!(
            parse_lunar("10/3/2026"),
            Some(LunarDate {
                year: 2026,
                month: 3,
                day: 10,
                leap: false
            })
        );
        assert_eq!(parse_lunar("10/3"), None);
        assert_eq!(parse_lunar("a/b/c"), None);
        assert_eq!(parse_lunar("1/2/3/4"), None);
    }
}
