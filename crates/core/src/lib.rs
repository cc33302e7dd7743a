//! The domain core of motcua: every business rule lives here and is tested without a database,
//! a server or a clock. Callers pass `now` and the calendar in; nothing here performs I/O.

pub mod accounts;
pub mod admin_unit;
pub mod agency;
pub mod calendar;
pub mod catalogue;
pub mod delivery;
pub mod dossier;
pub mod indicators;
pub mod plan;
pub mod role;
pub mod text;

pub use admin_unit::{AdminUnit, AdminUnitKind};
pub use agency::{Agency, AgencyKind};
pub use role::Role;
