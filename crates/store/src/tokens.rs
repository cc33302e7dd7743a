//! Bearer tokens resolved from memory on PostgreSQL. Another portal calls the API many times a
//! minute with one token; reading its account from the database on every call was a round trip
//! per request and about a fifth of PostgreSQL's CPU per submission (measured on the submission
//! benchmark). Each server keeps what it read and forgets all of it when PostgreSQL announces a
//! change to accounts, roles or tokens (triggers of migration 11, channel `motcua_accounts`), so a
//! revoked token or a locked account is refused by every server as soon as the change commits.
//! Nothing is kept while that announcement cannot be heard (before the first `LISTEN`, after a
//! lost connection), and no entry is used longer than [`TOKEN_CACHE_TTL`], which bounds what a
//! silently dead connection could hide. SQLite has one server, which reads the database each time.

use crate::accounts::Account;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Longest an account is served from memory without reading it again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(15);

/// The channel of the triggers that announce changes.
const CHANNEL: &str = "motcua_accounts";

/// Most tokens kept; when full it starts again empty (bounded memory, no bookkeeping).
const MAX_TOKENS: usize = 10_000;

/// A token's account as read, with the token's scopes and last recorded use.
#[derive(Clone)]
pub(crate) struct Kept {
    /// The account, active when read.
    pub account: Account,
    /// The token's scopes, space-separated as stored.
    pub scopes: String,
    /// The last use written to the database.
    pub last_used: Option<OffsetDateTime>,
    /// When it was read, for [`TOKEN_CACHE_TTL`].
    read_at: Instant,
}

/// The kept tokens, by hash of their secret.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<String, Kept>>,
    /// Moves on every change heard: a read begun before it is not kept.
    generation: AtomicU64,
    /// The listener has its `LISTEN` in place.
    listening: AtomicBool,
}

impl TokenCache {
    /// The token's kept account, if it may still be trusted.
    pub(crate) fn get(&self, hash: &str) -> Option<Kept> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|k| k.read_at.elapsed() < TOKEN_CACHE_TTL)
            .cloned()
    }

    /// Where reads stand now; give it back to [`TokenCache::keep`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what was read, unless a change was heard since `generation` (the read may predate it).
    pub(crate) fn keep(
        &self,
        generation: u64,
        hash: &str,
        account: Account,
        scopes: String,
        last_used: Option<OffsetDateTime>,
    ) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Checked under the lock that `forget` takes: no change slips between check and insert.
            if self.generation() != generation {
                return;
            }
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
            let kept = Kept {
                account,
                scopes,
                last_used,
                read_at: Instant::now(),
            };
            entries.insert(hash.to_owned(), kept);
        }
    }

    /// Records a use written to the database, so the next period starts from it.
    pub(crate) fn used(&self, hash: &str, at: OffsetDateTime) {
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(k) = entries.get_mut(hash) {
                k.last_used = Some(at);
            }
        }
    }

    /// Forgets everything: a change was made or heard.
    pub(crate) fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Release);
        self.forget();
    }
}

/// The listener task; aborted when the store is dropped, which closes its connection.
pub(crate) struct Listener(tokio::task::AbortHandle);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts listening for changes on `pool` in the current runtime.
pub(crate) fn listen(pool: sqlx::PgPool, cache: Arc<TokenCache>) -> Listener {
    let task = tokio::spawn(async move {
        loop {
            if let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await {
                if listener.listen(CHANNEL).await.is_ok() {
                    cache.set_listening(true);
                    // `Ok(None)`: the connection closed, and what was announced meanwhile is lost.
                    while let Ok(Some(_)) = listener.try_recv().await {
                        cache.forget();
                    }
                }
            }
            cache.set_listening(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Listener(task.abort_handle())
}
