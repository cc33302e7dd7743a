//! Every route with the access it requires. Routes can only be added here, with a rule; the
//! `authorize` middleware enforces the rule on every request, and the route-walk test reads
//! [`route_table`] so that a new route without an expected status per role fails it.

use crate::AppState;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use motcua_core::accounts::{Access, Permission};
use std::sync::OnceLock;

/// One route: method, path template, access rule, handler.
pub(crate) struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

/// A GET route.
pub(crate) fn get<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    RouteDef {
        method: Method::GET,
        path,
        access,
        handler: axum::routing::get(handler),
    }
}

/// A POST route.
pub(crate) fn post<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    RouteDef {
        method: Method::POST,
        path,
        access,
        handler: axum::routing::post(handler),
    }
}

/// A POST route that receives files: the body is streamed by the handler, which enforces the
/// configured upload limits itself, so the default body limit is lifted here.
pub(crate) fn upload<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    RouteDef {
        method: Method::POST,
        path,
        access,
        handler: axum::routing::post(handler).layer(axum::extract::DefaultBodyLimit::disable()),
    }
}

/// A PUT route that receives a file chunk (resumable uploads); limits as for [`upload`].
pub(crate) fn put_chunk<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    RouteDef {
        method: Method::PUT,
        path,
        access,
        handler: axum::routing::put(handler).layer(axum::extract::DefaultBodyLimit::max(
            crate::dossier_files::MAX_CHUNK,
        )),
    }
}

fn definitions() -> Vec<RouteDef> {
    [
        crate::portal::routes(),
        crate::health::routes(),
        crate::procedures::routes(),
        crate::api::routes(),
        crate::account::routes(),
        crate::oidc::routes(),
        crate::admin::routes(),
        crate::admin_calendar::routes(),
        crate::admin_catalogue::routes(),
        crate::dossiers::routes(),
        crate::office::routes(),
        crate::processing::routes(),
        crate::workflows::routes(),
        crate::api_dossiers::routes(),
        crate::plans::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every route of the application: method, path template and access rule.
pub fn route_table() -> &'static [(Method, &'static str, Access)] {
    static TABLE: OnceLock<Vec<(Method, &'static str, Access)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        definitions()
            .into_iter()
            .map(|d| (d.method, d.path, d.access))
            .collect()
    })
}

/// The access rule of a route.
pub(crate) fn access(method: &Method, path: &str) -> Option<Access> {
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    route_table()
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, a)| *a)
}

/// The router of every defined route.
pub(crate) fn router() -> Router<AppState> {
    definitions()
        .into_iter()
        .fold(Router::new(), |r, d| r.route(d.path, d.handler))
}

/// Shorthand used by route modules.
pub(crate) const PUBLIC: Access = Access::Public;
/// Signed-in with a permission.
pub(crate) const fn needs(p: Permission) -> Access {
    Access::Needs(p)
}
