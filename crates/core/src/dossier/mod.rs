//! Dossiers (hồ sơ): their codes, statuses, the rules of what may happen to them, the check of a
//! submitted form and of an uploaded file. The store records what these rules decide.

pub mod clock;
pub mod code;
pub mod command;
pub mod event;
pub mod file;
pub mod form;
pub mod lifecycle;
pub mod machine;
pub mod routing;
pub mod standing;
pub mod status;
pub mod timing;
pub mod wording;
pub mod workflow;

pub use clock::deadline_at_reception;
pub use code::{CodeError, CodePrefix, DossierCode};
pub use command::{handle, Command, CommandError, Context, Inputs, ResultDoc, Transition};
pub use event::{Detail, EventKind, Payload};
pub use file::{minimal_pdf, FileError, FileKind, Held, UploadLimits};
pub use form::{applicant_fields, validate_form, FieldError};
pub use lifecycle::Lifecycle;
pub use machine::{decide, Action, Actor, Assignee, Facts, RuleError};
pub use routing::{receiving_desk, Desk, DeskDirectory, DeskUnit};
pub use standing::{standing, Holders, Party, Standing, View};
pub use status::{Channel, HandOverMethod, OfflineReason, Outcome, Status};
pub use wording::{format_day, format_local, Notice};
pub use workflow::{ConsultMode, Step, StepKind, Workflow, WorkflowError};
