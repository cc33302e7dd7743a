//! `motcua plans import FILE` and `motcua plans export [CODE]`: plans as JSON files.

use crate::{config_failure, Failure};
use motcua_store::plans::PlanImportError;
use motcua_store::{Store, StoreConfig};
use std::path::Path;

/// Checks and stores a plan file; every problem is printed, nothing changes on failure.
pub async fn import(config: &StoreConfig, file: &Path) -> Result<(), Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| config_failure(format!("file: {}: {e}", file.display())))?;
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let result = store.import_plan_json(&bytes).await;
    store.close().await;
    match result {
        Ok(id) => {
            println!("plan stored ({id})");
            Ok(())
        }
        Err(PlanImportError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{}: {p}", file.display());
            }
            Err(config_failure(format!(
                "file: {} has {} problem(s); nothing was stored",
                file.display(),
                problems.len()
            )))
        }
        Err(e) => Err(config_failure(format!("file: {}: {e}", file.display()))),
    }
}

/// Writes one plan (by code) or every plan as JSON to stdout.
pub async fn export(config: &StoreConfig, code: Option<&str>) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let plans = store.plans().await;
    store.close().await;
    let plans: Vec<_> = plans
        .map_err(config_failure)?
        .into_iter()
        .map(|p| p.plan)
        .filter(|p| code.is_none_or(|c| p.code == c))
        .collect();
    let json = match (code, plans.as_slice()) {
        (Some(c), []) => return Err(config_failure(format!("code: no plan '{c}'"))),
        (Some(_), [one]) => serde_json::to_string_pretty(one),
        _ => serde_json::to_string_pretty(&plans),
    }
    .map_err(|e| config_failure(e.to_string()))?;
    println!("{json}");
    Ok(())
}
