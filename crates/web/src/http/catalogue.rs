//! The catalogue as the web layer serves it: a shared search snapshot, refreshed when another
//! process or node changes the catalogue.

use axum::body::Bytes;
use motcua_store::catalogue::index::CatalogueIndex;
use motcua_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The current search snapshot, and the API's answers computed from it.
#[derive(Default)]
pub struct CatalogueCache {
    current: RwLock<Arc<CatalogueIndex>>,
    answers: Mutex<Answers>,
}

/// Serialised search answers of one snapshot revision, by query string. Citizens repeat the same
/// searches (the home page's procedures, shared links), the catalogue changes rarely, and an
/// answer depends on nothing else, so a repeated search costs a lookup. A new revision empties it.
#[derive(Default)]
struct Answers {
    revision: i64,
    by_query: HashMap<String, Bytes>,
}

/// Most answers kept; when full the cache starts again empty (bounded memory, no bookkeeping).
const MAX_ANSWERS: usize = 4096;

impl CatalogueCache {
    /// The cached answer to `query` under snapshot `revision`.
    pub fn answer(&self, revision: i64, query: &str) -> Option<Bytes> {
        let answers = self.answers.lock().ok()?;
        (answers.revision == revision)
            .then(|| answers.by_query.get(query).cloned())
            .flatten()
    }

    /// Keeps the answer to `query` under snapshot `revision`.
    pub fn keep_answer(&self, revision: i64, query: &str, body: Bytes) {
        if let Ok(mut answers) = self.answers.lock() {
            if answers.revision != revision || answers.by_query.len() >= MAX_ANSWERS {
                answers.by_query.clear();
                answers.revision = revision;
            }
            answers.by_query.insert(query.to_owned(), body);
        }
    }

    /// The snapshot in use.
    pub fn get(&self) -> Arc<CatalogueIndex> {
        self.current.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Rebuilds the snapshot if the catalogue revision moved (or on first use).
    pub async fn refresh(&self, store: &Store) -> Result<bool, motcua_store::StoreError> {
        let revision = store.catalogue_revision().await?;
        let current = self.get();
        if revision == current.revision && !current.procedures.is_empty() {
            return Ok(false);
        }
        let fresh = Arc::new(store.catalogue_index().await?);
        if let Ok(mut slot) = self.current.write() {
            // Two refreshes can overlap; the one that read an older catalogue must not win.
            if fresh.revision >= slot.revision {
                *slot = fresh;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Refreshes every `every` until the task is aborted; imports by other processes or nodes show
    /// up within that delay.
    pub fn spawn_refresher(
        self: Arc<Self>,
        store: Arc<Store>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // `interval` fires at once; `serve` has just loaded the snapshot, so start one period later.
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                if let Err(e) = self.refresh(&store).await {
                    tracing::warn!(error = %e, "catalogue refresh failed; keeping the previous snapshot");
                }
            }
        })
    }
}
