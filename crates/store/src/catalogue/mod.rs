//! The procedure catalogue in the store: versioned procedures, import (all or nothing, upsert by
//! code + agency) and export.

pub mod index;
pub use motcua_core::catalogue::files;
pub mod published;

use crate::backend::{on_pool, BeginWrite};
use crate::{Store, StoreError};
use files::{CsvFormat, ReadProcedure, RowError};
use motcua_core::catalogue::Procedure;
use published::AgencyDirectory;
use std::collections::HashMap;
use time::OffsetDateTime;

const SELECT_AGENCIES: &str = "SELECT code, name \
     FROM agencies";

const UPDATE_PROCEDURES_VERSION: &str = "UPDATE procedures \
     SET version = $1, name = $2, field = $3, body = $4, updated_at = $5 \
     WHERE id = $6";

const INSERT_PROCEDURES: &str =
    "INSERT INTO procedures (id, code, agency_code, version, name, field, body, updated_at) \
     VALUES ($1, $2, $3, 1, $4, $5, $6, $7)";

const INSERT_PROCEDURE_VERSIONS: &str =
    "INSERT INTO procedure_versions (procedure_id, version, body, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5)";

const UPSERT_SETTINGS: &str = "INSERT INTO settings (key, value) \
     VALUES ('catalogue_revision', '1') \
     ON CONFLICT (key) \
     DO UPDATE \
     SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)";

const SELECT_PROCEDURES: &str = "SELECT id, version, body \
     FROM procedures \
     ORDER BY code, agency_code";

const SELECT_PROCEDURES_BY_CODE: &str = "SELECT id, version, body \
     FROM procedures \
     WHERE code = $1 AND agency_code = $2";

const SELECT_PROCEDURE_VERSIONS_BY_PROCEDURE_ID: &str = "SELECT body \
     FROM procedure_versions \
     WHERE procedure_id = $1 AND version = $2";

const COUNT_SETTINGS_BY_KEY: &str =
    "SELECT COALESCE((SELECT CAST(value AS BIGINT) FROM settings WHERE key = \
     'catalogue_revision'), 0)";

/// A stored procedure: the current version and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProcedure {
    /// Stable id.
    pub id: String,
    /// Current version, from 1.
    pub version: i64,
    /// The procedure.
    pub procedure: Procedure,
}

/// Why an import changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has bad rows; every one is listed.
    #[error("{} bad row(s); nothing was imported", .0.len())]
    Rows(Vec<RowError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    /// New procedures.
    pub created: usize,
    /// Procedures that got a new version.
    pub updated: usize,
    /// Procedures identical to what was stored.
    pub unchanged: usize,
}

/// The file formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// CSV: motcua's columns or a published list (told apart by the header).
    Csv,
    /// A JSON array of procedures.
    Json,
}

type ProcedureRow = (String, i64, String);

impl Store {
    /// Agencies by code and name, to resolve published agency names.
    pub async fn agency_directory(&self) -> Result<AgencyDirectory, StoreError> {
        let rows: Vec<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_AGENCIES)
                .fetch_all(p)
                .await)?;
        Ok(AgencyDirectory::new(rows))
    }

    /// Every procedure, current versions, ordered by code then agency.
    pub async fn procedures(&self) -> Result<Vec<StoredProcedure>, StoreError> {
        let sql = SELECT_PROCEDURES;
        let rows: Vec<ProcedureRow> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql).fetch_all(p).await)?;
        rows.into_iter().map(decode).collect()
    }

    /// One procedure by national code and agency.
    pub async fn procedure(
        &self,
        code: &str,
        agency: &str,
    ) -> Result<Option<StoredProcedure>, StoreError> {
        let sql = SELECT_PROCEDURES_BY_CODE;
        let row: Option<ProcedureRow> = on_pool!(self.backend(), |p| sqlx::query_as(sql)
            .bind(code)
            .bind(agency)
            .fetch_optional(p)
            .await)?;
        row.map(decode).transpose()
    }

    /// A given version of a procedure, as a dossier submitted under it saw it.
    pub async fn procedure_version(
        &self,
        id: &str,
        version: i64,
    ) -> Result<Option<Procedure>, StoreError> {
        let sql = SELECT_PROCEDURE_VERSIONS_BY_PROCEDURE_ID;
        let body: Option<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(sql)
            .bind(id)
            .bind(version)
            .fetch_optional(p)
            .await)?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|e| {
                StoreError::Internal(format!("procedure {id} v{version} is corrupt: {e}"))
            })
        })
        .transpose()
    }

    /// A number that changes whenever the catalogue does, so every node can refresh its search
    /// index.
    pub async fn catalogue_revision(&self) -> Result<i64, StoreError> {
        let sql = COUNT_SETTINGS_BY_KEY;
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(sql)
            .fetch_one(p)
            .await)?)
    }

    /// Reads a catalogue file and checks every row (format, agency, duplicates), without storing.
    pub async fn read_procedure_file(
        &self,
        bytes: &[u8],
        format: FileFormat,
    ) -> Result<Vec<ReadProcedure>, ImportError> {
        let agencies = self.agency_directory().await?;
        let mut errors = Vec::new();
        let items = match format {
            FileFormat::Json => files::read_json(bytes).map_err(ImportError::Rows)?,
            FileFormat::Csv => {
                let (kind, rows) = files::read_csv(bytes).map_err(ImportError::Rows)?;
                rows.iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let procedure = match kind {
                            CsvFormat::Motcua => files::motcua_row(row, &mut errors),
                            CsvFormat::Published => {
                                published::strict_row(row, &agencies, &mut errors)
                            }
                        };
                        ReadProcedure {
                            procedure,
                            line: row.line,
                            item: i + 1,
                        }
                    })
                    .collect()
            }
        };
        let mut seen: HashMap<(String, String), (u64, usize)> = HashMap::new();
        for item in &items {
            let p = &item.procedure;
            let at = |column: &str, reason: String| RowError {
                line: item.line,
                column: if item.line > 0 {
                    column.to_owned()
                } else {
                    format!("item {} ({column})", item.item)
                },
                reason,
            };
            if let Err(e) = p.validate() {
                errors.push(at("code", e.to_string()));
            }
            if !p.agency_code.is_empty() && !agencies.has(&p.agency_code) {
                errors.push(at(
                    "agency_code",
                    format!("'{}' is not a known agency", p.agency_code),
                ));
            }
            if let Some((line, item_no)) = seen.insert(
                (p.code.clone(), p.agency_code.clone()),
                (item.line, item.item),
            ) {
                let first = if line > 0 {
                    format!("line {line}")
                } else {
                    format!("item {item_no}")
                };
                errors.push(at(
                    "code",
                    format!(
                        "duplicate: {} for this agency already appears on {first}",
                        p.code
                    ),
                ));
            }
        }
        errors.sort_by(|a, b| (a.line, &a.column).cmp(&(b.line, &b.column)));
        errors.dedup();
        if errors.is_empty() {
            Ok(items)
        } else {
            Err(ImportError::Rows(errors))
        }
    }

    /// Imports a catalogue file: all or nothing, upserting by code + agency. A changed procedure
    /// gets a new version; an identical one is left alone, so importing twice changes nothing.
    /// `progress` is called after each row. With `dry_run`, the summary is computed and the
    /// transaction rolled back.
    pub async fn import_procedures(
        &self,
        bytes: &[u8],
        format: FileFormat,
        actor: &str,
        dry_run: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ImportSummary, ImportError> {
        let items = self.read_procedure_file(bytes, format).await?;
        let now = OffsetDateTime::now_utc();
        let total = items.len();
        let summary = on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await.map_err(StoreError::from)?;
            let mut summary = ImportSummary::default();
            for (i, item) in items.iter().enumerate() {
                let p = &item.procedure;
                let body =
                    serde_json::to_string(p).map_err(|e| StoreError::Internal(e.to_string()))?;
                let existing: Option<ProcedureRow> = sqlx::query_as(
                    "SELECT id, version, body FROM procedures WHERE code = $1 AND agency_code = $2",
                )
                .bind(&p.code)
                .bind(&p.agency_code)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                let (id, version) = match existing {
                    Some((_, _, old)) if old == body => {
                        summary.unchanged += 1;
                        progress(i + 1, total);
                        continue;
                    }
                    Some((id, version, _)) => {
                        summary.updated += 1;
                        sqlx::query(UPDATE_PROCEDURES_VERSION)
                            .bind(version + 1)
                            .bind(&p.name)
                            .bind(&p.field)
                            .bind(&body)
                            .bind(now)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                        (id, version + 1)
                    }
                    None => {
                        summary.created += 1;
                        let id = uuid::Uuid::new_v4().to_string();
                        sqlx::query(INSERT_PROCEDURES)
                            .bind(&id)
                            .bind(&p.code)
                            .bind(&p.agency_code)
                            .bind(&p.name)
                            .bind(&p.field)
                            .bind(&body)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                        (id, 1)
                    }
                };
                sqlx::query(INSERT_PROCEDURE_VERSIONS)
                    .bind(&id)
                    .bind(version)
                    .bind(&body)
                    .bind(actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                progress(i + 1, total);
            }
            if summary.created + summary.updated > 0 {
                sqlx::query(UPSERT_SETTINGS)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            if dry_run {
                tx.rollback().await.map_err(StoreError::from)?;
            } else {
                tx.commit().await.map_err(StoreError::from)?;
            }
            Ok::<_, ImportError>(summary)
        })?;
        Ok(summary)
    }
}

fn decode((id, version, body): ProcedureRow) -> Result<StoredProcedure, StoreError> {
    let procedure = serde_json::from_str(&body)
        .map_err(|e| StoreError::Internal(format!("procedure {id} is corrupt: {e}")))?;
    Ok(StoredProcedure {
        id,
        version,
        procedure,
    })
}
