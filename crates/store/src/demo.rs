//! Demo data of Lạng Sơn: administrative units (today's 65 communes and wards, with the former
//! districts as history), agencies, and one account per role. Loaded once: the marker row makes a
//! restart, or several nodes starting together, a no-op.

use crate::backend::{on_pool, BeginWrite};
use crate::{password, Store, StoreError};
use motcua_core::Role;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

const INSERT_ADMIN_UNITS: &str =
    "INSERT INTO admin_units (code, name, kind, parent_code, valid_until) \
     VALUES ($1, $2, $3, $4, $5)";

const INSERT_AGENCIES: &str = "INSERT INTO agencies (code, name, kind, admin_unit_code) \
     VALUES ($1, $2, $3, $4)";

const UPDATE_AGENCIES_SUCCESSOR_CODE: &str = "UPDATE agencies \
     SET successor_code = $1 \
     WHERE code = $2";

const INSERT_DEMO_USER: &str =
    "INSERT INTO users (id, username, display_name, password_hash, created_at, kind, status) \
     VALUES ($1, $2, $3, $4, $5, $6, 'active')";

const UPDATE_USERS_PHONE: &str = "UPDATE users \
     SET phone = $1, phone_verified_at = $6, cccd = $2, address = $3, admin_unit_code = $4 \
     WHERE id = $5";

const ADMIN_UNITS_CSV: &str = include_str!("../demo/admin_units.csv");
const AGENCIES_CSV: &str = include_str!("../demo/agencies.csv");
/// The demo catalogue: `procedures-published.csv` cleaned by `motcua procedures clean`.
pub const PROCEDURES_CSV: &str = include_str!("../demo/procedures.csv");
/// The published list the demo catalogue was cleaned from, kept for provenance and tests.
pub const PUBLISHED_CSV: &str = include_str!("../demo/procedures-published.csv");
const MARKER: &str = "demo_seeded_at";

/// The password of every demo account. Demo installations only: `serve --demo` prints a warning.
pub const DEMO_PASSWORD: &str = "motcua-demo-2026";

/// A demo account: one per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoAccount {
    /// Login name.
    pub username: &'static str,
    /// Name shown on pages.
    pub display_name: &'static str,
    /// The role it holds.
    pub role: Role,
    /// The agency the role is scoped to, for officials.
    pub agency_code: Option<&'static str>,
}

/// Plan 147/KH-UBND of Lạng Sơn (8 November 2018), every task of the seed document, as data.
pub const PLAN_147_JSON: &str = include_str!("../demo/plan-147.json");

/// Phone of the demo citizen (the public lookup asks for its last four digits).
pub const DEMO_CITIZEN_PHONE: &str = "0915000001";

/// The demo accounts, one per role.
pub const DEMO_ACCOUNTS: [DemoAccount; 8] = [
    DemoAccount {
        username: "congdan",
        display_name: "Nguyễn Văn An",
        role: Role::Citizen,
        agency_code: None,
    },
    DemoAccount {
        username: "doanhnghiep",
        display_name: "Công ty TNHH Xứ Lạng",
        role: Role::Organisation,
        agency_code: None,
    },
    DemoAccount {
        username: "tiepnhan",
        display_name: "Hoàng Thị Bình",
        role: Role::Reception,
        agency_code: Some("ttpvhcc-tinh"),
    },
    DemoAccount {
        username: "chuyenvien",
        display_name: "Lý Văn Cường",
        role: Role::Specialist,
        agency_code: Some("so-xd"),
    },
    DemoAccount {
        username: "lanhdao",
        display_name: "Vi Thị Dung",
        role: Role::Leader,
        agency_code: Some("so-xd"),
    },
    DemoAccount {
        username: "quantricoquan",
        display_name: "Lương Văn Đức",
        role: Role::AgencyAdmin,
        agency_code: Some("so-xd"),
    },
    DemoAccount {
        username: "theodoikehoach",
        display_name: "Nông Thị Hà",
        role: Role::PlanMonitor,
        agency_code: Some("so-khcn"),
    },
    DemoAccount {
        username: "quantri",
        display_name: "Quản trị hệ thống",
        role: Role::SystemAdmin,
        agency_code: None,
    },
];

#[derive(Deserialize)]
struct UnitRecord {
    code: String,
    name: String,
    kind: String,
    parent_code: String,
    valid_until: String,
}

#[derive(Deserialize)]
struct AgencyRecord {
    code: String,
    name: String,
    kind: String,
    admin_unit_code: String,
    successor_code: String,
}

fn parse_csv<T: for<'de> Deserialize<'de>>(name: &str, text: &str) -> Result<Vec<T>, StoreError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| StoreError::Internal(format!("{name} line {}: {e}", i + 2))))
        .collect()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// What [`Store::seed_demo`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The demo data was loaded now.
    Loaded,
    /// It had been loaded before; nothing changed.
    AlreadyPresent,
}

impl Store {
    /// Loads the demo data unless it is already there: reference data and accounts in one
    /// transaction, then the demo catalogue when the catalogue is empty.
    pub async fn seed_demo(&self) -> Result<SeedOutcome, StoreError> {
        let outcome = self.seed_reference().await?;
        self.forget_desks();
        if self.plans().await?.is_empty() {
            let plan: motcua_core::plan::Plan = serde_json::from_str(PLAN_147_JSON)
                .map_err(|e| StoreError::Internal(format!("plan-147.json: {e}")))?;
            self.put_plan(&plan).await?;
        }
        if self.procedures().await?.is_empty() {
            self.import_procedures(
                PROCEDURES_CSV.as_bytes(),
                crate::catalogue::FileFormat::Csv,
                "demo",
                false,
                &|_, _| {},
            )
            .await
            .map_err(|e| match e {
                crate::catalogue::ImportError::Store(e) => e,
                crate::catalogue::ImportError::Rows(rows) => StoreError::Internal(format!(
                    "demo catalogue: {}",
                    rows.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            })?;
        }
        Ok(outcome)
    }

    async fn seed_reference(&self) -> Result<SeedOutcome, StoreError> {
        let units: Vec<UnitRecord> = parse_csv("admin_units.csv", ADMIN_UNITS_CSV)?;
        let agencies: Vec<AgencyRecord> = parse_csv("agencies.csv", AGENCIES_CSV)?;
        let date_format = time::macros::format_description!("[year]-[month]-[day]");
        // Hash before opening the transaction: Argon2 is slow on purpose and must not hold locks.
        let mut hashes = Vec::with_capacity(DEMO_ACCOUNTS.len());
        for _ in DEMO_ACCOUNTS {
            hashes.push(password::hash(DEMO_PASSWORD)?);
        }
        let now = OffsetDateTime::now_utc();

        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(MARKER)
            .bind(now.unix_timestamp().to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                tx.rollback().await?;
                return Ok(SeedOutcome::AlreadyPresent);
            }
            // Parents before children: the province is first in the file.
            for u in &units {
                let valid_until = match u.valid_until.as_str() {
                    "" => None,
                    s => Some(Date::parse(s, date_format).map_err(|e| {
                        StoreError::Internal(format!(
                            "admin unit {}: valid_until '{s}': {e}",
                            u.code
                        ))
                    })?),
                };
                sqlx::query(INSERT_ADMIN_UNITS)
                    .bind(&u.code)
                    .bind(&u.name)
                    .bind(&u.kind)
                    .bind(non_empty(u.parent_code.clone()))
                    .bind(valid_until)
                    .execute(&mut *tx)
                    .await?;
            }
            // Successors may come later in the file: insert first, link after.
            for a in &agencies {
                sqlx::query(INSERT_AGENCIES)
                    .bind(&a.code)
                    .bind(&a.name)
                    .bind(&a.kind)
                    .bind(&a.admin_unit_code)
                    .execute(&mut *tx)
                    .await?;
            }
            for a in agencies.iter().filter(|a| !a.successor_code.is_empty()) {
                sqlx::query(UPDATE_AGENCIES_SUCCESSOR_CODE)
                    .bind(&a.successor_code)
                    .bind(&a.code)
                    .execute(&mut *tx)
                    .await?;
            }
            for (account, hash) in DEMO_ACCOUNTS.iter().zip(&hashes) {
                let id = uuid::Uuid::new_v4().to_string();
                let kind = match account.role {
                    Role::Citizen => "citizen",
                    Role::Organisation => "organisation",
                    _ => "official",
                };
                sqlx::query(INSERT_DEMO_USER)
                    .bind(&id)
                    .bind(account.username)
                    .bind(account.display_name)
                    .bind(hash)
                    .bind(now)
                    .bind(kind)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO user_roles (user_id, role, agency_code) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(account.role.as_str())
                .bind(account.agency_code)
                .execute(&mut *tx)
                .await?;
                if account.role == Role::Citizen {
                    // A complete profile, so that forms show prefilling from the first visit.
                    sqlx::query(UPDATE_USERS_PHONE)
                        .bind(DEMO_CITIZEN_PHONE)
                        .bind("020190000123")
                        .bind("Số 12 phố Lê Lợi, phường Lương Văn Tri")
                        .bind(
                            units
                                .iter()
                                .find(|u| u.kind == "ward")
                                .map(|u| u.code.clone()),
                        )
                        .bind(&id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(SeedOutcome::Loaded)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_covers_every_role_once() {
        let mut roles: Vec<Role> = DEMO_ACCOUNTS.iter().map(|a| a.role).collect();
        roles.sort();
        assert_eq!(roles, Role::ALL.to_vec());
        for a in DEMO_ACCOUNTS {
            assert_eq!(
                a.role.is_official() && a.role != Role::SystemAdmin,
                a.agency_code.is_some(),
                "{a:?}"
            );
        }
    }

    #[test]
    fn the_embedded_reference_data_is_lang_son_after_the_2025_reform() {
        let units: Vec<UnitRecord> =
            parse_csv("admin_units.csv", ADMIN_UNITS_CSV).unwrap_or_default();
        let current = units
            .iter()
            .filter(|u| u.kind == "commune" || u.kind == "ward")
            .count();
        let wards = units.iter().filter(|u| u.kind == "ward").count();
        let former = units
            .iter()
            .filter(|u| u.kind == "district" && u.valid_until == "2025-06-30")
            .count();
        assert_eq!((current, wards, former), (65, 4, 11));
        for u in &units {
            assert!(motcua_core::text::is_nfc(&u.name), "{} is not NFC", u.name);
        }
        let agencies: Vec<AgencyRecord> =
            parse_csv("agencies.csv", AGENCIES_CSV).unwrap_or_default();
        let commune_centres = agencies
            .iter()
            .filter(|a| a.kind == "one_stop_desk" && a.admin_unit_code != "20")
            .count();
        assert_eq!(commune_centres, 65);
        let codes: Vec<&str> = agencies.iter().map(|a| a.code.as_str()).collect();
        for a in agencies.iter().filter(|a| !a.successor_code.is_empty()) {
            assert!(
                codes.contains(&a.successor_code.as_str()),
                "{} → {}",
                a.code,
                a.successor_code
            );
        }
    }
}
