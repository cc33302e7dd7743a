//! The procedure catalogue (thủ tục hành chính): what a procedure publishes (Circular 32/2017
//! art. 5), how raw published text is read into it, and the search that finds it.

pub mod files;
pub mod parse;
pub mod procedure;
pub mod search;

pub use procedure::{
    DocumentForm, Fee, FieldKind, FormField, Level, OnlineMode, ProactiveLevel, Procedure,
    ProcedureError, RequiredDocument,
};
