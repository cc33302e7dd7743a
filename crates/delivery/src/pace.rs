//! A provider's rate and daily quota, shared by every node: a contract allows so many messages a
//! second and a day (Zalo gives each OA a daily ZNS quota), and going over them gets messages
//! refused or the account suspended. Each node draws its share of the current window from the
//! database in small chunks and spends it locally; what it drew and did not spend lapses with the
//! window, so the sum over nodes never exceeds the limit. A message that finds the window spent
//! goes back in the queue until the window ends, untried and never dropped.

use motcua_core::accounts::Quota;
use motcua_gateways::{Accepted, DeliveryError, Gateway, Outgoing};
use motcua_store::Store;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

/// A provider's limits; `None`: no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// Messages a second, over all nodes.
    pub per_second: Option<u32>,
    /// Messages a day (24 hours from the window's first message), over all nodes.
    pub per_day: Option<u32>,
}

impl Pace {
    /// Whether there is any limit.
    pub fn is_limited(&self) -> bool {
        self.per_second.is_some() || self.per_day.is_some()
    }
}

#[derive(Debug, Clone, Copy)]
struct Held {
    left: u32,
    until: OffsetDateTime,
}

const NOTHING: Held = Held {
    left: 0,
    until: OffsetDateTime::UNIX_EPOCH,
};

/// `G` sending no faster than its [`Pace`].
pub struct Paced<G: Gateway> {
    inner: Arc<G>,
    store: Arc<Store>,
    pace: Pace,
    held: Mutex<[Held; 2]>,
}

impl<G: Gateway> Paced<G> {
    /// `inner` limited to `pace`, its budget kept in `store`.
    pub fn new(inner: Arc<G>, store: Arc<Store>, pace: Pace) -> Paced<G> {
        Paced {
            inner,
            store,
            pace,
            held: Mutex::new([NOTHING; 2]),
        }
    }

    /// The limits as quotas, with the chunk a node draws at once and the budget's key.
    fn limits(&self) -> [Option<(Quota, u32, String)>; 2] {
        let provider = self.inner.provider();
        [
            self.pace.per_second.map(|max| {
                // A quarter of a second's budget at a time: several nodes share a second.
                let q = Quota {
                    max,
                    window: Duration::SECOND,
                };
                (q, (max / 4).max(1), format!("provider:{provider}:second"))
            }),
            self.pace.per_day.map(|max| {
                let q = Quota {
                    max,
                    window: Duration::DAY,
                };
                (q, max.min(200), format!("provider:{provider}:day"))
            }),
        ]
    }

    /// One message's share of every limit, or how long to wait.
    async fn allot(&self) -> Result<(), DeliveryError> {
        let mut held = self.held.lock().await;
        let now = OffsetDateTime::now_utc();
        for (h, limit) in held.iter_mut().zip(self.limits()) {
            let Some((quota, chunk, key)) = limit else {
                continue;
            };
            if h.left > 0 && h.until > now {
                continue;
            }
            let (granted, until) = self
                .store
                .quota_take_up_to(&key, quota, chunk)
                .await
                .map_err(|e| DeliveryError::technical(None, format!("provider budget: {e}")))?;
            *h = Held {
                left: granted,
                until,
            };
            if granted == 0 {
                let wait = (until - now).max(Duration::milliseconds(50));
                return Err(DeliveryError::Throttled {
                    provider_status: None,
                    message: format!(
                        "the {} budget of {} is used up until the window ends",
                        if quota.window == Duration::SECOND {
                            "per-second"
                        } else {
                            "daily"
                        },
                        self.inner.provider()
                    ),
                    retry_after: std::time::Duration::try_from(wait)
                        .unwrap_or(std::time::Duration::from_secs(1)),
                });
            }
        }
        for (h, limit) in held.iter_mut().zip(self.limits()) {
            if limit.is_some() {
                h.left -= 1;
            }
        }
        Ok(())
    }
}

impl<G: Gateway> Gateway for Paced<G> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn send(&self, m: &Outgoing<'_>) -> Result<Accepted, DeliveryError> {
        if self.pace.is_limited() {
            self.allot().await?;
        }
        self.inner.send(m).await
    }
}
