//! JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`, which is
//! generated from these handlers and types.

pub(crate) mod dossiers;

use crate::http::api_error::extract::{Path, Query};
use crate::http::api_error::{ApiError, ApiErrorBody, ErrorEnvelope};
use crate::http::routes::{get, RouteDef, PUBLIC};
use crate::http::search_params::{SearchParams, PER_PAGE};
use crate::http::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use motcua_core::accounts::Access;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/api/v1/procedures", PUBLIC, search_procedures),
        get("/api/v1/procedures/{agency}/{code}", PUBLIC, get_procedure),
        get("/api/v1/me", Access::SignedIn, me),
        get("/api/openapi.json", PUBLIC, openapi),
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "motcua API",
        version = "1",
        description = "Online public services of a Vietnamese province."
    ),
    paths(
        search_procedures,
        get_procedure,
        me,
        crate::api::dossiers::create_upload,
        crate::api::dossiers::upload_status,
        crate::api::dossiers::put_upload_chunk,
        crate::api::dossiers::create_dossier,
        crate::api::dossiers::list_dossiers,
        crate::api::dossiers::get_dossier,
        crate::api::dossiers::withdraw_dossier,
        crate::api::dossiers::attach_upload,
        crate::api::dossiers::submit_dossier,
        crate::api::dossiers::lookup
    ),
    components(schemas(
        SearchResponse,
        ProcedureSummary,
        TextSegment,
        ErrorEnvelope,
        ApiErrorBody,
        Me,
        crate::api::dossiers::NewUpload,
        crate::api::dossiers::UploadState,
        crate::api::dossiers::NewAttachment,
        crate::api::dossiers::NewDossier,
        crate::http::api_error::FieldProblem,
        crate::api::dossiers::DossierJson,
        crate::api::dossiers::EventJson,
        crate::api::dossiers::Withdrawal,
        crate::api::dossiers::AttachUpload,
        crate::api::dossiers::Attached
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A run of text, marked when it matched the query.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextSegment {
    text: String,
    marked: bool,
}

/// A procedure in a result list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureSummary {
    /// National code, e.g. 1.001193.
    code: String,
    /// Code of the deciding agency.
    agency_code: String,
    /// Name of the deciding agency.
    agency_name: String,
    /// Name.
    name: String,
    /// The name split into runs, the matched words marked.
    name_highlighted: Vec<TextSegment>,
    /// Field (lĩnh vực).
    field: String,
    /// Implementing levels: province, commune, other.
    levels: Vec<String>,
    /// full, partial, none; absent when not published.
    #[serde(skip_serializing_if = "Option::is_none")]
    online_mode: Option<String>,
    /// Current version.
    version: i64,
    /// The API address of the whole procedure.
    href: String,
}

/// One page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Matching procedures in all.
    total: usize,
    /// This page, from 1.
    page: usize,
    /// Results per page.
    per_page: usize,
    /// The results, best first.
    items: Vec<ProcedureSummary>,
}

/// Search the procedure catalogue.
///
/// The same engine serves the portal: diacritics and case are ignored (đ = d), i/y spellings are
/// equal, word order is free, the last word matches as a prefix and words of five or more letters
/// tolerate one typo.
#[utoipa::path(
    get,
    path = "/api/v1/procedures",
    params(SearchParams),
    responses(
        (status = 200, description = "One page of results", body = SearchResponse),
        (status = 400, description = "A parameter is not valid", body = ErrorEnvelope)
    ),
    tag = "catalogue"
)]
async fn search_procedures(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Query(params): Query<SearchParams>,
) -> Response {
    let request = match params.validate() {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let index = state.catalogue.get();
    let key = raw.unwrap_or_default();
    let json = [(header::CONTENT_TYPE, "application/json")];
    if let Some(body) = state.catalogue.answer(index.revision, &key) {
        return (json, body).into_response();
    }
    let results = index.search(&request.query());
    let items = results
        .hits
        .iter()
        .map(|h| {
            let s = &index.procedures[h.doc];
            let p = &s.procedure;
            ProcedureSummary {
                code: p.code.clone(),
                agency_code: p.agency_code.clone(),
                agency_name: index
                    .agency_names
                    .get(&p.agency_code)
                    .cloned()
                    .unwrap_or_default(),
                name: p.name.clone(),
                name_highlighted: index
                    .highlight_name(h.doc, &results)
                    .into_iter()
                    .map(|s| TextSegment {
                        text: s.text,
                        marked: s.marked,
                    })
                    .collect(),
                field: p.field.clone(),
                levels: p.levels.iter().map(|l| l.as_str().to_owned()).collect(),
                online_mode: p.online_mode.map(|m| m.as_str().to_owned()),
                version: s.version,
                href: format!("/api/v1/procedures/{}/{}", p.agency_code, p.code),
            }
        })
        .collect();
    let answer = SearchResponse {
        total: results.total,
        page: request.page,
        per_page: PER_PAGE,
        items,
    };
    match serde_json::to_vec(&answer) {
        Ok(body) => {
            let body = axum::body::Bytes::from(body);
            state
                .catalogue
                .keep_answer(index.revision, &key, body.clone());
            (json, body).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "search answer could not be written");
            ApiError::Internal.into_response()
        }
    }
}

/// Where a procedure is: its agency and its national code.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ProcedurePath {
    /// Agency code, e.g. `ubnd-xa`.
    #[param(pattern = r"^[a-z0-9-]{1,64}$")]
    agency: String,
    /// National procedure code, e.g. `1.001193`.
    #[param(pattern = r"^[0-9A-Za-z.]{1,32}$")]
    code: String,
}

/// One procedure, everything it publishes (current version).
#[utoipa::path(
    get,
    path = "/api/v1/procedures/{agency}/{code}",
    params(ProcedurePath),
    responses(
        (status = 200, description = "The procedure", body = serde_json::Value),
        (status = 400, description = "A NUL or control character in the path", body = ErrorEnvelope),
        (status = 404, description = "No such procedure at that agency", body = ErrorEnvelope)
    ),
    tag = "catalogue"
)]
async fn get_procedure(
    State(state): State<AppState>,
    Path(ProcedurePath { agency, code }): Path<ProcedurePath>,
) -> Response {
    let index = state.catalogue.get();
    match index.find(&agency, &code) {
        Some(s) => {
            let mut body = serde_json::to_value(&s.procedure).unwrap_or_default();
            if let Some(o) = body.as_object_mut() {
                o.insert("version".into(), s.version.into());
                o.insert(
                    "agency_name".into(),
                    index
                        .agency_names
                        .get(&agency)
                        .cloned()
                        .unwrap_or_default()
                        .into(),
                );
            }
            Json(body).into_response()
        }
        None => crate::http::api_error::missing(
            "not_found",
            format!("no procedure {code} at agency {agency}"),
            None,
        )
        .into_response(),
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The account behind a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Login name.
    username: String,
    /// Name shown on pages.
    display_name: String,
    /// Roles as `role` or `role@agency`.
    roles: Vec<String>,
    /// The token's scopes.
    scopes: Vec<String>,
}

/// The account an API token belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    responses(
        (status = 200, description = "The token's account", body = Me),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorEnvelope)
    ),
    security(("bearer" = [])),
    tag = "accounts"
)]
async fn me(Extension(user): Extension<crate::http::auth::CurrentUser>) -> Json<Me> {
    let a = &user.account;
    Json(Me {
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        roles: a
            .roles
            .iter()
            .map(|(r, ag)| {
                ag.as_ref()
                    .map_or_else(|| r.as_str().to_owned(), |g| format!("{}@{g}", r.as_str()))
            })
            .collect(),
        scopes: user.scopes.clone(),
    })
}
