//! The published list: what provinces publish in their decisions (the format of
//! `procedures-published.csv`: code, name_vi, field_vi, level_vi, competent_agency_vi,
//! processing_time_vi, fee_vi, online_mode, source_locality, source, notes).
//!
//! Importing it directly is strict: every cell must be readable and every procedure must name a
//! known agency, otherwise each problem is reported. [`clean`] is lenient: it reads what the text
//! allows, attaches each procedure to a Lạng Sơn agency by its field and level, merges duplicate
//! codes, leaves unreadable values empty, and says what it did — the demo catalogue is its output.

use super::files::{Row, RowError};
use motcua_core::catalogue::{parse, Level, Procedure};
use motcua_core::text::fold_marks;
use std::collections::HashMap;

/// Agencies by code and by name, to resolve the `competent_agency_vi` column.
#[derive(Debug, Clone, Default)]
pub struct AgencyDirectory {
    by_name: HashMap<String, String>,
    codes: Vec<String>,
}

impl AgencyDirectory {
    /// Builds the directory from (code, name) pairs.
    pub fn new(agencies: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut d = AgencyDirectory::default();
        for (code, name) in agencies {
            d.by_name.insert(fold_marks(&name), code.clone());
            d.codes.push(code);
        }
        d
    }

    /// Whether `code` is an agency.
    pub fn has(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c == code)
    }

    /// The agency named or coded `text`.
    pub fn resolve(&self, text: &str) -> Option<String> {
        if self.has(text) {
            return Some(text.to_owned());
        }
        self.by_name.get(&fold_marks(text)).cloned()
    }
}

/// Lạng Sơn's agency for a procedure of `field` at `levels`, when the published list names none
/// that exists here. Decided by the province after the 2025 reorganisation: commune matters to the
/// commune People's Committees, provincial ones to the department that now holds the field.
pub fn lang_son_agency(
    field: &str,
    levels: &[Level],
    published_agency: &str,
) -> Option<&'static str> {
    let f = fold_marks(field);
    let a = fold_marks(published_agency);
    let commune_only = levels == [Level::Commune];
    let has = |s: &str| f.contains(s);
    if a.contains("so nong nghiep va moi truong") {
        return Some("so-nnmt");
    }
    if a.contains("cong an cap xa") {
        return Some("ca-xa");
    }
    if has("ho tich") || has("chung thuc") || has("lien thong") || has("nghia vu quan su") {
        return Some("ubnd-xa");
    }
    if has("xay dung")
        || has("duong bo")
        || has("duong sat")
        || has("bat dong san")
        || has("nha o")
        || has("dang kiem")
        || has("hang hai")
    {
        return Some("so-xd");
    }
    if has("tai chinh") || has("doanh nghiep") {
        return Some("so-tc");
    }
    if has("cu tru") {
        return Some("ca-xa");
    }
    if has("xuat nhap canh") {
        return Some(if commune_only { "ca-xa" } else { "ca-tinh" });
    }
    if has("nguoi co cong") {
        return Some("so-nv");
    }
    if has("bao hiem") {
        return Some("bhxh-tinh");
    }
    let commune_or =
        |provincial: &'static str| Some(if commune_only { "ubnd-xa" } else { provincial });
    if has("giao duc") {
        return commune_or("so-gddt");
    }
    if has("bao tro xa hoi") || has("tre em") || has("dan so") {
        return commune_or("so-yt");
    }
    if has("tai nguyen nuoc")
        || has("dat dai")
        || has("dia chat")
        || has("khoang san")
        || has("bien phap bao dam")
    {
        return commune_or("so-nnmt");
    }
    None
}

const LEGAL_PREFIX: &str = "legal basis cited in source: ";

fn base(row: &Row) -> Procedure {
    let notes = row.get("notes");
    Procedure {
        code: row.get("code").to_owned(),
        name: row.get("name_vi").to_owned(),
        field: row.get("field_vi").to_owned(),
        levels: Vec::new(),
        agency_code: String::new(),
        time_limit: None,
        time_text: row.get("processing_time_vi").to_owned(),
        fees: Vec::new(),
        fee_text: row.get("fee_vi").to_owned(),
        required_documents: Vec::new(),
        steps: Vec::new(),
        result: String::new(),
        legal_basis: notes
            .strip_prefix(LEGAL_PREFIX)
            .map(|l| vec![l.to_owned()])
            .unwrap_or_default(),
        applicants: String::new(),
        online_mode: None,
        proactive_level: None,
        form: Vec::new(),
    }
}

/// Reads a published row strictly: every unreadable cell is an error.
pub(crate) fn strict_row(
    row: &Row,
    agencies: &AgencyDirectory,
    errors: &mut Vec<RowError>,
) -> Procedure {
    let mut p = base(row);
    let mut err = |column: &str, reason: String| {
        errors.push(RowError {
            line: row.line,
            column: column.into(),
            reason,
        })
    };
    match parse::level(row.get("level_vi")) {
        Ok(l) => p.levels = l,
        Err(text) => err(
            "level_vi",
            format!("'{text}' is not a level (Cấp tỉnh, Cấp xã, Cơ quan khác)"),
        ),
    }
    match agencies.resolve(row.get("competent_agency_vi")) {
        Some(code) => p.agency_code = code,
        None if row.get("competent_agency_vi").is_empty() => err(
            "competent_agency_vi",
            "is empty: every procedure needs its agency".into(),
        ),
        None => err(
            "competent_agency_vi",
            format!("'{}' is not a known agency", row.get("competent_agency_vi")),
        ),
    }
    if !p.time_text.is_empty() {
        p.time_limit = parse::time_limit(&p.time_text);
        if p.time_limit.is_none() {
            err(
                "processing_time_vi",
                format!(
                    "cannot read a processing time from '{}'",
                    short(&p.time_text)
                ),
            );
        }
    }
    match parse::fees(&p.fee_text) {
        Some(f) => p.fees = f,
        None => err(
            "fee_vi",
            format!("cannot read amounts from '{}'", short(&p.fee_text)),
        ),
    }
    match parse::online_mode(row.get("online_mode")) {
        Ok(m) => p.online_mode = m,
        Err(text) => err(
            "online_mode",
            format!("'{text}' is not an online mode (toàn trình, một phần, trực tiếp)"),
        ),
    }
    p
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// What [`clean`] did to a row, for its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanNote {
    /// Line in the published file.
    pub line: u64,
    /// Column.
    pub column: String,
    /// What was done.
    pub note: String,
}

impl std::fmt::Display for CleanNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.note
        )
    }
}

/// Cleans a published list into catalogue procedures, reporting every value it left empty and
/// every duplicate it merged.
pub fn clean(
    bytes: &[u8],
    agencies: &AgencyDirectory,
) -> Result<(Vec<Procedure>, Vec<CleanNote>), Vec<RowError>> {
    let (format, rows) = super::files::read_csv(bytes)?;
    if format != super::files::CsvFormat::Published {
        return Err(vec![RowError {
            line: 1,
            column: "header".into(),
            reason: format!(
                "not a published list; expected columns {}",
                super::files::PUBLISHED_COLUMNS.join(", ")
            ),
        }]);
    }
    let mut notes = Vec::new();
    let mut out: Vec<(Procedure, u64)> = Vec::new();
    for row in &rows {
        let mut note = |column: &str, text: String| {
            notes.push(CleanNote {
                line: row.line,
                column: column.into(),
                note: text,
            })
        };
        let mut p = base(row);
        match parse::level(row.get("level_vi")) {
            Ok(l) => p.levels = l,
            Err(text) => note(
                "level_vi",
                format!("'{text}' names no single level: levels left empty"),
            ),
        }
        if !p.time_text.is_empty() {
            p.time_limit = parse::time_limit(&p.time_text);
            if p.time_limit.is_none() {
                note(
                    "processing_time_vi",
                    "no single period in the text: kept as text only".into(),
                );
            }
        }
        match parse::fees(&p.fee_text) {
            Some(f) => p.fees = f,
            None => note(
                "fee_vi",
                "no single amount in the text: kept as text only".into(),
            ),
        }
        match parse::online_mode(row.get("online_mode")) {
            Ok(m) => p.online_mode = m,
            Err(text) => note(
                "online_mode",
                format!("'{text}' is not an online mode: left empty"),
            ),
        }
        let published = row.get("competent_agency_vi");
        p.agency_code = match agencies
            .resolve(published)
            .or_else(|| lang_son_agency(&p.field, &p.levels, published).map(str::to_owned))
        {
            Some(code) => code,
            None => {
                return Err(vec![RowError {
                    line: row.line,
                    column: "field_vi".into(),
                    reason: format!("no Lạng Sơn agency for field '{}'", p.field),
                }]);
            }
        };
        if let Some((first, first_line)) = out.iter_mut().find(|(q, _)| q.code == p.code) {
            merge(first, p);
            notes.push(CleanNote {
                line: row.line,
                column: "code".into(),
                note: format!("duplicate of line {first_line}: merged into it"),
            });
        } else {
            out.push((p, row.line));
        }
    }
    Ok((out.into_iter().map(|(p, _)| p).collect(), notes))
}

/// Fills what `into` lacks from `other`, the same procedure published elsewhere.
fn merge(into: &mut Procedure, other: Procedure) {
    let fill = |a: &mut String, b: String| {
        if a.is_empty() {
            *a = b;
        }
    };
    fill(&mut into.time_text, other.time_text);
    fill(&mut into.fee_text, other.fee_text);
    if into.levels.is_empty() {
        into.levels = other.levels;
    }
    if into.time_limit.is_none() {
        into.time_limit = other.time_limit;
    }
    if into.fees.is_empty() {
        into.fees = other.fees;
    }
    if into.online_mode.is_none() {
        into.online_mode = other.online_mode;
    }
    for l in other.legal_basis {
        if !into.legal_basis.contains(&l) {
            into.legal_basis.push(l);
        }
    }
}
