//! Who stands how to a dossier: one function decides, from an account's roles and the dossier's
//! holders, whether the account may see it at all (else the dossier does not exist for it: 404)
//! and in which capacities it may act. Pages, the API and the store all ask it.

use super::{Actor, Status};
use crate::accounts::Permission;
use crate::Role;

/// Who is asking: an account's id and its roles, each scoped to an agency (or none).
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    /// Account id.
    pub id: &'a str,
    /// Roles with their agencies.
    pub roles: &'a [(Role, Option<String>)],
}

/// What of a dossier decides who stands to it.
#[derive(Debug, Clone, Copy)]
pub struct Holders<'a> {
    /// Who filed it (none for a paper dossier without an account).
    pub applicant_id: Option<&'a str>,
    /// The one-stop desk that receives it.
    pub desk_code: Option<&'a str>,
    /// The agency that decides it.
    pub agency_code: &'a str,
    /// Where it stands.
    pub status: Status,
    /// Agencies it was ever sent to for an opinion (liên thông).
    pub asked: &'a [String],
    /// Agencies whose opinion is still awaited.
    pub pending: &'a [String],
}

/// How an account may see a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The person who filed it.
    Applicant,
    /// A reception officer of the desk that receives it.
    Desk,
    /// An official of the deciding agency, of the desk, or of an agency asked for its opinion.
    Official,
}

/// An account's standing to a dossier: how it sees it and in which capacities it may act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// How it sees the dossier.
    pub view: View,
    /// The capacities it holds there (the rules of `decide` say what each may do when).
    pub capacities: Vec<Actor>,
}

impl Standing {
    /// Whether the account holds `actor` for this dossier.
    pub fn holds(&self, actor: Actor) -> bool {
        self.capacities.contains(&actor)
    }
}

/// The capacities in which `party` may act on the dossier; empty when none.
pub fn capacities(party: Party<'_>, d: Holders<'_>) -> Vec<Actor> {
    let mut out = Vec::new();
    if d.applicant_id == Some(party.id) {
        out.push(Actor::Applicant);
    }
    let at = |role: Role, agency: Option<&str>| {
        agency.is_some_and(|a| {
            party
                .roles
                .iter()
                .any(|(r, ag)| *r == role && ag.as_deref() == Some(a))
        })
    };
    if at(Role::Reception, d.desk_code) {
        out.push(Actor::Reception);
    }
    if at(Role::Specialist, Some(d.agency_code)) {
        out.push(Actor::Specialist);
    }
    if at(Role::Leader, Some(d.agency_code)) {
        out.push(Actor::Leader);
    }
    if d.pending
        .iter()
        .any(|a| at(Role::Specialist, Some(a)) || at(Role::Leader, Some(a)))
    {
        out.push(Actor::Consulted);
    }
    out
}

/// How `party` may see the dossier, or `None`: then it does not exist for that account.
pub fn view(party: Party<'_>, d: Holders<'_>) -> Option<View> {
    if d.applicant_id == Some(party.id) {
        return Some(View::Applicant);
    }
    let desk = party.roles.iter().any(|(r, ag)| {
        r.allows(Permission::ReceiveDossiers) && ag.is_some() && ag.as_deref() == d.desk_code
    });
    if desk {
        return Some(View::Desk);
    }
    let in_scope = |agency: &Option<String>| {
        agency
            .as_deref()
            .is_some_and(|code| Some(code) == d.desk_code || code == d.agency_code)
    };
    let official = party.roles.iter().any(|(r, ag)| {
        (r.allows(Permission::ReceiveDossiers)
            || r.allows(Permission::ExamineDossiers)
            || r.allows(Permission::ApproveDossiers))
            && in_scope(ag)
    });
    // An agency asked for its opinion sees the dossier once it was sent there.
    let consulted = party.roles.iter().any(|(r, ag)| {
        r.allows(Permission::ExamineDossiers)
            && d.asked.iter().any(|a| ag.as_deref() == Some(a.as_str()))
    });
    ((official && d.status != Status::Draft) || consulted).then_some(View::Official)
}

/// The account's standing to the dossier, or `None` when the dossier does not exist for it.
pub fn standing(party: Party<'_>, d: Holders<'_>) -> Option<Standing> {
    Some(Standing {
        view: view(party, d)?,
        capacities: capacities(party, d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AGENCIES: [&str; 3] = ["so-xd", "ttpvhcc-tinh", "so-tnmt"];

    fn role() -> impl Strategy<Value = (Role, Option<String>)> {
        (
            proptest::sample::select(Role::ALL.to_vec()),
            proptest::option::of(proptest::sample::select(AGENCIES.to_vec())),
        )
            .prop_map(|(r, a)| (r, a.map(str::to_owned)))
    }

    fn agencies() -> impl Strategy<Value = Vec<String>> {
        proptest::sample::subsequence(AGENCIES.to_vec(), 0..=2)
            .prop_map(|v| v.into_iter().map(str::to_owned).collect())
    }

    #[test]
    fn each_capacity_comes_from_the_matching_role_in_the_matching_agency() {
        let roles = vec![
            (Role::Reception, Some("ttpvhcc-tinh".to_owned())),
            (Role::Specialist, Some("so-tnmt".to_owned())),
        ];
        let party = Party {
            id: "u1",
            roles: &roles,
        };
        let pending = vec!["so-tnmt".to_owned()];
        let d = Holders {
            applicant_id: Some("u2"),
            desk_code: Some("ttpvhcc-tinh"),
            agency_code: "so-xd",
            status: Status::Consulting,
            asked: &pending,
            pending: &pending,
        };
        assert_eq!(
            standing(party, d),
            Some(Standing {
                view: View::Desk,
                capacities: vec![Actor::Reception, Actor::Consulted]
            })
        );
        let stranger = Party {
            id: "u3",
            roles: &[],
        };
        assert_eq!(standing(stranger, d), None);
        let applicant = Party {
            id: "u2",
            roles: &[],
        };
        assert_eq!(
            standing(applicant, d).map(|s| (s.view, s.holds(Actor::Applicant))),
            Some((View::Applicant, true))
        );
    }

    proptest! {
        #[test]
        fn whoever_may_act_on_a_filed_dossier_may_see_it(
            roles in proptest::collection::vec(role(), 0..4),
            mine in any::<bool>(),
            desk in proptest::option::of(proptest::sample::select(AGENCIES.to_vec())),
            agency in proptest::sample::select(AGENCIES.to_vec()),
            status in proptest::sample::select(Status::ALL.to_vec()),
            pending in agencies(),
        ) {
            let party = Party { id: "me", roles: &roles };
            let d = Holders {
                applicant_id: Some(if mine { "me" } else { "someone" }),
                desk_code: desk,
                agency_code: agency,
                status,
                asked: &pending,
                pending: &pending,
            };
            let caps = capacities(party, d);
            if status != Status::Draft && !caps.is_empty() {
                prop_assert!(view(party, d).is_some(), "{caps:?} without a view");
            }
            prop_assert_eq!(caps.contains(&Actor::Applicant), mine);
            prop_assert_eq!(view(party, d) == Some(View::Applicant), mine);
        }
    }
}
