//! Agencies (cơ quan, đơn vị): bodies that receive dossiers or decide on them.

use serde::{Deserialize, Serialize};

/// What kind of body an agency is; it decides which queues and reports it appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// Provincial People's Committee and its Office.
    ProvincialCommittee,
    /// A provincial department (sở, ban, ngành).
    Department,
    /// A one-stop desk: provincial or commune public-administration service centre.
    OneStopDesk,
    /// A commune or ward People's Committee.
    CommuneCommittee,
    /// Any other body (tax office, police, a management board).
    Other,
}

impl AgencyKind {
    /// Stable identifier used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyKind::ProvincialCommittee => "provincial_committee",
            AgencyKind::Department => "department",
            AgencyKind::OneStopDesk => "one_stop_desk",
            AgencyKind::CommuneCommittee => "commune_committee",
            AgencyKind::Other => "other",
        }
    }

    /// Parses the database identifier.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ProvincialCommittee,
            Self::Department,
            Self::OneStopDesk,
            Self::CommuneCommittee,
            Self::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One agency. Agencies merged since 2018 keep their row and point at their successor, so history
/// is never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Stable short identifier, e.g. "so-khcn".
    pub code: String,
    /// Official Vietnamese name.
    pub name: String,
    /// Kind of body.
    pub kind: AgencyKind,
    /// The administrative unit it serves (province code or commune code).
    pub admin_unit_code: String,
    /// The agency that took over its duties, for merged bodies.
    pub successor_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [
            AgencyKind::ProvincialCommittee,
            AgencyKind::Department,
            AgencyKind::OneStopDesk,
            AgencyKind::CommuneCommittee,
            AgencyKind::Other,
        ] {
            assert_eq!(AgencyKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AgencyKind::parse(""), None);
    }
}
