//! Throttling of guesses and quotas of messages. After too many wrong passwords, codes or
//! lookups an account, an address or a code is locked for a while, and during the lock even the
//! right answer is refused. An attempt is counted *before* it is checked ([`ThrottleRule::attempt`])
//! and given back when it was right ([`ThrottleRule::refund`]): counting after the check let
//! parallel requests all pass the check before any of them was counted.
//!
//! Messages that cost money or reach a person (codes by SMS or email) are capped per window by a
//! [`Quota`].

use time::{Duration, OffsetDateTime};

/// The state kept per account or per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Wrong passwords since the last success or lock.
    pub failures: u32,
    /// End of the current lock.
    pub locked_until: Option<OffsetDateTime>,
}

/// How many failures lock, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures that lock.
    pub max_failures: u32,
    /// Length of a lock.
    pub lock: Duration,
}

impl ThrottleRule {
    /// Per account: 20 wrong passwords lock it for 15 minutes.
    pub const ACCOUNT: ThrottleRule = ThrottleRule {
        max_failures: 20,
        lock: Duration::minutes(15),
    };
    /// Per client address: 100 wrong passwords (any accounts) lock it for 15 minutes.
    pub const ADDRESS: ThrottleRule = ThrottleRule {
        max_failures: 100,
        lock: Duration::minutes(15),
    };
    /// The public dossier lookup (code + last four phone digits, 10,000 guesses a code): 20 misses
    /// lock it for 15 minutes, counted per client address and per code, so neither one address
    /// nor many addresses against one code can walk the digits.
    pub const LOOKUP: ThrottleRule = ThrottleRule {
        max_failures: 20,
        lock: Duration::minutes(15),
    };

    /// Per account, across all its one-time codes: 10 wrong codes lock code entry for an hour, so
    /// issuing fresh codes gives no fresh guesses (10 guesses an hour against 1,000,000 codes).
    pub const CODE_ACCOUNT: ThrottleRule = ThrottleRule {
        max_failures: 10,
        lock: Duration::hours(1),
    };
    /// Per client address, across accounts: 30 wrong codes lock it for an hour.
    pub const CODE_ADDRESS: ThrottleRule = ThrottleRule {
        max_failures: 30,
        lock: Duration::hours(1),
    };

    /// Counts one attempt at `now`, before its answer is checked: refused while a lock is in
    /// force, otherwise allowed with the state to store (which may start a lock, when this is
    /// the last attempt allowed).
    pub fn attempt(&self, t: Throttle, now: OffsetDateTime) -> Attempt {
        match self.locked_until(&t, now) {
            Some(until) => Attempt::Refused { until },
            None => Attempt::Allowed(self.fail(t, now)),
        }
    }

    /// The state after an attempt counted by [`ThrottleRule::attempt`] turned out right: it no
    /// longer counts. A lock already set stays.
    pub fn refund(&self, t: Throttle) -> Throttle {
        if t.locked_until.is_some() {
            return t;
        }
        Throttle {
            failures: t.failures.saturating_sub(1),
            locked_until: None,
        }
    }

    /// The end of the lock in force at `now`, if any.
    pub fn locked_until(&self, t: &Throttle, now: OffsetDateTime) -> Option<OffsetDateTime> {
        t.locked_until.filter(|until| *until > now)
    }

    /// The state after one more wrong password at `now`.
    pub fn fail(&self, t: Throttle, now: OffsetDateTime) -> Throttle {
        if self.locked_until(&t, now).is_some() {
            return t;
        }
        let failures = if t.locked_until.is_some() {
            1
        } else {
            t.failures + 1
        };
        if failures >= self.max_failures {
            Throttle {
                failures: 0,
                locked_until: Some(now + self.lock),
            }
        } else {
            Throttle {
                failures,
                locked_until: None,
            }
        }
    }
}

/// What counting one attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go on and check it; store this state.
    Allowed(Throttle),
    /// A lock is in force until then: do not check.
    Refused {
        /// End of the lock.
        until: OffsetDateTime,
    },
}

impl Attempt {
    /// The lock this attempt started or met, if any.
    pub fn locked_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Attempt::Allowed(t) => t.locked_until.filter(|u| *u > now),
            Attempt::Refused { until } => Some(*until),
        }
    }
}

/// A cap on events per fixed window, e.g. three codes a quarter hour to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Events allowed in one window.
    pub max: u32,
    /// Length of a window, which starts at its first event.
    pub window: Duration,
}

/// The state kept per quota key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaState {
    /// Events taken in the current window (refused ones included).
    pub count: u32,
    /// End of the current window; `None` before the first event.
    pub window_ends: Option<OffsetDateTime>,
}

impl Quota {
    /// Messages to one recipient (an address or a phone): three a quarter hour.
    pub const MESSAGES_TO_RECIPIENT: Quota = Quota {
        max: 3,
        window: Duration::minutes(15),
    };
    /// Messages to one recipient: ten a day, so a patient script cannot send 288.
    pub const MESSAGES_TO_RECIPIENT_DAILY: Quota = Quota {
        max: 10,
        window: Duration::hours(24),
    };
    /// Messages asked for from one client address: ten a quarter hour.
    pub const MESSAGES_FROM_ADDRESS: Quota = Quota {
        max: 10,
        window: Duration::minutes(15),
    };
    /// New one-time codes of one account, whichever login name, email or phone asked: three a
    /// quarter hour.
    pub const CODES_PER_ACCOUNT: Quota = Quota {
        max: 3,
        window: Duration::minutes(15),
    };

    /// Takes one event at `now`: the state to store, and whether it is allowed (`Err` with the
    /// moment the window ends when the quota is used up).
    pub fn take(
        &self,
        s: QuotaState,
        now: OffsetDateTime,
    ) -> (QuotaState, Result<(), OffsetDateTime>) {
        let open = s.window_ends.filter(|end| *end > now);
        let (count, ends) = match open {
            Some(end) => (s.count.saturating_add(1), end),
            None => (1, now + self.window),
        };
        let next = QuotaState {
            count,
            window_ends: Some(ends),
        };
        if count > self.max {
            (next, Err(ends))
        } else {
            (next, Ok(()))
        }
    }
    /// Takes up to `n` events at once at `now` (a sender's share of a provider's rate): the state
    /// to store, how many were granted (never beyond what is left), and the window's end.
    pub fn take_up_to(
        &self,
        s: QuotaState,
        n: u32,
        now: OffsetDateTime,
    ) -> (QuotaState, u32, OffsetDateTime) {
        let open = s.window_ends.filter(|end| *end > now);
        let (used, ends) = match open {
            Some(end) => (s.count, end),
            None => (0, now + self.window),
        };
        let granted = n.min(self.max.saturating_sub(used));
        let next = QuotaState {
            count: used.saturating_add(granted),
            window_ends: Some(ends),
        };
        (next, granted, ends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    proptest! {
        #[test]
        fn taking_in_chunks_never_grants_more_than_the_window_allows(
            max in 1_u32..500,
            chunks in proptest::collection::vec(1_u32..100, 1..40),
        ) {
            let q = Quota { max, window: Duration::seconds(1) };
            let now = datetime!(2026-12-07 10:00 UTC);
            let mut s = QuotaState::default();
            let mut total = 0;
            for n in chunks {
                let (next, granted, ends) = q.take_up_to(s, n, now);
                prop_assert!(granted <= n);
                prop_assert_eq!(ends, now + Duration::seconds(1));
                total += granted;
                s = next;
            }
            prop_assert!(total <= max);
            // The next window starts afresh.
            let (_, granted, _) = q.take_up_to(s, max, now + Duration::seconds(1));
            prop_assert_eq!(granted, max);
        }
    }

    #[test]
    fn twenty_failures_lock_for_fifteen_minutes() {
        let rule = ThrottleRule::ACCOUNT;
        let now = datetime!(2026-11-29 09:00 UTC);
        let mut t = Throttle::default();
        for i in 1..20 {
            t = rule.fail(t, now);
            assert_eq!(rule.locked_until(&t, now), None, "after {i}");
        }
        t = rule.fail(t, now);
        assert_eq!(
            rule.locked_until(&t, now),
            Some(datetime!(2026-11-29 09:15 UTC))
        );
        assert_eq!(
            rule.locked_until(&t, datetime!(2026-11-29 09:14:59 UTC)),
            Some(datetime!(2026-11-29 09:15 UTC))
        );
        assert_eq!(rule.locked_until(&t, datetime!(2026-11-29 09:15 UTC)), None);
        // After the lock, counting starts again.
        let after = rule.fail(t, datetime!(2026-11-29 09:20 UTC));
        assert_eq!(
            after,
            Throttle {
                failures: 1,
                locked_until: None
            }
        );
    }

    #[test]
    fn an_attempt_is_counted_before_it_is_checked_and_a_right_one_is_given_back() {
        let rule = ThrottleRule::CODE_ACCOUNT;
        let now = datetime!(2026-12-04 09:00 UTC);
        let mut t = Throttle::default();
        for _ in 0..9 {
            match rule.attempt(t, now) {
                Attempt::Allowed(next) => t = next,
                Attempt::Refused { .. } => panic!("refused too early"),
            }
        }
        // A right answer gives its attempt back: still nine short of ten.
        let Attempt::Allowed(right) = rule.attempt(t, now) else {
            panic!("the tenth attempt is checked");
        };
        assert_eq!(right.locked_until, Some(datetime!(2026-12-04 10:00 UTC)));
        assert_eq!(
            rule.refund(t),
            Throttle {
                failures: 8,
                locked_until: None
            }
        );
        // The tenth attempt locks; the eleventh is refused unchecked, whatever it holds.
        assert_eq!(
            rule.attempt(right, now + Duration::minutes(59)),
            Attempt::Refused {
                until: datetime!(2026-12-04 10:00 UTC)
            }
        );
        assert!(matches!(
            rule.attempt(right, datetime!(2026-12-04 10:00 UTC)),
            Attempt::Allowed(_)
        ));
    }

    #[test]
    fn a_quota_refuses_past_its_count_until_the_window_ends() {
        let q = Quota::MESSAGES_TO_RECIPIENT;
        let start = datetime!(2026-12-04 09:00 UTC);
        let mut s = QuotaState::default();
        for i in 0..3 {
            let (next, ok) = q.take(s, start + Duration::minutes(i));
            assert_eq!(ok, Ok(()), "message {i}");
            s = next;
        }
        let (s, refused) = q.take(s, start + Duration::minutes(10));
        assert_eq!(refused, Err(datetime!(2026-12-04 09:15 UTC)));
        let (_, again) = q.take(s, datetime!(2026-12-04 09:15 UTC));
        assert_eq!(again, Ok(()), "a new window opens when the old one ends");
    }

    proptest! {
        #[test]
        fn no_window_ever_allows_more_than_the_quota(gaps in proptest::collection::vec(0i64..600, 1..200)) {
            let q = Quota::MESSAGES_TO_RECIPIENT;
            let mut now = datetime!(2026-12-04 09:00 UTC);
            let mut s = QuotaState::default();
            let mut allowed: Vec<OffsetDateTime> = Vec::new();
            for g in gaps {
                now += Duration::seconds(g);
                let (next, ok) = q.take(s, now);
                s = next;
                if ok.is_ok() {
                    allowed.push(now);
                }
            }
            // Windows are fixed from their first event, so any span shorter than one window
            // holds at most two windows' worth.
            for (i, t) in allowed.iter().enumerate() {
                let within = allowed[i..].iter().take_while(|u| **u < *t + q.window).count();
                prop_assert!(within <= 2 * q.max as usize);
            }
        }

        #[test]
        fn attempts_never_pass_more_than_the_rule_allows_before_a_lock(n in 1u32..200) {
            let rule = ThrottleRule::ACCOUNT;
            let now = datetime!(2026-12-04 09:00 UTC);
            let mut t = Throttle::default();
            let mut checked = 0;
            for _ in 0..n {
                if let Attempt::Allowed(next) = rule.attempt(t, now) {
                    checked += 1;
                    t = next;
                }
            }
            prop_assert!(checked <= rule.max_failures);
        }

        #[test]
        fn failures_during_a_lock_do_not_extend_it(n in 0u32..50) {
            let rule = ThrottleRule::ACCOUNT;
            let now = datetime!(2026-11-29 09:00 UTC);
            let locked = (0..20).fold(Throttle::default(), |t, _| rule.fail(t, now));
            let later = (0..n).fold(locked, |t, _| rule.fail(t, now + Duration::minutes(5)));
            prop_assert_eq!(later, locked);
        }
    }
}
