//! The one-stop back office: the desk's reception (queue, receive, register paper dossiers),
//! the agency's processing (assign, consult, propose, approve, issue, hand over), and the
//! official forms Mẫu 01–06.

mod forms;
mod processing;
mod reception;

use crate::http::routes::RouteDef;

/// The back office's routes.
pub(crate) fn routes() -> Vec<RouteDef> {
    [reception::routes(), processing::routes(), forms::routes()]
        .into_iter()
        .flatten()
        .collect()
}
