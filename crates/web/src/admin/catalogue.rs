//! Agency admins create and edit their agency's procedures and online forms. Saving goes through
//! the catalogue importer, so the same validation, versioning and revision apply as for files.

use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::render;
use crate::http::views::Ctx;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use motcua_core::accounts::Permission;
use motcua_core::calendar::deadline::{TimeLimit, TimeUnit};
use motcua_core::catalogue::{
    DocumentForm, Fee, FieldKind, FormField, Level, OnlineMode, Procedure, RequiredDocument,
};
use motcua_store::catalogue::{FileFormat, ImportError};
use serde::Deserialize;

pub(crate) fn routes() -> Vec<RouteDef> {
    let p = needs(Permission::ManageAgencyCatalogue);
    vec![
        get("/admin/procedures", p, list),
        get("/admin/procedures/new", p, new_page),
        post("/admin/procedures/new", p, create),
        get("/admin/procedures/{agency}/{code}", p, edit_page),
        post("/admin/procedures/{agency}/{code}", p, save),
    ]
}

/// Agencies whose catalogue the caller manages (`None`: all).
pub(crate) fn scope(ctx: &Ctx) -> Result<Option<Vec<String>>, WebError> {
    let a = ctx.account()?;
    let agencies = a.agencies_with(Permission::ManageAgencyCatalogue);
    Ok(if agencies.iter().any(Option::is_none) {
        None
    } else {
        Some(agencies.into_iter().flatten().collect())
    })
}

fn in_scope(scope: &Option<Vec<String>>, agency: &str) -> bool {
    scope.as_ref().is_none_or(|s| s.iter().any(|a| a == agency))
}

/// The procedure at `agency` with `code`, if the caller manages that agency. Another agency's
/// procedure is, for this admin, not there: 404, not 403, so its existence is not revealed.
pub(crate) async fn managed_procedure(
    ctx: &Ctx,
    scope: &Option<Vec<String>>,
    agency: &str,
    code: &str,
) -> Result<motcua_store::catalogue::StoredProcedure, WebError> {
    if !in_scope(scope, agency) {
        return Err(WebError::NotFound);
    }
    ctx.state
        .store
        .procedure(code, agency)
        .await?
        .ok_or(WebError::NotFound)
}

#[derive(Template)]
#[template(path = "admin_procedures.html")]
struct ListPage {
    layout: crate::http::views::Layout,
    rows: Vec<(String, String, String, String, i64)>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct Msg {
    saved: Option<String>,
}

async fn list(ctx: Ctx, Query(m): Query<Msg>) -> Result<Html<String>, WebError> {
    let scope = scope(&ctx)?;
    let index = ctx.state.catalogue.get();
    let rows = ctx
        .state
        .store
        .procedures()
        .await?
        .into_iter()
        .filter(|s| in_scope(&scope, &s.procedure.agency_code))
        .map(|s| {
            let agency = index
                .agency_names
                .get(&s.procedure.agency_code)
                .cloned()
                .unwrap_or_default();
            (
                s.procedure.agency_code,
                s.procedure.code,
                s.procedure.name,
                agency,
                s.version,
            )
        })
        .collect();
    render(&ListPage {
        layout: ctx.layout("Quản lý thủ tục"),
        rows,
        notice: m
            .saved
            .map(|c| format!("Đã lưu thủ tục {c}. Cổng dịch vụ công cập nhật trong vài giây.")),
    })
}

/// The editable fields, as the form sends them.
#[derive(Deserialize, Default, Clone)]
struct ProcedureForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    level_province: Option<String>,
    #[serde(default)]
    level_commune: Option<String>,
    #[serde(default)]
    level_other: Option<String>,
    #[serde(default)]
    time_amount: String,
    #[serde(default)]
    time_unit: String,
    #[serde(default)]
    time_text: String,
    #[serde(default)]
    fees: String,
    #[serde(default)]
    fee_text: String,
    #[serde(default)]
    online_mode: String,
    #[serde(default)]
    applicants: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    documents: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    form: String,
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn cells(line: &str) -> Vec<&str> {
    line.split('|').map(str::trim).collect()
}

impl ProcedureForm {
    fn from_procedure(p: &Procedure) -> Self {
        let unit = |u: TimeUnit| match u {
            TimeUnit::WorkingDays => "working_days",
            TimeUnit::CalendarDays => "calendar_days",
            TimeUnit::WorkingHours => "working_hours",
            TimeUnit::SameDay => "same_day",
        };
        let form_word = |f: DocumentForm| match f {
            DocumentForm::Original => "bản chính",
            DocumentForm::Copy => "bản sao",
            DocumentForm::OriginalOrCopy => "bản chính hoặc bản sao",
            DocumentForm::Shown => "xuất trình",
        };
        let kind_word = |k: &FieldKind| match k {
            FieldKind::Text => "text".to_owned(),
            FieldKind::Textarea => "textarea".to_owned(),
            FieldKind::Number => "number".to_owned(),
            FieldKind::Date => "date".to_owned(),
            FieldKind::Cccd => "cccd".to_owned(),
            FieldKind::Phone => "phone".to_owned(),
            FieldKind::Email => "email".to_owned(),
            FieldKind::AdminUnit => "admin_unit".to_owned(),
            FieldKind::Select { options } => format!("select: {}", options.join(", ")),
        };
        let has = |l| p.levels.contains(&l).then(|| "on".to_owned());
        ProcedureForm {
            code: p.code.clone(),
            agency: p.agency_code.clone(),
            name: p.name.clone(),
            field: p.field.clone(),
            level_province: has(Level::Province),
            level_commune: has(Level::Commune),
            level_other: has(Level::Other),
            time_amount: p
                .time_limit
                .filter(|t| t.unit != TimeUnit::SameDay)
                .map(|t| t.amount.to_string())
                .unwrap_or_default(),
            time_unit: p
                .time_limit
                .map(|t| unit(t.unit).to_owned())
                .unwrap_or_default(),
            time_text: p.time_text.clone(),
            fees: p
                .fees
                .iter()
                .map(|f| {
                    format!(
                        "{} | {}",
                        f.label,
                        f.amount_vnd.map(|a| a.to_string()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            fee_text: p.fee_text.clone(),
            online_mode: p
                .online_mode
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            applicants: p.applicants.clone(),
            result: p.result.clone(),
            documents: p
                .required_documents
                .iter()
                .map(|d| format!("{} | {} | {}", d.name, form_word(d.form), d.copies))
                .collect::<Vec<_>>()
                .join("\n"),
            steps: p.steps.join("\n"),
            legal_basis: p.legal_basis.join("\n"),
            form: p
                .form
                .iter()
                .map(|f| {
                    format!(
                        "{} | {} | {} | {}",
                        f.key,
                        f.label,
                        kind_word(&f.kind),
                        if f.required {
                            "bắt buộc"
                        } else {
                            "không bắt buộc"
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Reads the form into a procedure; every problem is reported with where it is.
    fn to_procedure(&self, base: Option<&Procedure>) -> Result<Procedure, Vec<String>> {
        let mut errors = Vec::new();
        let mut levels = Vec::new();
        for (on, l) in [
            (&self.level_province, Level::Province),
            (&self.level_commune, Level::Commune),
            (&self.level_other, Level::Other),
        ] {
            if on.is_some() {
                levels.push(l);
            }
        }
        let time_limit = match (self.time_amount.trim(), self.time_unit.as_str()) {
            (_, "same_day") => Some(TimeLimit {
                amount: 0,
                unit: TimeUnit::SameDay,
            }),
            ("", "") => None,
            (a, u) => {
                let unit = match u {
                    "working_days" => Some(TimeUnit::WorkingDays),
                    "calendar_days" => Some(TimeUnit::CalendarDays),
                    "working_hours" => Some(TimeUnit::WorkingHours),
                    _ => None,
                };
                match (a.parse::<u32>(), unit) {
                    (Ok(n), Some(unit)) if n > 0 => Some(TimeLimit { amount: n, unit }),
                    _ => {
                        errors.push("Thời hạn giải quyết: nhập một số nguyên dương và chọn đơn vị (hoặc chọn \"Trong ngày\").".to_owned());
                        None
                    }
                }
            }
        };
        let mut fees = Vec::new();
        for (n, line) in lines(&self.fees) {
            let c = cells(line);
            let amount = c
                .get(1)
                .copied()
                .unwrap_or_default()
                .replace(['.', ' '], "");
            match amount.parse::<i64>() {
                Ok(a) if a >= 0 => fees.push(Fee {
                    label: c[0].to_owned(),
                    amount_vnd: Some(a),
                    note: String::new(),
                }),
                _ if amount.is_empty() => fees.push(Fee {
                    label: c[0].to_owned(),
                    amount_vnd: None,
                    note: String::new(),
                }),
                _ => errors.push(format!(
                    "Phí, lệ phí dòng {n}: số tiền phải là số không âm (ví dụ 50000)."
                )),
            }
        }
        let mut documents = Vec::new();
        for (n, line) in lines(&self.documents) {
            let c = cells(line);
            let form = match c.get(1).map(|s| motcua_core::text::fold_vi(s)).as_deref() {
                None | Some("") | Some("ban chinh hoac ban sao") => DocumentForm::OriginalOrCopy,
                Some("ban chinh") => DocumentForm::Original,
                Some("ban sao") => DocumentForm::Copy,
                Some("xuat trinh") => DocumentForm::Shown,
                Some(_) => {
                    errors.push(format!("Thành phần hồ sơ dòng {n}: loại phải là \"bản chính\", \"bản sao\", \"bản chính hoặc bản sao\" hoặc \"xuất trình\"."));
                    DocumentForm::OriginalOrCopy
                }
            };
            let copies = match c.get(2).copied().unwrap_or("1").parse::<u8>() {
                Ok(k) if k > 0 => k,
                _ => {
                    errors.push(format!(
                        "Thành phần hồ sơ dòng {n}: số bản phải từ 1 đến 255."
                    ));
                    1
                }
            };
            documents.push(RequiredDocument {
                name: c[0].to_owned(),
                form,
                copies,
                template: None,
            });
        }
        let mut form = Vec::new();
        for (n, line) in lines(&self.form) {
            let c = cells(line);
            if c.len() < 3 {
                errors.push(format!(
                    "Tờ khai dòng {n}: viết theo mẫu \"mã | nhãn | kiểu | bắt buộc\"."
                ));
                continue;
            }
            let kind = match c[2] {
                "text" => Some(FieldKind::Text),
                "textarea" => Some(FieldKind::Textarea),
                "number" => Some(FieldKind::Number),
                "date" => Some(FieldKind::Date),
                "cccd" => Some(FieldKind::Cccd),
                "phone" => Some(FieldKind::Phone),
                "email" => Some(FieldKind::Email),
                "admin_unit" => Some(FieldKind::AdminUnit),
                other => other.strip_prefix("select:").map(|opts| FieldKind::Select {
                    options: opts
                        .split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect(),
                }),
            };
            let Some(kind) = kind else {
                errors.push(format!("Tờ khai dòng {n}: kiểu \"{}\" không hợp lệ (text, textarea, number, date, cccd, phone, email, admin_unit, select: A, B)", c[2]));
                continue;
            };
            let required = c
                .get(3)
                .is_some_and(|r| motcua_core::text::fold_vi(r) == "bat buoc");
            form.push(FormField {
                key: c[0].to_owned(),
                label: c[1].to_owned(),
                kind,
                required,
                help: String::new(),
                max_length: None,
            });
        }
        let list = |text: &str| lines(text).map(|(_, l)| l.to_owned()).collect::<Vec<_>>();
        let online_mode = match self.online_mode.as_str() {
            "" => None,
            m => OnlineMode::parse(m),
        };
        let nfc = |s: &str| motcua_core::text::nfc(s.trim());
        let p = Procedure {
            code: self.code.trim().to_owned(),
            name: nfc(&self.name),
            field: nfc(&self.field),
            levels,
            agency_code: self.agency.clone(),
            time_limit,
            time_text: nfc(&self.time_text),
            fees,
            fee_text: nfc(&self.fee_text),
            required_documents: documents,
            steps: list(&self.steps),
            result: nfc(&self.result),
            legal_basis: list(&self.legal_basis),
            applicants: nfc(&self.applicants),
            online_mode,
            proactive_level: base.and_then(|b| b.proactive_level),
            form,
        };
        if let Err(e) = p.validate() {
            errors.push(match e {
                motcua_core::catalogue::ProcedureError::BadCode(c) => format!("Mã thủ tục \"{c}\" không đúng dạng mã quốc gia (ví dụ 1.001193)."),
                motcua_core::catalogue::ProcedureError::Empty("name") => "Hãy nhập tên thủ tục.".into(),
                motcua_core::catalogue::ProcedureError::BadFormKey(k) => format!("Tờ khai: mã trường \"{k}\" phải là chữ thường không dấu, số hoặc gạch dưới, và không trùng nhau."),
                other => other.to_string(),
            });
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }
}

#[derive(Template)]
#[template(path = "admin_procedure.html")]
struct EditPage {
    layout: crate::http::views::Layout,
    f: ProcedureForm,
    new: bool,
    version: i64,
    agencies: Vec<(String, String)>,
    errors: Vec<String>,
}

fn agencies(ctx: &Ctx, scope: &Option<Vec<String>>) -> Vec<(String, String)> {
    let index = ctx.state.catalogue.get();
    let mut out: Vec<(String, String)> = index
        .agency_names
        .iter()
        .filter(|(c, _)| in_scope(scope, c))
        .map(|(c, n)| (c.clone(), n.clone()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

async fn new_page(ctx: Ctx) -> Result<Html<String>, WebError> {
    let scope = scope(&ctx)?;
    let agencies = agencies(&ctx, &scope);
    let f = ProcedureForm {
        agency: agencies.first().map(|a| a.0.clone()).unwrap_or_default(),
        ..ProcedureForm::default()
    };
    render(&EditPage {
        layout: ctx.layout("Thêm thủ tục"),
        f,
        new: true,
        version: 0,
        agencies,
        errors: vec![],
    })
}

async fn edit_page(
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let scope = scope(&ctx)?;
    let stored = managed_procedure(&ctx, &scope, &agency, &code).await?;
    let agencies = agencies(&ctx, &scope);
    let f = ProcedureForm::from_procedure(&stored.procedure);
    render(&EditPage {
        layout: ctx.layout(format!("Sửa thủ tục {code}")),
        f,
        new: false,
        version: stored.version,
        agencies,
        errors: vec![],
    })
}

async fn store_it(ctx: &Ctx, p: &Procedure) -> Result<Result<(), Vec<String>>, WebError> {
    let bytes = serde_json::to_vec(&[p]).map_err(|e| WebError::Internal(e.to_string()))?;
    let actor = ctx.account()?.username.clone();
    match ctx
        .state
        .store
        .import_procedures(&bytes, FileFormat::Json, &actor, false, &|_, _| {})
        .await
    {
        Ok(_) => {
            ctx.state.catalogue.refresh(&ctx.state.store).await?;
            Ok(Ok(()))
        }
        Err(ImportError::Rows(rows)) => Ok(Err(rows.iter().map(|r| r.reason.clone()).collect())),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

async fn create(ctx: Ctx, Form(f): Form<ProcedureForm>) -> Result<Response, WebError> {
    let scope = scope(&ctx)?;
    let mut errors = Vec::new();
    if !in_scope(&scope, &f.agency) {
        errors.push("Bạn chỉ được thêm thủ tục của cơ quan mình.".to_owned());
    } else if ctx
        .state
        .store
        .procedure(f.code.trim(), &f.agency)
        .await?
        .is_some()
    {
        errors.push(format!(
            "Thủ tục {} của cơ quan này đã có; hãy sửa thủ tục đó.",
            f.code.trim()
        ));
    }
    match (errors.is_empty(), f.to_procedure(None)) {
        (true, Ok(p)) => match store_it(&ctx, &p).await? {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("/admin/procedures?saved={}", p.code)).into_response()
                )
            }
            Err(e) => errors.extend(e),
        },
        (_, Err(e)) => errors.extend(e),
        (false, Ok(_)) => {}
    }
    let agencies = agencies(&ctx, &scope);
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        render(&EditPage {
            layout: ctx.layout("Thêm thủ tục"),
            f,
            new: true,
            version: 0,
            agencies,
            errors,
        })?,
    )
        .into_response())
}

async fn save(
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
    Form(mut f): Form<ProcedureForm>,
) -> Result<Response, WebError> {
    let scope = scope(&ctx)?;
    let stored = managed_procedure(&ctx, &scope, &agency, &code).await?;
    // Code and agency identify the procedure: an edit never moves it.
    f.code = code.clone();
    f.agency = agency.clone();
    let errors = match f.to_procedure(Some(&stored.procedure)) {
        Ok(p) => match store_it(&ctx, &p).await? {
            Ok(()) => {
                return Ok(Redirect::to(&format!("/admin/procedures?saved={code}")).into_response())
            }
            Err(e) => e,
        },
        Err(e) => e,
    };
    let agencies = agencies(&ctx, &scope);
    let page = EditPage {
        layout: ctx.layout(format!("Sửa thủ tục {code}")),
        f,
        new: false,
        version: stored.version,
        agencies,
        errors,
    };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
}
