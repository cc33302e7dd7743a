//! Time as the law counts it: the Vietnamese lunar calendar, public holidays, office hours and the
//! deadlines of dossiers in working days.

pub mod deadline;
pub mod holidays;
pub mod input;
pub mod lunar;
