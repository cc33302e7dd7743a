//! The citizen portal's public pages.

use crate::views::{AdminUnitsPage, AgenciesPage, HomePage, Layout, UnitView};
use crate::{AppState, WebError};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use motcua_core::{AdminUnitKind, AgencyKind};

const APP_CSS: &str = include_str!("../assets/app.css");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/agencies", get(agencies))
        .route("/admin-units", get(admin_units))
        .route("/static/app.css", get(css))
}

fn render(page: &impl Template) -> Result<Html<String>, WebError> {
    Ok(Html(page.render()?))
}

async fn home(State(state): State<AppState>) -> Result<Html<String>, WebError> {
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
        layout: Layout::new(
            &state.site,
            format!("Cổng Dịch vụ công tỉnh {}", state.site.province_name),
        ),
        communes: counts.communes,
        wards: counts.wards,
        agencies: counts.agencies,
    })
}

async fn agencies(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let all = state.store.agencies().await?;
    let (merged, current): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|a| a.successor_name.is_some());
    let (commune_level, provincial): (Vec<_>, Vec<_>) = current.into_iter().partition(|a| {
        a.kind == AgencyKind::CommuneCommittee
            || (a.kind == AgencyKind::OneStopDesk && a.admin_unit_name.starts_with(['X', 'P']))
    });
    render(&AgenciesPage {
        layout: Layout::new(&state.site, "Cơ quan, đơn vị"),
        provincial,
        commune_level,
        merged,
    })
}

async fn admin_units(State(state): State<AppState>) -> Result<Html<String>, WebError> {
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
        layout: Layout::new(&state.site, "Đơn vị hành chính"),
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

pub(crate) async fn not_found() -> WebError {
    WebError::NotFound
}
