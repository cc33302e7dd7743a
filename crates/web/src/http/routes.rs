//! Every route with the access it requires. A route is declared with a rule or not at all; the
//! `authorize` middleware enforces the rule on every request, and the route-walk test reads
//! [`crate::route_table`] so that a new route without an expected status per role fails it.

use crate::http::state::AppState;
use axum::http::Method;
use axum::routing::MethodRouter;
use motcua_core::accounts::{Access, Permission};

/// Largest chunk of a resumable upload.
pub(crate) const MAX_CHUNK: usize = 8 << 20;

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
        handler: axum::routing::put(handler).layer(axum::extract::DefaultBodyLimit::max(MAX_CHUNK)),
    }
}

/// Every route's method, path template and access rule: what `authorize` enforces. The crate
/// root assembles it from each area's routes, so this module knows no area.
#[derive(Debug, Default)]
pub struct RouteTable(pub(crate) Vec<(Method, &'static str, Access)>);

impl RouteTable {
    /// The access rule of a route.
    pub(crate) fn access(&self, method: &Method, path: &str) -> Option<Access> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0
            .iter()
            .find(|(m, p, _)| m == method && *p == path)
            .map(|(_, _, a)| *a)
    }

    /// Whether some method is routed at `path`.
    pub(crate) fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|(_, p, _)| *p == path)
    }

    /// Every route: method, path template, access rule.
    pub fn routes(&self) -> &[(Method, &'static str, Access)] {
        &self.0
    }
}

/// Shorthand used by route modules.
pub(crate) const PUBLIC: Access = Access::Public;
/// Signed-in with a permission.
pub(crate) const fn needs(p: Permission) -> Access {
    Access::Needs(p)
}
