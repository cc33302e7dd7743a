//! The part of a dossier that its history decides: status, code, deadline, assignment, outcome,
//! result. Every event carries the fields it changed ([`Changes`]), so folding a dossier's events
//! over [`Lifecycle::blank`] rebuilds exactly what the row holds ([`Lifecycle::replay`]): the
//! stored row is a cache of the history, and a test can prove it.

use super::{HandOverMethod, Outcome, Status, Workflow};
use crate::calendar::deadline::Deadline;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a dossier's history decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Status.
    pub status: Status,
    /// Code, once submitted or registered.
    pub code: Option<String>,
    /// The one-stop desk that receives it.
    pub desk_code: Option<String>,
    /// What the due moment is computed from, once received.
    pub deadline: Option<Deadline>,
    /// Due moment.
    pub due_at: Option<OffsetDateTime>,
    /// Supplement requests so far.
    pub supplement_requests: i64,
    /// The open supplement request: what to add or fix.
    pub supplement_items: Vec<String>,
    /// Submitted (online) or registered (paper).
    pub submitted_at: Option<OffsetDateTime>,
    /// Received.
    pub received_at: Option<OffsetDateTime>,
    /// Closed (refused, withdrawn, handed over).
    pub closed_at: Option<OffsetDateTime>,
    /// The workflow it follows, copied at reception (so later edits do not change it).
    pub workflow: Option<Workflow>,
    /// Version of that workflow (0: the default one).
    pub workflow_version: i64,
    /// The specialist who examines it.
    pub assignee_id: Option<String>,
    /// Their name.
    pub assignee_name: String,
    /// When the current step is due.
    pub step_due_at: Option<OffsetDateTime>,
    /// The proposed (then approved) outcome.
    pub outcome: Option<Outcome>,
    /// New appointments given (Mẫu 04; at most one).
    pub reschedules: i64,
    /// The due moment before the new appointment.
    pub original_due_at: Option<OffsetDateTime>,
    /// The issued result file.
    pub result_sha256: Option<String>,
    /// Its name.
    pub result_file_name: Option<String>,
    /// When the result was issued.
    pub decided_at: Option<OffsetDateTime>,
    /// How the result was handed over.
    pub hand_over_method: Option<HandOverMethod>,
}

/// The fields an event changed, by name, with their new values. Status is not among them: every
/// event row carries the status after it.
pub type Changes = BTreeMap<String, serde_json::Value>;

/// A history that cannot be folded: a payload that does not fit the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event payload does not fit the dossier state: {0}")]
pub struct ReplayError(pub String);

impl Lifecycle {
    /// Before anything happened: a draft with nothing decided.
    pub fn blank() -> Lifecycle {
        Lifecycle {
            status: Status::Draft,
            code: None,
            desk_code: None,
            deadline: None,
            due_at: None,
            supplement_requests: 0,
            supplement_items: Vec::new(),
            submitted_at: None,
            received_at: None,
            closed_at: None,
            workflow: None,
            workflow_version: 0,
            assignee_id: None,
            assignee_name: String::new(),
            step_due_at: None,
            outcome: None,
            reschedules: 0,
            original_due_at: None,
            result_sha256: None,
            result_file_name: None,
            decided_at: None,
            hand_over_method: None,
        }
    }

    /// The workflow it follows (the default one until reception).
    pub fn current_workflow(&self) -> Workflow {
        self.workflow.clone().unwrap_or_default()
    }

    fn fields(&self) -> Result<serde_json::Map<String, serde_json::Value>, ReplayError> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            Ok(_) => Err(ReplayError("state is not an object".into())),
            Err(e) => Err(ReplayError(e.to_string())),
        }
    }

    /// The fields of `after` that differ from `self`.
    pub fn changes_to(&self, after: &Lifecycle) -> Result<Changes, ReplayError> {
        let before = self.fields()?;
        Ok(after
            .fields()?
            .into_iter()
            .filter(|(k, v)| k != "status" && before.get(k) != Some(v))
            .collect())
    }

    /// The state after an event that left the dossier in `status` and changed `changes`.
    pub fn apply(&self, status: Status, changes: &Changes) -> Result<Lifecycle, ReplayError> {
        let mut fields = self.fields()?;
        for (k, v) in changes {
            if k == "status" || !fields.contains_key(k) {
                return Err(ReplayError(format!("unknown field '{k}'")));
            }
            fields.insert(k.clone(), v.clone());
        }
        let mut next: Lifecycle = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| ReplayError(e.to_string()))?;
        next.status = status;
        Ok(next)
    }

    /// Folds a history, oldest first: each event's status and changes.
    pub fn replay<'e>(
        events: impl IntoIterator<Item = (Status, &'e Changes)>,
    ) -> Result<Lifecycle, ReplayError> {
        events
            .into_iter()
            .try_fold(Lifecycle::blank(), |s, (status, changes)| {
                s.apply(status, changes)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn changes_name_only_what_moved_and_apply_restores_it() {
        let before = Lifecycle::blank();
        let mut after = before.clone();
        after.status = Status::Submitted;
        after.code = Some("000.00.00.H37-261207-0001".into());
        after.submitted_at = Some(datetime!(2026-12-07 08:00 UTC));
        let changes = before.changes_to(&after).unwrap();
        assert_eq!(
            changes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["code", "submitted_at"]
        );
        assert_eq!(before.apply(Status::Submitted, &changes).unwrap(), after);
    }

    #[test]
    fn a_payload_naming_an_unknown_field_is_refused() {
        let mut changes = Changes::new();
        changes.insert("colour".into(), serde_json::json!("red"));
        assert!(Lifecycle::blank().apply(Status::Draft, &changes).is_err());
    }
}
