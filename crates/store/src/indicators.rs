//! The Decision 766 index of a unit and period, recounted from the dossiers' stored histories:
//! every dossier that was in an agency's hands during the period is folded from its events into
//! the facts the core's indicators count (`motcua_core::indicators`). A recount reads every such
//! dossier's events; it is the reference that totals kept as the work happens must agree with.

use crate::backend::on_pool;
use crate::{Store, StoreError};
use motcua_core::catalogue::{OnlineMode, Procedure};
use motcua_core::dossier::status::{Channel, Status};
use motcua_core::dossier::Payload;
use motcua_core::indicators::{score, DossierFacts, Period, Score};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Whose index: the province, one agency, or the dossiers of one commune or ward.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only the dossiers of this competent agency.
    pub agency: Option<String>,
    /// Only the dossiers of applicants of this commune or ward (its code).
    pub commune: Option<String>,
}

/// Why an index cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No such agency.
    #[error("agency: '{0}' does not exist")]
    UnknownAgency(String),
    /// No such commune or ward.
    #[error("commune: '{0}' is not a commune or ward of the province")]
    UnknownCommune(String),
    /// The period is outside what the data covers.
    #[error("period: {0}")]
    NotCovered(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The index and what it was computed over.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The indicators.
    pub score: Score,
    /// Dossiers whose histories were read (received before the period ended, not closed before
    /// it began).
    pub dossiers: usize,
    /// Of which, dossiers whose history predates typed events and could not be counted.
    pub unreadable: usize,
}

const SELECT_HISTORIES: &str = "SELECT d.id, d.procedure_id, d.procedure_version, \
     d.procedure_code, d.channel, e.at, e.status, e.payload \
     FROM dossiers d JOIN dossier_events e ON e.dossier_id = d.id \
     WHERE d.received_at IS NOT NULL AND d.received_at < $1 \
     AND (d.closed_at IS NULL OR d.closed_at >= $2) \
     AND ($3 = '' OR d.agency_code = $3) AND ($4 = '' OR d.admin_unit_code = $4) \
     ORDER BY d.id, e.seq";

const SELECT_VERSION_BODY: &str = "SELECT body FROM procedure_versions \
     WHERE procedure_id = $1 AND version = $2";

const SELECT_OFFERED: &str = "SELECT body FROM procedures WHERE ($1 = '' OR agency_code = $1)";

const SELECT_FIRST_RECEIVED: &str = "SELECT MIN(received_at) FROM dossiers \
     WHERE received_at IS NOT NULL AND ($1 = '' OR agency_code = $1) \
     AND ($2 = '' OR admin_unit_code = $2)";

type HistoryRow = (
    String,
    String,
    i64,
    String,
    String,
    OffsetDateTime,
    String,
    String,
);

impl Store {
    /// The index of `scope` for `period`, recounted from the histories.
    pub async fn index(&self, period: &Period, scope: &Scope) -> Result<Index, IndexError> {
        let agency = scope.agency.clone().unwrap_or_default();
        let commune = scope.commune.clone().unwrap_or_default();
        self.check_scope(&agency, &commune).await?;
        let first: Option<OffsetDateTime> = on_pool!(self.backend(), |p| sqlx::query_scalar(
            SELECT_FIRST_RECEIVED
        )
        .bind(&agency)
        .bind(&commune)
        .fetch_one(p)
        .await)
        .map_err(StoreError::from)?;
        match first {
            None => {
                return Err(IndexError::NotCovered(
                    "no dossier has been received in this scope yet".into(),
                ))
            }
            Some(f) if period.end <= f => {
                return Err(IndexError::NotCovered(format!(
                    "the data starts on {}; this period ends before it",
                    f.to_offset(motcua_core::calendar::deadline::VIETNAM).date()
                )))
            }
            Some(_) => {}
        }
        if period.start > OffsetDateTime::now_utc() {
            return Err(IndexError::NotCovered("this period has not begun".into()));
        }
        let rows: Vec<HistoryRow> = on_pool!(self.backend(), |p| sqlx::query_as(SELECT_HISTORIES)
            .bind(period.end)
            .bind(period.start)
            .bind(&agency)
            .bind(&commune)
            .fetch_all(p)
            .await)
        .map_err(StoreError::from)?;
        let mut modes: HashMap<(String, i64), OnlineMode> = HashMap::new();
        let mut facts = Vec::new();
        let (mut dossiers, mut unreadable) = (0, 0);
        let mut i = 0;
        while i < rows.len() {
            let id = &rows[i].0;
            let end = rows[i..]
                .iter()
                .position(|r| &r.0 != id)
                .map_or(rows.len(), |n| i + n);
            let group = &rows[i..end];
            i = end;
            let (_, procedure_id, version, code, channel, ..) = &group[0];
            let key = (procedure_id.clone(), *version);
            let mode = match modes.get(&key) {
                Some(m) => *m,
                None => {
                    let m = self.mode_of(procedure_id, *version).await?;
                    modes.insert(key, m);
                    m
                }
            };
            let channel = Channel::parse(channel).unwrap_or(Channel::Counter);
            let payloads: Option<Vec<(OffsetDateTime, Status, Payload)>> = group
                .iter()
                .map(|r| {
                    let payload = Payload::from_json(&r.7).ok().flatten()?;
                    Some((r.5, Status::parse(&r.6)?, payload))
                })
                .collect();
            dossiers += 1;
            let Some(payloads) = payloads else {
                unreadable += 1;
                continue;
            };
            let steps: Vec<_> = payloads.iter().map(|(a, s, p)| (*a, *s, p)).collect();
            match DossierFacts::from_history(code, mode, channel, &steps) {
                Ok(Some(f)) => facts.push(f),
                Ok(None) => dossiers -= 1,
                Err(e) => {
                    tracing::warn!(dossier = %id, error = %e, "a history does not fold");
                    unreadable += 1;
                }
            }
        }
        let offered = self.offered_online(&agency).await?;
        let offered: Vec<&str> = offered.iter().map(String::as_str).collect();
        Ok(Index {
            score: score(&facts, period, &offered),
            dossiers,
            unreadable,
        })
    }

    async fn check_scope(&self, agency: &str, commune: &str) -> Result<(), IndexError> {
        if !agency.is_empty() && !self.agencies().await?.iter().any(|a| a.code == agency) {
            return Err(IndexError::UnknownAgency(agency.to_owned()));
        }
        if !commune.is_empty() && !self.admin_units().await?.iter().any(|u| u.code == commune) {
            return Err(IndexError::UnknownCommune(commune.to_owned()));
        }
        Ok(())
    }

    /// How far a procedure could be done online, in the version a dossier was filed under.
    async fn mode_of(&self, procedure_id: &str, version: i64) -> Result<OnlineMode, StoreError> {
        let body: Option<String> =
            on_pool!(self.backend(), |p| sqlx::query_scalar(SELECT_VERSION_BODY)
                .bind(procedure_id)
                .bind(version)
                .fetch_optional(p)
                .await)?;
        Ok(body
            .and_then(|b| serde_json::from_str::<Procedure>(&b).ok())
            .and_then(|p| p.online_mode)
            .unwrap_or(OnlineMode::None))
    }

    /// Codes of the procedures offered online (in part or in full), of one agency or all.
    async fn offered_online(&self, agency: &str) -> Result<Vec<String>, StoreError> {
        let bodies: Vec<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(SELECT_OFFERED)
            .bind(agency)
            .fetch_all(p)
            .await)?;
        let mut codes: Vec<String> = bodies
            .iter()
            .filter_map(|b| serde_json::from_str::<Procedure>(b).ok())
            .filter(|p| matches!(p.online_mode, Some(OnlineMode::Full | OnlineMode::Partial)))
            .map(|p| p.code)
            .collect();
        codes.sort();
        codes.dedup();
        Ok(codes)
    }
}
