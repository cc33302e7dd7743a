//! The use cases that the portal's pages and the API share. Each answers with the domain's result
//! or its refusal, never with HTTP: the page and the API each turn a refusal into their own
//! answer (a Vietnamese page, or JSON with a code).

use crate::dossier::form::{procedure_of, submission_problems};
use crate::http::error::WebError;
use crate::http::state::AppState;
use motcua_core::accounts::{Attempt, ThrottleRule};
use motcua_core::dossier::{Command, DossierCode, FieldError, Status};
use motcua_store::accounts::Account;
use motcua_store::dossiers::{Act, ActError, Dossier, DossierEvent};

/// Why an online submission did not happen.
pub(crate) enum SubmitRefusal {
    /// The form or its files are not complete: each field's problem, and the others.
    Incomplete {
        /// Problems of fields.
        fields: Vec<FieldError>,
        /// Problems of the dossier as a whole (no document attached, say).
        other: Vec<String>,
    },
    /// The rules refused it, or someone changed the dossier meanwhile.
    Refused(ActError),
}

/// Submits the applicant's own dossier `d` online, or sends it back completed after a supplement
/// request: the form and files are checked against the procedure it was filed under, then the
/// core decides and the store records it. `version` is the version the applicant saw.
pub(crate) async fn submit_online(
    state: &AppState,
    by: &Account,
    d: &Dossier,
    version: Option<i64>,
) -> Result<Result<Dossier, SubmitRefusal>, WebError> {
    if matches!(d.status, Status::Draft | Status::SupplementRequested) {
        let p = procedure_of(state, d).await?;
        let (fields, other) = submission_problems(state, d, &p).await?;
        if !fields.is_empty() || !other.is_empty() {
            return Ok(Err(SubmitRefusal::Incomplete { fields, other }));
        }
    }
    let command = if d.status == Status::Draft {
        Command::Submit
    } else {
        Command::Resubmit
    };
    let act = Act::by_applicant(&d.id, command, by, version);
    let settings = &state.site.dossiers;
    match state.store.act(act, &settings.codes, &settings.hours).await {
        Ok(after) => Ok(Ok(after)),
        Err(ActError::Store(e)) => Err(e.into()),
        Err(e) => Ok(Err(SubmitRefusal::Refused(e))),
    }
}

/// Why the public lookup found nothing to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupRefusal {
    /// The code or the four digits are not of the right form.
    Malformed,
    /// Too many failed lookups from this address or for this code.
    TooMany,
    /// No dossier with this code and phone.
    NotFound,
}

/// The public lookup: a dossier by its code and the last four digits of the applicant's phone,
/// with its history. Every lookup counts against the caller's address and the code before it is
/// answered, and a found dossier gives its count back, so codes cannot be enumerated.
pub(crate) async fn public_lookup(
    state: &AppState,
    ip: &str,
    code: &str,
    last4: &str,
) -> Result<Result<(Dossier, Vec<DossierEvent>), LookupRefusal>, WebError> {
    let rule = ThrottleRule::LOOKUP;
    let code = code.trim().to_ascii_uppercase();
    let last4: String = last4.chars().filter(char::is_ascii_digit).collect();
    if code.parse::<DossierCode>().is_err() || last4.len() != 4 {
        return Ok(Err(LookupRefusal::Malformed));
    }
    let keys = [format!("lookup:ip:{ip}"), format!("lookup:code:{code}")];
    for key in &keys {
        if let Attempt::Refused { .. } = state.store.throttle_attempt(key, rule).await? {
            state.metrics.refused("lookup");
            return Ok(Err(LookupRefusal::TooMany));
        }
    }
    match state.store.lookup(&code, &last4).await? {
        Some(d) => {
            for key in &keys {
                state.store.throttle_refund(key, rule).await?;
            }
            let events = state.store.dossier_events(&d.id).await?;
            Ok(Ok((d, events)))
        }
        None => Ok(Err(LookupRefusal::NotFound)),
    }
}
