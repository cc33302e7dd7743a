//! What every area shares: the route table's types and access rules, sessions and tokens, the
//! boundary checks, errors for pages and for the API, limits, page context and layout, the
//! catalogue snapshot, metrics and request observation. Nothing here knows an area.

pub(crate) mod api_error;
pub mod auth;
pub(crate) mod boundary;
pub mod catalogue;
pub(crate) mod error;
pub(crate) mod health;
pub(crate) mod limits;
pub(crate) mod metrics;
pub(crate) mod observe;
pub mod oidc;
pub mod routes;
pub(crate) mod search_params;
pub(crate) mod state;
pub(crate) mod views;
