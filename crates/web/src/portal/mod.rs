//! The citizen portal's public pages.

pub(crate) mod dossiers;
pub(crate) mod opt_out;
pub(crate) mod procedures;
pub(crate) mod statistics;
pub(crate) mod zalo_follow;

use crate::http::error::WebError;
use crate::http::routes::{get, RouteDef, PUBLIC};
use crate::http::views::{render, AdminUnitsPage, AgenciesPage, Ctx, HomePage, UnitView};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use motcua_core::{AdminUnitKind, AgencyKind};

const APP_CSS: &str = include_str!("../../assets/app.css");
const UPLOAD_JS: &str = include_str!("../../assets/upload.js");

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/", PUBLIC, home),
        get("/agencies", PUBLIC, agencies),
        get("/admin-units", PUBLIC, admin_units),
        get("/static/app.css", PUBLIC, css),
        get("/static/upload.js", PUBLIC, upload_js),
    ]
}

async fn home(ctx: Ctx) -> Result<Html<String>, WebError> {
    let state = &ctx.state;
    let counts = state.store.reference_counts().await?;
    let index = state.catalogue.get();
    let full_online = index
        .search(&motcua_core::catalogue::search::Query {
            mode: Some(motcua_core::catalogue::OnlineMode::Full),
            page: 1,
            per_page: 8,
            ..Default::default()
        })
        .hits
        .iter()
        .map(|h| {
            let p = &index.procedures[h.doc].procedure;
            (
                format!("/procedures/{}/{}", p.agency_code, p.code),
                p.name.clone(),
            )
        })
        .collect();
    render(&HomePage {
        procedures: index.procedures.len(),
        full_online,
        layout: ctx.layout(format!(
            "Cổng Dịch vụ công tỉnh {}",
            state.site.province_name
        )),
        communes: counts.communes,
        wards: counts.wards,
        agencies: counts.agencies,
    })
}

async fn agencies(ctx: Ctx) -> Result<Html<String>, WebError> {
    let state = &ctx.state;
    let all = state.store.agencies().await?;
    let (merged, current): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|a| a.successor_name.is_some());
    let (commune_level, provincial): (Vec<_>, Vec<_>) = current.into_iter().partition(|a| {
        a.kind == AgencyKind::CommuneCommittee
            || (a.kind == AgencyKind::OneStopDesk && a.admin_unit_name.starts_with(['X', 'P']))
    });
    render(&AgenciesPage {
        layout: ctx.layout("Cơ quan, đơn vị"),
        provincial,
        commune_level,
        merged,
    })
}

async fn admin_units(ctx: Ctx) -> Result<Html<String>, WebError> {
    let state = &ctx.state;
    let units = state.store.admin_units().await?;
    let view = |u: &motcua_core::AdminUnit| UnitView {
        code: u.code.clone(),
        name: u.name.clone(),
        valid_until: u
            .valid_until
            .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()))
            .unwrap_or_default(),
    };
    render(&AdminUnitsPage {
        layout: ctx.layout("Đơn vị hành chính"),
        current: units
            .iter()
            .filter(|u| {
                matches!(u.kind, AdminUnitKind::Commune | AdminUnitKind::Ward)
                    && u.valid_until.is_none()
            })
            .map(view)
            .collect(),
        former: units
            .iter()
            .filter(|u| u.kind == AdminUnitKind::District)
            .map(view)
            .collect(),
    })
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

async fn upload_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        UPLOAD_JS,
    )
}
