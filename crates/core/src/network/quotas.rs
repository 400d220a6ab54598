//! Network quotas: per-project limits on each resource kind, Neutron's defaults unless an
//! administrator set others. Checked when an object is created.

use std::collections::BTreeMap;

use super::{fault, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

/// (quota name, stored kind, Neutron's default; -1 is unlimited).
pub const QUOTAS: &[(&str, &str, i64)] = &[
    ("network", "network", 100),
    ("subnet", "subnet", 100),
    ("port", "port", 500),
    ("router", "router", 10),
    ("floatingip", "floatingip", 50),
    ("security_group", "security_group", 10),
    ("security_group_rule", "security_group_rule", 100),
    ("subnetpool", "subnetpool", -1),
];

fn resource(name: &str) -> String {
    format!("network.{name}")
}

impl Networking {
    pub fn quota_defaults() -> BTreeMap<String, i64> {
        QUOTAS.iter().map(|(n, _, d)| (n.to_string(), *d)).collect()
    }

    fn may_read_quota(ctx: &RequestContext, project: &str) -> Result<(), CoreError> {
        if ctx.is_admin() || ctx.project_id() == Some(project) {
            Ok(())
        } else {
            Err(fault(Fault::PolicyNotAuthorized, "Only administrators may see other projects' quotas.".into()))
        }
    }

    async fn limit(&self, project: &str, name: &str, default: i64) -> Result<i64, CoreError> {
        Ok(self.store.quota_override(project, &resource(name)).await?.unwrap_or(default))
    }

    pub async fn quota_get(&self, ctx: &RequestContext, project: &str) -> Result<BTreeMap<String, i64>, CoreError> {
        Self::may_read_quota(ctx, project)?;
        let mut out = BTreeMap::new();
        for (name, _, default) in QUOTAS {
            out.insert(name.to_string(), self.limit(project, name, *default).await?);
        }
        Ok(out)
    }

    /// Limits and current use: `{name: (limit, used)}`.
    pub async fn quota_details(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> Result<BTreeMap<String, (i64, i64)>, CoreError> {
        Self::may_read_quota(ctx, project)?;
        let mut out = BTreeMap::new();
        for (name, kind, default) in QUOTAS {
            let used = self.store.doc_count(kind, project).await?;
            out.insert(name.to_string(), (self.limit(project, name, *default).await?, used));
        }
        Ok(out)
    }

    pub async fn quota_set(
        &self,
        ctx: &RequestContext,
        project: &str,
        limits: &BTreeMap<String, i64>,
    ) -> Result<BTreeMap<String, i64>, CoreError> {
        ctx.require_admin()?;
        for (name, limit) in limits {
            if !QUOTAS.iter().any(|(n, _, _)| n == name) {
                return Err(fault(
                    Fault::InvalidInput,
                    format!("Invalid input for operation: Unrecognized attribute(s) '{name}'."),
                ));
            }
            if *limit < -1 {
                return Err(fault(
                    Fault::InvalidInput,
                    format!("Invalid input for {name}. Reason: '{limit}' should be >= -1."),
                ));
            }
        }
        for (name, limit) in limits {
            self.store.quota_set(project, &resource(name), *limit).await?;
        }
        self.quota_get(ctx, project).await
    }

    pub async fn quota_reset(&self, ctx: &RequestContext, project: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        for (name, _, _) in QUOTAS {
            self.store.quota_clear(project, &resource(name)).await?;
        }
        Ok(())
    }

    /// 409 OverQuota when the project already holds its limit of `kind`.
    pub(crate) async fn check_quota(&self, project: &str, kind: &str) -> Result<(), CoreError> {
        let Some((name, _, default)) = QUOTAS.iter().find(|(_, k, _)| *k == kind) else { return Ok(()) };
        let limit = self.limit(project, name, *default).await?;
        if limit >= 0 && self.store.doc_count(kind, project).await? >= limit {
            return Err(CoreError::Conflict(format!("OverQuota: Quota exceeded for resources: ['{name}'].")));
        }
        Ok(())
    }
}
