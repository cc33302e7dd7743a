//! The permission matrix. Every route names the access it needs; the server checks it for every
//! request, and object-level checks (this dossier, this agency) come on top. The table is written
//! out in `docs/permissions.md`.

use crate::Role;

/// Something a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See and edit one's own account, profile, sessions and tokens.
    OwnAccount,
    /// File dossiers online and follow one's own.
    SubmitDossiers,
    /// Receive dossiers at a one-stop desk.
    ReceiveDossiers,
    /// Examine dossiers.
    ExamineDossiers,
    /// Approve and sign results.
    ApproveDossiers,
    /// Export the ledger (Sổ theo dõi hồ sơ, Mẫu 06) of one's desk or agency.
    ReadLedger,
    /// Edit one's agency's procedures, forms and workflows.
    ManageAgencyCatalogue,
    /// Create officials and grant roles within one's agency (system admins: everywhere).
    ManageOfficials,
    /// Follow and edit the communication plan.
    MonitorPlan,
    /// See the plan and file progress reports for one's agency's tasks.
    ReportPlanProgress,
    /// Read the security audit log.
    ReadSecurityLog,
    /// Enter yearly holiday schedules.
    ManageCalendar,
    /// Watch message deliveries, read a message's history and send it again.
    MonitorDelivery,
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Only visitors who are not signed in (login and registration forms).
    Anonymous,
    /// Any signed-in person.
    SignedIn,
    /// A signed-in person whose roles grant the permission.
    Needs(Permission),
    /// Exists only on demo installations (the dev inbox).
    DemoOnly,
}

impl Role {
    /// Whether this role grants `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match p {
            OwnAccount => true,
            SubmitDossiers => matches!(self, Role::Citizen | Role::Organisation),
            ReceiveDossiers => matches!(self, Role::Reception),
            ExamineDossiers => matches!(self, Role::Specialist | Role::Leader),
            ApproveDossiers => matches!(self, Role::Leader),
            ReadLedger => matches!(self, Role::Reception | Role::Specialist | Role::Leader),
            ManageAgencyCatalogue => matches!(self, Role::AgencyAdmin | Role::SystemAdmin),
            ManageOfficials => matches!(self, Role::AgencyAdmin | Role::SystemAdmin),
            MonitorPlan => matches!(self, Role::PlanMonitor | Role::SystemAdmin),
            ReportPlanProgress => !matches!(self, Role::Citizen | Role::Organisation),
            ReadSecurityLog => matches!(self, Role::SystemAdmin),
            ManageCalendar => matches!(self, Role::SystemAdmin),
            MonitorDelivery => matches!(self, Role::SystemAdmin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicants_only_manage_their_own_account_and_dossiers() {
        for r in [Role::Citizen, Role::Organisation] {
            let granted: Vec<Permission> = ALL.into_iter().filter(|p| r.allows(*p)).collect();
            assert_eq!(
                granted,
                vec![Permission::OwnAccount, Permission::SubmitDossiers]
            );
        }
        for r in Role::ALL {
            let applicant = matches!(r, Role::Citizen | Role::Organisation);
            assert_eq!(r.allows(Permission::SubmitDossiers), applicant);
        }
    }

    #[test]
    fn only_system_admins_read_the_security_log_and_enter_schedules() {
        for r in Role::ALL {
            assert_eq!(
                r.allows(Permission::ReadSecurityLog),
                r == Role::SystemAdmin
            );
            assert_eq!(r.allows(Permission::ManageCalendar), r == Role::SystemAdmin);
            assert_eq!(
                r.allows(Permission::MonitorDelivery),
                r == Role::SystemAdmin
            );
        }
    }

    const ALL: [Permission; 13] = [
        Permission::OwnAccount,
        Permission::SubmitDossiers,
        Permission::ReceiveDossiers,
        Permission::ExamineDossiers,
        Permission::ApproveDossiers,
        Permission::ReadLedger,
        Permission::ManageAgencyCatalogue,
        Permission::ManageOfficials,
        Permission::MonitorPlan,
        Permission::ReportPlanProgress,
        Permission::ReadSecurityLog,
        Permission::ManageCalendar,
        Permission::MonitorDelivery,
    ];
}
