//! Who may do what: staff roles and the permissions each one holds. The
//! server checks these on every route; docs/SECURITY.md shows the matrix.

use crate::names::named_enum;

named_enum! {
    /// A staff member's role.
    pub enum Role as "role" {
        /// Everything, including users and settings.
        Admin = "admin",
        /// Surveys, playbooks and the advocate program.
        Manager = "manager",
        /// Reads everything and exports.
        Analyst = "analyst",
        /// The feedback inbox and follow-up tasks.
        Agent = "agent",
        /// Dashboards only.
        Viewer = "viewer",
    }
}

named_enum! {
    /// Something a route lets its caller do.
    pub enum Permission as "permission" {
        ViewDashboards = "view_dashboards",
        ReadCustomers = "read_customers",
        WriteCustomers = "write_customers",
        /// Export everything held about a person and erase them (GDPR).
        EraseCustomers = "erase_customers",
        ReadFeedback = "read_feedback",
        WriteFeedback = "write_feedback",
        ReadResponses = "read_responses",
        WriteResponses = "write_responses",
        ReadMetrics = "read_metrics",
        Export = "export",
        ManageSurveys = "manage_surveys",
        ManagePlaybooks = "manage_playbooks",
        ManageProgram = "manage_program",
        WorkTasks = "work_tasks",
        ManageUsers = "manage_users",
        ManageSettings = "manage_settings",
    }
}

impl Role {
    /// Whether the role holds `permission`.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => !matches!(permission, ManageUsers | ManageSettings | EraseCustomers),
            Role::Analyst => matches!(
                permission,
                ViewDashboards
                    | ReadCustomers
                    | ReadFeedback
                    | ReadResponses
                    | ReadMetrics
                    | Export
            ),
            Role::Agent => matches!(
                permission,
                ReadCustomers | ReadFeedback | WriteFeedback | WorkTasks
            ),
            Role::Viewer => matches!(permission, ViewDashboards),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_every_role_can_do_something() {
        for role in Role::ALL {
            assert_eq!(role.can(Permission::ManageUsers), *role == Role::Admin);
            assert!(Permission::ALL.iter().any(|p| role.can(*p)));
        }
        assert!(Role::Analyst.can(Permission::Export));
        assert!(!Role::Analyst.can(Permission::WriteCustomers));
        assert!(!Role::Viewer.can(Permission::ReadMetrics));
        assert!(Role::Agent.can(Permission::WorkTasks));
    }
}
