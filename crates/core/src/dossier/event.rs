//! What an event says, typed: its kind, the facts of the action ([`Detail`]) that statistics
//! count and the timeline renders, and the fields it changed ([`Payload::changes`]), from which
//! the state is rebuilt. The payload is stored as JSON in the event row and covered by its hash.
//! Events written before payloads existed have none; their note already holds the rendered text.

use super::lifecycle::Changes;
use super::wording::format_local;
use super::{Action, Channel, HandOverMethod, OfflineReason, Outcome};
use crate::calendar::deadline::TimeLimit;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What happened to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A draft was created online.
    Create,
    /// A paper dossier was registered at the counter or from the post.
    Register,
    /// The due moment moved with a new holiday schedule.
    RecomputeDue,
    /// An action of the one-stop rules.
    Act(Action),
}

impl EventKind {
    /// Identifier in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Create => "create",
            EventKind::Register => "register",
            EventKind::RecomputeDue => "recompute_due",
            EventKind::Act(a) => a.as_str(),
        }
    }

    /// Reads an identifier.
    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "create" => Some(EventKind::Create),
            "register" => Some(EventKind::Register),
            "recompute_due" => Some(EventKind::RecomputeDue),
            other => Action::parse(other).map(EventKind::Act),
        }
    }

    /// How the timeline names it.
    pub fn label_vi(self) -> &'static str {
        match self {
            EventKind::Create => "Tạo hồ sơ",
            EventKind::Register => "Tiếp nhận hồ sơ giấy tại Bộ phận Một cửa",
            EventKind::RecomputeDue => "Cập nhật hạn trả kết quả theo lịch nghỉ mới",
            EventKind::Act(a) => a.label_vi(),
        }
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EventKind::parse(&s).ok_or_else(|| format!("unknown event kind '{s}'"))
    }
}

/// A step sent to another agency (liên thông).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentStep {
    /// Index of the workflow step.
    pub step: i64,
    /// The agency asked.
    pub agency: String,
    /// Its share of the time ends.
    pub due_at: Option<OffsetDateTime>,
}

/// The facts of an event, beyond the note the person wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    /// A draft was created.
    Created,
    /// A paper dossier was registered.
    Registered {
        /// Counter or post.
        channel: Channel,
        /// Why not online.
        offline_reason: OfflineReason,
    },
    /// Submitted online.
    Submitted,
    /// Received complete: the clock started.
    Received {
        /// The processing time it runs under.
        time_limit: TimeLimit,
        /// The workflow version it follows.
        workflow_version: i64,
    },
    /// Supplements asked for (Mẫu 02).
    SupplementRequested {
        /// What to add or fix.
        items: Vec<String>,
    },
    /// The completed dossier came back.
    Resubmitted,
    /// Refused at reception (Mẫu 03).
    Refused,
    /// Withdrawn.
    Withdrawn,
    /// A specialist was assigned.
    Assigned {
        /// Their account.
        specialist_id: String,
        /// Their name.
        specialist_name: String,
    },
    /// Sent to other agencies.
    Transferred {
        /// The steps sent.
        steps: Vec<SentStep>,
    },
    /// Another agency answered.
    Answered {
        /// The agency that answered.
        agency: String,
    },
    /// Sent back one step.
    SentBack,
    /// A result was proposed.
    Proposed {
        /// Grant or reject.
        outcome: Outcome,
    },
    /// The proposal was approved.
    Approved,
    /// The result was issued.
    ResultIssued {
        /// Its name.
        file_name: String,
        /// Its content hash.
        sha256: String,
    },
    /// The result reached the applicant.
    HandedOver {
        /// How.
        method: HandOverMethod,
    },
    /// Apology and one new appointment (Mẫu 04).
    Rescheduled {
        /// The new appointment.
        new_due: OffsetDateTime,
    },
    /// The due moment moved with the calendar.
    DueRecomputed {
        /// Before.
        from: Option<OffsetDateTime>,
        /// After.
        to: OffsetDateTime,
    },
}

/// The stored payload of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// The facts.
    pub detail: Detail,
    /// The state fields it changed.
    pub changes: Changes,
}

impl Payload {
    /// As stored in the event row (and hashed).
    pub fn to_json(&self) -> String {
        // A map of strings to JSON values and plain enums: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored payload; `None` for an event written before payloads.
    pub fn from_json(s: &str) -> Result<Option<Payload>, serde_json::Error> {
        if s.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(s).map(Some)
    }
}

impl Detail {
    /// What the timeline says of the event, from its facts and the note the person wrote: the
    /// same text the store wrote into the note before events had payloads.
    pub fn describe_vi(&self, note: &str) -> String {
        let with = |head: &str| {
            if note.is_empty() {
                head.to_owned()
            } else {
                format!("{head} — {note}")
            }
        };
        match self {
            Detail::Registered {
                channel,
                offline_reason,
            } => format!("{} — {}", channel.label_vi(), offline_reason.label_vi()),
            Detail::SupplementRequested { items } => {
                let items = items.join("; ");
                if note.is_empty() {
                    items
                } else {
                    format!("{items} — Lý do: {note}")
                }
            }
            Detail::Proposed { outcome } => with(outcome.label_vi()),
            Detail::HandedOver { method } => with(method.label_vi()),
            Detail::ResultIssued { file_name, .. } if note.is_empty() => file_name.clone(),
            Detail::Rescheduled { new_due } => {
                format!("{note} — Hẹn lại: {}", format_local(*new_due))
            }
            Detail::DueRecomputed { from, to } => format!(
                "{} → {}",
                from.map(format_local).unwrap_or_default(),
                format_local(*to)
            ),
            _ => note.to_owned(),
        }
    }

    /// The reason given with a supplement request, a refusal or an apology: the note itself
    /// (before payloads, it was the part after " — Lý do: " or before " — Hẹn lại: ").
    pub fn reason_of_legacy_note(kind: EventKind, note: &str) -> &str {
        match kind {
            EventKind::Act(Action::RequestSupplement) => {
                note.split(" — Lý do: ").nth(1).unwrap_or("")
            }
            EventKind::Act(Action::ApologiseAndReschedule) => note
                .rsplit_once(" — Hẹn lại: ")
                .map_or(note, |(reason, _)| reason),
            _ => note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_kind_reads_back_from_its_identifier() {
        for k in [
            EventKind::Create,
            EventKind::Register,
            EventKind::RecomputeDue,
        ]
        .into_iter()
        .chain(Action::ALL.map(EventKind::Act))
        {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("colour"), None);
    }

    #[test]
    fn the_timeline_text_is_the_one_notes_carried_before_payloads() {
        let items = Detail::SupplementRequested {
            items: vec!["Bản sao chứng chỉ đào tạo".into()],
        };
        assert_eq!(
            items.describe_vi("Lý do ghi rõ"),
            "Bản sao chứng chỉ đào tạo — Lý do: Lý do ghi rõ"
        );
        let rescheduled = Detail::Rescheduled {
            new_due: datetime!(2027-01-16 10:00 UTC),
        };
        assert_eq!(
            rescheduled.describe_vi("Lý do ghi rõ"),
            "Lý do ghi rõ — Hẹn lại: 17:00 16/01/2027"
        );
        let handed = Detail::HandedOver {
            method: HandOverMethod::Counter,
        };
        assert_eq!(
            handed.describe_vi("Lý do ghi rõ"),
            "Trực tiếp tại Bộ phận Một cửa — Lý do ghi rõ"
        );
        assert_eq!(
            Detail::Proposed {
                outcome: Outcome::Grant
            }
            .describe_vi(""),
            "Giải quyết theo đề nghị"
        );
        // The reason inside an old note is found where the old text put it.
        assert_eq!(
            Detail::reason_of_legacy_note(
                EventKind::Act(Action::ApologiseAndReschedule),
                &rescheduled.describe_vi("Lý do ghi rõ")
            ),
            "Lý do ghi rõ"
        );
        assert_eq!(
            Detail::reason_of_legacy_note(
                EventKind::Act(Action::RequestSupplement),
                &items.describe_vi("Lý do ghi rõ")
            ),
            "Lý do ghi rõ"
        );
    }

    #[test]
    fn a_payload_reads_back_as_written() {
        let p = Payload {
            detail: Detail::Transferred {
                steps: vec![SentStep {
                    step: 1,
                    agency: "so-tc".into(),
                    due_at: Some(datetime!(2026-12-09 09:30 UTC)),
                }],
            },
            changes: Changes::new(),
        };
        assert_eq!(Payload::from_json(&p.to_json()).unwrap(), Some(p));
        assert_eq!(Payload::from_json("").unwrap(), None);
    }
}
