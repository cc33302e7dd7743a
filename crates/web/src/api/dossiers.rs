//! The dossier API: other portals file and follow dossiers on a citizen's behalf with the
//! citizen's API token. Files travel as resumable uploads (announce, then send chunks at the
//! offset the server reports), then are attached by upload id when the dossier is created.

use crate::http::api_error::ApiError;
use crate::http::auth::{ClientIp, CurrentUser};

use crate::dossier::cases::{public_lookup, submit_online, LookupRefusal, SubmitRefusal};
use crate::dossier::form::{all_fields, communes};
use crate::http::api_error::extract::{Json as ApiJson, Path, Query};
use crate::http::api_error::FieldProblem;
use crate::http::routes::{get, needs, post, put_chunk, upload, RouteDef, PUBLIC};
use crate::http::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use motcua_core::accounts::Permission;
use motcua_core::dossier::{validate_form, Command, EventKind, FieldError, FileError, Held};
use motcua_store::dossiers::{Act, ActError, Dossier, DossierEvent, NewFile};
use motcua_store::uploads::{ChunkError, Upload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub(crate) fn routes() -> Vec<RouteDef> {
    let submit = needs(Permission::SubmitDossiers);
    vec![
        upload("/api/v1/uploads", submit, create_upload),
        get("/api/v1/uploads/{id}", submit, upload_status),
        put_chunk("/api/v1/uploads/{id}", submit, put_upload_chunk),
        upload("/api/v1/dossiers", submit, create_dossier),
        get("/api/v1/dossiers", submit, list_dossiers),
        get("/api/v1/dossiers/{id}", submit, get_dossier),
        post("/api/v1/dossiers/{id}/withdraw", submit, withdraw_dossier),
        post("/api/v1/dossiers/{id}/attachments", submit, attach_upload),
        post("/api/v1/dossiers/{id}/submit", submit, submit_dossier),
        get("/api/v1/lookup", PUBLIC, lookup),
        // The same resumable uploads for the portal's own form (session and CSRF header).
        upload("/uploads", submit, create_upload),
        get("/uploads/{id}", submit, upload_status),
        put_chunk("/uploads/{id}", submit, put_upload_chunk),
        post("/dossiers/{id}/attach-upload", submit, attach_upload),
    ]
}

type ApiResult = Result<Response, ApiError>;

fn store_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "API request failed");
    ApiError::Internal
}

fn file_error(e: &FileError) -> ApiError {
    ApiError::File(e.clone())
}

/// An announced upload.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUpload {
    /// File name (shown to officials).
    file_name: String,
    /// Exact size in bytes.
    size: i64,
}

/// Where an upload stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadState {
    /// Id to send chunks to and to attach.
    id: String,
    /// Announced size.
    size: i64,
    /// Bytes received: the offset of the next chunk.
    received: i64,
    /// All bytes arrived and the file passed its checks.
    complete: bool,
    /// Type recognised from the content, once complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
}

impl From<Upload> for UploadState {
    fn from(u: Upload) -> Self {
        UploadState {
            complete: u.sha256.is_some(),
            id: u.id,
            size: u.size,
            received: u.received,
            media_type: u.media_type,
        }
    }
}

/// Where a whole file sent in one request may say its name.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// File name, for a file sent whole as `application/octet-stream`.
    file_name: Option<String>,
}

/// Announces an upload (JSON `{file_name, size}`), to be sent in chunks; or, with an
/// `application/octet-stream` body and `?file_name=`, takes a small file whole in one request.
/// Empty, oversized or wrongly typed files are refused before anything is kept.
#[utoipa::path(post, path = "/api/v1/uploads", request_body(content = NewUpload, description = "JSON to announce a chunked upload, or the raw file as application/octet-stream"),
    params(UploadQuery),
    responses((status = 201, description = "Announced, or received whole", body = UploadState), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 413, description = "Too large", body = crate::http::api_error::ErrorEnvelope), (status = 415, description = "Unsupported media type", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn create_upload(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult {
    let limits = state.site.dossiers.limits;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let cap = usize::try_from(limits.per_file)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    if content_type.starts_with("application/octet-stream") {
        let name = query
            .file_name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty()
            || name.chars().count() > 200
            || !motcua_core::text::is_single_line(&name)
        {
            return Err(crate::http::api_error::unprocessable(
                "invalid_file_name",
                "file_name (query) must have 1 to 200 characters and no control character".into(),
                Some("file_name"),
            ));
        }
        let bytes = axum::body::to_bytes(body, cap).await.map_err(|_| {
            file_error(&FileError::TooLarge {
                name: name.clone(),
                limit: limits.per_file,
            })
        })?;
        let (whole, owned) = (bytes.clone(), name.clone());
        let kind = tokio::task::spawn_blocking(move || {
            limits.check_whole(&owned, &whole, Held::default())
        })
        .await
        .map_err(store_failed)?
        .map_err(|e| file_error(&e))?;
        let staged = stage_bytes(&state, bytes).await.map_err(store_failed)?;
        let up = state
            .store
            .create_complete_upload(&user.account.id, &name, &staged, kind)
            .await
            .map_err(store_failed)?;
        return Ok((StatusCode::CREATED, Json(UploadState::from(up))).into_response());
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        crate::http::api_error::too_large(
            "body_too_large",
            "an upload announcement is a small JSON object".into(),
            None,
        )
    })?;
    let body: NewUpload = serde_json::from_slice(&bytes).map_err(|e| {
        crate::http::api_error::unprocessable(
            "invalid_json",
            format!("expected {{\"file_name\", \"size\"}}: {e}"),
            None,
        )
    })?;
    let name = body.file_name.trim();
    if name.is_empty() || name.chars().count() > 200 || !motcua_core::text::is_single_line(name) {
        return Err(crate::http::api_error::unprocessable(
            "invalid_file_name",
            "file_name must have 1 to 200 characters and no control character".into(),
            Some("file_name"),
        ));
    }
    if body.size <= 0 {
        return Err(file_error(&FileError::Empty(name.to_owned())));
    }
    if u64::try_from(body.size).unwrap_or(u64::MAX) > limits.per_file {
        return Err(file_error(&FileError::TooLarge {
            name: name.to_owned(),
            limit: limits.per_file,
        }));
    }
    let up = state
        .store
        .create_upload(&user.account.id, name, body.size)
        .await
        .map_err(store_failed)?;
    Ok((StatusCode::CREATED, Json(UploadState::from(up))).into_response())
}

/// Where an upload stands: after a broken connection, continue from `received`.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created")),
    responses((status = 200, description = "Where the upload stands", body = UploadState), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn upload_status(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> ApiResult {
    let up = state
        .store
        .upload(&id, &user.account.id)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    Ok(Json(UploadState::from(up)).into_response())
}

/// Writes a whole file to staging and syncs it.
async fn stage_bytes(
    state: &AppState,
    bytes: Bytes,
) -> Result<motcua_store::blobs::Staged, motcua_store::StoreError> {
    let dir = state.store.blobs().staging_dir().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut s = motcua_store::blobs::Staging::new(&dir)?;
        s.write(&bytes)?;
        s.finish()
    })
    .await
    .map_err(|e| motcua_store::StoreError::Internal(e.to_string()))?
}

/// The hash and type of an upload whose every byte arrived and passed the checks.
fn finished(
    up: &Upload,
    parameter: &'static str,
) -> Result<(String, motcua_core::dossier::FileKind), ApiError> {
    match (
        up.sha256.clone(),
        up.media_type
            .as_deref()
            .and_then(motcua_core::dossier::FileKind::from_media_type),
    ) {
        (Some(sha), Some(kind)) => Ok((sha, kind)),
        _ => Err(crate::http::api_error::unprocessable(
            "upload_incomplete",
            format!("upload {} has {} of {} bytes", up.id, up.received, up.size),
            Some(parameter),
        )),
    }
}

/// Like [`finished`], and the stored bytes still match the recorded digest and size: a filing
/// never takes a file that changed after it was checked.
async fn verified(
    state: &AppState,
    up: &Upload,
    parameter: &'static str,
) -> Result<(String, motcua_core::dossier::FileKind), ApiError> {
    let (sha, kind) = finished(up, parameter)?;
    if !state
        .store
        .blob_matches(&sha, up.size)
        .await
        .map_err(store_failed)?
    {
        tracing::error!(upload = %up.id, "stored upload does not match its recorded digest");
        return Err(crate::http::api_error::conflict("upload_damaged",
            format!(
                "the stored bytes of upload {} do not match its recorded SHA-256 and size; send the file again as a new upload",
                up.id
            ),
            Some(parameter),
        ));
    }
    Ok((sha, kind))
}

fn not_found() -> ApiError {
    crate::http::api_error::missing("not_found", "no such object for this account".into(), None)
}

/// Sends a chunk at `Upload-Offset`. The last chunk completes the upload: the content is then
/// checked (PDF, JPEG or PNG) and a refused file is discarded.
#[utoipa::path(put, path = "/api/v1/uploads/{id}",
    params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created"), ("Upload-Offset" = i64, Header, description = "Offset of this chunk: the `received` the server reported")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Chunk taken", body = UploadState), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 409, description = "Conflict with the object's current state", body = crate::http::api_error::ErrorEnvelope), (status = 413, description = "Too large", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn put_upload_chunk(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let offset = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            crate::http::api_error::bad_request(
                "missing_offset",
                "the Upload-Offset header is required".into(),
                Some("Upload-Offset"),
            )
        })?;
    // One request at a time for this upload, from the write of the chunk to the commit (or the
    // refusal) of the whole file: a retried last chunk finds the upload complete, never half.
    let _one_at_a_time = state.store.lock_upload(&id).await;
    let (up, last) = match state
        .store
        .append_upload(&id, &user.account.id, offset, body.to_vec())
        .await
    {
        Ok(appended) => appended,
        Err(ChunkError::NotFound) => return Err(not_found()),
        Err(e @ ChunkError::Offset { .. }) => {
            return Err(crate::http::api_error::conflict(
                "offset_mismatch",
                e.to_string(),
                Some("Upload-Offset"),
            ))
        }
        Err(e @ ChunkError::PastEnd(_)) => {
            return Err(crate::http::api_error::unprocessable(
                "past_end",
                e.to_string(),
                None,
            ))
        }
        Err(ChunkError::Store(e)) => return Err(store_failed(e)),
    };
    if !up.is_complete() {
        return Ok(Json(UploadState::from(up)).into_response());
    }
    let staged = state
        .store
        .stage_upload(&id, up.size, last)
        .await
        .map_err(store_failed)?;
    match crate::dossier::files::check_content(&state, &up.file_name, &staged, Held::default())
        .await
    {
        Ok(kind) => {
            state
                .store
                .finish_upload(&id, offset, &staged, kind)
                .await
                .map_err(store_failed)?;
            let done = state
                .store
                .upload(&id, &user.account.id)
                .await
                .map_err(store_failed)?
                .ok_or_else(not_found)?;
            Ok(Json(UploadState::from(done)).into_response())
        }
        Err(e) => {
            state.store.drop_upload(&id).await.map_err(store_failed)?;
            Err(file_error(&e))
        }
    }
}

/// A finished upload to attach to a draft or to a dossier awaiting supplements.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachUpload {
    /// A complete upload of the caller.
    upload_id: String,
    /// The portal form's file input (`doc_0`, `doc_other`, …).
    #[serde(default)]
    field: String,
    /// Or the required document's name as the procedure lists it.
    #[serde(default)]
    document: String,
}

/// Attaches a finished upload to the caller's draft or to a dossier awaiting supplements (the
/// files of the supplement round).
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/attachments", params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created")), request_body = AttachUpload,
    responses((status = 200, description = "Attached", body = Attached), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 409, description = "Conflict with the object's current state", body = crate::http::api_error::ErrorEnvelope), (status = 413, description = "Too large", body = crate::http::api_error::ErrorEnvelope), (status = 415, description = "Unsupported media type", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn attach_upload(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AttachUpload>,
) -> ApiResult {
    let d = owned(&state, &user, &id).await?;
    if !matches!(
        d.status,
        motcua_core::dossier::Status::Draft | motcua_core::dossier::Status::SupplementRequested
    ) {
        return Err(crate::http::api_error::conflict(
            "invalid_state",
            "files can only be added to a draft or a dossier awaiting supplements".into(),
            None,
        ));
    }
    let up = state
        .store
        .upload(&body.upload_id, &user.account.id)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    let (sha, kind) = verified(&state, &up, "upload_id").await?;
    let limits = state.site.dossiers.limits;
    let held = state.store.dossier_held(&id).await.map_err(store_failed)?;
    let size = u64::try_from(up.size).unwrap_or(0);
    limits.check_room(held, size).map_err(|e| file_error(&e))?;
    let procedure = state
        .store
        .procedure_version(&d.procedure_id, d.procedure_version)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    let document = body
        .field
        .strip_prefix("doc_")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| procedure.required_documents.get(i))
        .or_else(|| {
            procedure
                .required_documents
                .iter()
                .find(|r| r.name == body.document)
        })
        .map_or("Giấy tờ khác", |r| r.name.as_str());
    state
        .store
        .attach_blob(&id, document, &up.file_name, &sha, size, kind)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    Ok(Json(Attached { attached: true }).into_response())
}

/// A file to attach.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAttachment {
    /// A complete upload of the caller.
    upload_id: String,
    /// Which required document it is (its name as the procedure lists it); other names are
    /// filed as "Giấy tờ khác".
    #[serde(default)]
    document: String,
}

/// A dossier to file.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDossier {
    /// Agency code of the procedure.
    agency: String,
    /// National code of the procedure.
    procedure_code: String,
    /// Form values: the applicant block (`applicant_name`, `applicant_id`, `applicant_phone`,
    /// `applicant_email`, `applicant_address`, `applicant_commune`) and the procedure's fields.
    form: BTreeMap<String, String>,
    /// Files.
    #[serde(default)]
    attachments: Vec<NewAttachment>,
    /// Submit at once (default) or keep as a draft the citizen finishes on the portal.
    #[serde(default = "yes")]
    submit: bool,
}

fn yes() -> bool {
    true
}

/// An upload attached.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attached {
    /// Always true.
    attached: bool,
}

fn form_errors(errors: Vec<FieldError>, other: Vec<String>) -> ApiError {
    let mut fields: Vec<FieldProblem> = errors
        .into_iter()
        .map(|e| FieldProblem {
            field: e.key,
            code: e.code,
            message: e.message_vi,
        })
        .collect();
    fields.extend(other.into_iter().map(|m| FieldProblem {
        field: "attachments".into(),
        code: "missing_attachments",
        message: m,
    }));
    ApiError::Form(fields)
}

/// A dossier as the API shows it to its applicant.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierJson {
    /// Id.
    id: String,
    /// Code, once submitted.
    code: Option<String>,
    /// Procedure.
    procedure_code: String,
    /// Procedure name.
    procedure_name: String,
    /// Competent agency.
    agency: String,
    /// Status identifier.
    status: &'static str,
    /// Status as citizens read it.
    status_label: &'static str,
    /// National status code (DVCQG), where one matches.
    national_status: Option<u8>,
    /// Due moment (RFC 3339), once received.
    due_at: Option<String>,
    /// What the applicant must add, when supplements are requested.
    supplement_items: Vec<String>,
    /// Timeline.
    events: Vec<EventJson>,
}

/// One step of a timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventJson {
    /// What happened.
    kind: String,
    /// When (RFC 3339).
    at: String,
    /// Status after it.
    status: String,
    /// Reason or note (omitted in the public lookup).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn dossier_json(d: &Dossier, events: &[DossierEvent], private: bool) -> DossierJson {
    DossierJson {
        id: if private { d.id.clone() } else { String::new() },
        code: d.code.clone(),
        procedure_code: d.procedure_code.clone(),
        procedure_name: d.procedure_name.clone(),
        agency: d.agency_code.clone(),
        status: d.status.as_str(),
        status_label: d.status.label_vi(),
        national_status: d.status.national_code(),
        due_at: d.due_at.map(rfc3339),
        supplement_items: d.supplement_items.clone(),
        events: events
            .iter()
            .filter(|e| private || e.kind != EventKind::Create)
            .map(|e| EventJson {
                kind: e.kind.as_str().to_owned(),
                at: rfc3339(e.at),
                status: e.status.as_str().to_owned(),
                note: private.then(|| e.text_vi()),
            })
            .collect(),
    }
}

/// The required document a file is for: its listed name, or "Giấy tờ khác".
fn document_name<'a>(p: &'a motcua_core::catalogue::Procedure, document: &str) -> &'a str {
    p.required_documents
        .iter()
        .find(|r| r.name == document)
        .map_or("Giấy tờ khác", |r| r.name.as_str())
}

/// A file on its way into a dossier: a finished upload, or a part of the same request.
struct Incoming {
    document: String,
    file_name: String,
    sha256: String,
    size: u64,
    kind: motcua_core::dossier::FileKind,
    /// The content, when the filing itself stores it.
    in_memory: Option<std::sync::Arc<motcua_store::blobs::InMemory>>,
}

/// Reads the request: JSON, or `multipart/form-data` with the JSON in a part named `dossier` and
/// the files in parts named by their required document (or anything else for "Giấy tờ khác").
/// Inline files are checked by content; a draft's are stored at once, a filing's by the filing.
async fn read_new_dossier(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<(NewDossier, Vec<Incoming>), ApiError> {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .map_err(|_| {
                crate::http::api_error::too_large(
                    "body_too_large",
                    "a dossier's JSON is at most 1 MiB; send files as uploads or multipart parts"
                        .into(),
                    None,
                )
            })?;
        let body: NewDossier = serde_json::from_slice(&bytes).map_err(|e| {
            crate::http::api_error::unprocessable(
                "invalid_json",
                format!("the dossier is not valid JSON: {e}"),
                None,
            )
        })?;
        return Ok((body, Vec::new()));
    }
    let parts = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| {
            crate::http::api_error::bad_request("invalid_multipart", e.body_text(), None)
        })?;
    let form = crate::dossier::files::read_form(state, parts).await;
    if let Some(found) = form.refuse_control() {
        return Err(crate::http::boundary::api_refusal(&found));
    }
    let discard = |files: &[crate::dossier::files::Received]| {
        for f in files {
            if let Ok(s) = &f.staged {
                s.discard();
            }
        }
    };
    if form.too_large {
        discard(&form.files);
        return Err(file_error(&FileError::DossierFull {
            limit: state.site.dossiers.limits.per_dossier,
        }));
    }
    if form.broken {
        discard(&form.files);
        return Err(crate::http::api_error::bad_request(
            "broken_body",
            "the multipart body broke off; nothing was stored".into(),
            None,
        ));
    }
    let Some(json) = form.fields.get("dossier") else {
        discard(&form.files);
        return Err(crate::http::api_error::unprocessable(
            "missing_dossier",
            "the multipart body needs a part named 'dossier' with the JSON".into(),
            Some("dossier"),
        ));
    };
    let body: NewDossier = match serde_json::from_str(json) {
        Ok(b) => b,
        Err(e) => {
            discard(&form.files);
            return Err(crate::http::api_error::unprocessable(
                "invalid_json",
                format!("the 'dossier' part is not valid JSON: {e}"),
                Some("dossier"),
            ));
        }
    };
    let mut checked = Vec::new();
    let mut total = 0u64;
    let mut refusal = None;
    for f in form.files {
        let staged = match f.staged {
            Ok(s) => s,
            Err(e) => {
                refusal.get_or_insert(file_error(&e));
                continue;
            }
        };
        if refusal.is_some() {
            staged.discard();
            continue;
        }
        let held = Held {
            bytes: total,
            files: checked.len(),
        };
        match crate::dossier::files::check_content(state, &f.name, &staged, held).await {
            Ok(kind) => {
                total += staged.size;
                checked.push((f.field, f.name, staged, kind));
            }
            Err(e) => {
                staged.discard();
                refusal = Some(file_error(&e));
            }
        }
    }
    if let Some(r) = refusal {
        for (_, _, s, _) in &checked {
            s.discard();
        }
        return Err(r);
    }
    let mut incoming = Vec::new();
    for (field, name, staged, kind) in checked {
        // Files held in memory are stored by the filing itself (in a pack, with its batch); a
        // draft's are stored now.
        let in_memory = staged.in_memory().filter(|_| body.submit);
        if in_memory.is_none() {
            state
                .store
                .commit_blob(&staged)
                .await
                .map_err(store_failed)?;
        }
        incoming.push(Incoming {
            document: field,
            file_name: name,
            sha256: staged.sha256.clone(),
            size: staged.size,
            kind,
            in_memory,
        });
    }
    Ok((body, incoming))
}

/// Files a dossier: validates the form, attaches complete uploads (or the files sent in the same
/// multipart request), and submits (unless `submit` is false). Nothing is submitted unless
/// everything is valid.
#[utoipa::path(post, path = "/api/v1/dossiers", request_body(content = NewDossier, description = "JSON; or multipart/form-data with the JSON in a part named `dossier` and files in parts named by their required document"),
    responses((status = 201, description = "Filed, or saved as a draft", body = DossierJson), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 409, description = "Conflict with the object's current state", body = crate::http::api_error::ErrorEnvelope), (status = 413, description = "Too large", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn create_dossier(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    request: axum::extract::Request,
) -> ApiResult {
    let (body, inline) = read_new_dossier(&state, request).await?;
    // The catalogue snapshot has it unless it was added in the last seconds.
    let cached = state
        .catalogue
        .get()
        .find(&body.agency, &body.procedure_code)
        .cloned();
    let stored = match cached {
        Some(p) => Some(p),
        None => state
            .store
            .procedure(&body.procedure_code, &body.agency)
            .await
            .map_err(store_failed)?,
    }
    .ok_or_else(|| {
        crate::http::api_error::missing(
            "unknown_procedure",
            format!(
                "no procedure {} at agency {}",
                body.procedure_code, body.agency
            ),
            Some("procedure_code"),
        )
    })?;
    if !stored.procedure.online_mode.is_some_and(|m| m.is_online()) {
        return Err(crate::http::api_error::unprocessable(
            "not_online",
            "this procedure is not offered online".into(),
            Some("procedure_code"),
        ));
    }
    let fields = all_fields(&stored.procedure);
    // The commune list is read only when a commune was given.
    let needs_units = fields.iter().any(|f| {
        f.kind == motcua_core::catalogue::FieldKind::AdminUnit
            && body.form.get(&f.key).is_some_and(|v| !v.trim().is_empty())
    });
    let communes = if needs_units {
        communes(&state).await.map_err(store_failed)?
    } else {
        Vec::new()
    };
    let known = |c: &str| communes.iter().any(|(x, _)| x == c);
    let form = match validate_form(&fields, &body.form, body.submit, &known) {
        Ok(f) => f,
        Err(e) => return Err(form_errors(e, Vec::new())),
    };
    // Every upload must be the caller's and complete before anything is written.
    let mut uploads = inline;
    let mut total: u64 = uploads.iter().map(|f| f.size).sum();
    for a in &body.attachments {
        let up = state
            .store
            .upload(&a.upload_id, &user.account.id)
            .await
            .map_err(store_failed)?
            .ok_or_else(|| {
                crate::http::api_error::unprocessable(
                    "unknown_upload",
                    format!("upload {} does not exist", a.upload_id),
                    Some("attachments"),
                )
            })?;
        let (sha, kind) = verified(&state, &up, "attachments").await?;
        total += u64::try_from(up.size).unwrap_or(0);
        uploads.push(Incoming {
            document: a.document.clone(),
            file_name: up.file_name,
            sha256: sha,
            size: u64::try_from(up.size).unwrap_or(0),
            kind,
            in_memory: None,
        });
    }
    let limits = state.site.dossiers.limits;
    if uploads.len() > limits.files {
        return Err(file_error(&FileError::TooManyFiles {
            limit: limits.files,
        }));
    }
    if total > limits.per_dossier {
        return Err(file_error(&FileError::DossierFull {
            limit: limits.per_dossier,
        }));
    }
    if body.submit {
        if !stored.procedure.required_documents.is_empty() && uploads.is_empty() {
            return Err(form_errors(
                Vec::new(),
                vec!["Chưa đính kèm giấy tờ nào trong thành phần hồ sơ.".to_owned()],
            ));
        }
        let files: Vec<NewFile<'_>> = uploads
            .iter()
            .map(|f| NewFile {
                document: document_name(&stored.procedure, &f.document),
                file_name: &f.file_name,
                sha256: &f.sha256,
                size: f.size,
                kind: f.kind,
                in_memory: f.in_memory.as_ref(),
            })
            .collect();
        let (d, events) = state
            .store
            .file_dossier(
                &user.account,
                &stored,
                &form,
                &files,
                &state.site.dossiers.codes,
            )
            .await
            .map_err(act_error)?;
        return Ok((StatusCode::CREATED, Json(dossier_json(&d, &events, true))).into_response());
    }
    // A draft the citizen finishes on the portal.
    let mut prefill = form.clone();
    prefill.retain(|_, v| !v.is_empty());
    let id = state
        .store
        .create_draft(&user.account, &stored.id, &prefill)
        .await
        .map_err(store_failed)?;
    let commune = form.get("applicant_commune").cloned();
    state
        .store
        .save_form(&id, &form, commune.as_deref())
        .await
        .map_err(store_failed)?;
    for f in &uploads {
        state
            .store
            .attach_blob(
                &id,
                document_name(&stored.procedure, &f.document),
                &f.file_name,
                &f.sha256,
                f.size,
                f.kind,
            )
            .await
            .map_err(store_failed)?;
    }
    let d = state
        .store
        .dossier(&id)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    let events = state
        .store
        .dossier_events(&id)
        .await
        .map_err(store_failed)?;
    Ok((StatusCode::CREATED, Json(dossier_json(&d, &events, true))).into_response())
}

fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::NotFound => not_found(),
        ActError::Rule(r) => crate::http::api_error::conflict(r.code(), r.to_string(), None),
        ActError::Conflict(s) => crate::http::api_error::conflict(
            "conflict",
            format!("the dossier changed meanwhile; it is now '{}'", s.as_str()),
            None,
        ),
        ActError::Store(e) => store_failed(e),
        other => crate::http::api_error::unprocessable(other.code(), other.to_string(), None),
    }
}

async fn owned(state: &AppState, user: &CurrentUser, id: &str) -> Result<Dossier, ApiError> {
    let d = state
        .store
        .dossier(id)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    crate::dossier::access::own(user, &d).map_err(|_| not_found())?;
    Ok(d)
}

/// The caller's dossiers, newest change first.
#[utoipa::path(get, path = "/api/v1/dossiers",
    responses((status = 200, description = "The account's dossiers", body = Vec<DossierJson>), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope)), security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn list_dossiers(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
) -> ApiResult {
    let list = state
        .store
        .dossiers_of(&user.account.id)
        .await
        .map_err(store_failed)?;
    let out: Vec<DossierJson> = list.iter().map(|d| dossier_json(d, &[], true)).collect();
    Ok(Json(out).into_response())
}

/// One of the caller's dossiers with its timeline.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created")),
    responses((status = 200, description = "The dossier", body = DossierJson), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn get_dossier(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> ApiResult {
    let d = owned(&state, &user, &id).await?;
    let events = state
        .store
        .dossier_events(&id)
        .await
        .map_err(store_failed)?;
    Ok(Json(dossier_json(&d, &events, true)).into_response())
}

/// Submits a draft, or resubmits a dossier after a supplement request (with the new files
/// attached first). Refused with every problem listed when something is missing.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/submit", params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created")),
    responses((status = 200, description = "Submitted", body = DossierJson), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 409, description = "Conflict with the object's current state", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn submit_dossier(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> ApiResult {
    let d = owned(&state, &user, &id).await?;
    match submit_online(&state, &user.account, &d, Some(d.version))
        .await
        .map_err(store_failed)?
    {
        Ok(after) => {
            let events = state
                .store
                .dossier_events(&id)
                .await
                .map_err(store_failed)?;
            Ok(Json(dossier_json(&after, &events, true)).into_response())
        }
        Err(SubmitRefusal::Incomplete { fields, other }) => Err(form_errors(fields, other)),
        Err(SubmitRefusal::Refused(e)) => Err(act_error(e)),
    }
}

/// Applies an applicant's action and answers with the dossier and its timeline.
async fn apply(state: &AppState, act: Act<'_>) -> ApiResult {
    let id = act.dossier_id.to_owned();
    let d = state
        .store
        .act(act, &state.site.dossiers.codes, &state.site.dossiers.hours)
        .await
        .map_err(act_error)?;
    let events = state
        .store
        .dossier_events(&id)
        .await
        .map_err(store_failed)?;
    Ok(Json(dossier_json(&d, &events, true)).into_response())
}

/// Why the applicant withdraws.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Withdrawal {
    /// Reason (1–500 characters).
    reason: String,
}

/// Withdraws a dossier the agency has not decided yet; processing stops.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/withdraw", params(("id" = uuid::Uuid, Path, description = "Id as returned when it was created")), request_body = Withdrawal,
    responses((status = 200, description = "Withdrawn", body = DossierJson), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 401, description = "No valid bearer token", body = crate::http::api_error::ErrorEnvelope), (status = 403, description = "The token's account may not file dossiers", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 409, description = "Conflict with the object's current state", body = crate::http::api_error::ErrorEnvelope), (status = 415, description = "Unsupported media type", body = crate::http::api_error::ErrorEnvelope), (status = 422, description = "Refused content (for a form: every problem in `fields`)", body = crate::http::api_error::ErrorEnvelope)),
    security(("bearer" = [])), tag = "dossiers")]
pub(crate) async fn withdraw_dossier(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Withdrawal>,
) -> ApiResult {
    owned(&state, &user, &id).await?;
    let reason = motcua_core::text::nfc(body.reason.trim());
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(crate::http::api_error::unprocessable(
            "invalid_reason",
            "reason must have 1 to 500 characters".into(),
            Some("reason"),
        ));
    }
    apply(
        &state,
        Act::by_applicant(&id, Command::Withdraw { reason }, &user.account, None),
    )
    .await
}

/// Public lookup parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// Dossier code, e.g. 000.00.00.H00-261130-0001.
    #[param(
        pattern = r"^[0-9A-Z]{1,4}(\.[0-9A-Z]{1,4})+-[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])-[0-9]{4,9}$"
    )]
    code: String,
    /// Last four digits of the applicant's phone.
    #[param(pattern = r"^[0-9]{4}$")]
    phone_last4: String,
}

/// Status and timeline of a dossier by code and the last four digits of the applicant's phone;
/// no personal data.
#[utoipa::path(get, path = "/api/v1/lookup", params(LookupParams),
    responses((status = 200, description = "Status and timeline", body = DossierJson), (status = 400, description = "Malformed request: bad JSON, parameter or header, or a NUL or control character", body = crate::http::api_error::ErrorEnvelope), (status = 404, description = "No such object for this account", body = crate::http::api_error::ErrorEnvelope), (status = 429, description = "Too many misses from this address or for this code", body = crate::http::api_error::ErrorEnvelope)), tag = "dossiers")]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    Query(q): Query<LookupParams>,
) -> ApiResult {
    match public_lookup(&state, &ip.0, &q.code, &q.phone_last4).await {
        Ok(Ok((d, events))) => {
            let mut j = dossier_json(&d, &events, false);
            j.supplement_items.clear();
            Ok(Json(j).into_response())
        }
        Ok(Err(refusal)) => Err(match refusal {
            LookupRefusal::TooMany => crate::http::api_error::too_many("too_many_attempts", "too many failed lookups from this address or for this code; try again in 15 minutes".into(), None),
            LookupRefusal::Malformed => crate::http::api_error::bad_request("invalid_parameter", "code must look like 000.00.00.H00-261130-0001 and phone_last4 have 4 digits".into(), None),
            LookupRefusal::NotFound => crate::http::api_error::missing("not_found", "no dossier with this code and phone (failures are limited per address and per code)".into(), None),
        }),        Err(e) => Err(store_failed(e)),
    }
}
