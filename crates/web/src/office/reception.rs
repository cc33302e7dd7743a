//! The one-stop desk: the queue of dossiers routed to the officer's desk, reception actions
//! (receive, request supplements, refuse), registration of paper dossiers brought to the counter
//! or sent by post.

use crate::dossier::access::{load, Viewer};
use crate::dossier::form::{communes, field_views, FieldView};
use crate::dossier::page::{act_and_show, render_dossier};
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::accounts::Permission;
use motcua_core::calendar::deadline::TimeLimit;
use motcua_core::dossier::{
    validate_form, Action, Actor, Channel, Command, Inputs, OfflineReason, Status,
};
use motcua_store::dossiers::{format_local, Act, ActError, PaperDossier};
use serde::Deserialize;
use std::collections::BTreeMap;

pub(crate) fn routes() -> Vec<RouteDef> {
    let desk = needs(Permission::ReceiveDossiers);
    vec![
        get("/office", desk, queue),
        get("/office/register", desk, register_page),
        post("/office/register", desk, register),
        post("/office/dossiers/{id}/{action}", desk, act),
    ]
}

/// A processing time as a desk officer types it: "5 ngày làm việc", "15 ngày", "8 giờ",
/// "trong ngày", or the short form "5d".
fn parse_limit(text: &str) -> Option<TimeLimit> {
    motcua_core::catalogue::parse::time_limit(text)
        .or_else(|| text.parse::<TimeLimit>().ok())
        .filter(|t| t.validate().is_ok())
}

/// The desk the officer receives for (their Reception role's agency).
fn desk_of(user: &CurrentUser) -> Result<String, WebError> {
    user.account
        .roles
        .iter()
        .find(|(r, a)| r.allows(Permission::ReceiveDossiers) && a.is_some())
        .and_then(|(_, a)| a.clone())
        .ok_or(WebError::Forbidden)
}

struct QueueRow {
    id: String,
    code: String,
    procedure: String,
    applicant: String,
    channel: &'static str,
    submitted: String,
    due: String,
    overdue: bool,
    due_soon: bool,
}

#[derive(Template)]
#[template(path = "office.html")]
struct QueuePage {
    layout: Layout,
    desk: String,
    tabs: Vec<(&'static str, &'static str, i64, bool)>,
    rows: Vec<QueueRow>,
}

#[derive(Deserialize)]
struct QueueQuery {
    status: Option<String>,
}

const QUEUE_TABS: [Status; 4] = [
    Status::Submitted,
    Status::SupplementRequested,
    Status::Received,
    Status::Decided,
];

async fn queue(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let desk = desk_of(&user)?;
    let status = q
        .status
        .as_deref()
        .and_then(Status::parse)
        .filter(|s| *s != Status::Draft)
        .unwrap_or(Status::Submitted);
    let counts = ctx.state.store.desk_counts(&desk).await?;
    let count = |s: Status| counts.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
    let tabs = QUEUE_TABS
        .iter()
        .map(|s| (s.as_str(), s.label_vi(), count(*s), *s == status))
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let holidays = ctx.state.store.holiday_calendar().await?;
    let hours = &ctx.state.site.dossiers.hours;
    let cal = motcua_core::calendar::deadline::WorkCalendar {
        holidays: &holidays,
        hours,
    };
    let rows = ctx
        .state
        .store
        .desk_dossiers(&desk, status, 200)
        .await?
        .into_iter()
        .map(|d| QueueRow {
            code: d.code.clone().unwrap_or_default(),
            procedure: d.procedure_name.clone(),
            applicant: d.applicant_name.clone(),
            channel: d.channel.label_vi(),
            submitted: d.submitted_at.map(format_local).unwrap_or_default(),
            due: d.due_at.map(format_local).unwrap_or_default(),
            overdue: d.due_at.is_some_and(|due| due < now),
            due_soon: d.due_at.is_some_and(|due| {
                cal.status(now, due, hours.minutes_per_day())
                    == motcua_core::calendar::deadline::DeadlineStatus::DueSoon
            }),
            id: d.id,
        })
        .collect();
    let desk_name = ctx.state.catalogue.get().agency_name(&desk);
    let page = QueuePage {
        layout: ctx.layout("Bộ phận Một cửa"),
        desk: desk_name,
        tabs,
        rows,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ActForm {
    version: Option<i64>,
    reason: Option<String>,
    items: Option<String>,
    time_limit: Option<String>,
}

async fn act(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Result<Response, WebError> {
    let (d, viewer) = load(&ctx.state, &user, &id).await?;
    if viewer != Viewer::Desk {
        return Err(WebError::NotFound);
    }
    let (action, notice) = match action.as_str() {
        "receive" => (Action::Receive, "received"),
        "request-supplement" => (Action::RequestSupplement, "supplement"),
        "refuse" => (Action::Refuse, "refused"),
        // Asked in person or by post: the desk records it and processing stops.
        "withdraw" => (Action::Withdraw, "withdrawn"),
        _ => return Err(WebError::NotFound),
    };
    let reason = motcua_core::text::nfc(form.reason.as_deref().unwrap_or("").trim());
    let items: Vec<String> = form
        .items
        .as_deref()
        .unwrap_or("")
        .lines()
        .map(|l| motcua_core::text::nfc(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    let problem = match action {
        Action::Refuse if reason.is_empty() => {
            Some("Hãy ghi rõ lý do từ chối tiếp nhận (Mẫu 03).".to_owned())
        }
        Action::RequestSupplement if items.is_empty() => {
            Some("Hãy liệt kê ít nhất một giấy tờ cần bổ sung, hoàn thiện.".to_owned())
        }
        Action::Withdraw if reason.is_empty() => {
            Some("Hãy ghi lý do người nộp yêu cầu rút hồ sơ.".to_owned())
        }
        _ if reason.chars().count() > 1000 || items.iter().any(|i| i.chars().count() > 500) => {
            Some("Nội dung quá dài (lý do tối đa 1000 ký tự, mỗi mục tối đa 500 ký tự).".to_owned())
        }
        _ => None,
    };
    let time_limit = match form.time_limit.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => match parse_limit(text) {
            Some(t) => Some(t),
            None => {
                return render_dossier(
                    &ctx,
                    &user,
                    d,
                    Some(format!("Không hiểu thời hạn \"{text}\". Hãy nhập dạng \"5 ngày làm việc\", \"15 ngày\", \"8 giờ\" hoặc \"trong ngày\".")),
                )
                .await
            }
        },
    };
    if let Some(p) = problem {
        return render_dossier(&ctx, &user, d, Some(p)).await;
    }
    let inputs = Inputs {
        note: reason,
        items,
        time_limit,
        ..Inputs::default()
    };
    let command = match Command::from_inputs(action, inputs) {
        Ok(c) => c,
        Err(e) => return render_dossier(&ctx, &user, d, ActError::from(e).message_vi()).await,
    };
    let act = Act {
        expected_version: form.version,
        ..Act::new(&id, command, Actor::Reception, &user.account)
    };
    act_and_show(&ctx, &user, &id, act, notice).await
}

#[derive(Template)]
#[template(path = "office_register.html")]
struct RegisterPage {
    layout: Layout,
    procedures: Vec<(String, String, bool)>,
    fields: Vec<FieldView>,
    channels: Vec<(&'static str, &'static str, bool)>,
    reasons: Vec<(&'static str, &'static str, bool)>,
    time_limit: String,
    errors: Vec<String>,
}

/// Procedures a desk registers: every procedure of the catalogue (Decree 118/2025: a centre
/// accepts dossiers whatever the applicant's address).
fn procedure_options(ctx: &Ctx, selected: &str) -> Vec<(String, String, bool)> {
    ctx.state
        .catalogue
        .get()
        .procedures
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                format!("{} — {}", p.procedure.code, p.procedure.name),
                p.id == selected,
            )
        })
        .collect()
}

async fn register_page(ctx: Ctx) -> Result<Response, WebError> {
    render_register(&ctx, &BTreeMap::new(), Vec::new(), Vec::new()).await
}

async fn render_register(
    ctx: &Ctx,
    values: &BTreeMap<String, String>,
    field_errors: Vec<motcua_core::dossier::FieldError>,
    other: Vec<String>,
) -> Result<Response, WebError> {
    let communes = communes(&ctx.state).await?;
    let fields = field_views(
        &motcua_core::dossier::applicant_fields(),
        values,
        &field_errors,
        &communes,
    );
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let channel = get("channel");
    let reason = get("offline_reason");
    let status = if field_errors.is_empty() && other.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RegisterPage {
        layout: ctx.layout("Tiếp nhận hồ sơ giấy"),
        procedures: procedure_options(ctx, &get("procedure_id")),
        fields,
        channels: [Channel::Counter, Channel::Post]
            .into_iter()
            .map(|c| (c.as_str(), c.label_vi(), c.as_str() == channel))
            .collect(),
        reasons: OfflineReason::ALL
            .into_iter()
            .map(|r| (r.as_str(), r.label_vi(), r.as_str() == reason))
            .collect(),
        time_limit: get("time_limit"),
        errors: field_errors
            .into_iter()
            .map(|e| e.message_vi)
            .chain(other)
            .collect(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn register(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    let desk = desk_of(&user)?;
    let communes = communes(&ctx.state).await?;
    let known = |c: &str| communes.iter().any(|(x, _)| x == c);
    let get = |k: &str| {
        values
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut other = Vec::new();
    let index = ctx.state.catalogue.get();
    let procedure = index
        .procedures
        .iter()
        .find(|p| p.id == get("procedure_id"));
    if procedure.is_none() {
        other.push("Hãy chọn thủ tục.".to_owned());
    }
    let channel = Channel::parse(&get("channel")).filter(|c| *c != Channel::Online);
    if channel.is_none() {
        other.push("Hãy chọn hình thức nộp: trực tiếp hoặc qua bưu chính.".to_owned());
    }
    let reason = OfflineReason::parse(&get("offline_reason"));
    if reason.is_none() {
        other.push("Hãy chọn lý do người dân không nộp trực tuyến.".to_owned());
    }
    let time_limit = match get("time_limit").as_str() {
        "" => None,
        t => match parse_limit(t) {
            Some(l) => Some(l),
            None => {
                other.push(format!(
                    "Không hiểu thời hạn \"{t}\". Ví dụ: \"5 ngày làm việc\"."
                ));
                None
            }
        },
    };
    if let Some(p) = procedure {
        if p.procedure.time_limit.is_none() && time_limit.is_none() && other.is_empty() {
            other.push("Thủ tục chưa công bố thời hạn giải quyết: hãy nhập thời hạn.".to_owned());
        }
    }
    // At the counter only the applicant block is typed in; the papers carry the rest.
    let form = match validate_form(
        &motcua_core::dossier::applicant_fields(),
        &values,
        true,
        &known,
    ) {
        Ok(v) => v,
        Err(errors) => return render_register(&ctx, &values, errors, other).await,
    };
    let (Some(p), Some(channel), Some(reason), true) =
        (procedure, channel, reason, other.is_empty())
    else {
        return render_register(&ctx, &values, Vec::new(), other).await;
    };
    let paper = PaperDossier {
        procedure_id: &p.id,
        channel,
        offline_reason: reason,
        form: &form,
        time_limit,
        by: &user.account,
        desk_code: &desk,
    };
    match ctx
        .state
        .store
        .register_paper(
            paper,
            &ctx.state.site.dossiers.codes,
            &ctx.state.site.dossiers.hours,
        )
        .await
    {
        Ok(d) => Ok(Redirect::to(&format!("/dossiers/{}?notice=registered", d.id)).into_response()),
        Err(ActError::NoTimeLimit) => {
            render_register(
                &ctx,
                &values,
                Vec::new(),
                vec!["Thủ tục chưa công bố thời hạn giải quyết: hãy nhập thời hạn.".into()],
            )
            .await
        }
        Err(ActError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}
