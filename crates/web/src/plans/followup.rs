//! What follows a plan's tasks besides progress: difficulties (vướng mắc) agencies raise and the
//! monitor answers, and budget estimates (dự toán) agencies draft and submit and the monitor
//! approves or returns, with totals by funding source and agency.

use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::state::AppState;
use crate::http::views::Ctx;
use crate::plans::{agency_name, load, render_task, reporting_agency, vnd};
use axum::extract::{Form, Path};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::plan::{next_budget_status, BudgetAction, BudgetActor, BudgetStatus};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Messages after a redirect, by code (never text from the URL).
pub(crate) fn message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "reported" => "Đã ghi nhận báo cáo tiến độ.",
        "edited" => "Đã lưu nhiệm vụ.",
        "imported" => "Đã nhập kế hoạch.",
        "difficulty" => "Đã gửi vướng mắc tới cơ quan theo dõi kế hoạch.",
        "answered" => "Đã trả lời vướng mắc.",
        "already_answered" => "Vướng mắc này đã được trả lời trước đó.",
        "empty_answer" => "Hãy nhập nội dung trả lời.",
        "budget_saved" => "Đã lưu dự toán (dự thảo).",
        "budget_submitted" => "Đã trình dự toán.",
        "approved" => "Đã phê duyệt dự toán.",
        "returned" => "Đã trả lại dự toán để chỉnh sửa.",
        "return_needs_reason" => "Trả lại dự toán cần nêu lý do.",
        "budget_changed" => "Dự toán đã được xử lý hoặc thay đổi trạng thái; hãy xem lại.",
        _ => return None,
    })
}

/// A difficulty as pages show it.
pub(crate) struct DifficultyRow {
    pub id: String,
    pub task: String,
    pub agency: String,
    pub text: String,
    pub raised: String,
    pub response: Option<String>,
}

/// A budget estimate as pages show it.
pub(crate) struct BudgetRow {
    pub id: String,
    pub task: String,
    pub agency: String,
    pub year: i64,
    pub amount: String,
    pub funding: &'static str,
    pub note: String,
    pub status: &'static str,
    pub submittable: bool,
    pub decidable: bool,
    pub decision: Option<String>,
}

fn funding_vi(f: &str) -> &'static str {
    if f == "local" {
        "Ngân sách địa phương (cấp huyện, xã)"
    } else {
        "Ngân sách tỉnh"
    }
}

pub(crate) async fn difficulty_rows(
    state: &AppState,
    plan: &str,
    task: Option<&str>,
) -> Result<Vec<DifficultyRow>, WebError> {
    Ok(state
        .store
        .difficulties(plan)
        .await?
        .into_iter()
        .filter(|d| task.is_none_or(|t| t == d.task_code))
        .map(|d| DifficultyRow {
            agency: agency_name(state, &d.agency_code),
            raised: motcua_store::dossiers::format_local(d.raised_at),
            id: d.id,
            task: d.task_code,
            text: d.text,
            response: d.response,
        })
        .collect())
}

pub(crate) async fn budget_rows(
    state: &AppState,
    plan: &str,
    task: Option<&str>,
) -> Result<Vec<BudgetRow>, WebError> {
    Ok(state
        .store
        .estimates(plan)
        .await?
        .into_iter()
        .filter(|b| task.is_none_or(|t| t == b.task_code))
        .map(|b| {
            let status = BudgetStatus::parse(&b.status).unwrap_or(BudgetStatus::Draft);
            BudgetRow {
                agency: agency_name(state, &b.agency_code),
                amount: vnd(b.amount_vnd),
                funding: funding_vi(&b.funding),
                status: status.label_vi(),
                submittable: next_budget_status(status, BudgetAction::Submit, BudgetActor::Agency)
                    .is_some(),
                decidable: status == BudgetStatus::Submitted,
                id: b.id,
                task: b.task_code,
                year: b.year,
                note: b.note,
                decision: b.decision,
            }
        })
        .collect())
}

/// Approved and submitted amounts by funding source and by agency.
pub(crate) async fn budget_totals(
    state: &AppState,
    plan: &str,
) -> Result<Vec<(String, String)>, WebError> {
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for b in state.store.estimates(plan).await? {
        let keys = [
            funding_vi(&b.funding).to_owned(),
            agency_name(state, &b.agency_code),
        ];
        for k in keys {
            let e = totals.entry(k).or_default();
            match b.status.as_str() {
                "approved" => e.0 += b.amount_vnd,
                "submitted" => e.1 += b.amount_vnd,
                _ => {}
            }
        }
    }
    Ok(totals
        .into_iter()
        .map(|(k, (approved, pending))| {
            (
                k,
                format!("đã duyệt {}; đang trình {}", vnd(approved), vnd(pending)),
            )
        })
        .collect())
}

#[derive(Deserialize)]
pub(crate) struct TextForm {
    text: Option<String>,
}

fn clean(text: Option<&str>, max: usize) -> Option<String> {
    let t = motcua_core::text::nfc(text.unwrap_or("").trim());
    (!t.is_empty() && t.chars().count() <= max).then_some(t)
}

pub(crate) async fn raise(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Form(form): Form<TextForm>,
) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let task = stored.plan.task(&code).ok_or(WebError::NotFound)?.clone();
    let Some((agency, _)) = reporting_agency(&ctx.state, &user, &task).await? else {
        return render_task(
            &ctx,
            &user,
            &id,
            &code,
            vec!["Cơ quan của bạn không chủ trì hoặc phối hợp thực hiện nhiệm vụ này.".into()],
            BTreeMap::new(),
            None,
        )
        .await;
    };
    let Some(text) = clean(form.text.as_deref(), 2000) else {
        return render_task(
            &ctx,
            &user,
            &id,
            &code,
            vec!["Hãy nêu vướng mắc (tối đa 2000 ký tự).".into()],
            BTreeMap::new(),
            None,
        )
        .await;
    };
    ctx.state
        .store
        .raise_difficulty(&id, &task.code, &agency, &text, &user.account.id)
        .await?;
    Ok(Redirect::to(&format!("/plans/{id}/tasks/{code}?notice=difficulty")).into_response())
}

pub(crate) async fn respond(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, d)): Path<(String, String)>,
    Form(form): Form<TextForm>,
) -> Result<Response, WebError> {
    load(&ctx.state, &id).await?;
    let code = match clean(form.text.as_deref(), 2000) {
        None => "empty_answer",
        Some(text) => {
            if ctx
                .state
                .store
                .respond_difficulty(&id, &d, &text, &user.account.id)
                .await?
            {
                "answered"
            } else {
                "already_answered"
            }
        }
    };
    Ok(Redirect::to(&format!("/plans/{id}?notice={code}#vuong-mac")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct BudgetForm {
    year: Option<String>,
    amount_vnd: Option<String>,
    funding: Option<String>,
    note: Option<String>,
    intent: Option<String>,
}

pub(crate) async fn draft_budget(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Form(form): Form<BudgetForm>,
) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let task = stored.plan.task(&code).ok_or(WebError::NotFound)?.clone();
    let mut errors = Vec::new();
    let Some((agency, _)) = reporting_agency(&ctx.state, &user, &task).await? else {
        return render_task(
            &ctx,
            &user,
            &id,
            &code,
            vec!["Cơ quan của bạn không chủ trì hoặc phối hợp thực hiện nhiệm vụ này.".into()],
            BTreeMap::new(),
            None,
        )
        .await;
    };
    let year = form
        .year
        .as_deref()
        .unwrap_or("")
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2018..=2100).contains(y));
    if year.is_none() {
        errors.push("Năm dự toán không hợp lệ.".to_owned());
    }
    let amount = form
        .amount_vnd
        .as_deref()
        .unwrap_or("")
        .replace(['.', ' '], "")
        .parse::<i64>()
        .ok()
        .filter(|a| *a > 0);
    if amount.is_none() {
        errors.push("Số tiền dự toán phải là số nguyên dương (đồng).".to_owned());
    }
    let funding = match form.funding.as_deref() {
        Some("local") => "local",
        Some("province") | None => "province",
        Some(_) => {
            errors.push("Nguồn kinh phí không hợp lệ.".to_owned());
            "province"
        }
    };
    let note = motcua_core::text::nfc(form.note.as_deref().unwrap_or("").trim());
    if note.chars().count() > 1000 {
        errors.push("Nội dung tối đa 1000 ký tự.".to_owned());
    }
    let (Some(year), Some(amount), true) = (year, amount, errors.is_empty()) else {
        return render_task(&ctx, &user, &id, &code, errors, BTreeMap::new(), None).await;
    };
    let b = ctx
        .state
        .store
        .draft_estimate(
            &id,
            &task.code,
            &agency,
            year,
            amount,
            funding,
            &note,
            &user.account.id,
        )
        .await?;
    let notice = if form.intent.as_deref() == Some("submit") {
        ctx.state
            .store
            .move_estimate(&id, &b, BudgetStatus::Draft, BudgetStatus::Submitted, None)
            .await?;
        "budget_submitted"
    } else {
        "budget_saved"
    };
    Ok(Redirect::to(&format!("/plans/{id}/tasks/{code}?notice={notice}")).into_response())
}

pub(crate) async fn submit_budget(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, b)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let estimate = ctx
        .state
        .store
        .estimates(&id)
        .await?
        .into_iter()
        .find(|e| e.id == b)
        .ok_or(WebError::NotFound)?;
    let task = stored
        .plan
        .task(&estimate.task_code)
        .ok_or(WebError::NotFound)?
        .clone();
    // Only the agency that owns the estimate (or its successor) submits it.
    let owner = matches!(
        reporting_agency(&ctx.state, &user, &task).await?,
        Some((_, acting)) if acting.contains(&estimate.agency_code)
    );
    if !owner {
        return Err(WebError::NotFound);
    }
    let from = BudgetStatus::parse(&estimate.status).unwrap_or(BudgetStatus::Approved);
    let moved = match next_budget_status(from, BudgetAction::Submit, BudgetActor::Agency) {
        Some(to) => {
            ctx.state
                .store
                .move_estimate(&id, &b, from, to, None)
                .await?
        }
        None => false,
    };
    let notice = if moved {
        "budget_submitted"
    } else {
        "budget_changed"
    };
    Ok(Redirect::to(&format!("/plans/{id}/tasks/{}?notice={notice}", task.code)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    decision: Option<String>,
    note: Option<String>,
}

pub(crate) async fn decide_budget(
    ctx: Ctx,
    Path((id, b)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, WebError> {
    load(&ctx.state, &id).await?;
    let estimate = ctx
        .state
        .store
        .estimates(&id)
        .await?
        .into_iter()
        .find(|e| e.id == b)
        .ok_or(WebError::NotFound)?;
    let action = match form.decision.as_deref() {
        Some("approve") => BudgetAction::Approve,
        Some("return") => BudgetAction::Return,
        _ => return Err(WebError::NotFound),
    };
    let note = clean(form.note.as_deref(), 1000);
    if action == BudgetAction::Return && note.is_none() {
        return Ok(
            Redirect::to(&format!("/plans/{id}?notice=return_needs_reason#du-toan"))
                .into_response(),
        );
    }
    let from = BudgetStatus::parse(&estimate.status).unwrap_or(BudgetStatus::Approved);
    let moved = match next_budget_status(from, action, BudgetActor::Monitor) {
        Some(to) => {
            ctx.state
                .store
                .move_estimate(&id, &b, from, to, note.as_deref())
                .await?
        }
        None => false,
    };
    let notice = match (moved, action) {
        (false, _) => "budget_changed",
        (true, BudgetAction::Approve) => "approved",
        (true, _) => "returned",
    };
    Ok(Redirect::to(&format!("/plans/{id}?notice={notice}#du-toan")).into_response())
}
