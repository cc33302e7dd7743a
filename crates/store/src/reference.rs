//! Reference data: administrative units and agencies.

use crate::backend::on_pool;
use crate::{Store, StoreError};
use motcua_core::{AdminUnit, AdminUnitKind, AgencyKind};
use time::Date;

const SELECT_ADMIN_UNITS: &str = "SELECT code, name, kind, parent_code, valid_until \
     FROM admin_units \
     ORDER BY (valid_until IS NULL) DESC, code";

const REFERENCE_COUNTS: &str =
    "SELECT (SELECT COUNT(*) FROM admin_units WHERE kind = 'commune' AND valid_until IS \
     NULL), (SELECT COUNT(*) FROM admin_units WHERE kind = 'ward' AND valid_until IS NULL), \
     (SELECT COUNT(*) FROM agencies WHERE successor_code IS NULL)";

const SELECT_AGENCIES: &str = "SELECT a.code, a.name, a.kind, u.name, s.name \
     FROM agencies a \
     JOIN admin_units u ON u.code = a.admin_unit_code \
     LEFT JOIN agencies s ON s.code = a.successor_code \
     ORDER BY (a.successor_code IS NULL) DESC, a.admin_unit_code, a.code";

/// An agency as pages list it, with its successor's name for merged bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyRow {
    /// Stable identifier.
    pub code: String,
    /// Official name.
    pub name: String,
    /// Kind of body.
    pub kind: AgencyKind,
    /// Name of the administrative unit it serves.
    pub admin_unit_name: String,
    /// Name of the agency that took over, for merged bodies.
    pub successor_name: Option<String>,
}

/// Headline figures of the reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReferenceCounts {
    /// Current communes (xã).
    pub communes: i64,
    /// Current wards (phường).
    pub wards: i64,
    /// Agencies that still exist (not merged into a successor).
    pub agencies: i64,
}

type UnitTuple = (String, String, String, Option<String>, Option<Date>);
type AgencyTuple = (String, String, String, String, Option<String>);

impl Store {
    /// Every administrative unit, current ones first, each group by code.
    pub async fn admin_units(&self) -> Result<Vec<AdminUnit>, StoreError> {
        let sql = SELECT_ADMIN_UNITS;
        let rows: Vec<UnitTuple> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(code, name, kind, parent_code, valid_until)| {
                let kind = AdminUnitKind::parse(&kind).ok_or_else(|| {
                    StoreError::Internal(format!("admin unit {code}: unknown kind '{kind}'"))
                })?;
                Ok(AdminUnit {
                    code,
                    name,
                    kind,
                    parent_code,
                    valid_until,
                })
            })
            .collect()
    }

    /// Counts of current communes, wards and agencies, for the home page.
    pub async fn reference_counts(&self) -> Result<ReferenceCounts, StoreError> {
        let sql = REFERENCE_COUNTS;
        let (communes, wards, agencies): (i64, i64, i64) =
            on_pool!(self.backend(), |p| sqlx::query_as(sql).fetch_one(p).await)?;
        Ok(ReferenceCounts {
            communes,
            wards,
            agencies,
        })
    }

    /// Every agency with the names of its unit and successor, ordered for display.
    pub async fn agencies(&self) -> Result<Vec<AgencyRow>, StoreError> {
        let sql = SELECT_AGENCIES;
        let rows: Vec<AgencyTuple> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(code, name, kind, admin_unit_name, successor_name)| {
                let kind = AgencyKind::parse(&kind).ok_or_else(|| {
                    StoreError::Internal(format!("agency {code}: unknown kind '{kind}'"))
                })?;
                Ok(AgencyRow {
                    code,
                    name,
                    kind,
                    admin_unit_name,
                    successor_name,
                })
            })
            .collect()
    }
}
