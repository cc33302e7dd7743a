//! One dossier as every area needs it: who stands where to it, its files, its form, its page and
//! the public lookup. Shared by the portal, the back office and the API, which import it (and
//! `http`) but never each other's pages.

pub(crate) mod access;
pub(crate) mod cases;
pub(crate) mod files;
pub(crate) mod form;
pub(crate) mod lookup;
pub(crate) mod page;
