//! The communication plan: the monitor's dashboard (expected versus delivered per task and
//! target, missing periods, agencies that have not reported, spending, progress over time), each
//! task's page where its agencies file progress reports with evidence, and the consolidated
//! report to the Provincial People's Committee as PDF.

pub(crate) mod edit;
pub(crate) mod followup;

use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, upload, RouteDef};
use crate::http::state::AppState;
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::accounts::Permission;
use motcua_core::plan::{check_report, progress, Month, Plan, PlanTask, ReportInput};
use motcua_store::plans::{NewReport, ProgressReport, StoredPlan};
use serde::Deserialize;
use std::collections::BTreeMap;

pub(crate) fn routes() -> Vec<RouteDef> {
    let see = needs(Permission::ReportPlanProgress);
    let monitor = needs(Permission::MonitorPlan);
    vec![
        get("/plans", see, plans),
        get("/plans/{id}", see, dashboard),
        get("/plans/{id}/tasks/{code}", see, task_page),
        upload("/plans/{id}/tasks/{code}/reports", see, file_report),
        get("/plans/{id}/report.pdf", monitor, report_pdf),
        get("/plans/{id}/report.xlsx", monitor, report_xlsx),
        get("/plans/import", monitor, crate::plans::edit::upload_page),
        upload("/plans/import", monitor, crate::plans::edit::upload),
        get(
            "/plans/{id}/plan.json",
            monitor,
            crate::plans::edit::download,
        ),
        get(
            "/plans/{id}/tasks/new",
            monitor,
            crate::plans::edit::new_page,
        ),
        post("/plans/{id}/tasks/new", monitor, crate::plans::edit::create),
        get(
            "/plans/{id}/tasks/{code}/edit",
            monitor,
            crate::plans::edit::edit_page,
        ),
        post(
            "/plans/{id}/tasks/{code}/edit",
            monitor,
            crate::plans::edit::edit,
        ),
        post(
            "/plans/{id}/tasks/{code}/difficulties",
            see,
            crate::plans::followup::raise,
        ),
        post(
            "/plans/{id}/difficulties/{d}/respond",
            monitor,
            crate::plans::followup::respond,
        ),
        post(
            "/plans/{id}/tasks/{code}/budgets",
            see,
            crate::plans::followup::draft_budget,
        ),
        post(
            "/plans/{id}/budgets/{b}/submit",
            see,
            crate::plans::followup::submit_budget,
        ),
        post(
            "/plans/{id}/budgets/{b}/decide",
            monitor,
            crate::plans::followup::decide_budget,
        ),
    ]
}

pub(crate) fn agency_name(state: &AppState, code: &str) -> String {
    state.catalogue.get().agency_name(code)
}

/// "Sở Thông tin và Truyền thông (nay: Sở Khoa học và Công nghệ)": history is kept, the
/// successor is named.
async fn agency_label(state: &AppState, code: &str) -> Result<String, WebError> {
    let name = agency_name(state, code);
    let successor = state
        .store
        .agencies()
        .await?
        .into_iter()
        .find(|a| a.code == code)
        .and_then(|a| a.successor_name);
    Ok(match successor {
        Some(s) => format!("{name} (nay: {s})"),
        None => name,
    })
}

pub(crate) async fn load(
    state: &AppState,
    id: &str,
) -> Result<(StoredPlan, Vec<ProgressReport>), WebError> {
    let plan = state.store.plan(id).await?.ok_or(WebError::NotFound)?;
    let reports = state.store.progress_reports(id).await?;
    Ok((plan, reports))
}

fn delivered(reports: &[ProgressReport], task: &str) -> Vec<(String, Month, i64)> {
    reports
        .iter()
        .filter(|r| r.task_code == task)
        .filter_map(|r| Some((r.target.clone()?, r.month()?, r.quantity)))
        .collect()
}

/// One target's line on the dashboard.
struct TargetLine {
    unit: String,
    spec: String,
    expected: i64,
    delivered: i64,
    percent: i64,
    missing: Vec<String>,
}

fn target_lines(task: &PlanTask, reports: &[ProgressReport], as_of: Month) -> Vec<TargetLine> {
    progress(task, &delivered(reports, &task.code), as_of)
        .into_iter()
        .zip(&task.targets)
        .map(|(p, t)| TargetLine {
            unit: p.unit.clone(),
            spec: t.spec.clone(),
            expected: p.expected,
            delivered: p.delivered,
            percent: p.percent(),
            missing: p.missing_periods.iter().map(|x| x.label_vi()).collect(),
        })
        .collect()
}

struct TaskRow {
    code: String,
    title: String,
    lead: String,
    period: String,
    recurrence: &'static str,
    targets: Vec<TargetLine>,
    reports: usize,
    cost: String,
    late: bool,
    silent: Vec<String>,
}

pub(crate) fn vnd(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out} đồng")
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    layout: Layout,
    plans: Vec<(String, String, String, usize)>,
}

async fn plans(ctx: Ctx) -> Result<Response, WebError> {
    let list = ctx
        .state
        .store
        .plans()
        .await?
        .into_iter()
        .map(|p| (p.id, p.plan.code, p.plan.title, p.plan.tasks.len()))
        .collect();
    let page = PlansPage {
        layout: ctx.layout("Kế hoạch tuyên truyền"),
        plans: list,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct AsOf {
    as_of: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct DashboardPage {
    layout: Layout,
    id: String,
    plan: Plan,
    as_of: String,
    rows: Vec<TaskRow>,
    total_cost: String,
    cost_by_agency: Vec<(String, String)>,
    chart: Vec<(String, i64, u32)>,
    monitor: bool,
    difficulties: Vec<crate::plans::followup::DifficultyRow>,
    budgets: Vec<crate::plans::followup::BudgetRow>,
    budget_totals: Vec<(String, String)>,
    message: Option<&'static str>,
}

async fn task_rows(
    state: &AppState,
    plan: &Plan,
    reports: &[ProgressReport],
    as_of: Month,
) -> Result<Vec<TaskRow>, WebError> {
    let mut rows = Vec::new();
    for t in &plan.tasks {
        let targets = target_lines(t, reports, as_of);
        let mine: Vec<&ProgressReport> = reports.iter().filter(|r| r.task_code == t.code).collect();
        let mut lead = Vec::new();
        for a in &t.lead_agencies {
            lead.push(agency_label(state, a).await?);
        }
        if !t.lead_text.is_empty() {
            lead.push(t.lead_text.clone());
        }
        // Lead agencies with no report in the last three closed months of a running task.
        let running = t.start < as_of && t.end.is_none_or(|e| e >= as_of);
        let recent = as_of.previous().previous().previous();
        let mut silent = Vec::new();
        if running {
            for a in &t.lead_agencies {
                let acting = state.store.acting_for(a).await?;
                let reported = mine.iter().any(|r| {
                    (acting.contains(&r.agency_code) || r.agency_code == *a)
                        && r.month().is_some_and(|m| m >= recent)
                });
                if !reported {
                    silent.push(agency_name(state, a));
                }
            }
        }
        rows.push(TaskRow {
            late: targets.iter().any(|x| !x.missing.is_empty()),
            code: t.code.clone(),
            title: t.title.clone(),
            lead: lead.join("; "),
            period: t.period_text.clone(),
            recurrence: t.recurrence.label_vi(),
            reports: mine.len(),
            cost: vnd(mine.iter().map(|r| r.cost_vnd).sum()),
            targets,
            silent,
        });
    }
    Ok(rows)
}

async fn dashboard(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Response, WebError> {
    let (stored, reports) = load(&ctx.state, &id).await?;
    let as_of = q
        .as_of
        .as_deref()
        .and_then(|s| s.parse::<Month>().ok())
        .unwrap_or_else(crate::http::state::this_month);
    let rows = task_rows(&ctx.state, &stored.plan, &reports, as_of).await?;
    let mut by_agency: BTreeMap<String, i64> = BTreeMap::new();
    for r in &reports {
        *by_agency
            .entry(agency_name(&ctx.state, &r.agency_code))
            .or_default() += r.cost_vnd;
    }
    // Spending against the approved estimates, per agency.
    let mut approved: BTreeMap<String, i64> = BTreeMap::new();
    for b in ctx.state.store.estimates(&id).await? {
        if b.status == "approved" {
            *approved
                .entry(agency_name(&ctx.state, &b.agency_code))
                .or_default() += b.amount_vnd;
        }
    }
    let mut spending: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (a, c) in &by_agency {
        spending.entry(a.clone()).or_default().0 = *c;
    }
    for (a, c) in &approved {
        spending.entry(a.clone()).or_default().1 = *c;
    }
    // Reports per month over the last twelve months, as bars.
    let mut months = Vec::new();
    let mut m = as_of;
    for _ in 0..12 {
        months.push(m);
        m = m.previous();
    }
    months.reverse();
    let counts: Vec<i64> = months
        .iter()
        .map(|mo| reports.iter().filter(|r| r.month() == Some(*mo)).count() as i64)
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let chart = months
        .iter()
        .zip(&counts)
        .map(|(mo, n)| {
            (
                format!("{}/{}", mo.month, mo.year % 100),
                *n,
                u32::try_from(n * 100 / max).unwrap_or(0),
            )
        })
        .collect();
    let page = DashboardPage {
        layout: ctx.layout(format!("Kế hoạch {}", stored.plan.code)),
        id,
        as_of: as_of.to_string(),
        rows,
        total_cost: vnd(reports.iter().map(|r| r.cost_vnd).sum()),
        cost_by_agency: spending
            .into_iter()
            .map(|(a, (spent, estimate))| {
                let against = if estimate > 0 {
                    format!(
                        "{} / dự toán đã duyệt {} ({} %)",
                        vnd(spent),
                        vnd(estimate),
                        spent * 100 / estimate
                    )
                } else {
                    format!("{} (chưa có dự toán được duyệt)", vnd(spent))
                };
                (a, against)
            })
            .collect(),
        chart,
        monitor: user.account.can(Permission::MonitorPlan),
        difficulties: crate::plans::followup::difficulty_rows(&ctx.state, &stored.id, None).await?,
        budgets: crate::plans::followup::budget_rows(&ctx.state, &stored.id, None).await?,
        budget_totals: crate::plans::followup::budget_totals(&ctx.state, &stored.id).await?,
        message: crate::plans::followup::message(q.notice.as_deref()),
        plan: stored.plan,
    };
    Ok(Html(page.render()?).into_response())
}

/// The agencies the official may report for: their agency and those merged into it.
pub(crate) async fn reporting_agency(
    state: &AppState,
    user: &CurrentUser,
    task: &PlanTask,
) -> Result<Option<(String, Vec<String>)>, WebError> {
    for (role, agency) in &user.account.roles {
        let Some(agency) = agency else { continue };
        if !role.allows(Permission::ReportPlanProgress) {
            continue;
        }
        let acting = state.store.acting_for(agency).await?;
        if task
            .lead_agencies
            .iter()
            .chain(&task.coordinating_agencies)
            .any(|a| acting.contains(a))
        {
            return Ok(Some((agency.clone(), acting)));
        }
    }
    Ok(None)
}

#[derive(Template)]
#[template(path = "plan_task.html")]
struct TaskPage {
    layout: Layout,
    id: String,
    plan_code: String,
    task: PlanTask,
    lead: Vec<String>,
    coordinating: Vec<String>,
    targets: Vec<TargetLine>,
    reports: Vec<ReportRow>,
    can_report: Option<String>,
    errors: Vec<String>,
    notice: Option<&'static str>,
    values: BTreeMap<String, String>,
    difficulties: Vec<crate::plans::followup::DifficultyRow>,
    budgets: Vec<crate::plans::followup::BudgetRow>,
    this_year: i32,
    monitor: bool,
}

struct ReportRow {
    month: String,
    agency: String,
    target: String,
    quantity: i64,
    cost: String,
    done: String,
    evidence_url: Option<String>,
    evidence_name: Option<String>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

pub(crate) async fn render_task(
    ctx: &Ctx,
    user: &CurrentUser,
    id: &str,
    code: &str,
    errors: Vec<String>,
    values: BTreeMap<String, String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let (stored, reports) = load(&ctx.state, id).await?;
    let task = stored.plan.task(code).ok_or(WebError::NotFound)?.clone();
    let mut lead = Vec::new();
    for a in &task.lead_agencies {
        lead.push(agency_label(&ctx.state, a).await?);
    }
    let mut coordinating = Vec::new();
    for a in &task.coordinating_agencies {
        coordinating.push(agency_label(&ctx.state, a).await?);
    }
    let rows = reports
        .iter()
        .filter(|r| r.task_code == task.code)
        .map(|r| ReportRow {
            month: r
                .month()
                .map_or_else(|| r.month.clone(), |m| format!("{}/{}", m.month, m.year)),
            agency: agency_name(&ctx.state, &r.agency_code),
            target: r
                .target
                .as_ref()
                .and_then(|k| task.targets.iter().find(|t| &t.key == k))
                .map_or_else(String::new, |t| t.unit.clone()),
            quantity: r.quantity,
            cost: vnd(r.cost_vnd),
            done: r.done.clone(),
            evidence_url: r.evidence_url.clone(),
            evidence_name: r.evidence_name.clone(),
        })
        .collect();
    let can_report = reporting_agency(&ctx.state, user, &task)
        .await?
        .map(|(a, _)| agency_name(&ctx.state, &a));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let difficulties =
        crate::plans::followup::difficulty_rows(&ctx.state, id, Some(&task.code)).await?;
    let budgets = crate::plans::followup::budget_rows(&ctx.state, id, Some(&task.code)).await?;
    let page = TaskPage {
        monitor: user.account.can(Permission::MonitorPlan),
        difficulties,
        budgets,
        this_year: crate::http::state::this_month().year,
        layout: ctx.layout(format!("Nhiệm vụ {}", task.code)),
        id: id.to_owned(),
        plan_code: stored.plan.code.clone(),
        targets: target_lines(&task, &reports, crate::http::state::this_month()),
        reports: rows,
        lead,
        coordinating,
        can_report,
        errors,
        notice,
        values,
        task,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn task_page(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let notice = crate::plans::followup::message(q.notice.as_deref());
    render_task(&ctx, &user, &id, &code, Vec::new(), BTreeMap::new(), notice).await
}

async fn file_report(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let form = crate::dossier::files::read_form(&ctx.state, multipart).await;
    if form.refuse_control().is_some() {
        return Err(WebError::ControlCharacter);
    }
    let discard = |files: &[crate::dossier::files::Received]| {
        for f in files {
            if let Ok(s) = &f.staged {
                s.discard();
            }
        }
    };
    let (stored, _) = load(&ctx.state, &id).await?;
    let Some(task) = stored.plan.task(&code).cloned() else {
        discard(&form.files);
        return Err(WebError::NotFound);
    };
    let values = form.fields.clone();
    let get = |k: &str| {
        values
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let Some((agency, acting)) = reporting_agency(&ctx.state, &user, &task).await? else {
        discard(&form.files);
        let e = motcua_core::plan::ReportError::NotYourTask(String::new());
        return render_task(&ctx, &user, &id, &code, vec![e.message_vi()], values, None).await;
    };
    let month = get("month").parse::<Month>().ok();
    if month.is_none() {
        errors.push("Hãy chọn tháng thực hiện (dạng năm-tháng).".to_owned());
    }
    let number = |k: &str, label: &str, errors: &mut Vec<String>| -> i64 {
        let raw = get(k).replace(['.', ' '], "");
        if raw.is_empty() {
            return 0;
        }
        raw.parse::<i64>().unwrap_or_else(|_| {
            errors.push(format!("{label} phải là một số nguyên."));
            0
        })
    };
    let quantity = number("quantity", "Số lượng", &mut errors);
    let cost = number("cost_vnd", "Kinh phí", &mut errors);
    let evidence_url = Some(get("evidence_url")).filter(|u| !u.is_empty());
    if evidence_url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 500)
    {
        errors.push("Đường dẫn minh chứng phải bắt đầu bằng https:// hoặc http://.".to_owned());
    }
    let target = Some(get("target")).filter(|t| !t.is_empty());
    let done = motcua_core::text::nfc(&get("done"));
    if done.chars().count() > 2000 {
        errors.push("Nội dung tối đa 2000 ký tự.".to_owned());
    }
    if let Some(m) = month {
        let input = ReportInput {
            agency: agency.clone(),
            month: m,
            target: target.clone(),
            quantity,
            cost_vnd: cost,
            done: done.clone(),
        };
        if let Err(e) = check_report(&task, &input, &acting) {
            errors.push(e.message_vi());
        }
    }
    // The evidence file, if any: checked like a dossier's files.
    let mut evidence = None;
    for f in form.files {
        match f.staged {
            Ok(staged) => {
                match crate::dossier::files::check_content(
                    &ctx.state,
                    &f.name,
                    &staged,
                    motcua_core::dossier::Held::default(),
                )
                .await
                {
                    Ok(kind) if evidence.is_none() && errors.is_empty() => {
                        evidence = Some((staged, kind, f.name))
                    }
                    Ok(_) => staged.discard(),
                    Err(e) => {
                        staged.discard();
                        errors.push(e.message_vi());
                    }
                }
            }
            Err(e) => errors.push(e.message_vi()),
        }
    }
    if form.too_large {
        errors.push(
            "Dữ liệu gửi lên vượt quá dung lượng cho phép; báo cáo chưa được ghi nhận.".to_owned(),
        );
    }
    if form.broken {
        errors
            .push("Kết nối bị gián đoạn khi gửi biểu mẫu; báo cáo chưa được ghi nhận.".to_owned());
    }
    if !errors.is_empty() {
        if let Some((s, _, _)) = &evidence {
            s.discard();
        }
        return render_task(&ctx, &user, &id, &code, errors, values, None).await;
    }
    let (Some(month), true) = (month, errors.is_empty()) else {
        return Err(WebError::Internal("unreachable: month checked".into()));
    };
    let report = NewReport {
        plan_id: &id,
        task_code: &task.code,
        target: target.as_deref(),
        agency_code: &agency,
        month,
        quantity,
        cost_vnd: cost,
        done: &done,
        evidence_url: evidence_url.as_deref(),
        evidence_file: evidence.as_ref().map(|(s, k, n)| (s, *k, n.as_str())),
        reported_by: &user.account.id,
    };
    // The evidence file is committed or removed by the store either way.
    ctx.state.store.add_progress_report(report).await?;
    Ok(Redirect::to(&format!("/plans/{id}/tasks/{}?notice=reported", task.code)).into_response())
}

async fn report_xlsx(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let (stored, reports) = load(&ctx.state, &id).await?;
    let as_of = crate::http::state::this_month();
    let rows = task_rows(&ctx.state, &stored.plan, &reports, as_of).await?;
    let mut out = Vec::new();
    for (t, row) in stored.plan.tasks.iter().zip(rows) {
        let cost: i64 = reports
            .iter()
            .filter(|r| r.task_code == t.code)
            .map(|r| r.cost_vnd)
            .sum();
        let base = motcua_docs::PlanRow {
            task: t.code.clone(),
            title: t.title.clone(),
            lead: row.lead.clone(),
            period: t.period_text.clone(),
            target: String::new(),
            expected: 0,
            delivered: 0,
            percent: 100,
            missing: String::new(),
            cost_vnd: cost,
        };
        if row.targets.is_empty() {
            out.push(base);
            continue;
        }
        for x in &row.targets {
            out.push(motcua_docs::PlanRow {
                target: format!("{} ({})", x.unit, x.spec),
                expected: x.expected,
                delivered: x.delivered,
                percent: x.percent,
                missing: x.missing.join(", "),
                ..base.clone()
            });
        }
    }
    let title = format!(
        "Kết quả thực hiện Kế hoạch số {} đến tháng {}/{}",
        stored.plan.code, as_of.month, as_of.year
    );
    let bytes = tokio::task::spawn_blocking(move || motcua_docs::plan_report_xlsx(&title, &out))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bao-cao-ke-hoach.xlsx\"".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn report_pdf(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let (stored, reports) = load(&ctx.state, &id).await?;
    let as_of = crate::http::state::this_month();
    let rows = task_rows(&ctx.state, &stored.plan, &reports, as_of).await?;
    let now = crate::http::state::now_in_vietnam();
    let tasks = stored
        .plan
        .tasks
        .iter()
        .zip(rows)
        .map(|(t, row)| motcua_docs::ReportTask {
            heading: format!("{}. {}", t.code, t.title),
            facts: vec![
                ("Cơ quan chủ trì".into(), row.lead.clone()),
                ("Thời gian thực hiện".into(), t.period_text.clone()),
                ("Kinh phí đã sử dụng".into(), row.cost.clone()),
            ],
            targets: row
                .targets
                .iter()
                .map(|x| {
                    let mut line = format!(
                        "Chỉ tiêu {} {} ({}): phải thực hiện {}, đã thực hiện {} ({} %)",
                        x.expected.max(0),
                        x.unit,
                        x.spec,
                        x.expected,
                        x.delivered,
                        x.percent
                    );
                    if !x.missing.is_empty() {
                        line.push_str(&format!("; còn thiếu: {}", x.missing.join(", ")));
                    }
                    line
                })
                .collect(),
            reports: reports
                .iter()
                .filter(|r| r.task_code == t.code)
                .map(|r| {
                    format!(
                        "{} — {}: {} (số lượng {}, kinh phí {})",
                        r.month()
                            .map_or_else(|| r.month.clone(), |m| format!("{}/{}", m.month, m.year)),
                        agency_name(&ctx.state, &r.agency_code),
                        r.done,
                        r.quantity,
                        vnd(r.cost_vnd)
                    )
                })
                .collect(),
        })
        .collect();
    let late: Vec<String> = stored
        .plan
        .tasks
        .iter()
        .filter(|t| {
            progress(t, &delivered(&reports, &t.code), as_of)
                .iter()
                .any(|p| !p.missing_periods.is_empty())
        })
        .map(|t| t.code.clone())
        .collect();
    let doc = motcua_docs::PlanReport {
        reporter: "SỞ KHOA HỌC VÀ CÔNG NGHỆ".into(),
        superior: format!("UBND TỈNH {}", ctx.state.site.province_name.to_uppercase()),
        place_date: format!(
            "{}, ngày {:02} tháng {:02} năm {}",
            ctx.state.site.province_name,
            now.day(),
            u8::from(now.month()),
            now.year()
        ),
        plan: format!(
            "Kế hoạch số {} ngày {}",
            stored.plan.code, stored.plan.issued_on
        ),
        period: format!("đến tháng {}/{}", as_of.month, as_of.year),
        tasks,
        summary: vec![
            format!(
                "Tổng số báo cáo tiến độ: {}; tổng kinh phí đã sử dụng: {}.",
                reports.len(),
                vnd(reports.iter().map(|r| r.cost_vnd).sum())
            ),
            if late.is_empty() {
                "Các nhiệm vụ có chỉ tiêu đều được thực hiện đúng tiến độ.".to_owned()
            } else {
                format!(
                    "Nhiệm vụ chưa đạt chỉ tiêu theo tiến độ: {}.",
                    late.join(", ")
                )
            },
        ],
    };
    let bytes = tokio::task::spawn_blocking(move || motcua_docs::plan_report(&doc))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bao-cao-ke-hoach.pdf\"".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}
