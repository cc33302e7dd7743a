//! Deliveries for system admins: each channel's figures over thirty days, the latest messages, a
//! message's history, and sending a failed one again. Recipients are masked and bodies are never
//! shown (they can carry one-time codes).

use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::{render, Ctx};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use motcua_core::accounts::Permission;
use motcua_core::delivery::{mask, DeliveryChannel};
use motcua_core::dossier::format_local;
use motcua_store::outbox::OutboxStatus;
use serde::Deserialize;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/admin/delivery",
            needs(Permission::MonitorDelivery),
            overview,
        ),
        get(
            "/admin/delivery/{id}",
            needs(Permission::MonitorDelivery),
            message,
        ),
        post(
            "/admin/delivery/{id}/resend",
            needs(Permission::MonitorDelivery),
            resend,
        ),
    ]
}

struct ChannelRow {
    channel: &'static str,
    total: i64,
    accepted: i64,
    delivered: i64,
    within_10s: String,
    retrying: i64,
    failed: i64,
    billed_units: i64,
    cost: String,
}

struct MessageRow {
    id: String,
    at: String,
    channel: &'static str,
    recipient: String,
    subject: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct OverviewPage {
    layout: crate::http::views::Layout,
    rows: Vec<ChannelRow>,
    depth: i64,
    messages: Vec<MessageRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

async fn overview(ctx: Ctx, Query(q): Query<Msg>) -> Result<Html<String>, WebError> {
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let store = &ctx.state.store;
    let rows = store
        .delivery_report(since)
        .await?
        .into_iter()
        .map(|r| {
            let count = |wanted: &[OutboxStatus]| -> i64 {
                r.by_status
                    .iter()
                    .filter(|(s, _)| wanted.contains(s))
                    .map(|(_, n)| *n)
                    .sum()
            };
            ChannelRow {
                channel: r.channel.label_vi(),
                total: r.by_status.iter().map(|(_, n)| *n).sum(),
                accepted: r.accepted,
                delivered: r.delivered,
                within_10s: if r.delivered == 0 {
                    "—".to_owned()
                } else {
                    format!("{:.1} %", 100.0 * r.within_10s as f64 / r.delivered as f64)
                        .replace('.', ",")
                },
                retrying: count(&[OutboxStatus::TemporaryFailure]),
                failed: count(&[
                    OutboxStatus::PermanentFailure,
                    OutboxStatus::TechnicalFailure,
                ]),
                billed_units: r.billed_units,
                cost: crate::plans::vnd(r.cost),
            }
        })
        .collect();
    let messages = store
        .outbox(50)
        .await?
        .into_iter()
        .map(|m| MessageRow {
            at: format_local(m.created_at),
            channel: m.channel.label_vi(),
            recipient: mask(&m.recipient),
            subject: m.subject,
            status: m.status.label_vi(),
            id: m.id,
        })
        .collect();
    render(&OverviewPage {
        layout: ctx.layout("Gửi tin nhắn và thư điện tử"),
        rows,
        depth: store.outbox_depth().await?,
        messages,
        notice: match q.msg.as_deref() {
            Some("resent") => Some("Đã đưa tin vào hàng đợi để gửi lại."),
            _ => None,
        },
    })
}

#[derive(Template)]
#[template(path = "delivery_message.html")]
struct MessagePage {
    layout: crate::http::views::Layout,
    id: String,
    subject: String,
    recipient: String,
    channel: &'static str,
    status: &'static str,
    created: String,
    history: Vec<(String, String, String, String, String)>,
    can_resend: bool,
}

async fn message(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let store = &ctx.state.store;
    let Some(m) = store.outbox_message(&id).await? else {
        return Err(WebError::NotFound);
    };
    let history = store
        .outbox_history(&id)
        .await?
        .into_iter()
        .map(|a| {
            (
                format_local(a.at),
                a.provider,
                a.outcome,
                a.provider_status.unwrap_or_default(),
                a.detail,
            )
        })
        .collect();
    let channel: DeliveryChannel = m.channel;
    Ok(render(&MessagePage {
        layout: ctx.layout("Lịch sử gửi tin"),
        can_resend: matches!(
            m.status,
            OutboxStatus::PermanentFailure
                | OutboxStatus::TechnicalFailure
                | OutboxStatus::TemporaryFailure
        ),
        id: m.id,
        subject: m.subject,
        recipient: mask(&m.recipient),
        channel: channel.label_vi(),
        status: m.status.label_vi(),
        created: format_local(m.created_at),
        history,
    })?
    .into_response())
}

async fn resend(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let who = ctx.account()?.username.clone();
    if ctx.state.store.outbox_resend(&id, &who).await? {
        Ok(Redirect::to("/admin/delivery?msg=resent").into_response())
    } else {
        Err(WebError::NotFound)
    }
}
