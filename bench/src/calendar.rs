//! Due moments for 1,000,000 random dossiers (2018–2030), against a baseline that only adds the
//! same number of calendar days with the `time` crate, in the same run.

use motcua_core::calendar::deadline::{OfficeHours, TimeLimit, TimeUnit, WorkCalendar, VIETNAM};
use motcua_core::calendar::holidays::HolidayCalendar;
use std::hint::black_box;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

/// xorshift64*: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub fn run(count: usize) -> anyhow::Result<()> {
    let holidays = HolidayCalendar::vietnam();
    let hours = OfficeHours::default();
    let cal = WorkCalendar {
        holidays: &holidays,
        hours: &hours,
    };
    let first = time::macros::datetime!(2018-01-01 00:00)
        .assume_offset(VIETNAM)
        .unix_timestamp();
    let last = time::macros::datetime!(2030-12-31 23:59)
        .assume_offset(VIETNAM)
        .unix_timestamp();
    let span = u64::try_from(last - first)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let inputs: Vec<(OffsetDateTime, TimeLimit)> = (0..count)
        .map(|_| {
            let t = first + i64::try_from(rng.next() % span).unwrap_or(0);
            let received =
                OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let n = u32::try_from(rng.next() % 30 + 1).unwrap_or(1);
            let limit = match rng.next() % 10 {
                0 => TimeLimit {
                    amount: n,
                    unit: TimeUnit::CalendarDays,
                },
                1 => TimeLimit {
                    amount: n,
                    unit: TimeUnit::WorkingHours,
                },
                2 => TimeLimit {
                    amount: 0,
                    unit: TimeUnit::SameDay,
                },
                _ => TimeLimit::working_days(n),
            };
            (received, limit)
        })
        .collect();
    // Warm the per-year holiday cache so the run measures counting, not the lunar computation.
    for year in 2018..=2031 {
        let _ = holidays.days_off(year);
    }

    let started = Instant::now();
    for (received, limit) in &inputs {
        black_box(*received + Duration::days(i64::from(limit.amount)));
    }
    let base = started.elapsed().as_nanos() as f64 / count as f64;

    let started = Instant::now();
    for (received, limit) in &inputs {
        black_box(cal.due(*received, *limit, None));
    }
    let due = started.elapsed().as_nanos() as f64 / count as f64;

    let started = Instant::now();
    let cold = HolidayCalendar::vietnam();
    for year in 2018..=2031 {
        black_box(cold.days_off(year));
    }
    let cache_ms = started.elapsed().as_secs_f64() * 1e3;

    println!("== calendar ({count} random dossiers received 2018–2030, 1–30 units, mixed units)");
    println!(
        "{:<40} {:>8.1} ns per dossier",
        "baseline: date + N calendar days", base
    );
    println!(
        "{:<40} {:>8.1} ns per dossier  ({:.1}× the baseline)",
        "due moment in working time",
        due,
        due / base
    );
    println!(
        "{:<40} {:>8.2} ms for 14 years (once per process)",
        "holiday table, lunar dates included", cache_ms
    );
    Ok(())
}
