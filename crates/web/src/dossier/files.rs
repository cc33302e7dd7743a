//! Files of dossiers over HTTP. Multipart forms and file chunks are hashed as they arrive and
//! kept in memory while small, else streamed to a staging file; the type is decided by the
//! content once the file is complete; nothing reaches the dossier unless every check passed.

use crate::http::error::WebError;
use crate::http::state::AppState;
use axum::body::Body;
use axum::extract::multipart::{Field, Multipart};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use motcua_core::dossier::{FileError, FileKind};
use motcua_store::blobs::{Staged, Staging};
use motcua_store::dossiers::Attachment;
use std::collections::BTreeMap;

/// A file that arrived in a form, before or after its checks.
pub(crate) struct Received {
    /// Form field it came in (`doc_0`, `doc_other`, …).
    pub field: String,
    /// Name as the browser gave it.
    pub name: String,
    /// The staged content, or why it was refused while arriving.
    pub staged: Result<Staged, FileError>,
}

/// What a multipart form brought: text fields and files.
pub(crate) struct FormUpload {
    /// Text fields (the last value of a repeated name wins).
    pub fields: BTreeMap<String, String>,
    /// Files, in order.
    pub files: Vec<Received>,
    /// The body broke off or was malformed; what arrived before is kept.
    pub broken: bool,
    /// The body went past what a dossier may hold (or a text field past 64 KiB): reading
    /// stopped there; what arrived before is kept.
    pub too_large: bool,
    /// A text field held a NUL (raw or as a JSON escape): it was left out, and the request is to
    /// be refused (see [`FormUpload::refuse_control`]).
    pub control: Option<String>,
}

impl FormUpload {
    /// Whether the form carries a NUL in a text field: then its staged files are discarded and
    /// the caller answers with [`crate::http::boundary::refusal`].
    pub(crate) fn refuse_control(&self) -> Option<crate::http::boundary::Found> {
        let field = self.control.clone()?;
        for f in &self.files {
            if let Ok(s) = &f.staged {
                s.discard();
            }
        }
        Some(crate::http::boundary::Found::Body(field))
    }
}

/// Largest text field of a form.
const MAX_TEXT_FIELD: usize = 64 * 1024;

fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "tep-dinh-kem".to_owned()
    } else {
        motcua_core::text::nfc(cleaned.trim())
    }
}

async fn stage_field(
    state: &AppState,
    field: &mut Field<'_>,
    name: &str,
    budget: &mut u64,
) -> Result<Result<Staged, FileError>, bool> {
    let limits = state.site.dossiers.limits;
    // Small files stay in memory: one that comes with a filing is then written once, into a
    // pack, rather than to a staging file and again to a blob file.
    let mut staging = Staging::memory_first(state.store.blobs().staging_dir());
    let mut too_large = false;
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                // Past the request's budget nothing more is read: a huge body cannot keep the
                // server streaming it.
                *budget = budget.saturating_sub(bytes.len() as u64);
                if *budget == 0 {
                    staging.discard();
                    return Err(false);
                }
                if too_large {
                    continue;
                }
                if staging.size() + bytes.len() as u64 > limits.per_file {
                    too_large = true;
                    continue;
                }
                if let Err(e) = staging.write_bytes(bytes) {
                    tracing::error!(error = %e, "staging write failed");
                    staging.discard();
                    return Err(true);
                }
            }
            Ok(None) => break,
            Err(_) => {
                staging.discard();
                return Err(true);
            }
        }
    }
    if too_large {
        staging.discard();
        return Ok(Err(FileError::TooLarge {
            name: name.to_owned(),
            limit: limits.per_file,
        }));
    }
    // Nothing is synced yet (the blob store syncs the file once in place): no blocking hop.
    match staging.finish() {
        Ok(staged) => Ok(Ok(staged)),
        Err(e) => {
            tracing::error!(error = %e, "staging write failed");
            Err(true)
        }
    }
}

/// Reads a part to its end without keeping it, within the request's budget. `Err(true)` when the
/// body broke off, `Err(false)` when it went past the budget.
async fn drain(field: &mut Field<'_>, budget: &mut u64) -> Result<(), bool> {
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                *budget = budget.saturating_sub(bytes.len() as u64);
                if *budget == 0 {
                    return Err(false);
                }
            }
            Ok(None) => return Ok(()),
            Err(_) => return Err(true),
        }
    }
}

/// Reads a multipart form, streaming files to staging.
pub(crate) async fn read_form(state: &AppState, mut multipart: Multipart) -> FormUpload {
    let mut out = FormUpload {
        fields: BTreeMap::new(),
        files: Vec::new(),
        broken: false,
        too_large: false,
        control: None,
    };
    let limits = state.site.dossiers.limits;
    // Room for every file a dossier may hold, one oversize file to refuse by name, and the form.
    let mut budget = limits.per_dossier + limits.per_file + (1 << 20);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                out.broken = true;
                break;
            }
        };
        let key = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            // Past the number of files a dossier may hold, parts are read but not stored: one
            // refusal stands for them all, and the text fields after them still arrive.
            Some(_) if out.files.len() >= limits.files => {
                if out.files.len() == limits.files {
                    out.files.push(Received {
                        field: key,
                        name: String::new(),
                        staged: Err(FileError::TooManyFiles {
                            limit: limits.files,
                        }),
                    });
                }
                if let Err(broken) = drain(&mut field, &mut budget).await {
                    out.broken = broken;
                    out.too_large = !broken;
                    break;
                }
            }
            Some(file_name) => {
                let name = clean_name(&file_name);
                match stage_field(state, &mut field, &name, &mut budget).await {
                    // An unused file input arrives as an empty part without a name.
                    Ok(Err(FileError::Empty(_))) if file_name.is_empty() => {}
                    Ok(Ok(staged)) if file_name.is_empty() && staged.size == 0 => staged.discard(),
                    Ok(staged) => out.files.push(Received {
                        field: key,
                        name,
                        staged,
                    }),
                    Err(broken) => {
                        out.broken = broken;
                        out.too_large = !broken;
                        break;
                    }
                }
            }
            None => {
                let mut text = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(bytes)) => {
                            budget = budget.saturating_sub(bytes.len() as u64);
                            if text.len() + bytes.len() > MAX_TEXT_FIELD || budget == 0 {
                                out.too_large = true;
                                break;
                            }
                            text.extend_from_slice(&bytes);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            out.broken = true;
                            break;
                        }
                    }
                }
                if out.broken || out.too_large {
                    break;
                }
                match String::from_utf8(text) {
                    Ok(text) if crate::http::boundary::has_nul(text.as_bytes()) => {
                        out.control.get_or_insert(key);
                    }
                    Ok(text) => {
                        out.fields.insert(key, text);
                    }
                    Err(_) => {
                        out.broken = true;
                        break;
                    }
                }
            }
        }
    }
    out
}

/// Checks a received file: within the limits beside what the dossier `held`, of a type its
/// first bytes name, and readable as that type throughout (parsed off the async threads).
pub(crate) async fn check_content(
    state: &AppState,
    name: &str,
    staged: &Staged,
    held: motcua_core::dossier::Held,
) -> Result<FileKind, FileError> {
    let limits = state.site.dossiers.limits;
    let kind = limits.check(name, &staged.head, staged.size, held)?;
    let (staged, owned) = (staged.clone(), name.to_owned());
    let whole = tokio::task::spawn_blocking(move || match staged.read_all() {
        Ok(bytes) => limits.check_whole(&owned, &bytes, held),
        Err(e) => {
            tracing::error!(error = %e, "a received file could not be read back for checking");
            Err(FileError::Unreadable {
                name: owned,
                kind: "PDF, JPEG hoặc PNG",
            })
        }
    })
    .await;
    match whole {
        Ok(checked) => checked.map(|_| kind),
        Err(e) => {
            tracing::error!(error = %e, "file check interrupted");
            Err(FileError::WrongType(name.to_owned()))
        }
    }
}

/// Checks a staged file against the limits and the dossier's total, then attaches it. Returns
/// the refusal to show, if any; a refused file is removed from staging.
pub(crate) async fn check_and_attach(
    state: &AppState,
    dossier_id: &str,
    document: &str,
    name: &str,
    staged: Result<Staged, FileError>,
) -> Result<Option<FileError>, WebError> {
    let staged = match staged {
        Ok(s) => s,
        Err(e) => return Ok(Some(e)),
    };
    let held = state.store.dossier_held(dossier_id).await?;
    match check_content(state, name, &staged, held).await {
        Ok(kind) => {
            let attached = state
                .store
                .attach(dossier_id, document, name, &staged, kind)
                .await;
            match attached? {
                Some(_) => Ok(None),
                None => Err(WebError::NotFound),
            }
        }
        Err(e) => {
            staged.discard();
            Ok(Some(e))
        }
    }
}

/// Serves a stored file of a dossier, as an attachment download with the type of its content.
pub(crate) async fn serve_attachment(
    state: &AppState,
    a: &Attachment,
) -> Result<Response, WebError> {
    let blob = state.store.open_blob(&a.sha256).await?;
    let length = blob.size;
    let stream = tokio_util::io::ReaderStream::new(blob.into_reader());
    let checked = FileKind::from_media_type(&a.media_type);
    let kind = checked.map_or("application/octet-stream", FileKind::media_type);
    // The name's extension is the checked type's, whatever the sender called it.
    let name = checked.map_or_else(|| a.file_name.clone(), |k| k.served_name(&a.file_name));
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            "_"
        ),
        utf8_percent(&name)
    );
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".to_owned(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
