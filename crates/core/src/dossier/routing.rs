//! Which one-stop desk receives a dossier. Since Decree 118/2025 the provincial and commune
//! centres accept dossiers whatever the applicant's address; what decides is the level that
//! implements the procedure: commune-level procedures go to the centre of the commune the
//! applicant chose, everything else to the provincial centre.

use crate::catalogue::Level;
use std::collections::HashMap;

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

/// A one-stop desk as the directory learns it: its agency code, the unit it serves, and
/// whether that unit is the province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    /// Agency code of the desk.
    pub code: String,
    /// Administrative unit it serves.
    pub unit: String,
    /// The unit is a province (its centre is the provincial one).
    pub provincial: bool,
}

/// The one-stop desks by the unit they serve, so that a filing is routed without a lookup in
/// the database. Where a unit has several desks, the smallest code receives (a stable choice the
/// back office can predict).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskDirectory {
    by_unit: HashMap<String, String>,
    province: Option<String>,
}

impl DeskDirectory {
    /// The directory of these desks.
    pub fn new(desks: impl IntoIterator<Item = Desk>) -> DeskDirectory {
        let mut dir = DeskDirectory::default();
        for d in desks {
            if d.provincial && dir.province.as_ref().is_none_or(|c| d.code < *c) {
                dir.province = Some(d.code.clone());
            }
            let own = dir.by_unit.entry(d.unit).or_insert_with(|| d.code.clone());
            if d.code < *own {
                *own = d.code;
            }
        }
        dir
    }

    /// The desk that receives a dossier for `unit`: the commune's centre, or the provincial one
    /// when the commune has none (or the procedure is not a commune one); `None` only when the
    /// province has no desk at all.
    pub fn desk(&self, unit: &DeskUnit) -> Option<&str> {
        match unit {
            DeskUnit::Commune(c) => self.by_unit.get(c).or(self.province.as_ref()),
            DeskUnit::Province => self.province.as_ref(),
        }
        .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn desk(code: &str, unit: &str, provincial: bool) -> Desk {
        Desk {
            code: code.into(),
            unit: unit.into(),
            provincial,
        }
    }

    #[test]
    fn a_commune_with_a_centre_receives_and_one_without_falls_back_to_the_province() {
        let dir = DeskDirectory::new([
            desk("ttpvhcc-tinh", "20", true),
            desk("ttpvhcc-05977", "05977", false),
        ]);
        let commune = |c: &str| DeskUnit::Commune(c.into());
        assert_eq!(dir.desk(&commune("05977")), Some("ttpvhcc-05977"));
        assert_eq!(dir.desk(&commune("99999")), Some("ttpvhcc-tinh"));
        assert_eq!(dir.desk(&DeskUnit::Province), Some("ttpvhcc-tinh"));
        assert_eq!(DeskDirectory::default().desk(&commune("05977")), None);
    }

    proptest! {
        /// Whatever order the desks come in, each unit gets its smallest code and the province
        /// its smallest provincial code.
        #[test]
        fn the_smallest_code_receives_whatever_the_order(
            desks in proptest::collection::vec(("[a-d]{1,2}", "[0-3]", any::<bool>()), 0..12),
            unit in "[0-4]",
        ) {
            let list: Vec<Desk> = desks.iter().map(|(c, u, p)| desk(c, u, *p)).collect();
            let mut reversed = list.clone();
            reversed.reverse();
            let dir = DeskDirectory::new(list.clone());
            prop_assert_eq!(&dir, &DeskDirectory::new(reversed));
            let province = list.iter().filter(|d| d.provincial).map(|d| d.code.as_str()).min();
            let own = list.iter().filter(|d| d.unit == unit).map(|d| d.code.as_str()).min();
            prop_assert_eq!(dir.desk(&DeskUnit::Commune(unit)), own.or(province));
            prop_assert_eq!(dir.desk(&DeskUnit::Province), province);
        }
    }

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
