//! The catalogue as the web layer serves it: a shared search snapshot, refreshed when another
//! process or node changes the catalogue.

use motcua_store::catalogue::index::CatalogueIndex;
use motcua_store::Store;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The current search snapshot.
#[derive(Default)]
pub struct CatalogueCache {
    current: RwLock<Arc<CatalogueIndex>>,
}

impl CatalogueCache {
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
