//! `motcua backup`, `motcua backup verify` and `motcua restore` for the embedded installation.

use crate::{config_failure, Failure};
use motcua_store::backup::{self, BackupError};
use motcua_store::{Store, StoreConfig};
use std::path::Path;

/// Exit status when a backup is not good (distinct from configuration and I/O failures).
const BAD_BACKUP: u8 = 3;

fn failure(what: &str, e: BackupError) -> Failure {
    Failure {
        code: if matches!(e, BackupError::Bad(_)) {
            BAD_BACKUP
        } else {
            2
        },
        message: format!("{what}: {e}"),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Backs the installation up into `to` while a server may be running on it.
pub async fn backup(config: &StoreConfig, to: &Path) -> Result<(), Failure> {
    if config.database.is_some() {
        return Err(failure("backup", BackupError::Postgres));
    }
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let done = store.backup_to(to).await;
    store.close().await;
    let s = done.map_err(|e| failure("backup", e))?;
    println!(
        "backup: {} files ({}) written to {}, with {}",
        s.files,
        mib(s.bytes),
        to.display(),
        backup::MANIFEST
    );
    Ok(())
}

/// Checks a backup: its files, its audit chains, its stored files.
pub async fn verify(path: &Path) -> Result<(), Failure> {
    let (s, events, files) = backup::verify(path)
        .await
        .map_err(|e| failure("backup verify", e))?;
    println!(
        "backup verify: {} files ({}) as the manifest says; {events} events in intact chains; \
         {files} stored files read back under their hashes",
        s.files,
        mib(s.bytes)
    );
    Ok(())
}

/// Checks an installation in place — a restored PostgreSQL database and its files: the audit
/// chains, and every stored file read back under its hash.
pub async fn verify_in_place(config: &StoreConfig) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let checked = async {
        let (events, broken) = store.verify_events().await?;
        let files = store.verify_blobs().await;
        Ok::<_, motcua_store::StoreError>((events, broken, files))
    }
    .await;
    store.close().await;
    let (events, broken, files) = checked.map_err(config_failure)?;
    if let Some(b) = broken {
        return Err(failure(
            "backup verify",
            BackupError::Bad(format!(
                "broken audit chain at dossier {} (id {}), event #{}: {}",
                b.code.as_deref().unwrap_or("without code"),
                b.dossier_id,
                b.seq,
                b.reason
            )),
        ));
    }
    let files = files.map_err(|e| failure("backup verify", BackupError::Bad(e.to_string())))?;
    println!(
        "backup verify: {events} events in intact chains; {files} stored files read back under \
         their hashes"
    );
    Ok(())
}

/// Restores a backup into the configured data dir, which must be new or empty.
pub async fn restore(config: &StoreConfig, path: &Path) -> Result<(), Failure> {
    if config.database.is_some() {
        return Err(failure("restore", BackupError::Postgres));
    }
    let (from, to) = (path.to_owned(), config.data_dir.clone());
    let s = tokio::task::spawn_blocking(move || backup::restore_files(&from, &to))
        .await
        .map_err(config_failure)?
        .map_err(|e| failure("restore", e))?;
    println!(
        "restore: {} files ({}) restored into {}; start the server on it",
        s.files,
        mib(s.bytes),
        config.data_dir.display()
    );
    Ok(())
}

/// The scheduled backups' folder and how many to keep, checked: `None` without `backup_dir`.
pub fn schedule(
    settings: &crate::config::Settings,
) -> Result<Option<(std::path::PathBuf, usize)>, String> {
    let Some(dir) = settings.backup_dir.clone() else {
        return Ok(None);
    };
    if settings.database.is_some() {
        return Err(
            "backup_dir: scheduled backups are for the embedded database; back PostgreSQL up \
             with pg_dump (docs/operations.md)"
                .to_owned(),
        );
    }
    if settings.backup_keep == 0 {
        return Err("backup_keep: 0 would remove every backup; keep at least 1".to_owned());
    }
    Ok(Some((dir, settings.backup_keep)))
}

/// The server's daily backup into `dir`, checked every hour (a backup is taken when the newest
/// there is a day old), keeping the `keep` newest.
pub fn spawn_schedule(
    store: &std::sync::Arc<Store>,
    dir: std::path::PathBuf,
    keep: usize,
) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            match store.scheduled_backup(&dir, keep).await {
                Ok(Some(path)) => tracing::info!(backup = %path.display(), "backup taken"),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, dir = %dir.display(), "scheduled backup failed")
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    })
}
