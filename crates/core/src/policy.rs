//! Who is asking, and the secure-RBAC defaults every service applies: `admin` is the cloud
//! administrator, `member` may change what its project owns, `reader` may only look, and a
//! project's resources are invisible (404) to tokens scoped elsewhere.

use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Project { id: String, domain_id: String },
    Domain { id: String },
    System,
    Unscoped,
}

/// The caller of one request, resolved from its token.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub user_id: String,
    pub user_domain_id: String,
    pub scope: Scope,
    /// Effective role names (implied roles included).
    pub roles: Vec<String>,
    pub app_cred_id: Option<String>,
    /// Whether the token came from an application credential that may mint more of them.
    pub app_cred_unrestricted: bool,
}

impl RequestContext {
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r == name)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn require_admin(&self) -> Result<(), CoreError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// Writes need `member` (which `admin` implies); a reader is refused.
    pub fn require_member(&self) -> Result<(), CoreError> {
        if self.has_role("member") || self.is_admin() {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// Whether a resource owned by `project_id` is visible to this caller.
    pub fn sees_project(&self, project_id: &str) -> bool {
        self.is_admin() || self.project_id() == Some(project_id)
    }
}

pub fn forbidden() -> CoreError {
    CoreError::Forbidden("You are not authorized to perform the requested action.".into())
}

/// Callers for core's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{RequestContext, Scope};

    /// A member (and reader) of `project`.
    pub(crate) fn member(project: &str) -> RequestContext {
        RequestContext {
            user_id: format!("u-{project}"),
            user_domain_id: "default".into(),
            scope: Scope::Project { id: project.into(), domain_id: "default".into() },
            roles: vec!["member".into(), "reader".into()],
            app_cred_id: None,
            app_cred_unrestricted: false,
        }
    }

    /// An administrator, scoped to its own project.
    pub(crate) fn admin() -> RequestContext {
        RequestContext { roles: vec!["admin".into(), "member".into(), "reader".into()], ..member("admin-project") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(roles: &[&str], project: &str) -> RequestContext {
        RequestContext {
            user_id: "u".into(),
            user_domain_id: "default".into(),
            scope: Scope::Project { id: project.into(), domain_id: "default".into() },
            roles: roles.iter().map(|s| s.to_string()).collect(),
            app_cred_id: None,
            app_cred_unrestricted: false,
        }
    }

    #[test]
    fn reader_cannot_write_and_member_cannot_administer() {
        assert!(ctx(&["reader"], "p").require_member().is_err());
        assert!(ctx(&["member", "reader"], "p").require_member().is_ok());
        assert!(ctx(&["member", "reader"], "p").require_admin().is_err());
        assert!(ctx(&["admin"], "p").require_admin().is_ok());
    }

    #[test]
    fn other_projects_are_invisible_except_to_admin() {
        assert!(ctx(&["member"], "p").sees_project("p"));
        assert!(!ctx(&["member"], "p").sees_project("q"));
        assert!(ctx(&["admin"], "p").sees_project("q"));
    }
}
