//! The citizen's side of a dossier: fill the procedure's form (prefilled from the profile), attach
//! documents, save a draft and come back to it on any device, review, submit; then follow it in
//! "Hồ sơ của tôi", answer a supplement request, withdraw, download the receipt. Also the public
//! lookup by code and the last four digits of the applicant's phone.

use crate::auth::CurrentUser;
use crate::dossier_files::{self, load, own, Viewer};
use crate::routes::{get, needs, post, upload, RouteDef, PUBLIC};
use crate::views::{time_vi, Ctx, Layout};
use crate::{AppState, WebError};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Form, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::accounts::{Access, Permission};
use motcua_core::catalogue::{FieldKind, FormField, Procedure};
use motcua_core::dossier::{applicant_fields, validate_form, Action, Command, FieldError, Status};
use motcua_store::dossiers::{format_local, Act, ActError, Attachment, Dossier, DossierEvent};
use serde::Deserialize;
use std::collections::BTreeMap;

pub(crate) fn routes() -> Vec<RouteDef> {
    let submit = needs(Permission::SubmitDossiers);
    vec![
        get("/procedures/{agency}/{code}/apply", submit, apply),
        get("/dossiers", submit, my_dossiers),
        get("/dossiers/{id}", Access::SignedIn, dossier_page),
        get("/dossiers/{id}/edit", submit, edit_page),
        upload("/dossiers/{id}/edit", submit, save),
        post(
            "/dossiers/{id}/attachments/{att}/delete",
            submit,
            delete_attachment,
        ),
        get("/dossiers/{id}/review", submit, review_page),
        post("/dossiers/{id}/submit", submit, submit_dossier),
        post("/dossiers/{id}/withdraw", submit, withdraw),
        post("/dossiers/{id}/delete", submit, delete_draft),
        get("/dossiers/{id}/files/{att}", Access::SignedIn, download),
        get("/lookup", PUBLIC, lookup),
        get("/notifications", Access::SignedIn, notifications),
    ]
}

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
const OTHER_DOCUMENT: &str = "Giấy tờ khác";

fn size_text(bytes: i64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{} KB", (bytes + 999) / 1000)
    }
}

fn att_view(a: &Attachment, d: &Dossier) -> AttView {
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

fn known_unit(communes: &[(String, String)]) -> impl Fn(&str) -> bool + '_ {
    move |code| communes.iter().any(|(c, _)| c == code)
}

async fn procedure_of(state: &AppState, d: &Dossier) -> Result<Procedure, WebError> {
    state
        .store
        .procedure_version(&d.procedure_id, d.procedure_version)
        .await?
        .ok_or_else(|| WebError::Internal(format!("procedure version of dossier {} missing", d.id)))
}

async fn apply(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let stored = ctx
        .state
        .store
        .procedure(&code, &agency)
        .await?
        .ok_or(WebError::NotFound)?;
    if !stored.procedure.online_mode.is_some_and(|m| m.is_online()) {
        return Ok(Redirect::to(&format!("/procedures/{agency}/{code}")).into_response());
    }
    let a = &user.account;
    let mut prefill = BTreeMap::new();
    for (k, v) in [
        ("applicant_name", Some(a.display_name.clone())),
        ("applicant_id", a.cccd.clone()),
        ("applicant_phone", a.phone.clone()),
        ("applicant_email", a.email.clone()),
        ("applicant_address", a.address.clone()),
        ("applicant_commune", a.admin_unit_code.clone()),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            prefill.insert(k.to_owned(), v);
        }
    }
    let id = ctx.state.store.open_draft(a, &stored.id, &prefill).await?;
    Ok(Redirect::to(&format!("/dossiers/{id}/edit")).into_response())
}

#[derive(Template)]
#[template(path = "dossier_edit.html")]
struct EditPage {
    layout: Layout,
    d: Dossier,
    fields: Vec<FieldView>,
    documents: Vec<DocView>,
    other: DocView,
    errors: Vec<String>,
    notice: Option<&'static str>,
    per_file_mb: u64,
    per_dossier_mb: u64,
    has_files: bool,
}

async fn render_edit(
    ctx: &Ctx,
    d: Dossier,
    errors: Vec<FieldError>,
    file_errors: Vec<String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let p = procedure_of(&ctx.state, &d).await?;
    let communes = communes(&ctx.state).await?;
    let atts = ctx.state.store.attachments(&d.id).await?;
    let documents = p
        .required_documents
        .iter()
        .enumerate()
        .map(|(i, doc)| DocView {
            field: format!("doc_{i}"),
            name: doc.name.clone(),
            form: doc.form.label_vi(),
            copies: doc.copies,
            files: atts
                .iter()
                .filter(|a| a.document == doc.name)
                .map(|a| att_view(a, &d))
                .collect(),
        })
        .collect::<Vec<_>>();
    let listed: Vec<&str> = p
        .required_documents
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    let other = DocView {
        field: "doc_other".into(),
        name: OTHER_DOCUMENT.into(),
        form: "",
        copies: 0,
        files: atts
            .iter()
            .filter(|a| !listed.contains(&a.document.as_str()))
            .map(|a| att_view(a, &d))
            .collect(),
    };
    let fields = field_views(&all_fields(&p), &d.form, &errors, &communes);
    let status = if errors.is_empty() && file_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let limits = ctx.state.site.dossiers.limits;
    let page = EditPage {
        layout: ctx.layout(format!("Nộp hồ sơ: {}", d.procedure_name)),
        errors: errors
            .into_iter()
            .map(|e| e.message_vi)
            .chain(file_errors)
            .collect(),
        d,
        fields,
        documents,
        other,
        notice,
        has_files: !atts.is_empty(),
        per_file_mb: limits.per_file / 1_000_000,
        per_dossier_mb: limits.per_dossier / 1_000_000,
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn editable(d: &Dossier) -> bool {
    matches!(d.status, Status::Draft | Status::SupplementRequested)
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

fn edit_notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "saved" => "Đã lưu bản nháp. Bạn có thể tiếp tục trên thiết bị khác bằng tài khoản này.",
        "removed" => "Đã xóa tệp.",
        _ => return None,
    })
}

async fn edit_page(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    if !editable(&d) {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    render_edit(
        &ctx,
        d,
        Vec::new(),
        Vec::new(),
        edit_notice(q.notice.as_deref()),
    )
    .await
}

/// Saves what the form brought: valid values and files are kept even when others are wrong, so a
/// draft is never lost; every problem is reported at once.
async fn save(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    if !editable(&d) {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    let upload = dossier_files::read_form(&ctx.state, multipart).await;
    if upload.refuse_control().is_some() {
        return Err(WebError::ControlCharacter);
    }
    let p = procedure_of(&ctx.state, &d).await?;
    let communes = communes(&ctx.state).await?;
    let fields = all_fields(&p);
    let mut merged = d.form.clone();
    let mut field_errors = Vec::new();
    // Only fields that were sent are considered (a broken body keeps what it had).
    let sent: BTreeMap<String, String> = upload
        .fields
        .iter()
        .filter(|(k, _)| fields.iter().any(|f| &f.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for f in &fields {
        let Some(raw) = sent.get(&f.key) else {
            continue;
        };
        let one = BTreeMap::from([(f.key.clone(), raw.clone())]);
        match validate_form(std::slice::from_ref(f), &one, false, &known_unit(&communes)) {
            Ok(v) => match v.get(&f.key) {
                Some(value) => {
                    merged.insert(f.key.clone(), value.clone());
                }
                None => {
                    merged.remove(&f.key);
                }
            },
            Err(e) => {
                // Keep what the citizen typed, so the page shows it back for correction.
                merged.insert(f.key.clone(), raw.trim().to_owned());
                field_errors.extend(e);
            }
        }
    }
    let commune = merged.get("applicant_commune").cloned();
    ctx.state
        .store
        .save_form(
            &id,
            &merged,
            commune.as_deref().filter(|c| known_unit(&communes)(c)),
        )
        .await?;
    let mut file_errors = Vec::new();
    for f in upload.files {
        let document = f
            .field
            .strip_prefix("doc_")
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| p.required_documents.get(i))
            .map_or(OTHER_DOCUMENT.to_owned(), |r| r.name.clone());
        if let Some(e) =
            dossier_files::check_and_attach(&ctx.state, &id, &document, &f.name, f.staged).await?
        {
            file_errors.push(e.message_vi());
        }
    }
    if upload.too_large {
        file_errors.push(format!(
            "Dữ liệu gửi lên vượt quá dung lượng cho phép ({} MB cho cả hồ sơ); phần nhận được trước đó đã được lưu.",
            ctx.state.site.dossiers.limits.per_dossier / 1_000_000
        ));
    }
    if upload.broken {
        file_errors.push(
            "Kết nối bị gián đoạn khi gửi biểu mẫu; những gì đã nhận được đã được lưu. Hãy kiểm tra lại và gửi tiếp.".into(),
        );
    }
    let d = ctx
        .state
        .store
        .dossier(&id)
        .await?
        .ok_or(WebError::NotFound)?;
    if !field_errors.is_empty() || !file_errors.is_empty() {
        return render_edit(&ctx, d, field_errors, file_errors, None).await;
    }
    if upload.fields.get("intent").map(String::as_str) == Some("review") {
        return Ok(Redirect::to(&format!("/dossiers/{id}/review")).into_response());
    }
    Ok(Redirect::to(&format!("/dossiers/{id}/edit?notice=saved")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[allow(dead_code)]
    csrf: Option<String>,
}

async fn delete_attachment(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, att)): Path<(String, String)>,
    Form(_): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    if !ctx.state.store.detach(&id, &att).await? {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to(&format!("/dossiers/{id}/edit?notice=removed")).into_response())
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

/// The caller's dossier and its procedure when it can be submitted now; otherwise the page to
/// show instead (the dossier itself when it is no longer editable, the form with every problem).
async fn ready_to_submit(
    ctx: &Ctx,
    user: &CurrentUser,
    id: &str,
) -> Result<Result<(Dossier, Procedure), Response>, WebError> {
    let (d, _) = load(&ctx.state, user, id).await?;
    own(user, &d)?;
    if !editable(&d) {
        return Ok(Err(Redirect::to(&format!("/dossiers/{id}")).into_response()));
    }
    let p = procedure_of(&ctx.state, &d).await?;
    let (field_errors, other) = submission_problems(&ctx.state, &d, &p).await?;
    if !field_errors.is_empty() || !other.is_empty() {
        return Ok(Err(render_edit(ctx, d, field_errors, other, None).await?));
    }
    Ok(Ok((d, p)))
}

#[derive(Template)]
#[template(path = "dossier_review.html")]
struct ReviewPage {
    layout: Layout,
    d: Dossier,
    values: Vec<(String, String)>,
    documents: Vec<(String, Vec<AttView>)>,
    missing_documents: Vec<String>,
}

async fn review_page(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, p) = match ready_to_submit(&ctx, &user, &id).await? {
        Ok(ready) => ready,
        Err(page) => return Ok(page),
    };
    let communes = communes(&ctx.state).await?;
    let values = value_rows(&p, &d.form, &communes);
    let atts = ctx.state.store.attachments(&id).await?;
    let documents = group_documents(&p, &atts, &d);
    let missing_documents = p
        .required_documents
        .iter()
        .filter(|r| !atts.iter().any(|a| a.document == r.name))
        .map(|r| r.name.clone())
        .collect();
    let page = ReviewPage {
        layout: ctx.layout("Xem lại hồ sơ trước khi nộp"),
        d,
        values,
        documents,
        missing_documents,
    };
    Ok(Html(page.render()?).into_response())
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

#[derive(Deserialize)]
struct VersionForm {
    version: Option<i64>,
}

async fn submit_dossier(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    let (d, _) = match ready_to_submit(&ctx, &user, &id).await? {
        Ok(ready) => ready,
        Err(page) => return Ok(page),
    };
    let command = if d.status == Status::Draft {
        Command::Submit
    } else {
        Command::Resubmit
    };
    let act = Act::by_applicant(&id, command, &user.account, form.version);
    act_and_show(&ctx, &user, &id, act, "submitted").await
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: Option<String>,
    version: Option<i64>,
}

async fn withdraw(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    let reason = form.reason.unwrap_or_default();
    let reason = motcua_core::text::nfc(reason.trim());
    if reason.is_empty() || reason.chars().count() > 500 {
        return render_dossier(
            &ctx,
            &user,
            d,
            Some("Hãy cho biết lý do rút hồ sơ (tối đa 500 ký tự).".into()),
        )
        .await;
    }
    let act = Act::by_applicant(
        &id,
        Command::Withdraw { reason },
        &user.account,
        form.version,
    );
    act_and_show(&ctx, &user, &id, act, "withdrawn").await
}

/// Applies an action and shows the dossier again: with a notice when done, with the reason when
/// refused, with the current state when someone else acted first.
pub(crate) async fn act_and_show(
    ctx: &Ctx,
    user: &CurrentUser,
    id: &str,
    act: Act<'_>,
    notice: &str,
) -> Result<Response, WebError> {
    match ctx
        .state
        .store
        .act(
            act,
            &ctx.state.site.dossiers.codes,
            &ctx.state.site.dossiers.hours,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/dossiers/{id}?notice={notice}")).into_response()),
        Err(ActError::Conflict(_)) => {
            Ok(Redirect::to(&format!("/dossiers/{id}?notice=conflict")).into_response())
        }
        Err(ActError::NotFound) => Err(WebError::NotFound),
        Err(ActError::Store(e)) => Err(e.into()),
        Err(e) => {
            let d = ctx
                .state
                .store
                .dossier(id)
                .await?
                .ok_or(WebError::NotFound)?;
            render_dossier(ctx, user, d, e.message_vi()).await
        }
    }
}

async fn delete_draft(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(_): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    if !ctx.state.store.delete_draft(&id).await? {
        return render_dossier(&ctx, &user, d, Some("Chỉ xóa được hồ sơ chưa nộp.".into())).await;
    }
    Ok(Redirect::to("/dossiers?notice=deleted").into_response())
}

/// A row of "Hồ sơ của tôi".
pub(crate) struct ListRow {
    pub code: String,
    pub procedure: String,
    pub status: &'static str,
    pub due: String,
    pub next: Option<&'static str>,
    pub url: String,
}

#[derive(Template)]
#[template(path = "dossiers.html")]
struct MyDossiersPage {
    layout: Layout,
    rows: Vec<ListRow>,
    notice: Option<&'static str>,
}

async fn my_dossiers(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let rows = ctx
        .state
        .store
        .dossiers_of(&user.account.id)
        .await?
        .into_iter()
        .map(|d| ListRow {
            url: if editable(&d) && d.status == Status::Draft {
                format!("/dossiers/{}/edit", d.id)
            } else {
                format!("/dossiers/{}", d.id)
            },
            code: d.code.clone().unwrap_or_else(|| "(chưa có mã)".into()),
            procedure: d.procedure_name.clone(),
            status: d.status.label_vi(),
            due: d.due_at.map(format_local).unwrap_or_default(),
            next: d.status.applicant_next_step_vi(),
        })
        .collect();
    let notice = match q.notice.as_deref() {
        Some("deleted") => Some("Đã xóa bản nháp."),
        _ => None,
    };
    let page = MyDossiersPage {
        layout: ctx.layout("Hồ sơ của tôi"),
        rows,
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

/// An event as a timeline shows it.
pub(crate) struct EventView {
    pub at: String,
    pub label: &'static str,
    pub actor: String,
    pub note: String,
    pub status: &'static str,
}

fn event_view(e: &DossierEvent, with_people: bool) -> EventView {
    EventView {
        at: format_local(e.at),
        label: e.label_vi(),
        actor: if with_people {
            e.actor_name.clone()
        } else {
            String::new()
        },
        note: if with_people {
            e.text_vi()
        } else {
            String::new()
        },
        status: Status::parse(&e.status).map_or("", Status::label_vi),
    }
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct DossierPage {
    layout: Layout,
    d: Dossier,
    applicant: bool,
    desk: bool,
    channel: &'static str,
    offline_reason: Option<&'static str>,
    due: Option<String>,
    time_limit: Option<String>,
    needs_time_limit: bool,
    values: Vec<(String, String)>,
    documents: Vec<(String, Vec<AttView>)>,
    events: Vec<EventView>,
    notice: Option<&'static str>,
    error: Option<String>,
    agency: String,
    /// What the caller may do now, as `action` and `action:capacity`.
    actions: Vec<String>,
    /// Specialists a leader may assign.
    specialists: Vec<(String, String)>,
    /// Steps at other agencies still to send: number (from 1) and label.
    consult_steps: Vec<(usize, String)>,
    /// Requests to other agencies: agency, sent, due, answer.
    consultations: Vec<(String, String, String, String)>,
    /// An official of the dossier (not the applicant).
    official: bool,
    /// The result can be downloaded by the caller.
    result_ready: bool,
}

impl DossierPage {
    /// Whether the caller may take `action` (or `action:capacity`) now.
    fn can(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }
}

fn dossier_notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "submitted" => "Đã nộp hồ sơ. Hồ sơ đang chờ cơ quan tiếp nhận; bạn sẽ nhận được thông báo khi có kết quả tiếp nhận.",
        "withdrawn" => "Đã rút hồ sơ. Cơ quan đã dừng giải quyết hồ sơ.",
        "received" => "Đã tiếp nhận hồ sơ. Giấy tiếp nhận (Mẫu 01) đã sẵn sàng.",
        "supplement" => "Đã gửi yêu cầu bổ sung (Mẫu 02) cho người nộp.",
        "refused" => "Đã từ chối tiếp nhận hồ sơ và thông báo cho người nộp.",
        "registered" => "Đã tiếp nhận hồ sơ giấy. In giấy tiếp nhận (Mẫu 01) để giao cho người nộp.",
        "assigned" => "Đã phân công chuyên viên xử lý hồ sơ.",
        "transferred" => "Đã chuyển hồ sơ lấy ý kiến cơ quan phối hợp.",
        "answered" => "Đã gửi ý kiến của cơ quan phối hợp.",
        "sent_back" => "Đã trả hồ sơ về bước trước.",
        "proposed" => "Đã trình kết quả giải quyết lên lãnh đạo.",
        "approved" => "Đã phê duyệt kết quả giải quyết.",
        "issued" => "Đã ban hành kết quả; hồ sơ chờ trả kết quả.",
        "handed_over" => "Đã trả kết quả cho người nộp.",
        "apologised" => "Đã gửi thư xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04).",
        "conflict" => "Hồ sơ vừa được người khác cập nhật. Dưới đây là trạng thái hiện tại; hãy kiểm tra rồi thao tác lại nếu cần.",
        _ => return None,
    })
}

/// "hh:mm dd/mm/yyyy" for templates.
pub(crate) fn local(t: &time::OffsetDateTime) -> String {
    format_local(*t)
}

/// The capacity as the page's action keys write it.
fn actor_key(a: motcua_core::dossier::Actor) -> &'static str {
    use motcua_core::dossier::Actor;
    match a {
        Actor::Applicant => "applicant",
        Actor::Reception => "reception",
        Actor::Specialist => "specialist",
        Actor::Leader => "leader",
        Actor::Consulted => "consulted",
    }
}

pub(crate) async fn render_dossier(
    ctx: &Ctx,
    user: &CurrentUser,
    d: Dossier,
    error: Option<String>,
) -> Result<Response, WebError> {
    render_dossier_with(ctx, user, d, error, None).await
}

async fn render_dossier_with(
    ctx: &Ctx,
    user: &CurrentUser,
    d: Dossier,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let viewer = dossier_files::standing(&ctx.state, user, &d)
        .await?
        .ok_or(WebError::NotFound)?;
    let p = procedure_of(&ctx.state, &d).await?;
    let communes = communes(&ctx.state).await?;
    let atts = ctx.state.store.attachments(&d.id).await?;
    let events = ctx
        .state
        .store
        .dossier_events(&d.id)
        .await?
        .iter()
        .map(|e| event_view(e, true))
        .collect();
    let agency = ctx.state.catalogue.get().agency_name(&d.agency_code);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let names = &ctx.state.catalogue.get().agency_names;
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    let available = ctx
        .state
        .store
        .available_actions(&d, &user.account, &ctx.state.site.dossiers.hours)
        .await?;
    let mut actions = Vec::new();
    for (a, who) in &available {
        actions.push(a.as_str().to_owned());
        actions.push(format!("{}:{}", a.as_str(), actor_key(*who)));
    }
    let specialists = if available.iter().any(|(a, _)| *a == Action::Assign) {
        ctx.state.store.specialists(&d.agency_code).await?
    } else {
        Vec::new()
    };
    let consults = ctx.state.store.consultations(&d.id).await?;
    let wf = d.workflow();
    let consult_steps = wf
        .consults()
        .filter(|(i, ..)| !consults.iter().any(|c| c.step == *i as i64))
        .map(|(i, step, agency, mode, optional)| {
            (
                i + 1,
                format!(
                    "{} — {} ({}{})",
                    step.name,
                    name_of(agency),
                    mode.label_vi(),
                    if optional {
                        ", không bắt buộc"
                    } else {
                        ""
                    }
                ),
            )
        })
        .collect();
    let consultations = consults
        .iter()
        .map(|c| {
            (
                name_of(&c.agency_code),
                format_local(c.sent_at),
                c.due_at.map(format_local).unwrap_or_default(),
                c.answer.clone(),
            )
        })
        .collect();
    let result_ready = d.result_sha256.is_some()
        && (viewer != Viewer::Applicant || d.status == Status::HandedOver);
    let page = DossierPage {
        actions,
        specialists,
        consult_steps,
        consultations,
        official: viewer != Viewer::Applicant,
        result_ready,
        layout: ctx.layout(format!(
            "Hồ sơ {}",
            d.code.clone().unwrap_or_else(|| d.procedure_name.clone())
        )),
        applicant: viewer == Viewer::Applicant,
        desk: viewer == Viewer::Desk,
        channel: d.channel.label_vi(),
        offline_reason: d.offline_reason.map(|r| r.label_vi()),
        due: d.due_at.map(format_local),
        time_limit: p.time_limit.map(time_vi),
        needs_time_limit: p.time_limit.is_none(),
        values: value_rows(&p, &d.form, &communes),
        documents: group_documents(&p, &atts, &d),
        events,
        notice,
        error,
        agency,
        d,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn dossier_page(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    render_dossier_with(&ctx, &user, d, None, dossier_notice(q.notice.as_deref())).await
}

async fn download(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, att)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    let a = ctx
        .state
        .store
        .attachments(&d.id)
        .await?
        .into_iter()
        .find(|a| a.id == att)
        .ok_or(WebError::NotFound)?;
    dossier_files::serve_attachment(&ctx.state, &a).await
}

#[derive(Deserialize)]
struct LookupQuery {
    code: Option<String>,
    phone: Option<String>,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    layout: Layout,
    code: String,
    phone: String,
    error: Option<&'static str>,
    found: Option<PublicDossier>,
    status: StatusCode,
}

/// What anyone with the code and the phone's last digits may see: no names, no documents.
pub(crate) struct PublicDossier {
    pub code: String,
    pub procedure: String,
    pub agency: String,
    pub status: &'static str,
    pub submitted: String,
    pub due: String,
    pub events: Vec<EventView>,
}

/// The public lookup, shared by the page and the API. Failures count against the caller's
/// address, so codes cannot be enumerated.
pub(crate) async fn public_lookup(
    state: &AppState,
    ip: &str,
    code: &str,
    last4: &str,
) -> Result<Result<(Dossier, Vec<DossierEvent>), (StatusCode, &'static str)>, WebError> {
    use motcua_core::accounts::Attempt;
    let rule = motcua_core::accounts::ThrottleRule::LOOKUP;
    let code = code.trim().to_ascii_uppercase();
    let last4: String = last4.chars().filter(char::is_ascii_digit).collect();
    if code.parse::<motcua_core::dossier::DossierCode>().is_err() || last4.len() != 4 {
        return Ok(Err((StatusCode::BAD_REQUEST, "Hãy nhập đúng mã hồ sơ (dạng 000.00.00.H00-261130-0001) và 4 chữ số cuối của số điện thoại.")));
    }
    // Each lookup is counted before it is answered, against the address and against the code;
    // a found dossier gives its count back.
    let keys = [format!("lookup:ip:{ip}"), format!("lookup:code:{code}")];
    for key in &keys {
        if let Attempt::Refused { .. } = state.store.throttle_attempt(key, rule).await? {
            state.metrics.refused("lookup");
            return Ok(Err((
                StatusCode::TOO_MANY_REQUESTS,
                "Đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau 15 phút.",
            )));
        }
    }
    match state.store.lookup(&code, &last4).await? {
        Some(d) => {
            for key in &keys {
                state.store.throttle_refund(key, rule).await?;
            }
            let events = state.store.dossier_events(&d.id).await?;
            Ok(Ok((d, events)))
        }
        None => Ok(Err((
            StatusCode::NOT_FOUND,
            "Không tìm thấy hồ sơ với mã và số điện thoại này.",
        ))),
    }
}

async fn lookup(ctx: Ctx, Query(q): Query<LookupQuery>) -> Result<Response, WebError> {
    let code = q.code.unwrap_or_default();
    let phone = q.phone.unwrap_or_default();
    let mut page = LookupPage {
        layout: ctx.layout("Tra cứu hồ sơ"),
        code: code.clone(),
        phone: phone.clone(),
        error: None,
        found: None,
        status: StatusCode::OK,
    };
    if !code.is_empty() || !phone.is_empty() {
        match public_lookup(&ctx.state, &ctx.ip, &code, &phone).await? {
            Ok((d, events)) => {
                let agency = ctx
                    .state
                    .catalogue
                    .get()
                    .agency_names
                    .get(&d.agency_code)
                    .cloned()
                    .unwrap_or_default();
                page.found = Some(PublicDossier {
                    code: d.code.clone().unwrap_or_default(),
                    procedure: d.procedure_name.clone(),
                    agency,
                    status: d.status.label_vi(),
                    submitted: d.submitted_at.map(format_local).unwrap_or_default(),
                    due: d.due_at.map(format_local).unwrap_or_default(),
                    events: events
                        .iter()
                        .filter(|e| e.kind != "create")
                        .map(|e| event_view(e, false))
                        .collect(),
                });
            }
            Err((status, message)) => {
                page.status = status;
                page.error = Some(message);
            }
        }
    }
    Ok((page.status, Html(page.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    items: Vec<(String, String, String, Option<String>, bool)>,
}

async fn notifications(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    let list = ctx.state.store.notifications(&user.account.id).await?;
    ctx.state
        .store
        .mark_notifications_read(&user.account.id)
        .await?;
    let items = list
        .into_iter()
        .map(|n| {
            (
                format_local(n.created_at),
                n.title,
                n.body,
                n.dossier_id.map(|d| format!("/dossiers/{d}")),
                n.read_at.is_none(),
            )
        })
        .collect();
    let page = NotificationsPage {
        layout: ctx.layout("Thông báo"),
        items,
    };
    Ok(Html(page.render()?).into_response())
}

/// The public address of this portal, for QR codes.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.site.dossiers.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.site.cookie_secure {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}
