//! Administrative units (đơn vị hành chính). Since 1 July 2025 local government has two tiers,
//! province and commune/ward; the former districts are kept as history because old dossiers name them.

use serde::{Deserialize, Serialize};
use time::Date;

/// The tier of an administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminUnitKind {
    /// Tỉnh.
    Province,
    /// Huyện / thành phố thuộc tỉnh: abolished on 1 July 2025, history only.
    District,
    /// Xã.
    Commune,
    /// Phường.
    Ward,
}

impl AdminUnitKind {
    /// Stable identifier used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminUnitKind::Province => "province",
            AdminUnitKind::District => "district",
            AdminUnitKind::Commune => "commune",
            AdminUnitKind::Ward => "ward",
        }
    }

    /// Parses the database identifier.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Province, Self::District, Self::Commune, Self::Ward]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One administrative unit, current or historical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUnit {
    /// GSO code where one is known (e.g. "05983"); otherwise a stable local identifier.
    pub code: String,
    /// Full official name with its tier, e.g. "Phường Lương Văn Tri", "Thành phố Lạng Sơn".
    pub name: String,
    /// Tier.
    pub kind: AdminUnitKind,
    /// Code of the parent unit (the province for communes and former districts).
    pub parent_code: Option<String>,
    /// Last day the unit existed, for units abolished by a reorganisation.
    pub valid_until: Option<Date>,
}

impl AdminUnit {
    /// Whether the unit still exists on `day`.
    pub fn is_current_on(&self, day: Date) -> bool {
        self.valid_until.is_none_or(|last| day <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_former_district_is_history_after_the_reform() {
        let d = AdminUnit {
            code: "district-cao-loc".into(),
            name: "Huyện Cao Lộc".into(),
            kind: AdminUnitKind::District,
            parent_code: Some("20".into()),
            valid_until: Some(date!(2025 - 06 - 30)),
        };
        assert!(d.is_current_on(date!(2025 - 06 - 30)));
        assert!(!d.is_current_on(date!(2025 - 07 - 01)));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            AdminUnitKind::Province,
            AdminUnitKind::District,
            AdminUnitKind::Commune,
            AdminUnitKind::Ward,
        ] {
            assert_eq!(AdminUnitKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AdminUnitKind::parse("hamlet"), None);
    }
}
