//! `motcua calendar …`: holidays, due moments and lunar conversions from the command line.

use crate::{config_failure, Failure};
use motcua_core::calendar::deadline::{OfficeHours, TimeLimit, WorkCalendar, VIETNAM};
use motcua_core::calendar::holidays::{HolidayCalendar, YearSchedule};
use motcua_core::calendar::input;
use motcua_core::calendar::lunar;
use motcua_store::{Store, StoreConfig};
use std::sync::Arc;
use time::{Date, OffsetDateTime, Time};

/// The calendar in force: shipped data plus schedules stored in the data dir, if there is one.
async fn calendar(config: &StoreConfig) -> Result<Arc<HolidayCalendar>, Failure> {
    if config.database.is_none() && !config.data_dir.join("motcua.sqlite3").exists() {
        return Ok(Arc::new(HolidayCalendar::vietnam()));
    }
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let cal = store.holiday_calendar().await;
    store.close().await;
    Ok(cal?)
}

/// Prints every day off of `year`.
pub async fn holidays(config: &StoreConfig, year: i32) -> Result<(), Failure> {
    if !(2013..=2199).contains(&year) {
        return Err(config_failure(format!(
            "year: {year} is outside 2013–2199 (holiday rules are known from the Labour Code 2012 on)"
        )));
    }
    let cal = calendar(config).await?;
    for day in cal.days_off(year) {
        println!("{}\t{}", iso(day.date), day.name);
    }
    Ok(())
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_moment(text: &str) -> Result<OffsetDateTime, Failure> {
    input::parse_moment(text).ok_or_else(|| config_failure(format!("start: '{text}' is not a moment; use YYYY-MM-DDTHH:MM (Vietnam time) or add an offset like +07:00")))
}

/// Prints the due moment of a dossier received at `start` with processing time `duration`.
pub async fn due(
    config: &StoreConfig,
    start: &str,
    duration: &str,
    cutoff: bool,
) -> Result<(), Failure> {
    let received = parse_moment(start)?;
    let limit: TimeLimit = duration
        .parse()
        .map_err(|e| config_failure(format!("duration: {e}")))?;
    let cal = calendar(config).await?;
    let hours = OfficeHours::default();
    let work = WorkCalendar {
        holidays: &cal,
        hours: &hours,
    };
    let cutoff = cutoff.then(|| Time::from_hms(15, 0, 0).unwrap_or(Time::MIDNIGHT));
    let due = work.due(received, limit, cutoff).to_offset(VIETNAM);
    println!(
        "{}T{:02}:{:02}+07:00",
        iso(due.date()),
        due.hour(),
        due.minute()
    );
    Ok(())
}

/// Prints the lunar date of a solar date.
pub fn to_lunar(text: &str) -> Result<(), Failure> {
    let date = input::parse_date(text)
        .ok_or_else(|| config_failure(format!("date: '{text}' is not a date; use YYYY-MM-DD")))?;
    let l = lunar::to_lunar(date).map_err(|e| config_failure(format!("date: {e}")))?;
    println!("{l}");
    Ok(())
}

/// Prints the solar date of a lunar date.
pub fn to_solar(text: &str) -> Result<(), Failure> {
    let l = input::parse_lunar(text).ok_or_else(|| {
        config_failure(format!("date: '{text}' is not a lunar date; use D/M/YYYY, with L after it for a leap month (e.g. 1/6/2025L)"))
    })?;
    let d = lunar::to_solar(l).map_err(|e| config_failure(format!("date: {e}")))?;
    println!("{}", iso(d));
    Ok(())
}

/// Stores a yearly schedule (JSON, as in `crates/core/data/holidays.json`) as a new version.
pub async fn set_schedule(
    config: &StoreConfig,
    file: &std::path::Path,
    by: &str,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| config_failure(format!("file: {}: {e}", file.display())))?;
    let schedule: YearSchedule = serde_json::from_str(&text).map_err(|e| {
        config_failure(format!(
            "file: {} is not a yearly schedule: {e}",
            file.display()
        ))
    })?;
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let result = store.add_holiday_schedule(&schedule, by).await;
    // Open dossiers follow the new calendar at once.
    let moved = match &result {
        Ok(_) => store.recompute_due_moments(&OfficeHours::default()).await,
        Err(_) => Ok(0),
    };
    store.close().await;
    let version = result.map_err(config_failure)?;
    println!("schedule {} stored as version {version}", schedule.year);
    println!(
        "{} open dossier(s) got a new due moment",
        moved.map_err(config_failure)?
    );
    Ok(())
}

/// Lists every stored version of every schedule.
pub async fn schedule_history(config: &StoreConfig) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let history = store.holiday_schedule_history().await;
    store.close().await;
    for s in history? {
        println!(
            "{}\tv{}\t{}\t{}\t{}",
            s.schedule.year, s.version, s.entered_at, s.entered_by, s.schedule.source
        );
    }
    Ok(())
}
