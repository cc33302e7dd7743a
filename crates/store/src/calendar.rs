//! Yearly holiday schedules entered after release, versioned. The statutory rules and the shipped
//! schedules live in the core; what is stored here overrides the shipped schedule of its year.

use crate::backend::{on_pool, on_tx, BeginWrite, WriteTx};
use crate::{Backend, Store, StoreError};
use motcua_core::calendar::holidays::{HolidayCalendar, YearSchedule};
use std::sync::Arc;
use time::OffsetDateTime;

const COUNT_HOLIDAY_SCHEDULES: &str = "SELECT COUNT(*) \
     FROM holiday_schedules";

const INSERT_HOLIDAY_SCHEDULES: &str =
    "INSERT INTO holiday_schedules (year, version, body, entered_by, entered_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// One stored version of a year's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    /// Version number within the year, from 1.
    pub version: i64,
    /// The schedule.
    pub schedule: YearSchedule,
    /// Who entered it.
    pub entered_by: String,
    /// When.
    pub entered_at: OffsetDateTime,
}

type Row = (i64, i64, String, String, OffsetDateTime);

const HISTORY: &str = "SELECT year, version, body, entered_by, entered_at \
     FROM holiday_schedules ORDER BY year, version";

fn decode(
    (year, version, body, entered_by, entered_at): Row,
) -> Result<StoredSchedule, StoreError> {
    let schedule = serde_json::from_str(&body).map_err(|e| {
        StoreError::Internal(format!(
            "holiday schedule {year} v{version} is corrupt: {e}"
        ))
    })?;
    Ok(StoredSchedule {
        version,
        schedule,
        entered_by,
        entered_at,
    })
}

impl Store {
    /// Every version of every year's schedule, oldest first.
    pub async fn holiday_schedule_history(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(HISTORY)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(decode).collect()
    }

    /// The holiday calendar in force: the shipped rules and schedules, with the latest stored
    /// version of each year replacing the shipped one. Built once and kept, with each year's
    /// days computed on first use (the lunar holidays are not cheap), until a schedule is added:
    /// schedules are only ever appended, so their count stamps the calendar. On SQLite this
    /// process is the only writer and forgets the calendar itself; on PostgreSQL another server
    /// may add one, so the count is read each time.
    pub async fn holiday_calendar(&self) -> Result<Arc<HolidayCalendar>, StoreError> {
        let stamp = match self.backend() {
            Backend::Sqlite(_) => None,
            Backend::Postgres(p) => Some(
                sqlx::query_scalar::<_, i64>(COUNT_HOLIDAY_SCHEDULES)
                    .fetch_one(p)
                    .await?,
            ),
        };
        self.holiday_calendar_at(stamp).await
    }

    /// The calendar in force, given the number of stored schedules that the caller read in its
    /// write transaction `tx` (with the row it works on). When the kept calendar is stale it is
    /// rebuilt from what `tx` reads: a second connection, taken while this one holds SQLite's
    /// write lock, could wait for writers that wait for this lock.
    pub(crate) async fn holiday_calendar_stamped(
        &self,
        tx: WriteTx<'_, '_>,
        stamp: i64,
    ) -> Result<Arc<HolidayCalendar>, StoreError> {
        if let Some(kept) = self.calendar.get(Some(stamp)) {
            return Ok(kept);
        }
        let rows: Vec<Row> = on_tx!(tx, |t| sqlx::query_as(HISTORY).fetch_all(&mut **t).await)?;
        let history = rows
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        self.build_calendar(history)
    }

    async fn holiday_calendar_at(
        &self,
        stamp: Option<i64>,
    ) -> Result<Arc<HolidayCalendar>, StoreError> {
        if let Some(kept) = self.calendar.get(stamp) {
            return Ok(kept);
        }
        let history = self.holiday_schedule_history().await?;
        self.build_calendar(history)
    }

    /// The shipped calendar with `history` applied, kept for the next caller.
    fn build_calendar(
        &self,
        history: Vec<StoredSchedule>,
    ) -> Result<Arc<HolidayCalendar>, StoreError> {
        let mut calendar = HolidayCalendar::vietnam();
        let count = i64::try_from(history.len()).unwrap_or(i64::MAX);
        // History is ordered by version, so the last one of a year wins.
        for stored in history {
            calendar = calendar
                .with_schedule(stored.schedule)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        Ok(self.calendar.keep(count, calendar))
    }

    /// Validates `schedule` against the rules and stores it as the next version of its year.
    pub async fn add_holiday_schedule(
        &self,
        schedule: &YearSchedule,
        entered_by: &str,
    ) -> Result<i64, StoreError> {
        self.holiday_calendar()
            .await?
            .with_schedule(schedule.clone())
            .map_err(|e| StoreError::Refused(e.to_string()))?;
        let body =
            serde_json::to_string(schedule).map_err(|e| StoreError::Internal(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let version: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM holiday_schedules WHERE year = $1",
            )
            .bind(i64::from(schedule.year))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(INSERT_HOLIDAY_SCHEDULES)
                .bind(i64::from(schedule.year))
                .bind(version)
                .bind(&body)
                .bind(entered_by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.calendar.forget();
            Ok(version)
        })
    }
}

/// The calendar in force and the number of stored schedules it was built from.
#[derive(Default)]
pub(crate) struct CalendarCache(std::sync::Mutex<Option<(i64, Arc<HolidayCalendar>)>>);

impl CalendarCache {
    /// The kept calendar, if it was built from `stamp` schedules (any, when `None`).
    fn get(&self, stamp: Option<i64>) -> Option<Arc<HolidayCalendar>> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(count, _)| stamp.is_none_or(|s| s == *count))
            .map(|(_, c)| c.clone())
    }

    fn keep(&self, count: i64, calendar: HolidayCalendar) -> Arc<HolidayCalendar> {
        let calendar = Arc::new(calendar);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((count, calendar.clone()));
        calendar
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
