//! Which one-stop desk receives a dossier. Since Decree 118/2025 the provincial and commune
//! centres accept dossiers whatever the applicant's address; what decides is the level that
//! implements the procedure: commune-level procedures go to the centre of the commune the
//! applicant chose, everything else to the provincial centre.

use crate::catalogue::Level;

/// Where a dossier is received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskUnit {
    /// The provincial public-administration service centre.
    Province,
    /// The centre of this commune or ward.
    Commune(String),
}

/// The desk for a procedure implemented at `levels`, filed for `commune`.
pub fn receiving_desk(levels: &[Level], commune: Option<&str>) -> DeskUnit {
    let commune_only = !levels.is_empty() && levels.iter().all(|l| *l == Level::Commune);
    match commune {
        Some(c) if commune_only && !c.is_empty() => DeskUnit::Commune(c.to_owned()),
        _ => DeskUnit::Province,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commune_procedures_go_to_the_chosen_commune_and_the_rest_to_the_province() {
        assert_eq!(
            receiving_desk(&[Level::Commune], Some("05977")),
            DeskUnit::Commune("05977".into())
        );
        assert_eq!(receiving_desk(&[Level::Commune], None), DeskUnit::Province);
        assert_eq!(
            receiving_desk(&[Level::Province, Level::Commune], Some("05977")),
            DeskUnit::Province
        );
        assert_eq!(receiving_desk(&[], Some("05977")), DeskUnit::Province);
    }
}
