//! One integration-test binary (each extra `tests/*.rs` would be another full link).
//!
//! Every HTTP test runs twice, on SQLite and on a fresh PostgreSQL database. Run by hand, a suite
//! whose prerequisite is missing (PostgreSQL, Chromium) says `SKIPPED` plainly; with
//! `MOTCUA_TEST_REQUIRE_ALL=1` (CI) it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod back_office;
mod backup;
mod browser;
mod calendar_cli;
mod catalogue;
mod database;
mod dossiers;
mod harness;
mod history;
mod http;
mod indicators;
mod objects;
mod oidc;
mod outbox;
mod phones;
mod plans;
mod process;
mod security;
mod sso;
mod zalo;
