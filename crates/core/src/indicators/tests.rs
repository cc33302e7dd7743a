//! A month of dossiers with every case the rules decide (on time, late, paused for a supplement,
//! rescheduled, withdrawn, carried over, full-online, partly online, paper), and the values
//! computed by hand in `docs/indicators.md`.

use super::*;
use crate::calendar::deadline::VIETNAM;
use time::{Date, Month, OffsetDateTime, Time};

fn at(month: Month, day: u8, hour: u8) -> OffsetDateTime {
    Date::from_calendar_date(2026, month, day)
        .expect("date")
        .with_time(Time::from_hms(hour, 0, 0).expect("time"))
        .assume_offset(VIETNAM)
}

fn nov(day: u8, hour: u8) -> OffsetDateTime {
    at(Month::November, day, hour)
}

/// A dossier received at 09:00 on `received`, due at 17:00 on `due`.
fn dossier(
    procedure: &str,
    mode: OnlineMode,
    online: bool,
    received: OffsetDateTime,
    due: OffsetDateTime,
) -> DossierFacts {
    DossierFacts {
        procedure: procedure.to_owned(),
        mode,
        online,
        full_online: false,
        received,
        due,
        rescheduled_to: None,
        supplements: Vec::new(),
        decided: None,
        withdrawn: None,
    }
}

fn november() -> Vec<DossierFacts> {
    use OnlineMode::{Full, Partial};
    let none = OnlineMode::None;
    let mut v = Vec::new();
    // A: full-online, resolved early.
    let mut a = dossier("1.001", Full, true, nov(2, 9), nov(5, 17));
    a.full_online = true;
    a.decided = Some(nov(4, 10));
    v.push(a);
    // B: filed online, result at the counter, late.
    let mut b = dossier("1.001", Full, true, nov(3, 9), nov(6, 17));
    b.decided = Some(nov(10, 9));
    v.push(b);
    // C: paper, resolved at the very moment it was due: on time.
    let mut c = dossier("1.004", Full, false, nov(4, 9), nov(7, 17));
    c.decided = Some(nov(7, 17));
    v.push(c);
    // D: paused for a supplement; its clock restarted, and it was resolved by the new date.
    let mut d = dossier("1.004", Partial, false, nov(5, 9), nov(19, 17));
    d.supplements = vec![(nov(6, 9), Some(nov(12, 9)))];
    d.decided = Some(nov(18, 9));
    v.push(d);
    // E: rescheduled once (Mẫu 04), resolved before the new date but after the first: late.
    let mut e = dossier("1.002", Partial, true, nov(9, 9), nov(12, 17));
    e.rescheduled_to = Some(nov(20, 17));
    e.decided = Some(nov(19, 9));
    v.push(e);
    // F: withdrawn by the applicant during the month.
    let mut f = dossier("1.003", Full, true, nov(10, 9), nov(13, 17));
    f.withdrawn = Some(nov(11, 9));
    v.push(f);
    // G: from October, still open at the month's end and within its time.
    v.push(dossier(
        "1.004",
        none,
        false,
        at(Month::October, 28, 9),
        at(Month::December, 5, 17),
    ));
    // H: from October, resolved in November on time.
    let mut h = dossier("1.004", none, false, at(Month::October, 20, 9), nov(3, 17));
    h.decided = Some(nov(2, 9));
    v.push(h);
    // I: full-online, still open at the month's end and overdue.
    let mut i = dossier("1.001", Full, true, nov(16, 9), nov(20, 17));
    i.full_online = true;
    v.push(i);
    // J: waiting for a supplement at the month's end, past its first date: its clock is stopped.
    let mut j = dossier("1.004", none, false, nov(17, 9), nov(24, 17));
    j.supplements = vec![(nov(20, 9), None)];
    v.push(j);
    // K: received and resolved in October.
    let mut k = dossier(
        "1.004",
        none,
        false,
        at(Month::October, 1, 9),
        at(Month::October, 8, 17),
    );
    k.decided = Some(at(Month::October, 10, 9));
    v.push(k);
    // L: received in December.
    v.push(dossier(
        "1.001",
        Full,
        true,
        at(Month::December, 2, 9),
        at(Month::December, 5, 17),
    ));
    // M: open and overdue at the month's end, withdrawn only in December.
    let mut m = dossier("1.002", Partial, true, nov(25, 9), nov(28, 17));
    m.withdrawn = Some(at(Month::December, 3, 9));
    v.push(m);
    // N: full-online, still open at the month's end and within its time.
    let mut n = dossier("1.001", Full, true, nov(26, 9), at(Month::December, 3, 17));
    n.full_online = true;
    n.decided = Some(at(Month::December, 1, 9));
    v.push(n);
    v
}

fn ratio(numerator: u64, denominator: u64) -> Ratio {
    Ratio {
        numerator,
        denominator,
    }
}

#[test]
fn a_month_of_dossiers_gives_the_values_computed_by_hand() {
    let month = Period::month(2026, 11).expect("November");
    let d = november();
    assert_eq!(on_time(&d, &month), ratio(7, 11), "2.1");
    let avg = average_days(&d, &month).expect("some resolved");
    assert!((avg - 8.0625).abs() < 1e-9, "2.2: {avg}");
    assert_eq!(full_online(&d, &month), ratio(3, 6), "3");
    assert_eq!(online_share(&d, &month), ratio(7, 10));
    let offered = ["1.001", "1.002", "1.003", "1.004"];
    assert_eq!(services_used(&d, &month, &offered), ratio(3, 4), "3.2");
    assert_eq!(online_on_time(&d, &month), ratio(1, 3));

    let s = score(&d, &month, &offered);
    let progress = s.group_points(Group::Progress).expect("2.1 has data");
    assert!((progress - 7.0 / 11.0 * 20.0).abs() < 1e-9);
    assert_eq!(s.group_points(Group::Online), Some(6.0));
    for g in [
        Group::Transparency,
        Group::Payment,
        Group::Satisfaction,
        Group::Digitisation,
    ] {
        assert_eq!(s.group_points(g), None, "{g:?}: no data yet, not a zero");
    }
    let (points, out_of) = s.total();
    assert!((points - (progress + 6.0)).abs() < 1e-9);
    assert_eq!(out_of, 32.0);
}

#[test]
fn a_period_without_dossiers_has_no_rate_rather_than_a_zero() {
    let empty = Period::month(2030, 1).expect("month");
    let d = november();
    // Dossiers of 2026 resolved or withdrawn long before are none of 2030's; the ones never
    // resolved (G, I, J, L) still are.
    assert_eq!(on_time(&d, &empty).denominator, 4);
    assert_eq!(full_online(&d, &empty), ratio(0, 0));
    assert_eq!(full_online(&d, &empty).percent(), None);
    let s = score(&[], &empty, &[]);
    assert_eq!(s.total(), (0.0, 0.0));
    assert_eq!(s.group_points(Group::Progress), None);
    assert_eq!(average_days(&[], &empty), None);
    assert_eq!(ratio(0, 0).percent(), None);
    assert_eq!(ratio(0, 4).percent(), Some(0.0), "a real zero is a zero");
}

#[test]
fn rates_become_points_as_the_portal_counts_them() {
    assert_eq!(points(Some(60.0), 6.0, Some(80.0)), Some(4.5));
    assert_eq!(points(Some(85.0), 6.0, Some(80.0)), Some(6.0));
    assert_eq!(points(Some(50.0), 20.0, None), Some(10.0));
    assert_eq!(points(Some(120.0), 20.0, None), Some(20.0));
    assert_eq!(points(None, 20.0, None), None);
}

#[test]
fn periods_are_read_as_months_quarters_and_years_and_anything_else_is_not() {
    assert_eq!(Period::parse("2026-11"), Period::month(2026, 11));
    assert_eq!(Period::parse("2026-Q4"), Period::quarter(2026, 4));
    assert_eq!(Period::parse("2026"), Period::year(2026));
    for bad in [
        "2026-13",
        "2026-Q5",
        "2026-Q",
        "11/2026",
        "",
        "năm 2026",
        "2026-\u{0}1",
    ] {
        assert_eq!(Period::parse(bad), None, "{bad}");
    }
    assert_eq!(Period::last_month(nov(1, 3)), Period::month(2026, 10));
    assert_eq!(
        Period::last_month(at(Month::January, 15, 9).replace_year(2027).expect("year")),
        Period::month(2026, 12)
    );
}

#[test]
fn periods_are_vietnam_months_quarters_and_years() {
    let feb = Period::month(2028, 2).expect("February");
    assert_eq!(feb.end - feb.start, time::Duration::days(29), "a leap year");
    assert_eq!(Period::month(2026, 13), None);
    let q4 = Period::quarter(2026, 4).expect("Q4");
    assert_eq!(q4.start, at(Month::October, 1, 0));
    assert_eq!(q4.end.year(), 2027);
    assert_eq!(Period::quarter(2026, 5), None);
    let y = Period::year(2026).expect("year");
    assert!(y.contains(nov(30, 23)) && !y.contains(q4.end));
    // Midnight in Hà Nội is 17:00 the day before in UTC: a dossier received then is the month's.
    let first = Period::month(2026, 12).expect("December").start;
    assert_eq!(
        (first.to_offset(time::UtcOffset::UTC).hour(), first.day()),
        (17, 1)
    );
}

/// Builds a stored history the way the store writes one: each event the state fields it changed.
struct History {
    state: crate::dossier::lifecycle::Lifecycle,
    events: Vec<(
        OffsetDateTime,
        crate::dossier::status::Status,
        crate::dossier::Payload,
    )>,
}

impl History {
    fn new() -> History {
        History {
            state: crate::dossier::lifecycle::Lifecycle::blank(),
            events: Vec::new(),
        }
    }

    fn then(
        &mut self,
        at: OffsetDateTime,
        status: crate::dossier::status::Status,
        detail: crate::dossier::Detail,
        change: impl FnOnce(&mut crate::dossier::lifecycle::Lifecycle),
    ) {
        let mut after = self.state.clone();
        after.status = status;
        change(&mut after);
        let changes = self.state.changes_to(&after).expect("changes");
        self.events
            .push((at, status, crate::dossier::Payload { detail, changes }));
        self.state = after;
    }

    /// Received complete at `at`, due at `due` (a three-working-day procedure).
    fn received(&mut self, at: OffsetDateTime, due: OffsetDateTime) {
        self.then(
            at,
            crate::dossier::status::Status::Received,
            crate::dossier::Detail::Received {
                time_limit: "3d".parse().expect("limit"),
                workflow_version: 0,
            },
            |s| {
                s.received_at = Some(at);
                s.due_at = Some(due);
            },
        );
    }

    fn facts(&self, channel: crate::dossier::status::Channel) -> Option<DossierFacts> {
        let steps: Vec<_> = self.events.iter().map(|(a, s, p)| (*a, *s, p)).collect();
        DossierFacts::from_history("1.001", OnlineMode::Full, channel, &steps).expect("folds")
    }
}

#[test]
fn a_stored_history_folds_into_the_facts_the_indicators_count() {
    use crate::dossier::status::{Channel, HandOverMethod, Status};
    use crate::dossier::Detail;
    let mut h = History::new();
    h.then(nov(3, 8), Status::Submitted, Detail::Submitted, |s| {
        s.submitted_at = Some(nov(3, 8));
    });
    h.received(nov(3, 9), nov(6, 17));
    h.then(
        nov(4, 9),
        Status::SupplementRequested,
        Detail::SupplementRequested {
            items: vec!["Bản sao giấy khai sinh".into()],
        },
        |s| s.supplement_requests = 1,
    );
    h.then(nov(5, 9), Status::Received, Detail::Resubmitted, |s| {
        s.due_at = Some(nov(10, 17));
    });
    h.then(
        nov(9, 9),
        Status::InProgress,
        Detail::Rescheduled {
            new_due: nov(14, 17),
        },
        |s| {
            s.original_due_at = Some(nov(10, 17));
            s.due_at = Some(nov(14, 17));
            s.reschedules = 1;
        },
    );
    h.then(
        nov(13, 9),
        Status::Decided,
        Detail::ResultIssued {
            file_name: "ket-qua.pdf".into(),
            sha256: "ab".repeat(32),
        },
        |s| s.decided_at = Some(nov(13, 9)),
    );
    h.then(
        nov(13, 10),
        Status::HandedOver,
        Detail::HandedOver {
            method: HandOverMethod::Online,
        },
        |s| {
            s.hand_over_method = Some(HandOverMethod::Online);
            s.closed_at = Some(nov(13, 10));
        },
    );
    let f = h.facts(Channel::Online).expect("received");
    assert_eq!(f.received, nov(3, 9));
    assert_eq!(
        f.due,
        nov(10, 17),
        "restarted after the supplement, not moved by the reschedule"
    );
    assert_eq!(f.rescheduled_to, Some(nov(14, 17)));
    assert_eq!(f.supplements, vec![(nov(4, 9), Some(nov(5, 9)))]);
    assert_eq!((f.decided, f.withdrawn), (Some(nov(13, 9)), None));
    assert!(f.online && f.full_online);
    let month = Period::month(2026, 11).expect("November");
    assert_eq!(
        on_time(std::slice::from_ref(&f), &month),
        ratio(0, 1),
        "late by its first date"
    );
    // Collected at the counter, the same dossier was not done entirely online.
    assert!(!h.facts(Channel::Counter).expect("received").full_online);

    let mut refused = History::new();
    refused.then(nov(3, 8), Status::Submitted, Detail::Submitted, |s| {
        s.submitted_at = Some(nov(3, 8));
    });
    refused.then(nov(3, 9), Status::Refused, Detail::Refused, |s| {
        s.closed_at = Some(nov(3, 9));
    });
    assert_eq!(refused.facts(Channel::Online), None, "never received");

    let mut withdrawn = History::new();
    withdrawn.received(nov(3, 9), nov(6, 17));
    withdrawn.then(nov(4, 9), Status::Withdrawn, Detail::Withdrawn, |s| {
        s.closed_at = Some(nov(4, 9));
    });
    let f = withdrawn.facts(Channel::Counter).expect("received");
    assert_eq!(f.withdrawn, Some(nov(4, 9)));
    assert_eq!(on_time(&[f], &month), ratio(0, 0), "owed no result");
}
