//! What the public sees of a dossier found by its code and the last four digits of the
//! applicant's phone; and the portal's public address for QR codes.

use crate::dossier::page::EventView;
use crate::http::state::AppState;
use axum::http::{header, HeaderMap};

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
