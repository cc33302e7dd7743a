//! The plan monitor edits plans in the browser: a task's fields and targets, a new task, a whole
//! plan file uploaded or downloaded as JSON (docs/plan-files.md). Every change is checked as a
//! whole plan before it is stored; on a problem each one is listed and nothing changes.

use crate::http::error::WebError;
use crate::http::views::{Ctx, Layout};
use crate::plans::load;
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Form, Path};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use motcua_core::plan::{Funding, Month, Plan, PlanTask, Recurrence, Target};
use motcua_store::plans::PlanImportError;

const RECURRENCES: [(Recurrence, &str); 5] = [
    (Recurrence::Once, "once"),
    (Recurrence::Monthly, "monthly"),
    (Recurrence::Quarterly, "quarterly"),
    (Recurrence::Yearly, "yearly"),
    (Recurrence::Continuous, "continuous"),
];
const CHANNELS: [(&str, &str); 10] = [
    ("portal", "Cổng thông tin điện tử"),
    ("member_sites", "Trang thông tin thành viên"),
    ("newspaper", "Báo chí"),
    ("radio_tv", "Phát thanh, truyền hình"),
    ("facebook", "Facebook"),
    ("youtube", "YouTube"),
    ("sms", "Tin nhắn SMS"),
    ("zalo", "Zalo"),
    ("leaflet", "Tờ gấp"),
    ("counter", "Bộ phận Một cửa"),
];

#[derive(Template)]
#[template(path = "plan_task_edit.html")]
struct EditPage {
    layout: Layout,
    id: String,
    plan_code: String,
    new: bool,
    code: String,
    title: String,
    agencies: Vec<(String, String, bool, bool)>,
    lead_text: String,
    coordinating_text: String,
    start: String,
    end: String,
    period_text: String,
    recurrences: Vec<(&'static str, &'static str, bool)>,
    products: String,
    channels: Vec<(&'static str, &'static str, bool)>,
    local: bool,
    targets: String,
    errors: Vec<String>,
}

fn target_lines(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| {
            let per = RECURRENCES
                .iter()
                .find(|(r, _)| *r == t.per)
                .map_or("once", |(_, s)| s);
            format!(
                "{} | {} | {} | {} | {} | {} | {}",
                t.key,
                t.quantity,
                t.unit,
                per,
                t.from.map(|m| m.to_string()).unwrap_or_default(),
                t.until.map(|m| m.to_string()).unwrap_or_default(),
                t.spec
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn render(
    ctx: &Ctx,
    id: &str,
    plan: &Plan,
    task: &PlanTask,
    new: bool,
    targets: String,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let agencies = ctx
        .state
        .store
        .agencies()
        .await?
        .into_iter()
        .map(|a| {
            let lead = task.lead_agencies.contains(&a.code);
            let coord = task.coordinating_agencies.contains(&a.code);
            (a.code, a.name, lead, coord)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EditPage {
        layout: ctx.layout(if new {
            "Thêm nhiệm vụ".to_owned()
        } else {
            format!("Sửa nhiệm vụ {}", task.code)
        }),
        id: id.to_owned(),
        plan_code: plan.code.clone(),
        new,
        code: task.code.clone(),
        title: task.title.clone(),
        agencies,
        lead_text: task.lead_text.clone(),
        coordinating_text: task.coordinating_text.clone(),
        start: task.start.to_string(),
        end: task.end.map(|m| m.to_string()).unwrap_or_default(),
        period_text: task.period_text.clone(),
        recurrences: RECURRENCES
            .iter()
            .map(|(r, v)| (*v, r.label_vi(), *r == task.recurrence))
            .collect(),
        products: task.products.clone(),
        channels: CHANNELS
            .iter()
            .map(|(v, l)| (*v, *l, task.channels.iter().any(|c| c == v)))
            .collect(),
        local: task.funding == Funding::Local,
        targets,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn blank(start: Month) -> PlanTask {
    PlanTask {
        code: String::new(),
        title: String::new(),
        lead_agencies: Vec::new(),
        lead_text: String::new(),
        coordinating_agencies: Vec::new(),
        coordinating_text: String::new(),
        start,
        end: None,
        period_text: String::new(),
        recurrence: Recurrence::Once,
        targets: Vec::new(),
        products: String::new(),
        channels: Vec::new(),
        funding: Funding::Province,
    }
}

pub(crate) async fn edit_page(
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let task = stored.plan.task(&code).ok_or(WebError::NotFound)?.clone();
    render(
        &ctx,
        &id,
        &stored.plan,
        &task,
        false,
        target_lines(&task.targets),
        Vec::new(),
    )
    .await
}

pub(crate) async fn new_page(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let task = blank(crate::http::state::this_month());
    render(
        &ctx,
        &id,
        &stored.plan,
        &task,
        true,
        String::new(),
        Vec::new(),
    )
    .await
}

/// Reads the form into a task, naming every field that does not read.
fn read_task(fields: &[(String, String)], code: &str) -> (PlanTask, Vec<String>) {
    let one = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| motcua_core::text::nfc(v.trim()))
            .unwrap_or_default()
    };
    let many = |k: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut errors = Vec::new();
    let start = one("start").parse::<Month>().unwrap_or_else(|_| {
        errors.push("Tháng bắt đầu phải có dạng năm-tháng (ví dụ 2018-10).".to_owned());
        Month {
            year: 2000,
            month: 1,
        }
    });
    let end = match one("end").as_str() {
        "" => None,
        e => match e.parse::<Month>() {
            Ok(m) => Some(m),
            Err(_) => {
                errors.push("Tháng kết thúc phải có dạng năm-tháng hoặc để trống.".to_owned());
                None
            }
        },
    };
    let recurrence = RECURRENCES
        .iter()
        .find(|(_, v)| *v == one("recurrence"))
        .map_or(Recurrence::Once, |(r, _)| *r);
    let mut targets = Vec::new();
    for (i, line) in one("targets").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let month = |s: Option<&&str>| s.filter(|s| !s.is_empty()).map(|s| s.parse::<Month>());
        let parsed = (|| {
            let quantity = cols.get(1)?.parse::<u32>().ok()?;
            let per = RECURRENCES.iter().find(|(_, v)| Some(v) == cols.get(3))?.0;
            let from = month(cols.get(4)).transpose().ok()?;
            let until = month(cols.get(5)).transpose().ok()?;
            Some(Target {
                key: (*cols.first()?).to_owned(),
                quantity,
                unit: (*cols.get(2)?).to_owned(),
                spec: cols.get(6).map_or(String::new(), |s| (*s).to_owned()),
                per,
                from,
                until,
            })
        })();
        match parsed {
            Some(t) => targets.push(t),
            None => errors.push(format!(
                "Chỉ tiêu dòng {}: hãy viết \"mã | số lượng | đơn vị | once/monthly/quarterly/yearly | từ tháng | đến tháng | quy cách\".",
                i + 1
            )),
        }
    }
    let task = PlanTask {
        code: code.to_owned(),
        title: one("title"),
        lead_agencies: many("lead"),
        lead_text: one("lead_text"),
        coordinating_agencies: many("coord"),
        coordinating_text: one("coordinating_text"),
        start,
        end,
        period_text: one("period_text"),
        recurrence,
        targets,
        products: one("products"),
        channels: many("channel"),
        funding: if one("funding") == "local" {
            Funding::Local
        } else {
            Funding::Province
        },
    };
    (task, errors)
}

async fn save(
    ctx: &Ctx,
    id: &str,
    code: &str,
    new: bool,
    fields: Vec<(String, String)>,
) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, id).await?;
    let mut plan = stored.plan.clone();
    let (task, mut errors) = read_task(&fields, code);
    let targets_text = fields
        .iter()
        .find(|(n, _)| n == "targets")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if new {
        if plan.task(code).is_some() {
            errors.push(format!("Đã có nhiệm vụ số {code}."));
        }
        plan.tasks.push(task.clone());
    } else {
        match plan.tasks.iter_mut().find(|t| t.code == code) {
            Some(t) => *t = task.clone(),
            None => return Err(WebError::NotFound),
        }
    }
    if errors.is_empty() {
        match ctx.state.store.import_plan(&plan).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/plans/{id}/tasks/{code}?notice=edited"))
                        .into_response(),
                )
            }
            Err(PlanImportError::Invalid(problems)) => {
                errors.extend(problems.into_iter().map(|p| p.message_vi));
            }
            Err(PlanImportError::Store(e)) => return Err(e.into()),
            Err(e) => errors.push(e.to_string()),
        }
    }
    render(ctx, id, &stored.plan, &task, new, targets_text, errors).await
}

pub(crate) async fn edit(
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    save(&ctx, &id, &code, false, fields).await
}

pub(crate) async fn create(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let code = fields
        .iter()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    save(&ctx, &id, &code, true, fields).await
}

/// The plan as a JSON file.
pub(crate) async fn download(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let (stored, _) = load(&ctx.state, &id).await?;
    let json = serde_json::to_string_pretty(&stored.plan)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let name = stored.plan.code.replace(['/', ' '], "-");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ke-hoach-{name}.json\""),
            ),
        ],
        json,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "plan_import.html")]
struct ImportPage {
    layout: Layout,
    errors: Vec<String>,
}

/// Uploads a plan file: checked as a whole, stored only when it has no problem.
pub(crate) async fn upload(ctx: Ctx, mut multipart: Multipart) -> Result<Response, WebError> {
    let mut bytes = Vec::new();
    let mut errors = Vec::new();
    // Read in chunks and stop at 2 MB: the route has no body limit of its own.
    let mut seen = 0usize;
    'fields: while let Ok(Some(mut field)) = multipart.next_field().await {
        let wanted = field.name() == Some("file");
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    seen += chunk.len();
                    if wanted {
                        bytes.extend_from_slice(&chunk);
                    }
                    if seen > 2 << 20 {
                        errors.push("Tệp kế hoạch tối đa 2 MB.".to_owned());
                        break 'fields;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    errors.push("Tệp chưa được gửi trọn vẹn; hãy thử lại.".to_owned());
                    break 'fields;
                }
            }
        }
    }
    if bytes.is_empty() && errors.is_empty() {
        errors.push("Hãy chọn tệp kế hoạch (JSON).".to_owned());
    }
    if crate::http::boundary::has_nul(&bytes) {
        errors.push("Tệp kế hoạch có ký tự NUL, không trường nào nhận ký tự này.".to_owned());
    }
    if errors.is_empty() {
        match ctx.state.store.import_plan_json(&bytes).await {
            Ok(id) => {
                return Ok(Redirect::to(&format!("/plans/{id}?notice=imported")).into_response())
            }
            Err(PlanImportError::Parse(e)) => errors.push(format!(
                "Tệp không đúng định dạng kế hoạch (docs/plan-files.md): {e}"
            )),
            Err(PlanImportError::Invalid(problems)) => {
                errors.extend(problems.into_iter().map(|p| p.message_vi))
            }
            Err(PlanImportError::Store(e)) => return Err(e.into()),
        }
    }
    let page = ImportPage {
        layout: ctx.layout("Nhập kế hoạch"),
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

pub(crate) async fn upload_page(ctx: Ctx) -> Result<Response, WebError> {
    let page = ImportPage {
        layout: ctx.layout("Nhập kế hoạch"),
        errors: Vec::new(),
    };
    Ok(Html(page.render()?).into_response())
}
