//! The form of a dossier as pages and the API share it: every field a procedure asks (the
//! applicant block first), the communes to choose from, the documents by requirement, and what
//! still stops a submission.

use crate::http::error::WebError;
use crate::http::state::AppState;
use motcua_core::catalogue::{FieldKind, FormField, Procedure};
use motcua_core::dossier::{applicant_fields, validate_form, FieldError, Status};
use motcua_store::dossiers::{Attachment, Dossier};
use std::collections::BTreeMap;

/// One form field as the page shows it.
pub(crate) struct FieldView {
    pub key: String,
    pub label: String,
    pub input: &'static str,
    pub required: bool,
    pub help: String,
    pub value: String,
    pub error: Option<String>,
    /// For selects: (value, label, selected).
    pub options: Vec<(String, String, bool)>,
    pub max_length: Option<u32>,
}

/// A required document with the files attached for it.
pub(crate) struct DocView {
    pub field: String,
    pub name: String,
    pub form: &'static str,
    pub copies: u8,
    pub files: Vec<AttView>,
}

/// A file of a dossier.
pub(crate) struct AttView {
    pub id: String,
    pub name: String,
    pub size: String,
    pub document: String,
    pub removable: bool,
}

/// What to call a required document that is not on the procedure's list.
pub(crate) const OTHER_DOCUMENT: &str = "Giấy tờ khác";

pub(crate) fn size_text(bytes: i64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{} KB", (bytes + 999) / 1000)
    }
}

pub(crate) fn att_view(a: &Attachment, d: &Dossier) -> AttView {
    let removable = d.status == Status::Draft
        || (d.status == Status::SupplementRequested && a.round == d.supplement_requests);
    AttView {
        id: a.id.clone(),
        name: a.file_name.clone(),
        size: size_text(a.size),
        document: a.document.clone(),
        removable,
    }
}

/// Every field of a dossier's form: the applicant block, then the procedure's own.
pub(crate) fn all_fields(p: &Procedure) -> Vec<FormField> {
    let mut fields = applicant_fields();
    fields.extend(p.form.iter().cloned());
    fields
}

pub(crate) fn field_views(
    fields: &[FormField],
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
    communes: &[(String, String)],
) -> Vec<FieldView> {
    fields
        .iter()
        .map(|f| {
            let value = values.get(&f.key).cloned().unwrap_or_default();
            let (input, options) = match &f.kind {
                FieldKind::Text | FieldKind::Cccd => ("text", Vec::new()),
                FieldKind::Textarea => ("textarea", Vec::new()),
                FieldKind::Number => ("number", Vec::new()),
                FieldKind::Date => ("date", Vec::new()),
                FieldKind::Phone => ("tel", Vec::new()),
                FieldKind::Email => ("email", Vec::new()),
                FieldKind::Select { options } => (
                    "select",
                    options
                        .iter()
                        .map(|o| (o.clone(), o.clone(), *o == value))
                        .collect(),
                ),
                FieldKind::AdminUnit => (
                    "select",
                    communes
                        .iter()
                        .map(|(c, n)| (c.clone(), n.clone(), *c == value))
                        .collect(),
                ),
            };
            FieldView {
                key: f.key.clone(),
                label: f.label.clone(),
                input,
                required: f.required,
                help: f.help.clone(),
                error: errors
                    .iter()
                    .find(|e| e.key == f.key)
                    .map(|e| e.message_vi.clone()),
                value,
                options,
                max_length: f.max_length,
            }
        })
        .collect()
}

/// Current communes and wards, for the commune selects.
pub(crate) async fn communes(state: &AppState) -> Result<Vec<(String, String)>, WebError> {
    use motcua_core::AdminUnitKind;
    Ok(state
        .store
        .admin_units()
        .await?
        .into_iter()
        .filter(|u| {
            matches!(u.kind, AdminUnitKind::Commune | AdminUnitKind::Ward)
                && u.valid_until.is_none()
        })
        .map(|u| (u.code, u.name))
        .collect())
}

pub(crate) fn known_unit(communes: &[(String, String)]) -> impl Fn(&str) -> bool + '_ {
    move |code| communes.iter().any(|(c, _)| c == code)
}

/// What stops a dossier from being submitted: missing or wrong fields, no files, and for a
/// supplement, no new file.
pub(crate) async fn submission_problems(
    state: &AppState,
    d: &Dossier,
    p: &Procedure,
) -> Result<(Vec<FieldError>, Vec<String>), WebError> {
    let communes = communes(state).await?;
    let field_errors = match validate_form(&all_fields(p), &d.form, true, &known_unit(&communes)) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    };
    let atts = state.store.attachments(&d.id).await?;
    let mut other = Vec::new();
    if d.status == Status::SupplementRequested {
        if !atts.iter().any(|a| a.round == d.supplement_requests) {
            other.push("Chưa đính kèm giấy tờ bổ sung nào theo yêu cầu.".to_owned());
        }
    } else if !p.required_documents.is_empty() && atts.is_empty() {
        other.push("Chưa đính kèm giấy tờ nào trong thành phần hồ sơ.".to_owned());
    }
    Ok((field_errors, other))
}

/// (label, value) of every filled field, in form order.
pub(crate) fn value_rows(
    p: &Procedure,
    form: &BTreeMap<String, String>,
    communes: &[(String, String)],
) -> Vec<(String, String)> {
    all_fields(p)
        .iter()
        .filter_map(|f| {
            let v = form.get(&f.key)?;
            let shown = match f.kind {
                FieldKind::AdminUnit => communes
                    .iter()
                    .find(|(c, _)| c == v)
                    .map_or_else(|| v.clone(), |(_, n)| n.clone()),
                _ => v.clone(),
            };
            Some((f.label.clone(), shown))
        })
        .collect()
}

pub(crate) fn group_documents(
    p: &Procedure,
    atts: &[Attachment],
    d: &Dossier,
) -> Vec<(String, Vec<AttView>)> {
    let mut names: Vec<String> = p
        .required_documents
        .iter()
        .map(|r| r.name.clone())
        .collect();
    for a in atts {
        if !names.contains(&a.document) {
            names.push(a.document.clone());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let files = atts
                .iter()
                .filter(|a| a.document == n)
                .map(|a| att_view(a, d))
                .collect();
            (n, files)
        })
        .filter(|(_, f): &(String, Vec<AttView>)| !f.is_empty())
        .collect()
}

pub(crate) async fn procedure_of(state: &AppState, d: &Dossier) -> Result<Procedure, WebError> {
    state
        .store
        .procedure_version(&d.procedure_id, d.procedure_version)
        .await?
        .ok_or_else(|| WebError::Internal(format!("procedure version of dossier {} missing", d.id)))
}
