//! The Vietnamese lunisolar calendar, computed astronomically at UTC+7.
//!
//! Written from the method described in `holidays.md` and the formulas of Meeus, *Astronomical
//! Algorithms* (2nd ed., 1998): new moons (ch. 49), the Sun's apparent longitude (ch. 25, low
//! accuracy) and ΔT after Espenak & Meeus. A lunar month starts on the local (UTC+7) day of its new
//! moon; month 11 contains the winter solstice; a year with 13 months between two month-11 starts
//! repeats the first month that contains no major solar term.

use std::f64::consts::PI;
use time::{Date, Month};

/// The years the conversion is defined for.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Vietnam's offset from UTC, in days. China uses UTC+8, which moves some new moons to another
/// civil day (Tết 2030 is 2 February in Vietnam, 3 February in China).
const TZ_DAYS: f64 = 7.0 / 24.0;

/// Julian Ephemeris Day of the mean new moon with k = 0 (6 January 2000).
const EPOCH_JDE: f64 = 2_451_550.097_66;
const SYNODIC_MONTH: f64 = 29.530_588_861;

/// A date of the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LunarDate {
    /// Lunar year (the year in which its month 1 begins).
    pub year: i32,
    /// Month number 1–12; a leap month repeats the number of the month before it.
    pub month: u8,
    /// Day 1–30.
    pub day: u8,
    /// True for the leap month ("tháng N nhuận").
    pub leap: bool,
}

impl std::fmt::Display for LunarDate {
    /// `D/M/YYYY`, followed by ` (nhuận)` in a leap month.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.day, self.month, self.year)?;
        if self.leap {
            f.write_str(" (nhuận)")?;
        }
        Ok(())
    }
}

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LunarError {
    /// Outside 1900–2199.
    #[error("year {0} is outside the supported range 1900–2199")]
    OutOfRange(i32),
    /// The month number is not 1–12.
    #[error("month {0} does not exist (1–12)")]
    BadMonth(u8),
    /// The year has no leap month, or its leap month has another number.
    #[error("lunar year {year} has no leap month {month}")]
    NoSuchLeapMonth {
        /// Lunar year.
        year: i32,
        /// Month asked for.
        month: u8,
    },
    /// The day is past the end of the month (e.g. 30 in a 29-day month).
    #[error("lunar month {month}{leap} of {year} has {length} days; day {day} does not exist", leap = if *leap { " (nhuận)" } else { "" })]
    NoSuchDay {
        /// Lunar year.
        year: i32,
        /// Month.
        month: u8,
        /// Leap month or not.
        leap: bool,
        /// Day asked for.
        day: u8,
        /// Length of that month.
        length: u8,
    },
}

fn sin_deg(x: f64) -> f64 {
    (x * PI / 180.0).sin()
}

/// ΔT = TT − UT in days (Espenak & Meeus polynomial fits).
fn delta_t_days(year: f64) -> f64 {
    let y = year;
    let seconds = if y < 1920.0 {
        let t = y - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3)
            - 0.000_197 * t.powi(4)
    } else if y < 1941.0 {
        let t = y - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if y < 1961.0 {
        let t = y - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if y < 1986.0 {
        let t = y - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if y < 2005.0 {
        let t = y - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if y < 2050.0 {
        let t = y - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else if y < 2150.0 {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u - 0.5628 * (2150.0 - y)
    } else {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    seconds / 86_400.0
}

/// Instant (Julian Day, UT) of the new moon number `k` (k = 0: January 2000), Meeus ch. 49.
fn new_moon_jd(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let jde = EPOCH_JDE + SYNODIC_MONTH * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4;
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp =
        201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f =
        160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let om = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;
    let periodic = -0.40720 * sin_deg(mp)
        + 0.17241 * e * sin_deg(m)
        + 0.01608 * sin_deg(2.0 * mp)
        + 0.01039 * sin_deg(2.0 * f)
        + 0.00739 * e * sin_deg(mp - m)
        - 0.00514 * e * sin_deg(mp + m)
        + 0.00208 * e * e * sin_deg(2.0 * m)
        - 0.00111 * sin_deg(mp - 2.0 * f)
        - 0.00057 * sin_deg(mp + 2.0 * f)
        + 0.00056 * e * sin_deg(2.0 * mp + m)
        - 0.00042 * sin_deg(3.0 * mp)
        + 0.00042 * e * sin_deg(m + 2.0 * f)
        + 0.00038 * e * sin_deg(m - 2.0 * f)
        - 0.00024 * e * sin_deg(2.0 * mp - m)
        - 0.00017 * sin_deg(om)
        - 0.00007 * sin_deg(mp + 2.0 * m)
        + 0.00004 * sin_deg(2.0 * mp - 2.0 * f)
        + 0.00004 * sin_deg(3.0 * m)
        + 0.00003 * sin_deg(mp + m - 2.0 * f)
        + 0.00003 * sin_deg(2.0 * mp + 2.0 * f)
        - 0.00003 * sin_deg(mp + m + 2.0 * f)
        + 0.00003 * sin_deg(mp - m + 2.0 * f)
        - 0.00002 * sin_deg(mp - m - 2.0 * f)
        - 0.00002 * sin_deg(3.0 * mp + m)
        + 0.00002 * sin_deg(4.0 * mp);
    let planetary: [(f64, f64, f64); 13] = [
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    // A1 is the only planetary argument with a T² term.
    let additional = 0.000_325 * sin_deg(299.77 + 0.107_408 * k - 0.009_173 * t2)
        + planetary
            .iter()
            .map(|(coef, a, b)| coef * sin_deg(a + b * k))
            .sum::<f64>();
    let jde = jde + periodic + additional;
    let year = 2000.0 + k / 12.3685;
    jde - delta_t_days(year)
}

/// Julian Day Number (integer, of the civil day) of the UTC+7 day containing new moon `k`.
fn new_moon_day(k: i64) -> i64 {
    (new_moon_jd(k) + 0.5 + TZ_DAYS).floor() as i64
}

/// The Sun's apparent longitude in degrees at Julian Day `jd` (Meeus ch. 25, low accuracy).
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0;
    let l0 = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t * t;
    let m = 357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t * t;
    let c = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_289 * sin_deg(3.0 * m);
    let omega = 125.04 - 1934.136 * t;
    let apparent = l0 + c - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// The major-solar-term sector (0–11) at the local midnight that starts day `jdn`.
fn sun_sector(jdn: i64) -> i64 {
    let local_midnight_ut = jdn as f64 - 0.5 - TZ_DAYS;
    (sun_longitude(local_midnight_ut) / 30.0).floor() as i64
}

/// Index `k` of the new moon that starts the lunar month containing day `jdn`.
fn month_index(jdn: i64) -> i64 {
    let mut k = ((jdn as f64 - EPOCH_JDE) / SYNODIC_MONTH).floor() as i64;
    while new_moon_day(k + 1) <= jdn {
        k += 1;
    }
    while new_moon_day(k) > jdn {
        k -= 1;
    }
    k
}

fn jdn(date: Date) -> i64 {
    i64::from(date.to_julian_day())
}

fn date_from_jdn(jdn: i64) -> Date {
    // Within 1900–2199 every JDN is a valid `Date`.
    Date::from_julian_day(jdn as i32).unwrap_or(Date::MIN)
}

/// Index `k` of the new moon that starts lunar month 11 of `year` (the month holding the December
/// solstice of that solar year).
fn month11(year: i32) -> i64 {
    let dec31 = Date::from_calendar_date(year, Month::December, 31).unwrap_or(Date::MAX);
    let k = month_index(jdn(dec31));
    // If the solstice has already passed when this month starts, month 11 is the one before.
    if sun_sector(new_moon_day(k)) >= 9 {
        k - 1
    } else {
        k
    }
}

/// For the lunar span starting at month 11 `a11` (new-moon index), the position (1–13) of its leap
/// month, if the span has 13 months.
fn leap_position(a11: i64, b11: i64) -> Option<i64> {
    if b11 - a11 < 13 {
        return None;
    }
    (1..=12).find(|&i| sun_sector(new_moon_day(a11 + i)) == sun_sector(new_moon_day(a11 + i + 1)))
}

/// Month number (1–12) of position `i` in a span starting at month 11, ignoring leap months.
fn number_at(i: i64) -> u8 {
    ((10 + i).rem_euclid(12) + 1) as u8
}

fn check_year(year: i32) -> Result<(), LunarError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(LunarError::OutOfRange(year))
    }
}

/// Converts a solar (Gregorian) date to the Vietnamese lunar calendar.
pub fn to_lunar(date: Date) -> Result<LunarDate, LunarError> {
    check_year(date.year())?;
    let day = jdn(date);
    let k = month_index(day);
    let year = date.year();
    let (a11, b11, base_year) = if month11(year) > k {
        (month11(year - 1), month11(year), year)
    } else {
        (month11(year), month11(year + 1), year + 1)
    };
    let i = k - a11;
    let (month, leap) = match leap_position(a11, b11) {
        Some(l) if i == l => (number_at(i - 1), true),
        Some(l) if i > l => (number_at(i - 1), false),
        _ => (number_at(i), false),
    };
    // Months 11 and 12 at the head of the span belong to the lunar year before.
    let year = if month >= 11 && i <= 2 {
        base_year - 1
    } else {
        base_year
    };
    Ok(LunarDate {
        year,
        month,
        day: (day - new_moon_day(k) + 1) as u8,
        leap,
    })
}

/// Converts a lunar date to the solar calendar. Rejects dates that do not exist: 30 in a 29-day
/// month, a leap month the year does not have.
pub fn to_solar(lunar: LunarDate) -> Result<Date, LunarError> {
    let LunarDate {
        year,
        month,
        day,
        leap,
    } = lunar;
    check_year(year)?;
    if !(1..=12).contains(&month) {
        return Err(LunarError::BadMonth(month));
    }
    let (a11, b11) = if month >= 11 {
        (month11(year), month11(year + 1))
    } else {
        (month11(year - 1), month11(year))
    };
    let base = i64::from(month) - 11;
    let base = base.rem_euclid(12);
    let position = match (leap_position(a11, b11), leap) {
        (Some(l), true) if l - 1 == base => l,
        (_, true) => return Err(LunarError::NoSuchLeapMonth { year, month }),
        (Some(l), false) if base >= l => base + 1,
        _ => base,
    };
    let start = new_moon_day(a11 + position);
    let length = (new_moon_day(a11 + position + 1) - start) as u8;
    if day == 0 || day > length {
        return Err(LunarError::NoSuchDay {
            year,
            month,
            leap,
            day,
            length,
        });
    }
    Ok(date_from_jdn(start + i64::from(day) - 1))
}

/// Number of days (29 or 30) of the lunar month that contains `date`.
pub fn month_length(date: Date) -> u8 {
    let k = month_index(jdn(date));
    (new_moon_day(k + 1) - new_moon_day(k)) as u8
}

/// The solar date of lunar New Year (Tết, 1/1) of `year`.
pub fn tet(year: i32) -> Result<Date, LunarError> {
    to_solar(LunarDate {
        year,
        month: 1,
        day: 1,
        leap: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn lunar(year: i32, month: u8, day: u8, leap: bool) -> LunarDate {
        LunarDate {
            year,
            month,
            day,
            leap,
        }
    }

    /// Tết, the last day of the previous lunar year and Giỗ Tổ, 2018–2030 (holidays.md §3).
    const VECTORS: [(i32, Date, Date, Date); 13] = [
        (
            2018,
            date!(2018 - 02 - 16),
            date!(2018 - 02 - 15),
            date!(2018 - 04 - 25),
        ),
        (
            2019,
            date!(2019 - 02 - 05),
            date!(2019 - 02 - 04),
            date!(2019 - 04 - 14),
        ),
        (
            2020,
            date!(2020 - 01 - 25),
            date!(2020 - 01 - 24),
            date!(2020 - 04 - 02),
        ),
        (
            2021,
            date!(2021 - 02 - 12),
            date!(2021 - 02 - 11),
            date!(2021 - 04 - 21),
        ),
        (
            2022,
            date!(2022 - 02 - 01),
            date!(2022 - 01 - 31),
            date!(2022 - 04 - 10),
        ),
        (
            2023,
            date!(2023 - 01 - 22),
            date!(2023 - 01 - 21),
            date!(2023 - 04 - 29),
        ),
        (
            2024,
            date!(2024 - 02 - 10),
            date!(2024 - 02 - 09),
            date!(2024 - 04 - 18),
        ),
        (
            2025,
            date!(2025 - 01 - 29),
            date!(2025 - 01 - 28),
            date!(2025 - 04 - 07),
        ),
        (
            2026,
            date!(2026 - 02 - 17),
            date!(2026 - 02 - 16),
            date!(2026 - 04 - 26),
        ),
        (
            2027,
            date!(2027 - 02 - 06),
            date!(2027 - 02 - 05),
            date!(2027 - 04 - 16),
        ),
        (
            2028,
            date!(2028 - 01 - 26),
            date!(2028 - 01 - 25),
            date!(2028 - 04 - 04),
        ),
        (
            2029,
            date!(2029 - 02 - 13),
            date!(2029 - 02 - 12),
            date!(2029 - 04 - 23),
        ),
        (
            2030,
            date!(2030 - 02 - 02),
            date!(2030 - 02 - 01),
            date!(2030 - 04 - 12),
        ),
    ];

    #[test]
    fn tet_last_day_and_gio_to_match_the_vectors() {
        for (year, tet_day, eve, gio_to) in VECTORS {
            assert_eq!(tet(year), Ok(tet_day), "Tết {year}");
            assert_eq!(to_lunar(tet_day), Ok(lunar(year, 1, 1, false)));
            let last = to_lunar(eve).ok();
            assert_eq!(
                last.map(|l| (l.year, l.month)),
                Some((year - 1, 12)),
                "eve of {year}"
            );
            assert_eq!(
                last.map(|l| l.day),
                Some(month_length(eve)),
                "{eve} is the last day"
            );
            assert_eq!(
                to_solar(lunar(year, 3, 10, false)),
                Ok(gio_to),
                "Giỗ Tổ {year}"
            );
        }
    }

    #[test]
    fn month_12_lengths_match_the_vectors() {
        let thirty = [2018, 2019, 2020, 2021, 2023, 2024];
        for (year, _, eve, _) in VECTORS {
            let expected = if thirty.contains(&year) { 30 } else { 29 };
            assert_eq!(month_length(eve), expected, "month 12 before Tết {year}");
        }
    }

    #[test]
    fn leap_months_start_where_the_vectors_say() {
        let cases = [
            (
                2020,
                4,
                date!(2020 - 04 - 23),
                date!(2020 - 05 - 23),
                date!(2020 - 06 - 21),
            ),
            (
                2023,
                2,
                date!(2023 - 02 - 20),
                date!(2023 - 03 - 22),
                date!(2023 - 04 - 20),
            ),
            (
                2025,
                6,
                date!(2025 - 06 - 25),
                date!(2025 - 07 - 25),
                date!(2025 - 08 - 23),
            ),
            (
                2028,
                5,
                date!(2028 - 05 - 24),
                date!(2028 - 06 - 23),
                date!(2028 - 07 - 22),
            ),
        ];
        for (year, m, normal, leap, next) in cases {
            assert_eq!(to_solar(lunar(year, m, 1, false)), Ok(normal));
            assert_eq!(to_solar(lunar(year, m, 1, true)), Ok(leap));
            assert_eq!(to_solar(lunar(year, m + 1, 1, false)), Ok(next));
            assert_eq!(to_lunar(leap), Ok(lunar(year, m, 1, true)));
        }
        for year in [2018, 2019, 2021, 2022, 2024, 2026, 2027, 2029, 2030] {
            for m in 1..=12 {
                assert!(
                    to_solar(lunar(year, m, 1, true)).is_err(),
                    "{year} has no leap {m}"
                );
            }
        }
    }

    #[test]
    fn extra_vectors_match() {
        assert_eq!(
            to_solar(lunar(2025, 8, 15, false)),
            Ok(date!(2025 - 10 - 06))
        );
        assert_eq!(
            to_solar(lunar(2025, 12, 23, false)),
            Ok(date!(2026 - 02 - 10))
        );
        assert_eq!(
            to_solar(lunar(2026, 1, 15, false)),
            Ok(date!(2026 - 03 - 03))
        );
    }

    #[test]
    fn vietnam_differs_from_china_where_the_time_zone_matters() {
        // New moon of 2030-02-02 falls between 16:00 and 17:00 UTC: the 2nd in UTC+7, the 3rd in UTC+8.
        assert_eq!(tet(2030), Ok(date!(2030 - 02 - 02)));
        // Tết 1985: 21 January in Vietnam, 20 February in China (a different month-11 rule result).
        assert_eq!(tet(1985), Ok(date!(1985 - 01 - 21)));
        // Tết 2007: 17 February in Vietnam, 18 February in China.
        assert_eq!(tet(2007), Ok(date!(2007 - 02 - 17)));
        // Well-known Tết dates of the 20th century.
        assert_eq!(tet(1968), Ok(date!(1968 - 01 - 29)));
        assert_eq!(tet(1975), Ok(date!(1975 - 02 - 11)));
        assert_eq!(tet(2000), Ok(date!(2000 - 02 - 05)));
    }

    #[test]
    fn dates_that_do_not_exist_are_rejected() {
        assert_eq!(
            to_solar(lunar(2024, 12, 30, false)),
            Err(LunarError::NoSuchDay {
                year: 2024,
                month: 12,
                leap: false,
                day: 30,
                length: 29
            })
        );
        assert!(to_solar(lunar(2025, 12, 30, false)).is_err());
        assert!(to_solar(lunar(2025, 12, 29, false)).is_ok());
        assert_eq!(
            to_solar(lunar(2025, 13, 1, false)),
            Err(LunarError::BadMonth(13))
        );
        assert!(to_solar(lunar(2025, 1, 0, false)).is_err());
        assert_eq!(
            to_solar(lunar(2200, 1, 1, false)),
            Err(LunarError::OutOfRange(2200))
        );
        assert_eq!(
            to_lunar(date!(1899 - 12 - 31)),
            Err(LunarError::OutOfRange(1899))
        );
    }

    #[test]
    fn display_marks_leap_months() {
        assert_eq!(lunar(2025, 6, 1, true).to_string(), "1/6/2025 (nhuận)");
        assert_eq!(lunar(2026, 1, 1, false).to_string(), "1/1/2026");
    }

    fn any_date() -> impl Strategy<Value = Date> {
        // 1900-02-01 … 2199-11-30: whole lunar years on both sides stay inside the range.
        let first = date!(1900 - 02 - 01).to_julian_day();
        let last = date!(2199 - 11 - 30).to_julian_day();
        (first..=last).prop_map(|j| Date::from_julian_day(j).unwrap_or(Date::MIN))
    }

    proptest! {
        #[test]
        fn solar_to_lunar_to_solar_is_the_identity(d in any_date()) {
            let l = to_lunar(d);
            prop_assert!(l.is_ok());
            if let Ok(l) = l {
                prop_assert!((1..=30).contains(&l.day) && (1..=12).contains(&l.month));
                prop_assert_eq!(to_solar(l), Ok(d));
            }
        }

        #[test]
        fn consecutive_days_advance_the_lunar_date_by_one(d in any_date()) {
            let (Ok(a), Some(next)) = (to_lunar(d), d.next_day()) else { return Ok(()) };
            let Ok(b) = to_lunar(next) else { return Ok(()) };
            if b.day == 1 {
                prop_assert!(a.day == 29 || a.day == 30);
                prop_assert_eq!(a.day, month_length(d));
            } else {
                prop_assert_eq!((b.year, b.month, b.leap, b.day), (a.year, a.month, a.leap, a.day + 1));
            }
        }
    }

    #[test]
    fn lunar_to_solar_to_lunar_is_the_identity_for_every_month_1900_2199() {
        for year in 1901..=2198 {
            for month in 1..=12u8 {
                for leap in [false, true] {
                    for day in [1u8, 29, 30] {
                        let l = lunar(year, month, day, leap);
                        if let Ok(d) = to_solar(l) {
                            assert_eq!(to_lunar(d), Ok(l), "{l} → {d}");
                        }
                    }
                }
            }
            let leaps = (1..=12u8)
                .filter(|&m| to_solar(lunar(year, m, 1, true)).is_ok())
                .count();
            assert!(leaps <= 1, "{year} has {leaps} leap months");
        }
    }
}
