//! JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`, which is
//! generated from these handlers and types.

use crate::routes::{get, RouteDef, PUBLIC};
use crate::search_params::{ParamError, SearchParams, PER_PAGE};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use extract::{Path, Query};
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
        crate::api_dossiers::create_upload,
        crate::api_dossiers::upload_status,
        crate::api_dossiers::put_upload_chunk,
        crate::api_dossiers::create_dossier,
        crate::api_dossiers::list_dossiers,
        crate::api_dossiers::get_dossier,
        crate::api_dossiers::withdraw_dossier,
        crate::api_dossiers::attach_upload,
        crate::api_dossiers::submit_dossier,
        crate::api_dossiers::lookup
    ),
    components(schemas(
        SearchResponse,
        ProcedureSummary,
        TextSegment,
        ErrorEnvelope,
        ApiErrorBody,
        Me,
        crate::api_dossiers::NewUpload,
        crate::api_dossiers::UploadState,
        crate::api_dossiers::NewAttachment,
        crate::api_dossiers::NewDossier,
        crate::api_dossiers::FieldProblem,
        crate::api_dossiers::DossierJson,
        crate::api_dossiers::EventJson,
        crate::api_dossiers::Withdrawal,
        crate::api_dossiers::AttachUpload,
        crate::api_dossiers::Attached
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The body of every refusal of the API: a stable machine code and an English message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ApiError)]
pub struct ErrorEnvelope {
    error: ApiErrorBody,
}

/// The body of an [`ErrorEnvelope`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// Stable code, e.g. `invalid_parameter`, `not_found`, `invalid_form`.
    code: &'static str,
    /// What is wrong, in English.
    message: String,
    /// The offending parameter, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
    /// For `invalid_form`: every problem of the form at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<crate::api_dossiers::FieldProblem>>,
}

/// A stable code, what is wrong in English, and the parameter at fault if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The parameter at fault.
    pub parameter: Option<String>,
}

/// Why the API refused a request. Each variant is one kind of answer, with its HTTP status; the
/// body is always an [`ErrorEnvelope`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// Malformed: bad JSON, parameter, header or path, or a NUL or control character (400).
    #[error("{}", .0.message)]
    BadRequest(Problem),
    /// No valid bearer token (401).
    #[error("{}", .0.message)]
    Unauthenticated(Problem),
    /// The token's account may not do this (403).
    #[error("{}", .0.message)]
    Forbidden(Problem),
    /// Nothing at this address for this account (404).
    #[error("{}", .0.message)]
    NotFound(Problem),
    /// The object's state does not allow it, or changed meanwhile (409).
    #[error("{}", .0.message)]
    Conflict(Problem),
    /// Too large (413).
    #[error("{}", .0.message)]
    TooLarge(Problem),
    /// A body in a type this operation does not take (415).
    #[error("{}", .0.message)]
    UnsupportedMediaType(Problem),
    /// Well-formed but refused for what it says (422).
    #[error("{}", .0.message)]
    Unprocessable(Problem),
    /// A file refused by the upload rules (413 or 422).
    #[error(transparent)]
    File(#[from] motcua_core::dossier::FileError),
    /// A form with problems, every one listed (422).
    #[error("{} problem(s) in the dossier; nothing was submitted", .0.len())]
    Form(Vec<crate::api_dossiers::FieldProblem>),
    /// Too many attempts (429).
    #[error("{}", .0.message)]
    TooManyRequests(Problem),
    /// Our failure, logged where it happened; the caller is told to try again (500).
    #[error("the request could not be completed; try again later")]
    Internal,
}

impl ApiError {
    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        use motcua_core::dossier::FileError;
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_)
            | ApiError::File(FileError::TooLarge { .. } | FileError::DossierFull { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) | ApiError::File(_) | ApiError::Form(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's fields.
    fn body(self) -> ApiErrorBody {
        let message = self.to_string();
        let (code, parameter, fields) = match self {
            ApiError::BadRequest(p)
            | ApiError::Unauthenticated(p)
            | ApiError::Forbidden(p)
            | ApiError::NotFound(p)
            | ApiError::Conflict(p)
            | ApiError::TooLarge(p)
            | ApiError::UnsupportedMediaType(p)
            | ApiError::Unprocessable(p)
            | ApiError::TooManyRequests(p) => (p.code, p.parameter, None),
            ApiError::File(e) => (e.code(), Some("file".to_owned()), None),
            ApiError::Form(fields) => ("invalid_form", None, Some(fields)),
            ApiError::Internal => ("internal", None, None),
        };
        ApiErrorBody {
            code,
            message,
            parameter,
            fields,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        (status, Json(ErrorEnvelope { error: self.body() })).into_response()
    }
}

macro_rules! refusals {
    ($($(#[$doc:meta])* $name:ident => $variant:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub(crate) fn $name(code: &'static str, message: String, parameter: Option<&str>) -> ApiError {
                ApiError::$variant(problem(code, message, parameter))
            }
        )*
    };
}

refusals! {
    /// 400: malformed.
    bad_request => BadRequest,
    /// 401: no valid token.
    unauthenticated => Unauthenticated,
    /// 403: not allowed for this account.
    forbidden => Forbidden,
    /// 404: nothing here for this account.
    missing => NotFound,
    /// 409: the object's state does not allow it.
    conflict => Conflict,
    /// 413: too large.
    too_large => TooLarge,
    /// 415: a body type this operation does not take.
    unsupported_media_type => UnsupportedMediaType,
    /// 422: refused for what it says.
    unprocessable => Unprocessable,
    /// 429: too many attempts.
    too_many => TooManyRequests,
}

/// A problem to refuse with: `code`, `message`, and the parameter at fault.
pub(crate) fn problem(code: &'static str, message: String, parameter: Option<&str>) -> Problem {
    Problem {
        code,
        message,
        parameter: parameter.map(str::to_owned),
    }
}

/// JSON body, path and query extractors of the API whose refusals are [`ApiError`]s like every
/// other answer of the API (axum's own answer in plain text).
pub(crate) mod extract {
    use super::ApiError;
    use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
    use axum::extract::{FromRequest, FromRequestParts, Request};
    use axum::http::request::Parts;
    use serde::de::DeserializeOwned;

    /// A JSON body.
    pub(crate) struct Json<T>(pub T);

    impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
        type Rejection = ApiError;

        async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
            match axum::Json::<T>::from_request(req, state).await {
                Ok(axum::Json(v)) => Ok(Json(v)),
                Err(e) => Err(match &e {
                    JsonRejection::MissingJsonContentType(_) => crate::api::unsupported_media_type(
                        "unsupported_media_type",
                        "the body must be JSON (Content-Type: application/json)".into(),
                        None,
                    ),
                    JsonRejection::JsonDataError(_) => {
                        crate::api::unprocessable("invalid_json", e.body_text(), None)
                    }
                    _ => crate::api::bad_request("invalid_json", e.body_text(), None),
                }),
            }
        }
    }

    /// Path parameters.
    pub(crate) struct Path<T>(pub T);

    impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
        type Rejection = ApiError;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
            axum::extract::Path::<T>::from_request_parts(parts, state)
                .await
                .map(|axum::extract::Path(v)| Path(v))
                .map_err(|e: PathRejection| {
                    crate::api::bad_request("invalid_path", e.body_text(), None)
                })
        }
    }

    /// Query parameters.
    pub(crate) struct Query<T>(pub T);

    impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
        type Rejection = ApiError;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map(|axum::extract::Query(v)| Query(v))
                .map_err(|e: QueryRejection| {
                    crate::api::bad_request("invalid_parameter", e.body_text(), None)
                })
        }
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> ApiError {
        bad_request("invalid_parameter", e.message_en, Some(e.parameter))
    }
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
        None => crate::api::missing(
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
async fn me(Extension(user): Extension<crate::auth::CurrentUser>) -> Json<Me> {
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
