//! The official forms of the one-stop desk, all in one place, each as the law numbers it
//! (Circular 01/2018, kept by Decree 118/2025): Mẫu 01 receipt and appointment, Mẫu 02
//! supplement request, Mẫu 03 refusal, Mẫu 04 apology and new appointment, Mẫu 05 control sheet,
//! Mẫu 06 ledger (PDF, CSV, XLSX); and the issuer, applicant block and QR address they share.

use crate::dossier::access::{load, Viewer};
use crate::dossier::lookup::public_base;
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{get, needs, RouteDef};
use crate::http::views::{time_vi, Ctx};
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use motcua_core::accounts::{Access, Permission};
use motcua_core::calendar::deadline::VIETNAM;
use motcua_core::dossier::{Action, EventKind, Status};
use motcua_core::Role;
use motcua_docs::{
    ApplicantBlock, ControlRow, ControlSheet, Issuer, LedgerRow, Receipt, SupplementRequest,
};
use motcua_store::dossiers::{format_day, format_local, last_of, Dossier};
use serde::Deserialize;

pub(super) fn agency_name(ctx: &Ctx, code: &str) -> String {
    ctx.state.catalogue.get().agency_name(code)
}

/// The forms' routes: each dossier's forms for those with a standing on it, and the ledger.
pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        get("/office/ledger", needs(Permission::ReadLedger), ledger),
        get("/dossiers/{id}/receipt.pdf", Access::SignedIn, receipt_pdf),
        get(
            "/dossiers/{id}/supplement.pdf",
            Access::SignedIn,
            supplement_pdf,
        ),
        get("/dossiers/{id}/refusal.pdf", Access::SignedIn, refusal_pdf),
        get("/dossiers/{id}/apology.pdf", Access::SignedIn, apology_pdf),
        get(
            "/dossiers/{id}/control-sheet.pdf",
            Access::SignedIn,
            control_sheet_pdf,
        ),
    ]
}

pub(super) fn desk_name(ctx: &Ctx, d: &Dossier) -> String {
    d.desk_code
        .as_ref()
        .and_then(|c| ctx.state.catalogue.get().agency_names.get(c).cloned())
        .unwrap_or_else(|| "Trung tâm Phục vụ hành chính công".into())
}

pub(super) fn issuer(ctx: &Ctx, d: &Dossier) -> Issuer {
    let desk = desk_name(ctx, d);
    Issuer {
        superior: format!("UBND TỈNH {}", ctx.state.site.province_name.to_uppercase()),
        desk: desk.to_uppercase(),
    }
}

pub(super) fn applicant_block(d: &Dossier) -> ApplicantBlock {
    let get = |k: &str| d.form.get(k).cloned().unwrap_or_default();
    ApplicantBlock {
        name: d.applicant_name.clone(),
        id_number: get("applicant_id"),
        address: get("applicant_address"),
        phone: d.applicant_phone.clone(),
        email: d.applicant_email.clone().unwrap_or_default(),
    }
}

pub(super) fn tracking_url(ctx: &Ctx, headers: &HeaderMap, d: &Dossier) -> String {
    format!(
        "{}/lookup?code={}",
        public_base(&ctx.state, headers),
        d.code.clone().unwrap_or_default()
    )
}

/// Renders a form off the async threads (layout and font subsetting take milliseconds) and
/// serves it inline under `name`.
pub(super) async fn pdf<F>(render: F, name: &str) -> Result<Response, WebError>
where
    F: FnOnce() -> Result<Vec<u8>, motcua_docs::LayoutError> + Send + 'static,
{
    let bytes = tokio::task::spawn_blocking(render)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(super) async fn receipt_pdf(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    let (Some(received), Some(code)) = (d.received_at, d.code.clone()) else {
        return Err(WebError::NotFound);
    };
    let p = ctx
        .state
        .store
        .procedure_version(&d.procedure_id, d.procedure_version)
        .await?
        .ok_or(WebError::NotFound)?;
    let atts = ctx.state.store.attachments(&d.id).await?;
    let mut documents: Vec<String> = Vec::new();
    for a in &atts {
        if !documents.contains(&a.document) {
            documents.push(a.document.clone());
        }
    }
    let events = ctx.state.store.dossier_events(&d.id).await?;
    let officer = last_of(
        &events,
        &[EventKind::Act(Action::Receive), EventKind::Register],
    )
    .map(|e| e.actor_name.clone())
    .unwrap_or_default();
    let limit = d
        .deadline
        .as_ref()
        .map(|dl| dl.limit)
        .or(p.time_limit)
        .map(time_vi)
        .unwrap_or_else(|| "chưa cập nhật".into());
    let receipt = Receipt {
        issuer: issuer(&ctx, &d),
        applicant: applicant_block(&d),
        matter: d.procedure_name.clone(),
        documents,
        sets: 1,
        time_limit: limit,
        received_at: format_local(received),
        due_at: d.due_at.map(format_local).unwrap_or_else(|| "—".into()),
        result_place: format!(
            "{} hoặc trực tuyến trên Cổng Dịch vụ công",
            desk_name(&ctx, &d)
        ),
        book: received.year().to_string(),
        entry: format!("{:02}", ctx.state.store.register_entry(&d).await?),
        officer,
        tracking_url: tracking_url(&ctx, &headers, &d),
        code: code.clone(),
    };
    pdf(
        move || motcua_docs::receipt(&receipt),
        &format!("mau-01-{code}.pdf"),
    )
    .await
}

pub(super) async fn supplement_pdf(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    if d.supplement_items.is_empty() {
        return Err(WebError::NotFound);
    }
    let events = ctx.state.store.dossier_events(&d.id).await?;
    let request = last_of(&events, &[EventKind::Act(Action::RequestSupplement)]);
    let code = d.code.clone().unwrap_or_default();
    let doc = SupplementRequest {
        issuer: issuer(&ctx, &d),
        applicant: applicant_block(&d),
        matter: d.procedure_name.clone(),
        items: d.supplement_items.clone(),
        reason: request
            .map(|e| e.reason_vi())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "Hồ sơ chưa đầy đủ theo quy định".to_owned()),
        contact: format!(
            "{} — tra cứu và bổ sung trực tuyến tại Cổng Dịch vụ công",
            desk_name(&ctx, &d)
        ),
        officer: request.map(|e| e.actor_name.clone()).unwrap_or_default(),
        date: request.map(|e| format_day(e.at)).unwrap_or_default(),
        tracking_url: tracking_url(&ctx, &headers, &d),
        code: code.clone(),
    };
    pdf(
        move || motcua_docs::supplement_request(&doc),
        &format!("mau-02-{code}.pdf"),
    )
    .await
}

/// The competent agency as the issuer of its own forms (Mẫu 04, the result).
pub(super) fn agency_issuer(ctx: &Ctx, d: &Dossier) -> Issuer {
    Issuer {
        superior: format!("UBND TỈNH {}", ctx.state.site.province_name.to_uppercase()),
        desk: agency_name(ctx, &d.agency_code).to_uppercase(),
    }
}

pub(super) async fn refusal_pdf(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    if d.status != Status::Refused {
        return Err(WebError::NotFound);
    }
    let events = ctx.state.store.dossier_events(&d.id).await?;
    let e = last_of(&events, &[EventKind::Act(Action::Refuse)]).ok_or(WebError::NotFound)?;
    let code = d.code.clone().unwrap_or_default();
    let doc = motcua_docs::Refusal {
        issuer: issuer(&ctx, &d),
        code: code.clone(),
        applicant: applicant_block(&d),
        matter: d.procedure_name.clone(),
        reason: e.reason_vi(),
        officer: e.actor_name.clone(),
        date: format_day(e.at),
        tracking_url: tracking_url(&ctx, &headers, &d),
    };
    pdf(
        move || motcua_docs::refusal(&doc),
        &format!("mau-03-{code}.pdf"),
    )
    .await
}

pub(super) async fn apology_pdf(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    let (Some(original), Some(received)) = (d.original_due_at, d.received_at) else {
        return Err(WebError::NotFound);
    };
    let events = ctx.state.store.dossier_events(&d.id).await?;
    let e = last_of(&events, &[EventKind::Act(Action::ApologiseAndReschedule)])
        .ok_or(WebError::NotFound)?;
    let code = d.code.clone().unwrap_or_default();
    let doc = motcua_docs::Apology {
        issuer: agency_issuer(&ctx, &d),
        code: code.clone(),
        applicant: applicant_block(&d),
        matter: d.procedure_name.clone(),
        received_at: format_local(received),
        original_due: format_local(original),
        new_due: d.due_at.map(format_local).unwrap_or_default(),
        reason: e.reason_vi(),
        signer: e.actor_name.clone(),
        date: format_day(e.at),
        tracking_url: tracking_url(&ctx, &headers, &d),
    };
    pdf(
        move || motcua_docs::apology(&doc),
        &format!("mau-04-{code}.pdf"),
    )
    .await
}

/// Who or what an event's target names, for the control sheet.
pub(super) fn target_name(ctx: &Ctx, target: &str) -> String {
    target
        .split(", ")
        .map(|t| agency_name(ctx, t))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn control_sheet_pdf(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, viewer) = load(&ctx.state, &user, &id).await?;
    if viewer == Viewer::Applicant {
        return Err(WebError::NotFound);
    }
    let Some(received) = d.received_at else {
        return Err(WebError::NotFound);
    };
    let events = ctx.state.store.dossier_events(&d.id).await?;
    let consults = ctx.state.store.consultations(&d.id).await?;
    let rows = events
        .iter()
        .filter(|e| {
            e.at >= received
                && !matches!(e.kind, EventKind::Create | EventKind::Act(Action::Submit))
        })
        .map(|e| ControlRow {
            unit: if e.agency_code.is_empty() {
                "—".into()
            } else {
                agency_name(&ctx, &e.agency_code)
            },
            at: format_local(e.at),
            from: e.actor_name.clone(),
            to: if e.target.is_empty() {
                "—".into()
            } else {
                target_name(&ctx, &e.target)
            },
            result: match e.text_vi() {
                text if text.is_empty() => e.label_vi().to_owned(),
                text => format!("{}: {text}", e.label_vi()),
            },
        })
        .collect();
    let code = d.code.clone().unwrap_or_default();
    let sheet = ControlSheet {
        issuer: issuer(&ctx, &d),
        code: code.clone(),
        agency: agency_name(&ctx, &d.agency_code),
        coordinating: consults
            .iter()
            .map(|c| agency_name(&ctx, &c.agency_code))
            .collect::<Vec<_>>()
            .join(", "),
        received_at: format_local(received),
        due_at: d.due_at.map(format_local).unwrap_or_default(),
        rows,
        tracking_url: tracking_url(&ctx, &headers, &d),
    };
    pdf(
        move || motcua_docs::control_sheet(&sheet),
        &format!("mau-05-{code}.pdf"),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct LedgerQuery {
    unit: Option<String>,
    from: Option<String>,
    until: Option<String>,
    format: Option<String>,
}

/// A month typed as "2026-11": its first moment in Vietnam's time.
pub(super) fn month_start(text: &str) -> Option<time::OffsetDateTime> {
    let (y, m) = text.trim().split_once('-')?;
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, 1).ok()?;
    Some(date.midnight().assume_offset(VIETNAM))
}

/// The ledger Mẫu 06 of a desk or agency the caller works at, for whole months `from`..=`until`.
pub(super) async fn ledger(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Query(q): Query<LedgerQuery>,
) -> Result<Response, WebError> {
    let units: Vec<String> = user
        .account
        .roles
        .iter()
        .filter(|(r, _)| matches!(r, Role::Reception | Role::Specialist | Role::Leader))
        .filter_map(|(_, a)| a.clone())
        .collect();
    if units.is_empty() {
        return Err(WebError::Forbidden);
    }
    let unit = match q.unit {
        Some(u) if units.contains(&u) => u,
        Some(_) => return Err(WebError::NotFound),
        None => units[0].clone(),
    };
    let bad = |what: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            format!("Tháng \"{what}\" không hợp lệ; hãy dùng dạng 2026-11."),
        )
            .into_response()
    };
    let this_month = crate::http::state::this_month().to_string();
    let from_text = q.from.unwrap_or_else(|| this_month.clone());
    let until_text = q.until.unwrap_or_else(|| from_text.clone());
    let Some(from) = month_start(&from_text) else {
        return Ok(bad(&from_text));
    };
    let Some(last) = month_start(&until_text) else {
        return Ok(bad(&until_text));
    };
    let until = {
        let d = last.date();
        let next = if d.month() == time::Month::December {
            time::Date::from_calendar_date(d.year() + 1, time::Month::January, 1)
        } else {
            time::Date::from_calendar_date(d.year(), d.month().next(), 1)
        }
        .map_err(|e| WebError::Internal(e.to_string()))?;
        next.midnight().assume_offset(VIETNAM)
    };
    if until <= from {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            "Tháng cuối phải không trước tháng đầu.",
        )
            .into_response());
    }
    let dossiers = ctx.state.store.ledger(&unit, from, until).await?;
    let rows: Vec<LedgerRow> = dossiers
        .iter()
        .map(|d| LedgerRow {
            code: d.code.clone().unwrap_or_default(),
            procedure: d.procedure_name.clone(),
            applicant: d.applicant_name.clone(),
            contact: format!(
                "{} — {}",
                d.form.get("applicant_address").map_or("", String::as_str),
                d.applicant_phone
            ),
            agency: agency_name(&ctx, &d.agency_code),
            received_at: d.received_at.map(format_local).unwrap_or_default(),
            due_at: d.due_at.map(format_local).unwrap_or_default(),
            returned_at: d.handed_over_at().map(format_local).unwrap_or_default(),
            method: d
                .hand_over_method
                .map(|m| m.label_vi().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    let title = format!(
        "{}, từ tháng {from_text} đến hết tháng {until_text}",
        agency_name(&ctx, &unit)
    );
    let base = format!("so-theo-doi-{unit}-{from_text}-{until_text}");
    match q.format.as_deref().unwrap_or("xlsx") {
        "csv" => {
            let bytes =
                motcua_docs::ledger_csv(&rows).map_err(|e| WebError::Internal(e.to_string()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{base}.csv\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        "xlsx" => {
            let bytes =
                tokio::task::spawn_blocking(move || motcua_docs::ledger_xlsx(&title, &rows))
                    .await
                    .map_err(|e| WebError::Internal(e.to_string()))?
                    .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{base}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            format!("Định dạng \"{other}\" không hỗ trợ; hãy chọn xlsx hoặc csv."),
        )
            .into_response()),
    }
}
