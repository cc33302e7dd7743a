//! Login throttling: after too many wrong passwords an account (or an address) is locked for a
//! while; during the lock even the right password is refused.

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

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

    proptest! {
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
