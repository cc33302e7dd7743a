//! Who may see a dossier at all, and in which capacities they act: the core decides
//! ([`motcua_core::dossier::standing`]); pages and the API load a dossier only with a standing.

use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::state::AppState;
use motcua_store::dossiers::Dossier;

/// How the caller stands to a dossier (decided by the core, [`motcua_core::dossier::standing`]).
pub(crate) use motcua_core::dossier::View as Viewer;

/// The caller, as the core's standing rules see it.
pub(crate) fn party(user: &CurrentUser) -> motcua_core::dossier::Party<'_> {
    motcua_core::dossier::Party {
        id: &user.account.id,
        roles: &user.account.roles,
    }
}

/// What of `d` decides who stands to it, with the agencies asked for an opinion so far.
pub(crate) fn holders<'a>(
    d: &'a Dossier,
    asked: &'a [String],
    pending: &'a [String],
) -> motcua_core::dossier::Holders<'a> {
    motcua_core::dossier::Holders {
        applicant_id: d.applicant_id.as_deref(),
        desk_code: d.desk_code.as_deref(),
        agency_code: &d.agency_code,
        status: d.status,
        asked,
        pending,
    }
}

/// The caller's standing from its roles alone (without the agencies asked for an opinion), or
/// `None`.
pub(crate) fn viewer(user: &CurrentUser, d: &Dossier) -> Option<Viewer> {
    motcua_core::dossier::standing::view(party(user), holders(d, &[], &[]))
}

/// Whether the caller filed `d`; anyone else is told it does not exist.
pub(crate) fn own(user: &CurrentUser, d: &Dossier) -> Result<(), WebError> {
    match viewer(user, d) {
        Some(Viewer::Applicant) => Ok(()),
        _ => Err(WebError::NotFound),
    }
}

/// Loads a dossier the caller may see; anything else is "not found".
pub(crate) async fn load(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<(Dossier, Viewer), WebError> {
    let d = state.store.dossier(id).await?.ok_or(WebError::NotFound)?;
    let v = standing(state, user, &d).await?.ok_or(WebError::NotFound)?;
    Ok((d, v))
}

/// [`viewer`], plus officers of an agency asked for its opinion (liên thông), who see the
/// dossier once it was sent to them.
pub(crate) async fn standing(
    state: &AppState,
    user: &CurrentUser,
    d: &Dossier,
) -> Result<Option<Viewer>, WebError> {
    // Most callers stand by their roles alone: the consultations are read only when needed.
    if let Some(v) = viewer(user, d) {
        return Ok(Some(v));
    }
    let asked: Vec<String> = state
        .store
        .consultations(&d.id)
        .await?
        .into_iter()
        .map(|c| c.agency_code)
        .collect();
    Ok(motcua_core::dossier::standing::view(
        party(user),
        holders(d, &asked, &[]),
    ))
}
