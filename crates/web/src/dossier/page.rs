//! The page of one dossier, shown to whoever has a standing on it (the applicant, the desk, the
//! agency's officials, a consulted agency), with what each may do next; and how a change asked
//! from a page is applied and shown again.

use crate::dossier::access::Viewer;
use crate::dossier::form::{communes, group_documents, procedure_of, value_rows, AttView};
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::views::{time_vi, Ctx, Layout};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use motcua_core::dossier::{Action, Status};
use motcua_store::dossiers::{format_local, Act, ActError, Dossier, DossierEvent};

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
        Err(e) => show_refusal(ctx, user, id, e).await,
    }
}

/// The dossier page again after a refused change: reloaded when someone else acted first, with
/// the reason when the rules refused.
pub(crate) async fn show_refusal(
    ctx: &Ctx,
    user: &CurrentUser,
    id: &str,
    e: ActError,
) -> Result<Response, WebError> {
    match e {
        ActError::Conflict(_) => {
            Ok(Redirect::to(&format!("/dossiers/{id}?notice=conflict")).into_response())
        }
        ActError::NotFound => Err(WebError::NotFound),
        ActError::Store(e) => Err(e.into()),
        e => {
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

/// An event as a timeline shows it.
pub(crate) struct EventView {
    pub at: String,
    pub label: &'static str,
    pub actor: String,
    pub note: String,
    pub status: &'static str,
}

pub(crate) fn event_view(e: &DossierEvent, with_people: bool) -> EventView {
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
        status: e.status.label_vi(),
    }
}

#[derive(Template)]
#[template(path = "dossier.html")]
pub(crate) struct DossierPage {
    layout: Layout,
    d: Dossier,
    applicant: bool,
    /// Whether the applicant may follow it on Zalo (the OA is configured, the dossier is open).
    zalo_follow: bool,
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

pub(crate) fn dossier_notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "submitted" => "Đã nộp hồ sơ. Hồ sơ đang chờ cơ quan tiếp nhận; bạn sẽ nhận được thông báo khi có kết quả tiếp nhận.",
        "withdrawn" => "Đã rút hồ sơ. Cơ quan đã dừng giải quyết hồ sơ.",
        "zalo_stopped" => "Đã ngừng gửi thông báo của hồ sơ này qua Zalo.",
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
pub(crate) fn actor_key(a: motcua_core::dossier::Actor) -> &'static str {
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

pub(crate) async fn render_dossier_with(
    ctx: &Ctx,
    user: &CurrentUser,
    d: Dossier,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let viewer = crate::dossier::access::standing(&ctx.state, user, &d)
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
        zalo_follow: viewer == Viewer::Applicant
            && ctx.state.gateways.zalo_follow.is_some()
            && d.code.is_some()
            && d.status.is_open(),
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
