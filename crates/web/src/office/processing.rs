//! The back office over HTTP: work queues of specialists and leaders, every processing action on
//! a dossier (the capacity is worked out from the account's roles for that very dossier, and the
//! store re-checks the rules) and the issued result.

use super::forms::{agency_issuer, agency_name, applicant_block, tracking_url};
use crate::dossier::access::{load, Viewer};
use crate::dossier::files::read_form;
use crate::dossier::page::{act_and_show, render_dossier};
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, upload, RouteDef};
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::{Form, Multipart, Path, Query};
use axum::http::HeaderMap;

use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use motcua_core::accounts::{Access, Permission};
use motcua_core::calendar::deadline::{DeadlineStatus, WorkCalendar, VIETNAM};
use motcua_core::dossier::{Action, FileKind, HandOverMethod, Held, Outcome, Status};
use motcua_core::dossier::{Command, Inputs, ResultDoc};
use motcua_core::Role;
use motcua_docs::ResultNotice;
use motcua_store::dossiers::{format_day, format_local, Act, ActError, Dossier};
use motcua_store::processing::{actor_for, capacities};
use serde::Deserialize;

pub(crate) fn routes() -> Vec<RouteDef> {
    let examine = needs(Permission::ExamineDossiers);
    vec![
        get("/office/work", examine, queue),
        post("/office/process/{id}/{action}", Access::SignedIn, process),
        upload(
            "/office/process/{id}/result",
            Access::SignedIn,
            issue_result,
        ),
        get("/dossiers/{id}/result", Access::SignedIn, download_result),
    ]
}

/// The agencies where the account examines or approves.
fn work_agencies(user: &CurrentUser) -> Vec<String> {
    let mut out: Vec<String> = user
        .account
        .roles
        .iter()
        .filter(|(r, _)| matches!(r, Role::Specialist | Role::Leader))
        .filter_map(|(_, a)| a.clone())
        .collect();
    out.dedup();
    out
}

struct WorkRow {
    id: String,
    code: String,
    procedure: String,
    applicant: String,
    status: &'static str,
    assignee: String,
    step_due: String,
    due: String,
    flag: &'static str,
}

#[derive(Template)]
#[template(path = "office_work.html")]
struct WorkPage {
    layout: Layout,
    agency: String,
    agency_code: String,
    agencies: Vec<(String, String, bool)>,
    tabs: Vec<(&'static str, &'static str, usize, bool)>,
    rows: Vec<WorkRow>,
    due_filter: String,
    query: String,
    month: String,
}

#[derive(Deserialize)]
struct QueueQuery {
    agency: Option<String>,
    tab: Option<String>,
    due: Option<String>,
    /// Words of the procedure's name or code, or of the dossier code (diacritics optional).
    q: Option<String>,
}

const TABS: [(&str, &str); 6] = [
    ("mine", "Hồ sơ tôi đang xử lý"),
    ("assign", "Chờ phân công"),
    ("approval", "Chờ phê duyệt"),
    ("issue", "Chờ ban hành kết quả"),
    ("consult", "Được lấy ý kiến"),
    ("all", "Tất cả đang giải quyết"),
];

async fn tab_rows(ctx: &Ctx, agency: &str, me: &str, tab: &str) -> Result<Vec<Dossier>, WebError> {
    let store = &ctx.state.store;
    Ok(match tab {
        "mine" => {
            store
                .work_queue(
                    agency,
                    &[
                        Status::InProgress,
                        Status::Consulting,
                        Status::SupplementRequested,
                    ],
                    Some(me),
                    false,
                    500,
                )
                .await?
        }
        "assign" => {
            store
                .work_queue(agency, &[Status::Received], None, false, 500)
                .await?
        }
        "approval" => {
            store
                .work_queue(agency, &[Status::AwaitingApproval], None, false, 500)
                .await?
        }
        "issue" => {
            store
                .work_queue(agency, &[Status::Approved], None, false, 500)
                .await?
        }
        "consult" => store.work_queue(agency, &[], None, true, 500).await?,
        _ => {
            store
                .work_queue(
                    agency,
                    &[
                        Status::Received,
                        Status::InProgress,
                        Status::Consulting,
                        Status::AwaitingApproval,
                        Status::Approved,
                    ],
                    None,
                    false,
                    500,
                )
                .await?
        }
    })
}

async fn queue(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let mine = work_agencies(&user);
    let agency = match q.agency {
        Some(a) if mine.contains(&a) => a,
        Some(_) => return Err(WebError::NotFound),
        None => mine.first().cloned().ok_or(WebError::Forbidden)?,
    };
    let leader = user
        .account
        .roles
        .iter()
        .any(|(r, a)| *r == Role::Leader && a.as_deref() == Some(agency.as_str()));
    let tab = q
        .tab
        .as_deref()
        .filter(|t| TABS.iter().any(|(k, _)| k == t))
        .unwrap_or(if leader { "approval" } else { "mine" })
        .to_owned();
    let holidays = ctx.state.store.holiday_calendar().await?;
    let hours = &ctx.state.site.dossiers.hours;
    let cal = WorkCalendar {
        holidays: &holidays,
        hours,
    };
    let now = time::OffsetDateTime::now_utc();
    let query = q.q.as_deref().map(str::trim).unwrap_or("").to_owned();
    let words: Vec<String> = motcua_core::text::fold_vi(&query)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let matches = |d: &Dossier| {
        let hay = motcua_core::text::fold_vi(&format!(
            "{} {} {}",
            d.procedure_name,
            d.procedure_code,
            d.code.as_deref().unwrap_or("")
        ));
        words.iter().all(|w| hay.contains(w.as_str()))
    };
    let mut tabs = Vec::new();
    let mut rows = Vec::new();
    for (key, label) in TABS {
        let list = tab_rows(&ctx, &agency, &user.account.id, key).await?;
        tabs.push((key, label, list.len(), key == tab));
        if key != tab {
            continue;
        }
        for d in list {
            let flag = match d
                .due_at
                .map(|due| cal.status(now, due, hours.minutes_per_day()))
            {
                Some(DeadlineStatus::Overdue) => "overdue",
                Some(DeadlineStatus::DueSoon) => "due-soon",
                _ => "",
            };
            if q.due.as_deref().is_some_and(|f| !f.is_empty() && f != flag) || !matches(&d) {
                continue;
            }
            rows.push(WorkRow {
                code: d.code.clone().unwrap_or_default(),
                procedure: d.procedure_name.clone(),
                applicant: d.applicant_name.clone(),
                status: d.status.label_vi(),
                assignee: d.assignee_name.clone(),
                step_due: d.step_due_at.map(format_local).unwrap_or_default(),
                due: d.due_at.map(format_local).unwrap_or_default(),
                flag,
                id: d.id,
            });
        }
    }
    let page = WorkPage {
        layout: ctx.layout("Xử lý hồ sơ"),
        agency: agency_name(&ctx, &agency),
        agencies: mine
            .iter()
            .map(|a| (a.clone(), agency_name(&ctx, a), *a == agency))
            .collect(),
        agency_code: agency,
        tabs,
        rows,
        due_filter: q.due.unwrap_or_default(),
        query,
        month: crate::http::state::this_month().to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ProcessForm {
    version: Option<i64>,
    reason: Option<String>,
    items: Option<String>,
    assignee: Option<String>,
    step: Option<String>,
    outcome: Option<String>,
    method: Option<String>,
    new_due: Option<String>,
}

/// A date typed in a form ("2026-12-24", or "24/12/2026"), due at the close of that day.
fn parse_day(text: &str, ctx: &Ctx) -> Option<time::OffsetDateTime> {
    let t = text.trim();
    let date = time::Date::parse(t, time::macros::format_description!("[year]-[month]-[day]"))
        .or_else(|_| {
            time::Date::parse(t, time::macros::format_description!("[day]/[month]/[year]"))
        })
        .ok()?;
    let close = ctx
        .state
        .site
        .dossiers
        .hours
        .sessions()
        .last()
        .map(|(_, end)| *end)?;
    Some(date.with_time(close).assume_offset(VIETNAM))
}

/// Which notice the dossier page shows after an action.
fn notice_of(action: Action) -> &'static str {
    match action {
        Action::Assign => "assigned",
        Action::Transfer => "transferred",
        Action::Answer => "answered",
        Action::SendBack => "sent_back",
        Action::Propose => "proposed",
        Action::Approve => "approved",
        Action::IssueResult => "issued",
        Action::HandOver => "handed_over",
        Action::ApologiseAndReschedule => "apologised",
        Action::RequestSupplement => "supplement",
        Action::Refuse => "refused",
        Action::Withdraw => "withdrawn",
        Action::Receive => "received",
        Action::Submit | Action::Resubmit => "submitted",
    }
}

async fn process(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ProcessForm>,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    let action = Action::parse(&action)
        .filter(|a| !matches!(a, Action::Submit | Action::Resubmit | Action::IssueResult))
        .ok_or(WebError::NotFound)?;
    let pending = ctx.state.store.pending_agencies(&id).await?;
    let caps = capacities(&user.account, &d, &pending);
    let actor = actor_for(action, &caps).ok_or(WebError::NotFound)?;
    let reason = motcua_core::text::nfc(form.reason.as_deref().unwrap_or("").trim());
    let items: Vec<String> = form
        .items
        .as_deref()
        .unwrap_or("")
        .lines()
        .map(|l| motcua_core::text::nfc(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    if reason.chars().count() > 1000 || items.iter().any(|i| i.chars().count() > 500) {
        let msg = "Nội dung quá dài (lý do tối đa 1000 ký tự, mỗi mục tối đa 500 ký tự).";
        return render_dossier(&ctx, &user, d, Some(msg.into())).await;
    }
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let step = match opt(&form.step) {
        None => None,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Some(n - 1),
            _ => {
                return render_dossier(&ctx, &user, d, Some(format!("Bước \"{s}\" không hợp lệ.")))
                    .await
            }
        },
    };
    let new_due = match opt(&form.new_due) {
        None => None,
        Some(text) => match parse_day(&text, &ctx) {
            Some(t) => Some(t),
            None => {
                let msg = format!("Không hiểu ngày \"{text}\". Hãy nhập dạng 24/12/2026.");
                return render_dossier(&ctx, &user, d, Some(msg)).await;
            }
        },
    };
    let inputs = Inputs {
        note: reason,
        items,
        assignee: opt(&form.assignee),
        step,
        outcome: opt(&form.outcome).as_deref().and_then(Outcome::parse),
        hand_over: opt(&form.method).as_deref().and_then(HandOverMethod::parse),
        new_due,
        ..Inputs::default()
    };
    let command = match Command::from_inputs(action, inputs) {
        Ok(c) => c,
        Err(e) => return render_dossier(&ctx, &user, d, ActError::from(e).message_vi()).await,
    };
    let act = Act {
        expected_version: form.version,
        ..Act::new(&id, command, actor, &user.account)
    };
    act_and_show(&ctx, &user, &id, act, notice_of(action)).await
}

/// Issues the result: an uploaded signed file (PDF/JPEG/PNG, checked by content), or, when
/// none is uploaded, a result notice the system generates from the approved outcome.
async fn issue_result(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let (d, _) = load(&ctx.state, &user, &id).await?;
    // The CSRF token came in the query string or a header (checked before the body is read).
    let upload = read_form(&ctx.state, multipart).await;
    if upload.refuse_control().is_some() {
        return Err(WebError::ControlCharacter);
    }
    let pending = ctx.state.store.pending_agencies(&id).await?;
    let caps = capacities(&user.account, &d, &pending);
    let actor = actor_for(Action::IssueResult, &caps).ok_or(WebError::NotFound)?;
    let version = upload.fields.get("version").and_then(|v| v.parse().ok());
    let note = motcua_core::text::nfc(
        upload
            .fields
            .get("reason")
            .map_or("", String::as_str)
            .trim(),
    );
    if upload.broken || upload.too_large {
        let msg = "Tệp kết quả không tải lên được trọn vẹn hoặc quá lớn; hãy thử lại.";
        return render_dossier(&ctx, &user, d, Some(msg.into())).await;
    }
    let file = upload.files.into_iter().find(|f| f.field == "result");
    let (sha, size, name, kind) = match file {
        Some(f) => {
            let staged = match f.staged {
                Ok(s) => s,
                Err(e) => return render_dossier(&ctx, &user, d, Some(e.message_vi())).await,
            };
            match crate::dossier::files::check_content(
                &ctx.state,
                &f.name,
                &staged,
                Held::default(),
            )
            .await
            {
                Ok(kind) => {
                    ctx.state.store.commit_blob(&staged).await?;
                    (staged.sha256.clone(), staged.size, f.name, kind)
                }
                Err(e) => {
                    staged.discard();
                    return render_dossier(&ctx, &user, d, Some(e.message_vi())).await;
                }
            }
        }
        None => {
            let notice = ResultNotice {
                issuer: agency_issuer(&ctx, &d),
                code: d.code.clone().unwrap_or_default(),
                applicant: applicant_block(&d),
                matter: d.procedure_name.clone(),
                granted: d.outcome != Some(Outcome::Reject),
                text: if note.is_empty() {
                    match d.outcome {
                        Some(Outcome::Reject) => {
                            "Hồ sơ không đủ điều kiện giải quyết theo quy định.".to_owned()
                        }
                        _ => format!(
                            "Chấp thuận giải quyết thủ tục \"{}\" theo đề nghị của ông/bà.",
                            d.procedure_name
                        ),
                    }
                } else {
                    note.clone()
                },
                signer: user.account.display_name.clone(),
                date: format_day(time::OffsetDateTime::now_utc()),
                tracking_url: tracking_url(&ctx, &headers, &d),
            };
            let bytes = tokio::task::spawn_blocking(move || motcua_docs::result_notice(&notice))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let (sha, size) = ctx.state.store.put_blob(bytes).await?;
            let name = format!("ket-qua-{}.pdf", d.code.clone().unwrap_or_default());
            (sha, size, name, FileKind::Pdf)
        }
    };
    let command = Command::IssueResult {
        result: ResultDoc {
            sha256: sha,
            size,
            file_name: name,
            kind,
        },
        note,
    };
    let act = Act {
        expected_version: version,
        ..Act::new(&id, command, actor, &user.account)
    };
    act_and_show(&ctx, &user, &id, act, "issued").await
}

/// The issued result: officials of the dossier once issued; the applicant once handed over.
async fn download_result(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (d, viewer) = load(&ctx.state, &user, &id).await?;
    let (Some(sha), Some(name)) = (d.result_sha256.clone(), d.result_file_name.clone()) else {
        return Err(WebError::NotFound);
    };
    if viewer == Viewer::Applicant && d.status != Status::HandedOver {
        return Err(WebError::NotFound);
    }
    let media = ctx
        .state
        .store
        .blob_media_type(&sha)
        .await?
        .unwrap_or_else(|| "application/pdf".into());
    let a = motcua_store::dossiers::Attachment {
        id: String::new(),
        dossier_id: d.id.clone(),
        document: "Kết quả".into(),
        file_name: name,
        sha256: sha,
        size: 0,
        media_type: media,
        round: 0,
        uploaded_at: d.decided_at.unwrap_or(d.updated_at),
    };
    crate::dossier::files::serve_attachment(&ctx.state, &a).await
}
