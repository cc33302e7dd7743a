//! `motcua procedures …`: import, export, clean a published list, search.

use crate::{config_failure, Failure};
use indicatif::{ProgressBar, ProgressStyle};
use motcua_core::catalogue::search::Query;
use motcua_store::catalogue::files::write_csv;
use motcua_store::catalogue::published;
use motcua_store::catalogue::{FileFormat, ImportError};
use motcua_store::{Store, StoreConfig};
use std::path::Path;

fn format_of(path: &Path, explicit: Option<&str>) -> Result<FileFormat, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match explicit.unwrap_or(ext).to_ascii_lowercase().as_str() {
        "csv" => Ok(FileFormat::Csv),
        "json" => Ok(FileFormat::Json),
        other => Err(config_failure(format!(
            "format: '{other}' is not csv or json (name the file .csv/.json or pass --format)"
        ))),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| config_failure(format!("file: {}: {e}", path.display())))
}

/// Imports a catalogue file; reports every bad row and changes nothing when there is one.
pub async fn import(
    config: &StoreConfig,
    path: &Path,
    format: Option<&str>,
    dry_run: bool,
    actor: &str,
) -> Result<(), Failure> {
    let format = format_of(path, format)?;
    let bytes = read(path)?;
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} procedures")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let show = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let result = store
        .import_procedures(&bytes, format, actor, dry_run, &show)
        .await;
    bar.finish_and_clear();
    store.close().await;
    match result {
        Ok(s) => {
            let verb = if dry_run { "would import" } else { "imported" };
            println!(
                "{verb}: {} created, {} updated, {} unchanged",
                s.created, s.updated, s.unchanged
            );
            Ok(())
        }
        Err(ImportError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{}: {r}", path.display());
            }
            Err(Failure {
                code: 1,
                message: format!(
                    "{}: {} bad row(s); nothing was imported",
                    path.display(),
                    rows.len()
                ),
            })
        }
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

/// Writes the catalogue to stdout.
pub async fn export(config: &StoreConfig, format: &str) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let all = store.procedures().await;
    store.close().await;
    let procedures: Vec<_> = all?.into_iter().map(|s| s.procedure).collect();
    let out = match format {
        "csv" => write_csv(&procedures)?,
        "json" => serde_json::to_vec_pretty(&procedures)?,
        other => {
            return Err(config_failure(format!(
                "format: '{other}' is not csv or json"
            )))
        }
    };
    use std::io::Write;
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// Cleans a published list into motcua's CSV; the report goes to stderr.
pub async fn clean(config: &StoreConfig, path: &Path, out: &Path) -> Result<(), Failure> {
    let bytes = read(path)?;
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let agencies = store.agency_directory().await;
    store.close().await;
    match published::clean(&bytes, &agencies?) {
        Ok((procedures, notes)) => {
            for n in &notes {
                eprintln!("{}: {n}", path.display());
            }
            std::fs::write(out, write_csv(&procedures)?)
                .map_err(|e| config_failure(format!("out: {}: {e}", out.display())))?;
            println!(
                "{} procedures written to {} ({} notes)",
                procedures.len(),
                out.display(),
                notes.len()
            );
            Ok(())
        }
        Err(rows) => {
            for r in &rows {
                eprintln!("{}: {r}", path.display());
            }
            Err(Failure {
                code: 1,
                message: format!("{}: cannot be cleaned", path.display()),
            })
        }
    }
}

/// Searches the catalogue with the same engine as the portal and the API.
pub async fn search(config: &StoreConfig, text: &str, json: bool) -> Result<(), Failure> {
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let index = store.catalogue_index().await;
    store.close().await;
    let index = index?;
    let results = index.search(&Query {
        text,
        page: 1,
        per_page: 20,
        ..Query::default()
    });
    if json {
        let items: Vec<serde_json::Value> = results
            .hits
            .iter()
            .map(|h| {
                let p = &index.procedures[h.doc].procedure;
                serde_json::json!({"code": p.code, "agency_code": p.agency_code, "name": p.name, "field": p.field, "score": h.score})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"total": results.total, "items": items})
        );
    } else {
        for h in &results.hits {
            let p = &index.procedures[h.doc].procedure;
            println!("{}\t{}\t{}", p.code, p.agency_code, p.name);
        }
        eprintln!("{} result(s)", results.total);
    }
    Ok(())
}
