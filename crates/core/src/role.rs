//! Roles a person can hold. Officials hold roles scoped to an agency; one person may hold several.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role in the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An individual applicant (công dân).
    Citizen,
    /// An organisation applicant (doanh nghiệp, tổ chức).
    Organisation,
    /// One-stop desk officer who receives dossiers (cán bộ tiếp nhận).
    Reception,
    /// Examines dossiers (chuyên viên).
    Specialist,
    /// Approves and signs results (lãnh đạo).
    Leader,
    /// Manages an agency's procedures, workflows and officials.
    AgencyAdmin,
    /// Follows the communication plan (the monitoring department).
    PlanMonitor,
    /// Administers the whole installation.
    SystemAdmin,
}

impl Role {
    /// Every role, in the order pages list them.
    pub const ALL: [Role; 8] = [
        Role::Citizen,
        Role::Organisation,
        Role::Reception,
        Role::Specialist,
        Role::Leader,
        Role::AgencyAdmin,
        Role::PlanMonitor,
        Role::SystemAdmin,
    ];

    /// Stable identifier used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Organisation => "organisation",
            Role::Reception => "reception",
            Role::Specialist => "specialist",
            Role::Leader => "leader",
            Role::AgencyAdmin => "agency_admin",
            Role::PlanMonitor => "plan_monitor",
            Role::SystemAdmin => "system_admin",
        }
    }

    /// The Vietnamese name shown on pages.
    pub fn label_vi(self) -> &'static str {
        match self {
            Role::Citizen => "Công dân",
            Role::Organisation => "Tổ chức, doanh nghiệp",
            Role::Reception => "Cán bộ tiếp nhận (Một cửa)",
            Role::Specialist => "Chuyên viên",
            Role::Leader => "Lãnh đạo",
            Role::AgencyAdmin => "Quản trị cơ quan",
            Role::PlanMonitor => "Theo dõi kế hoạch",
            Role::SystemAdmin => "Quản trị hệ thống",
        }
    }

    /// Officials act for an agency; applicants act for themselves.
    pub fn is_official(self) -> bool {
        !matches!(self, Role::Citizen | Role::Organisation)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no role.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role '{0}'")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_identifier() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole("admin".into())));
    }

    #[test]
    fn only_applicants_are_not_officials() {
        let applicants: Vec<_> = Role::ALL.into_iter().filter(|r| !r.is_official()).collect();
        assert_eq!(applicants, vec![Role::Citizen, Role::Organisation]);
    }
}
