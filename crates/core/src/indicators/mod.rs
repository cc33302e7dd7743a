//! The Decision 766/QĐ-TTg indicators (the national portal's 100-point index) as pure functions
//! over what happened to each dossier in a period. Each indicator says its numerator, its
//! denominator, its target and its points; an indicator without data says so (`None`), and never
//! passes for a zero. The rules the sources leave open are decided once in `docs/indicators.md`,
//! and each is tested here.

mod facts;
mod points;

pub use facts::{DossierFacts, Period};
pub use points::{points, Group, Indicator, Ratio, Score};

use crate::catalogue::OnlineMode;
use std::collections::BTreeSet;

/// Indicator 2.1: dossiers resolved early or on time in the period, plus those still open at
/// its end and within their time, over the dossiers received or handled in it.
pub fn on_time(dossiers: &[DossierFacts], period: &Period) -> Ratio {
    let mut r = Ratio::default();
    for d in dossiers.iter().filter(|d| d.handled_in(period)) {
        r.denominator += 1;
        let good = match d.decided {
            Some(at) if period.contains(at) => at <= d.due_unextended(),
            // Still open when the period ends: counts while its time has not run out (a dossier
            // waiting for a supplement has its clock stopped).
            _ => d.awaiting_supplement_at(period.end) || period.end <= d.due_unextended(),
        };
        if good {
            r.numerator += 1;
        }
    }
    r
}

/// Indicator 2.2: the average time from reception to result of the dossiers resolved in the
/// period, in days (with the fraction); `None` when none was resolved.
pub fn average_days(dossiers: &[DossierFacts], period: &Period) -> Option<f64> {
    let spans: Vec<f64> = dossiers
        .iter()
        .filter_map(|d| {
            let decided = d.decided.filter(|at| period.contains(*at))?;
            Some((decided - d.received).as_seconds_f64() / 86_400.0)
        })
        .collect();
    (!spans.is_empty()).then(|| spans.iter().sum::<f64>() / spans.len() as f64)
}

/// Indicator 3 (main): dossiers filed and returned entirely online, over the dossiers received
/// in the period for procedures that can be done entirely online.
pub fn full_online(dossiers: &[DossierFacts], period: &Period) -> Ratio {
    let mut r = Ratio::default();
    for d in dossiers
        .iter()
        .filter(|d| d.mode == OnlineMode::Full && d.counted_as_received_in(period))
    {
        r.denominator += 1;
        if d.full_online {
            r.numerator += 1;
        }
    }
    r
}

/// The online share (reported beside group 3): dossiers filed online over all dossiers received
/// in the period.
pub fn online_share(dossiers: &[DossierFacts], period: &Period) -> Ratio {
    let mut r = Ratio::default();
    for d in dossiers.iter().filter(|d| d.counted_as_received_in(period)) {
        r.denominator += 1;
        if d.online {
            r.numerator += 1;
        }
    }
    r
}

/// Indicator 3.2: procedures offered online that received at least one online dossier in the
/// period, over the procedures offered online (`offered`, by code).
pub fn services_used(dossiers: &[DossierFacts], period: &Period, offered: &[&str]) -> Ratio {
    let offered: BTreeSet<&str> = offered.iter().copied().collect();
    let used: BTreeSet<&str> = dossiers
        .iter()
        .filter(|d| d.online && d.counted_as_received_in(period))
        .map(|d| d.procedure.as_str())
        .filter(|p| offered.contains(p))
        .collect();
    Ratio {
        numerator: used.len() as u64,
        denominator: offered.len() as u64,
    }
}

/// The online dossiers resolved on time (also reported beside group 3): of the dossiers filed
/// online and resolved in the period, those resolved by their time.
pub fn online_on_time(dossiers: &[DossierFacts], period: &Period) -> Ratio {
    let mut r = Ratio::default();
    for d in dossiers.iter().filter(|d| d.online) {
        if let Some(at) = d.decided.filter(|at| period.contains(*at)) {
            r.denominator += 1;
            if at <= d.due_unextended() {
                r.numerator += 1;
            }
        }
    }
    r
}

/// The index of a unit for a period: every indicator the product can compute, and those whose
/// data the product does not hold yet (payments, ratings and feedback, signed results, the sync
/// with the national portal, the catalogue's publication history) as "no data yet".
pub fn score(dossiers: &[DossierFacts], period: &Period, offered: &[&str]) -> Score {
    use Group::*;
    let none = |code: &'static str, group, max, target| Indicator {
        code,
        group,
        max_points: max,
        target,
        ratio: None,
    };
    let some = |code: &'static str, group, max, target, ratio| Indicator {
        code,
        group,
        max_points: max,
        target,
        ratio: Some(ratio),
    };
    Score {
        indicators: vec![
            none("1.1", Transparency, 6.0, None),
            none("1.2", Transparency, 4.0, None),
            none("1.3", Transparency, 2.0, None),
            none("1.4", Transparency, 6.0, None),
            some("2.1", Progress, 20.0, None, on_time(dossiers, period)),
            some("3", Online, 12.0, None, full_online(dossiers, period)),
            none("4a", Payment, 2.0, Some(80.0)),
            none("4b", Payment, 2.0, Some(80.0)),
            none("4c", Payment, 6.0, Some(100.0)),
            none("5.2", Satisfaction, 6.0, None),
            none("5.3", Satisfaction, 6.0, None),
            none("5.4", Satisfaction, 6.0, Some(90.0)),
            none("6.1", Digitisation, 6.0, None),
            none("6.2", Digitisation, 4.0, Some(80.0)),
            none("6.3", Digitisation, 2.0, None),
            none("6.4", Digitisation, 2.0, Some(80.0)),
            none("6.5", Digitisation, 4.0, None),
            none("6.6", Digitisation, 2.0, None),
            none("6.7", Digitisation, 2.0, None),
        ],
        average_days: average_days(dossiers, period),
        online_share: online_share(dossiers, period),
        services_used: services_used(dossiers, period, offered),
        online_on_time: online_on_time(dossiers, period),
    }
}

#[cfg(test)]
mod tests;
