//! How the API refuses: every refusal is an [`ApiError`], answered as JSON
//! (`{"error": {"code", "message", "parameter", "fields"}}`), including for malformed JSON,
//! paths and queries, which the [`extract`] wrappers turn into the same shape. Shared by the API
//! and the middleware in front of it.

use crate::http::search_params::ParamError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

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
    fields: Option<Vec<FieldProblem>>,
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
    Form(Vec<FieldProblem>),
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
                    JsonRejection::MissingJsonContentType(_) => {
                        crate::http::api_error::unsupported_media_type(
                            "unsupported_media_type",
                            "the body must be JSON (Content-Type: application/json)".into(),
                            None,
                        )
                    }
                    JsonRejection::JsonDataError(_) => {
                        crate::http::api_error::unprocessable("invalid_json", e.body_text(), None)
                    }
                    _ => crate::http::api_error::bad_request("invalid_json", e.body_text(), None),
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
                    crate::http::api_error::bad_request("invalid_path", e.body_text(), None)
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
                    crate::http::api_error::bad_request("invalid_parameter", e.body_text(), None)
                })
        }
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> ApiError {
        bad_request("invalid_parameter", e.message_en, Some(e.parameter))
    }
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Field key.
    pub(crate) field: String,
    /// Stable code (`required`, `invalid_phone`, …).
    pub(crate) code: &'static str,
    /// What is wrong (Vietnamese, as the portal shows it).
    pub(crate) message: String,
}
