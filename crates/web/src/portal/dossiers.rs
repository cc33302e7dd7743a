//! The citizen's side of a dossier: fill the procedure's form (prefilled from the profile), attach
//! documents, save a draft and come back to it on any device, review, submit; then follow it in
//! "Hồ sơ của tôi", answer a supplement request, withdraw, download the receipt. Also the public
//! lookup by code and the last four digits of the applicant's phone.

use crate::dossier::access::{load, own};
use crate::dossier::cases::{public_lookup, submit_online, LookupRefusal, SubmitRefusal};
use crate::dossier::files;
use crate::dossier::form::{
    all_fields, att_view, communes, field_views, group_documents, known_unit, procedure_of,
    submission_problems, value_rows, AttView, DocView, FieldView, OTHER_DOCUMENT,
};
use crate::dossier::lookup::PublicDossier;
use crate::dossier::page::{
    act_and_show, dossier_notice, event_view, render_dossier, render_dossier_with, show_refusal,
};
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, upload, RouteDef, PUBLIC};
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::accounts::{Access, Permission};
use motcua_core::catalogue::Procedure;
use motcua_core::dossier::{validate_form, Command, EventKind, FieldError, Status};
use motcua_store::dossiers::{format_local, Act, Dossier};
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
    let upload = files::read_form(&ctx.state, multipart).await;
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
            files::check_and_attach(&ctx.state, &id, &document, &f.name, f.staged).await?
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
    let (d, _) = load(&ctx.state, &user, &id).await?;
    own(&user, &d)?;
    if !editable(&d) {
        return Ok(Redirect::to(&format!("/dossiers/{id}")).into_response());
    }
    match submit_online(&ctx.state, &user.account, &d, form.version).await? {
        Ok(_) => Ok(Redirect::to(&format!("/dossiers/{id}?notice=submitted")).into_response()),
        Err(SubmitRefusal::Incomplete { fields, other }) => {
            render_edit(&ctx, d, fields, other, None).await
        }
        Err(SubmitRefusal::Refused(e)) => show_refusal(&ctx, &user, &id, e).await,
    }
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
    files::serve_attachment(&ctx.state, &a).await
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
    /// Whether the dossier found can be followed on Zalo.
    zalo: bool,
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
        zalo: false,
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
                page.zalo = ctx.state.gateways.zalo_follow.is_some() && d.status.is_open();
                page.found = Some(PublicDossier {
                    code: d.code.clone().unwrap_or_default(),
                    procedure: d.procedure_name.clone(),
                    agency,
                    status: d.status.label_vi(),
                    submitted: d.submitted_at.map(format_local).unwrap_or_default(),
                    due: d.due_at.map(format_local).unwrap_or_default(),
                    events: events
                        .iter()
                        .filter(|e| e.kind != EventKind::Create)
                        .map(|e| event_view(e, false))
                        .collect(),
                });
            }
            Err(refusal) => {
                let (status, message) = match refusal {
                    LookupRefusal::Malformed => (StatusCode::BAD_REQUEST, "Hãy nhập đúng mã hồ sơ (dạng 000.00.00.H00-261130-0001) và 4 chữ số cuối của số điện thoại."),
                    LookupRefusal::TooMany => (StatusCode::TOO_MANY_REQUESTS, "Đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau 15 phút."),
                    LookupRefusal::NotFound => (StatusCode::NOT_FOUND, "Không tìm thấy hồ sơ với mã và số điện thoại này."),
                };
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
