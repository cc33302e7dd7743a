//! `motcua audit verify`: walks every dossier's hash-chained events and names the first one that
//! was changed, removed or reordered after it was written.

use crate::{config_failure, Failure};
use motcua_store::{Store, StoreConfig};

/// Exit status when the chain is broken (distinct from configuration and database failures).
const BROKEN: u8 = 3;

/// Verifies the audit trail; prints what it checked, or the first broken event.
pub async fn verify(config: &StoreConfig) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let result = store.verify_events().await;
    store.close().await;
    let (checked, broken) = result.map_err(config_failure)?;
    match broken {
        None => {
            println!("audit: {checked} events checked, every chain intact");
            Ok(())
        }
        Some(b) => Err(Failure {
            code: BROKEN,
            message: format!(
                "audit: broken chain at dossier {} (id {}), event #{}: {} ({checked} events checked)",
                b.code.as_deref().unwrap_or("without code"),
                b.dossier_id,
                b.seq,
                b.reason
            ),
        }),
    }
}
