//! Catalogue files: motcua's CSV and JSON formats (documented in `docs/procedure-files.md`), and
//! the "published list" CSV that provinces publish (read strictly here; see [`super::published`]
//! for the cleaning that turns it into motcua's format).

use crate::calendar::deadline::{TimeLimit, TimeUnit};
use crate::catalogue::{Level, OnlineMode, Procedure};
use crate::text::nfc;
use std::collections::HashMap;

/// One problem in an imported file, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (1 = header), or 0 when the format has no lines (a JSON item).
    pub line: u64,
    /// Column name, or the JSON path.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.reason
            )
        } else {
            write!(f, "{}: {}", self.column, self.reason)
        }
    }
}

/// A procedure read from a file, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadProcedure {
    /// The procedure.
    pub procedure: Procedure,
    /// Its line (CSV) or 0 (JSON).
    pub line: u64,
    /// Its position in the file, from 1.
    pub item: usize,
}

/// The columns of motcua's procedure CSV, in order.
pub const CSV_COLUMNS: [&str; 18] = [
    "code",
    "name",
    "field",
    "levels",
    "agency_code",
    "time_amount",
    "time_unit",
    "time_text",
    "fees",
    "fee_text",
    "online_mode",
    "proactive_level",
    "applicants",
    "result",
    "legal_basis",
    "steps",
    "required_documents",
    "form",
];

/// The header of the published list (the format of `procedures-published.csv`).
pub const PUBLISHED_COLUMNS: [&str; 11] = [
    "code",
    "name_vi",
    "field_vi",
    "level_vi",
    "competent_agency_vi",
    "processing_time_vi",
    "fee_vi",
    "online_mode",
    "source_locality",
    "source",
    "notes",
];

/// Which format a CSV header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFormat {
    /// motcua's own columns.
    Motcua,
    /// A province's published list.
    Published,
}

/// Cells of one CSV record, decoded as UTF-8 and NFC, by column name.
pub struct Row {
    /// Line in the file (1 = header).
    pub line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    /// The trimmed cell of `column` ("" when the row has none).
    pub fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |s| s.trim())
    }
}

/// Reads every record; invalid UTF-8 and ragged rows are errors, located.
pub fn read_csv(bytes: &[u8]) -> Result<(CsvFormat, Vec<Row>), Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header: Vec<String> = match reader.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_owned())
            .collect(),
        Err(e) => {
            return Err(vec![RowError {
                line: 1,
                column: "header".into(),
                reason: e.to_string(),
            }])
        }
    };
    let format = if header.iter().map(String::as_str).eq(PUBLISHED_COLUMNS) {
        CsvFormat::Published
    } else {
        let unknown: Vec<&String> = header
            .iter()
            .filter(|h| !CSV_COLUMNS.contains(&h.as_str()))
            .collect();
        let missing: Vec<&str> = ["code", "name", "agency_code"]
            .into_iter()
            .filter(|c| !header.iter().any(|h| h == c))
            .collect();
        let mut errors = Vec::new();
        for u in unknown {
            errors.push(RowError {
                line: 1,
                column: u.clone(),
                reason: format!("unknown column; known: {}", CSV_COLUMNS.join(", ")),
            });
        }
        for m in missing {
            errors.push(RowError {
                line: 1,
                column: m.to_owned(),
                reason: "required column is missing".into(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        CsvFormat::Motcua
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(RowError {
                    line,
                    column: "-".into(),
                    reason: format!("unreadable record: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let mut cells = HashMap::new();
        for (name, raw) in header.iter().zip(record.iter()) {
            match std::str::from_utf8(raw) {
                Ok(text) => {
                    cells.insert(name.clone(), nfc(crate::text::from_csv_cell(text)));
                }
                Err(_) => errors.push(RowError {
                    line,
                    column: name.clone(),
                    reason: "is not valid UTF-8 text".into(),
                }),
            }
        }
        rows.push(Row { line, cells });
    }
    if errors.is_empty() {
        Ok((format, rows))
    } else {
        Err(errors)
    }
}

fn json_list<T: serde::de::DeserializeOwned>(
    row: &Row,
    column: &str,
    errors: &mut Vec<RowError>,
) -> Vec<T> {
    let text = row.get(column);
    if text.is_empty() {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap_or_else(|e| {
        errors.push(RowError {
            line: row.line,
            column: column.into(),
            reason: format!("is not a valid JSON list: {e}"),
        });
        Vec::new()
    })
}

fn unit(s: &str) -> Option<TimeUnit> {
    match s {
        "working_days" => Some(TimeUnit::WorkingDays),
        "calendar_days" => Some(TimeUnit::CalendarDays),
        "working_hours" => Some(TimeUnit::WorkingHours),
        "same_day" => Some(TimeUnit::SameDay),
        _ => None,
    }
}

fn unit_name(u: TimeUnit) -> &'static str {
    match u {
        TimeUnit::WorkingDays => "working_days",
        TimeUnit::CalendarDays => "calendar_days",
        TimeUnit::WorkingHours => "working_hours",
        TimeUnit::SameDay => "same_day",
    }
}

/// Reads one row of motcua's CSV.
pub fn motcua_row(row: &Row, errors: &mut Vec<RowError>) -> Procedure {
    let err = |errors: &mut Vec<RowError>, column: &str, reason: String| {
        errors.push(RowError {
            line: row.line,
            column: column.into(),
            reason,
        });
    };
    let mut levels = Vec::new();
    for part in row
        .get("levels")
        .split([';', ' '])
        .filter(|p| !p.is_empty())
    {
        match Level::parse(part) {
            Some(l) if !levels.contains(&l) => levels.push(l),
            Some(_) => {}
            None => err(
                errors,
                "levels",
                format!("'{part}' is not a level (province, commune, other)"),
            ),
        }
    }
    levels.sort();
    let amount = row.get("time_amount");
    let unit_text = row.get("time_unit");
    let time_limit = match (amount, unit_text) {
        ("", "") => None,
        (_, "same_day") => Some(TimeLimit {
            amount: 0,
            unit: TimeUnit::SameDay,
        }),
        (a, u) => match (a.parse::<i64>(), unit(u)) {
            (Ok(n), _) if n <= 0 => {
                err(errors, "time_amount", format!("'{a}' must be a positive whole number (use time_unit same_day for same-day procedures)"));
                None
            }
            (Ok(n), Some(unit)) => {
                let limit = TimeLimit {
                    amount: u32::try_from(n).unwrap_or(u32::MAX),
                    unit,
                };
                match limit.validate() {
                    Ok(()) => Some(limit),
                    Err(e) => {
                        err(errors, "time_amount", e.to_string());
                        None
                    }
                }
            }
            (Err(_), _) => {
                err(
                    errors,
                    "time_amount",
                    format!("'{a}' is not a whole number"),
                );
                None
            }
            (Ok(_), None) => {
                err(errors, "time_unit", format!("'{u}' is not a unit (working_days, calendar_days, working_hours, same_day)"));
                None
            }
        },
    };
    let online_mode = match row.get("online_mode") {
        "" => None,
        m => OnlineMode::parse(m).or_else(|| {
            err(
                errors,
                "online_mode",
                format!("'{m}' is not an online mode (full, partial, none)"),
            );
            None
        }),
    };
    let proactive_level = match row.get("proactive_level") {
        "" => None,
        p => serde_json::from_value(serde_json::Value::String(p.to_owned())).map_or_else(
            |_| {
                err(
                    errors,
                    "proactive_level",
                    format!(
                        "'{p}' is not a proactive level (remind, prefill, recommend, automatic)"
                    ),
                );
                None
            },
            Some,
        ),
    };
    Procedure {
        code: row.get("code").to_owned(),
        name: row.get("name").to_owned(),
        field: row.get("field").to_owned(),
        levels,
        agency_code: row.get("agency_code").to_owned(),
        time_limit,
        time_text: row.get("time_text").to_owned(),
        fees: json_list(row, "fees", errors),
        fee_text: row.get("fee_text").to_owned(),
        required_documents: json_list(row, "required_documents", errors),
        steps: json_list(row, "steps", errors),
        result: row.get("result").to_owned(),
        legal_basis: json_list(row, "legal_basis", errors),
        applicants: row.get("applicants").to_owned(),
        online_mode,
        proactive_level,
        form: json_list(row, "form", errors),
    }
}

/// Reads a JSON array of procedures. Every text is normalised to NFC.
pub fn read_json(bytes: &[u8]) -> Result<Vec<ReadProcedure>, Vec<RowError>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| {
        vec![RowError {
            line: e.line() as u64,
            column: format!("column {}", e.column()),
            reason: e.to_string(),
        }]
    })?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Procedure>(nfc_json(item)) {
            Ok(procedure) => out.push(ReadProcedure {
                procedure,
                line: 0,
                item: i + 1,
            }),
            Err(e) => errors.push(RowError {
                line: 0,
                column: format!("item {}", i + 1),
                reason: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn nfc_json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(nfc(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(nfc_json).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, nfc_json(v))).collect()),
        other => other,
    }
}

fn json_cell<T: serde::Serialize>(v: &[T]) -> String {
    if v.is_empty() {
        String::new()
    } else {
        serde_json::to_string(v).unwrap_or_default()
    }
}

/// Writes procedures in motcua's CSV format.
pub fn write_csv(procedures: &[Procedure]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    for p in procedures {
        let levels: Vec<&str> = p.levels.iter().map(|l| l.as_str()).collect();
        let (amount, unit) = match p.time_limit {
            Some(TimeLimit {
                unit: TimeUnit::SameDay,
                ..
            }) => (String::new(), "same_day"),
            Some(t) => (t.amount.to_string(), unit_name(t.unit)),
            None => (String::new(), ""),
        };
        let proactive = p
            .proactive_level
            .and_then(|l| serde_json::to_value(l).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let record = [
            p.code.as_str(),
            &p.name,
            &p.field,
            &levels.join(";"),
            &p.agency_code,
            &amount,
            unit,
            &p.time_text,
            &json_cell(&p.fees),
            &p.fee_text,
            p.online_mode.map_or("", |m| m.as_str()),
            &proactive,
            &p.applicants,
            &p.result,
            &json_cell(&p.legal_basis),
            &json_cell(&p.steps),
            &json_cell(&p.required_documents),
            &json_cell(&p.form),
        ];
        w.write_record(record.map(crate::text::csv_cell).iter().map(|c| c.as_ref()))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
