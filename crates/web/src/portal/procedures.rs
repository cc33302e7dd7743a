//! Portal pages of the catalogue: search and browse, and one page per procedure.

use crate::http::error::WebError;
use crate::http::routes::{get, RouteDef, PUBLIC};
use crate::http::search_params::{SearchParams, PER_PAGE};
use crate::http::views::{Ctx, FacetOption, HitView, ProcedurePage, ProceduresPage};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use motcua_core::catalogue::{Level, OnlineMode};

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/procedures", PUBLIC, search),
        get("/procedures/{agency}/{code}", PUBLIC, procedure),
    ]
}

fn options(values: Vec<(String, String)>, selected: Option<&str>) -> Vec<FacetOption> {
    values
        .into_iter()
        .map(|(value, label)| FacetOption {
            selected: selected == Some(value.as_str()),
            value,
            label,
        })
        .collect()
}

async fn search(ctx: Ctx, Query(params): Query<SearchParams>) -> Result<Response, WebError> {
    let state = &ctx.state;
    let (request, error) = match params.validate() {
        Ok(r) => (r, None),
        Err(e) => (
            SearchParams::default()
                .validate()
                .unwrap_or_else(|_| unreachable!()),
            Some(e.message_vi),
        ),
    };
    let index = state.catalogue.get();
    let results = index.search(&request.query());
    let hits = results
        .hits
        .iter()
        .map(|h| {
            let s = &index.procedures[h.doc];
            let p = &s.procedure;
            HitView {
                url: format!("/procedures/{}/{}", p.agency_code, p.code),
                name: index.highlight_name(h.doc, &results),
                code: p.code.clone(),
                field: p.field.clone(),
                agency: index
                    .agency_names
                    .get(&p.agency_code)
                    .cloned()
                    .unwrap_or_default(),
                mode: p.online_mode.map(|m| m.label_vi()),
                full_online: p.online_mode == Some(OnlineMode::Full),
            }
        })
        .collect();
    let pages = results.total.div_ceil(PER_PAGE).max(1);
    let link = |page: usize| format!("/procedures?{}", request.query_string(page));
    let page = ProceduresPage {
        layout: ctx.layout(if request.q.is_empty() {
            "Thủ tục hành chính".to_owned()
        } else {
            format!("Tìm kiếm: {}", request.q)
        }),
        error,
        total: results.total,
        hits,
        fields: options(
            index
                .fields()
                .into_iter()
                .map(|(f, n)| (f.clone(), format!("{f} ({n})")))
                .collect(),
            request.field.as_deref(),
        ),
        agencies: options(index.agencies(), request.agency.as_deref()),
        levels: options(
            Level::ALL
                .iter()
                .map(|l| (l.as_str().to_owned(), l.label_vi().to_owned()))
                .collect(),
            request.level.map(Level::as_str),
        ),
        modes: options(
            OnlineMode::ALL
                .iter()
                .map(|m| (m.as_str().to_owned(), m.label_vi().to_owned()))
                .collect(),
            request.mode.map(OnlineMode::as_str),
        ),
        prev: (request.page > 1).then(|| link(request.page - 1)),
        next: (request.page < pages).then(|| link(request.page + 1)),
        page: request.page,
        pages,
        request: request.clone(),
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Reads a path's procedure or answers 404.
fn find(
    state: &crate::http::state::AppState,
    agency: &str,
    code: &str,
) -> Result<motcua_store::catalogue::StoredProcedure, WebError> {
    state
        .catalogue
        .get()
        .find(agency, code)
        .cloned()
        .ok_or(WebError::NotFound)
}

async fn procedure(
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let state = &ctx.state;
    let stored = find(state, &agency, &code)?;
    let index = state.catalogue.get();
    let agency_name = index.agency_names.get(&agency).cloned().unwrap_or_default();
    let page = ProcedurePage::new(
        ctx.layout(stored.procedure.name.clone()),
        stored,
        agency_name,
    );
    Ok(Html(page.render()?))
}
