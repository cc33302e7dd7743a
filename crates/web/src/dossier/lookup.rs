//! The public lookup of a dossier by its code and the last four digits of the applicant's phone,
//! shared by the portal page and the API; and the portal's public address for QR codes.

use crate::dossier::page::EventView;
use crate::http::error::WebError;
use crate::http::state::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use motcua_store::dossiers::{Dossier, DossierEvent};

/// What anyone with the code and the phone's last digits may see: no names, no documents.
pub(crate) struct PublicDossier {
    pub code: String,
    pub procedure: String,
    pub agency: String,
    pub status: &'static str,
    pub submitted: String,
    pub due: String,
    pub events: Vec<EventView>,
}

/// The public lookup, shared by the page and the API. Failures count against the caller's
/// address, so codes cannot be enumerated.
pub(crate) async fn public_lookup(
    state: &AppState,
    ip: &str,
    code: &str,
    last4: &str,
) -> Result<Result<(Dossier, Vec<DossierEvent>), (StatusCode, &'static str)>, WebError> {
    use motcua_core::accounts::Attempt;
    let rule = motcua_core::accounts::ThrottleRule::LOOKUP;
    let code = code.trim().to_ascii_uppercase();
    let last4: String = last4.chars().filter(char::is_ascii_digit).collect();
    if code.parse::<motcua_core::dossier::DossierCode>().is_err() || last4.len() != 4 {
        return Ok(Err((StatusCode::BAD_REQUEST, "Hãy nhập đúng mã hồ sơ (dạng 000.00.00.H00-261130-0001) và 4 chữ số cuối của số điện thoại.")));
    }
    // Each lookup is counted before it is answered, against the address and against the code;
    // a found dossier gives its count back.
    let keys = [format!("lookup:ip:{ip}"), format!("lookup:code:{code}")];
    for key in &keys {
        if let Attempt::Refused { .. } = state.store.throttle_attempt(key, rule).await? {
            state.metrics.refused("lookup");
            return Ok(Err((
                StatusCode::TOO_MANY_REQUESTS,
                "Đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau 15 phút.",
            )));
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
        None => Ok(Err((
            StatusCode::NOT_FOUND,
            "Không tìm thấy hồ sơ với mã và số điện thoại này.",
        ))),
    }
}

/// The public address of this portal, for QR codes.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.site.dossiers.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.site.cookie_secure {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}
