//! Throttles and quotas in the database, shared by every server of an installation. Each change
//! is a compare-and-set on the row's version: the rule (in the core) computes the next state from
//! the one read, and the write only lands if nobody changed the row in between; otherwise it
//! reads again. So 60 parallel wrong passwords are counted one by one, never all from the same
//! stale count, on SQLite and PostgreSQL alike.

use crate::backend::{on_pool, positional};
use crate::{Store, StoreError};
use motcua_core::accounts::{Attempt, Quota, QuotaState, Throttle, ThrottleRule};
use time::OffsetDateTime;

const DELETE_LOGIN_THROTTLE_BY_KEY: &str = "DELETE \
     FROM login_throttle \
     WHERE key = $1";

const DELETE_QUOTAS_BY_WINDOW_ENDS_AT: &str = "DELETE \
     FROM quotas \
     WHERE window_ends_at <= $1";

const DELETE_LOGIN_THROTTLE_BY_LOCKED_UNTIL: &str = "DELETE \
     FROM login_throttle \
     WHERE locked_until IS NOT NULL AND locked_until <= $1 AND failures = 0";

/// The statements of one counter table; its rows are (count, moment, version).
struct Counter {
    select: &'static str,
    insert: &'static str,
    update: &'static str,
}

const THROTTLE: Counter = Counter {
    select: "SELECT failures, locked_until, version FROM login_throttle WHERE key = $1",
    insert:
        "INSERT INTO login_throttle (key, failures, locked_until, version) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (key) DO NOTHING",
    update: "UPDATE login_throttle SET failures = $2, locked_until = $3, version = version + 1 \
             WHERE key = $1 AND version = $4",
};

const QUOTA: Counter = Counter {
    select: "SELECT count, window_ends_at, version FROM quotas WHERE key = $1",
    insert: "INSERT INTO quotas (key, count, window_ends_at, version) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (key) DO NOTHING",
    update: "UPDATE quotas SET count = $2, window_ends_at = $3, version = version + 1 \
             WHERE key = $1 AND version = $4",
};

/// A counter's state as stored: the count and its moment (lock end, window end).
type State = (i64, Option<OffsetDateTime>);

/// Every round lets one contender through, so this bounds only a pathological storm.
const MAX_ROUNDS: usize = 1000;

impl Store {
    /// Applies `step` to the state of `key` atomically; `step` returns `None` to write nothing.
    /// Returns the state before and, when written, after.
    async fn compare_and_set(
        &self,
        counter: &Counter,
        key: &str,
        step: impl Fn(State) -> Option<State>,
    ) -> Result<(State, Option<State>), StoreError> {
        for _ in 0..MAX_ROUNDS {
            let row: Option<(i64, Option<OffsetDateTime>, i64)> =
                on_pool!(self.backend(), |p| sqlx::query_as(counter.select)
                    .bind(key)
                    .fetch_optional(p)
                    .await)?;
            let old = row.map_or((0, None), |(c, at, _)| (c, at));
            let Some(new) = step(old) else {
                return Ok((old, None));
            };
            let won = match row {
                None => on_pool!(self.backend(), |p| sqlx::query(counter.insert)
                    .bind(key)
                    .bind(new.0)
                    .bind(new.1)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()))?,
                Some((_, _, version)) => on_pool!(self.backend(), |p| sqlx::query(counter.update)
                    .bind(key)
                    .bind(new.0)
                    .bind(new.1)
                    .bind(version)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()))?,
            } == 1;
            if won {
                return Ok((old, Some(new)));
            }
        }
        Err(StoreError::Internal(format!(
            "the counter {key} changed {MAX_ROUNDS} times while being updated"
        )))
    }

    /// The throttle state of `key` (`account:ID`, `ip:ADDR`, …).
    pub async fn throttle(&self, key: &str) -> Result<Throttle, StoreError> {
        let row: Option<(i64, Option<OffsetDateTime>, i64)> =
            on_pool!(self.backend(), |p| sqlx::query_as(THROTTLE.select)
                .bind(key)
                .fetch_optional(p)
                .await)?;
        Ok(row.map_or_else(Throttle::default, |(f, l, _)| throttle_of((f, l))))
    }

    /// Counts one attempt under `rule` before it is checked (see [`ThrottleRule::attempt`]).
    /// Refused attempts change nothing.
    pub async fn throttle_attempt(
        &self,
        key: &str,
        rule: ThrottleRule,
    ) -> Result<Attempt, StoreError> {
        let now = OffsetDateTime::now_utc();
        let (old, new) = self
            .compare_and_set(&THROTTLE, key, |s| {
                match rule.attempt(throttle_of(s), now) {
                    Attempt::Allowed(t) => Some(state_of(t)),
                    Attempt::Refused { .. } => None,
                }
            })
            .await?;
        Ok(match new {
            Some(s) => Attempt::Allowed(throttle_of(s)),
            None => rule.attempt(throttle_of(old), now),
        })
    }

    /// Gives back an attempt that turned out right (see [`ThrottleRule::refund`]).
    pub async fn throttle_refund(&self, key: &str, rule: ThrottleRule) -> Result<(), StoreError> {
        self.compare_and_set(&THROTTLE, key, |s| {
            let t = throttle_of(s);
            let back = rule.refund(t);
            (back != t).then(|| state_of(back))
        })
        .await?;
        Ok(())
    }

    /// Records one more failure under `rule`, counted after the fact; returns the new state.
    pub async fn throttle_fail(
        &self,
        key: &str,
        rule: ThrottleRule,
    ) -> Result<Throttle, StoreError> {
        let now = OffsetDateTime::now_utc();
        let (old, new) = self
            .compare_and_set(&THROTTLE, key, |s| {
                Some(state_of(rule.fail(throttle_of(s), now)))
            })
            .await?;
        Ok(throttle_of(new.unwrap_or(old)))
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        on_pool!(self.backend(), |p| sqlx::query(
            DELETE_LOGIN_THROTTLE_BY_KEY
        )
        .bind(key)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes one event of `quota` under `key`: `Err` with the end of the window when it is used
    /// up. Refused events are counted too, which changes nothing but the count.
    pub async fn quota_take(
        &self,
        key: &str,
        quota: Quota,
    ) -> Result<Result<(), OffsetDateTime>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let (old, _) = self
            .compare_and_set(&QUOTA, key, |s| {
                Some(quota_state(quota.take(quota_of(s), now).0))
            })
            .await?;
        Ok(quota.take(quota_of(old), now).1)
    }

    /// Gives back one event of each key (a key named twice, two): for messages a provider sent
    /// back untried, which must not spend their recipients' quotas. One statement for all.
    pub async fn quota_give_back(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for k in keys {
            *counts.entry(k.as_str()).or_default() += 1;
        }
        if counts.is_empty() {
            return Ok(());
        }
        let values: Vec<String> = (0..counts.len())
            .map(|i| format!("(${}, CAST(${} AS BIGINT))", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = positional(
            self.backend(),
            format!(
                "UPDATE quotas SET count = CASE WHEN quotas.count > v.column2 \
                 THEN quotas.count - v.column2 ELSE 0 END, version = quotas.version + 1 \
                 FROM (VALUES {}) AS v WHERE quotas.key = v.column1",
                values.join(", ")
            ),
        );
        on_pool!(self.backend(), |p| {
            let mut q = sqlx::query(&sql);
            for (k, n) in &counts {
                q = q.bind(*k).bind(*n);
            }
            q.execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Takes up to `n` events of `quota` under `key` at once, for a sender that draws its share
    /// of a budget shared by every node (a provider's rate): how many were granted (0 when the
    /// window is used up) and when the window ends.
    pub async fn quota_take_up_to(
        &self,
        key: &str,
        quota: Quota,
        n: u32,
    ) -> Result<(u32, OffsetDateTime), StoreError> {
        let now = OffsetDateTime::now_utc();
        let (old, _) = self
            .compare_and_set(&QUOTA, key, |s| {
                Some(quota_state(quota.take_up_to(quota_of(s), n, now).0))
            })
            .await?;
        let (_, granted, ends) = quota.take_up_to(quota_of(old), n, now);
        Ok((granted, ends))
    }

    /// Takes one event of each `(key, quota)` in one transaction (a batch of messages' recipient
    /// quotas), in order, so a key named twice counts twice; the same answers as [`quota_take`]
    /// one by one. The rows are created if missing, then read locked (`FOR UPDATE` on
    /// PostgreSQL; SQLite has one writer), so parallel batches count one after the other.
    ///
    /// [`quota_take`]: Store::quota_take
    pub async fn quota_take_many(
        &self,
        takes: &[(String, Quota)],
    ) -> Result<Vec<Result<(), OffsetDateTime>>, StoreError> {
        use crate::backend::BeginWrite;
        use std::collections::BTreeMap;
        if takes.is_empty() {
            return Ok(Vec::new());
        }
        let now = OffsetDateTime::now_utc();
        let keys: Vec<&str> = {
            let mut k: Vec<&str> = takes.iter().map(|(k, _)| k.as_str()).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let list = |from: usize| {
            (0..keys.len())
                .map(|i| format!("${}", from + i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A new row's window ends now: an ended window, which the rule reads as none.
        let create = positional(
            self.backend(),
            format!(
                "INSERT INTO quotas (key, count, window_ends_at, version) VALUES {} \
                 ON CONFLICT (key) DO NOTHING",
                (0..keys.len())
                    .map(|i| format!("(${}, 0, ${}, 0)", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        let lock = match self.backend() {
            crate::Backend::Postgres(_) => " ORDER BY key FOR UPDATE",
            crate::Backend::Sqlite(_) => "",
        };
        let read = positional(
            self.backend(),
            format!(
                "SELECT key, count, window_ends_at FROM quotas WHERE key IN ({}){lock}",
                list(1)
            ),
        );
        let mut answers = Vec::with_capacity(takes.len());
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query(&create);
            for k in &keys {
                q = q.bind(*k).bind(now);
            }
            q.execute(&mut *tx).await?;
            let mut q = sqlx::query_as::<_, (String, i64, Option<OffsetDateTime>)>(&read);
            for k in &keys {
                q = q.bind(*k);
            }
            let mut states: BTreeMap<String, State> = q
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(k, c, at)| (k, (c, at)))
                .collect();
            for (key, quota) in takes {
                let old = states.get(key).copied().unwrap_or((0, None));
                let (new, answer) = quota.take(quota_of(old), now);
                states.insert(key.clone(), quota_state(new));
                answers.push(answer);
            }
            // One statement writes every row's new state, joined from a list of values (a
            // CASE over the keys would cost keys² per batch).
            let values: Vec<String> = (0..keys.len())
                .map(|i| {
                    format!(
                        "(${}, CAST(${} AS BIGINT), ${})",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    )
                })
                .collect();
            let update = positional(
                self.backend(),
                format!(
                    "UPDATE quotas SET count = v.column2, window_ends_at = v.column3, \
                     version = quotas.version + 1 FROM (VALUES {}) AS v \
                     WHERE quotas.key = v.column1",
                    values.join(", ")
                ),
            );
            let mut q = sqlx::query(&update);
            for k in &keys {
                let (count, end) = states.get(*k).copied().unwrap_or((0, None));
                q = q.bind(*k).bind(count).bind(end);
            }
            q.execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(answers)
    }

    /// Removes quota windows that have ended and throttle rows with nothing left to remember;
    /// returns how many rows went.
    pub async fn sweep_limits(&self) -> Result<u64, StoreError> {
        let now = OffsetDateTime::now_utc();
        let quotas = on_pool!(self.backend(), |p| sqlx::query(
            DELETE_QUOTAS_BY_WINDOW_ENDS_AT
        )
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        let throttles = on_pool!(self.backend(), |p| {
            sqlx::query(DELETE_LOGIN_THROTTLE_BY_LOCKED_UNTIL)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(quotas + throttles)
    }
}

fn throttle_of((failures, locked_until): State) -> Throttle {
    Throttle {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until,
    }
}

fn state_of(t: Throttle) -> State {
    (i64::from(t.failures), t.locked_until)
}

fn quota_of((count, window_ends): State) -> QuotaState {
    QuotaState {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        window_ends,
    }
}

fn quota_state(q: QuotaState) -> State {
    (i64::from(q.count), q.window_ends)
}
