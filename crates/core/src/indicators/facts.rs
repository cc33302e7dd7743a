//! What the indicators need to know of a dossier, read from its events by the store, and the
//! period they are computed for.

use crate::calendar::deadline::VIETNAM;
use crate::catalogue::OnlineMode;
use crate::dossier::lifecycle::{Lifecycle, ReplayError};
use crate::dossier::status::{Channel, HandOverMethod, Status};
use crate::dossier::{Detail, Payload};
use time::{Date, Month, OffsetDateTime, Time};

/// A span of time, `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First moment in it.
    pub start: OffsetDateTime,
    /// First moment after it.
    pub end: OffsetDateTime,
}

/// Midnight of `day`, Vietnam time: periods are Vietnam's months, quarters and years.
fn midnight(day: Date) -> OffsetDateTime {
    day.with_time(Time::MIDNIGHT).assume_offset(VIETNAM)
}

impl Period {
    /// A calendar month, Vietnam time; `None` for a month that does not exist.
    pub fn month(year: i32, month: u8) -> Option<Period> {
        let m = Month::try_from(month).ok()?;
        let first = Date::from_calendar_date(year, m, 1).ok()?;
        let next = match m {
            Month::December => Date::from_calendar_date(year.checked_add(1)?, Month::January, 1),
            _ => Date::from_calendar_date(year, m.next(), 1),
        }
        .ok()?;
        Some(Period {
            start: midnight(first),
            end: midnight(next),
        })
    }

    /// Quarter `q` (1–4) of `year`.
    pub fn quarter(year: i32, q: u8) -> Option<Period> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let first = Period::month(year, (q - 1) * 3 + 1)?;
        let last = Period::month(year, q * 3)?;
        Some(Period {
            start: first.start,
            end: last.end,
        })
    }

    /// A calendar year.
    pub fn year(year: i32) -> Option<Period> {
        Some(Period {
            start: Period::month(year, 1)?.start,
            end: Period::month(year, 12)?.end,
        })
    }

    /// `2026-11` (a month), `2026-Q4` (a quarter) or `2026` (a year).
    pub fn parse(text: &str) -> Option<Period> {
        let t = text.trim();
        if let Some((y, q)) = t
            .split_once(['-', '/'])
            .filter(|(_, q)| q.starts_with(['Q', 'q']))
        {
            return Period::quarter(y.parse().ok()?, q.get(1..)?.parse().ok()?);
        }
        if let Some((y, m)) = t.split_once('-') {
            return Period::month(y.parse().ok()?, m.parse().ok()?);
        }
        if t.len() == 4 {
            return Period::year(t.parse().ok()?);
        }
        None
    }

    /// The month before the one `now` is in (Vietnam time): the last complete month.
    pub fn last_month(now: OffsetDateTime) -> Option<Period> {
        let local = now.to_offset(VIETNAM);
        let (y, m) = match u8::from(local.month()) {
            1 => (local.year() - 1, 12),
            m => (local.year(), m - 1),
        };
        Period::month(y, m)
    }

    /// Whether `at` falls in it.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// One received dossier as the indicators see it. Dossiers refused at reception and drafts
/// never received have none: they were never in anyone's hands.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierFacts {
    /// The procedure's code.
    pub procedure: String,
    /// How far the procedure could be done online when the dossier was filed.
    pub mode: OnlineMode,
    /// Filed online.
    pub online: bool,
    /// Filed, handled and returned online (toàn trình): filed online, result given electronically,
    /// and any fee paid online.
    pub full_online: bool,
    /// When the competent agency received it (its clock started).
    pub received: OffsetDateTime,
    /// The due moment in force: restarted after a supplement (Decree 61 art. 19(4)), never moved
    /// by a reschedule (an apology and a new date do not make a late dossier on time).
    pub due: OffsetDateTime,
    /// The new date promised when it was rescheduled (Mẫu 04), if it was.
    pub rescheduled_to: Option<OffsetDateTime>,
    /// Each request for a supplement: when asked, and when the supplement came back (if it did).
    pub supplements: Vec<(OffsetDateTime, Option<OffsetDateTime>)>,
    /// When its result was decided (national status 9).
    pub decided: Option<OffsetDateTime>,
    /// When it was withdrawn (or stopped) without a result.
    pub withdrawn: Option<OffsetDateTime>,
}

/// One event of a dossier's history as stored: when, the status after it, and its payload.
pub type Step<'a> = (OffsetDateTime, Status, &'a Payload);

impl DossierFacts {
    /// The facts of a dossier from its history (oldest first), folded as the store folds it; `None`
    /// for a dossier never received (a draft, one refused at reception).
    pub fn from_history(
        procedure: &str,
        mode: OnlineMode,
        channel: Channel,
        history: &[Step<'_>],
    ) -> Result<Option<DossierFacts>, ReplayError> {
        let mut state = Lifecycle::blank();
        let mut supplements: Vec<(OffsetDateTime, Option<OffsetDateTime>)> = Vec::new();
        for (at, status, payload) in history {
            state = state.apply(*status, &payload.changes)?;
            match payload.detail {
                Detail::SupplementRequested { .. } => supplements.push((*at, None)),
                Detail::Resubmitted => {
                    if let Some(open) = supplements.iter_mut().rev().find(|(_, b)| b.is_none()) {
                        open.1 = Some(*at);
                    }
                }
                _ => {}
            }
        }
        let (Some(received), Some(due_in_force)) = (state.received_at, state.due_at) else {
            return Ok(None);
        };
        let rescheduled = state.reschedules > 0;
        let online = channel == Channel::Online;
        let paper_result = matches!(
            state.hand_over_method,
            Some(HandOverMethod::Counter | HandOverMethod::Post)
        );
        Ok(Some(DossierFacts {
            procedure: procedure.to_owned(),
            mode,
            online,
            full_online: online && mode == OnlineMode::Full && !paper_result,
            received,
            due: if rescheduled {
                state.original_due_at.unwrap_or(due_in_force)
            } else {
                due_in_force
            },
            rescheduled_to: rescheduled.then_some(due_in_force),
            supplements,
            decided: state.decided_at,
            withdrawn: (state.status == Status::Withdrawn)
                .then_some(state.closed_at)
                .flatten(),
        }))
    }

    /// The moment its time is judged by (see [`DossierFacts::due`]).
    pub(crate) fn due_unextended(&self) -> OffsetDateTime {
        self.due
    }

    /// Received in the period.
    pub(crate) fn counted_as_received_in(&self, period: &Period) -> bool {
        period.contains(self.received)
    }

    /// In someone's hands during the period: received before it ended, not resolved before it
    /// began, and not withdrawn before it ended (a withdrawn dossier owes nobody a result).
    pub(crate) fn handled_in(&self, period: &Period) -> bool {
        self.received < period.end
            && self.decided.is_none_or(|at| at >= period.start)
            && self.withdrawn.is_none_or(|at| at >= period.end)
    }

    /// Waiting for the applicant's supplement at `at` (its clock stopped).
    pub(crate) fn awaiting_supplement_at(&self, at: OffsetDateTime) -> bool {
        self.supplements
            .iter()
            .any(|(asked, back)| *asked <= at && back.is_none_or(|b| b > at))
    }
}
