//! Compute quotas (`os-quota-sets`, `limits`): defaults, per-project overrides kept in the
//! store, and the checks at server create and resize.

use std::collections::BTreeMap;

use super::Compute;
use crate::policy::RequestContext;
use crate::CoreError;

/// Every compute quota and its default. The network-proxy ones (`floating_ips`…) are shown
/// only below microversion 2.36, as Nova does; they are not enforced here (Neutron owns them).
pub const QUOTA_NAMES: &[(&str, i64)] = &[
    ("instances", 10),
    ("cores", 20),
    ("ram", 51200),
    ("key_pairs", 100),
    ("metadata_items", 128),
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
    ("server_groups", 10),
    ("server_group_members", 10),
    ("fixed_ips", -1),
    ("floating_ips", 10),
    ("security_groups", 10),
    ("security_group_rules", 20),
];

pub type QuotaSet = BTreeMap<&'static str, i64>;

fn resource(name: &str) -> String {
    format!("compute.{name}")
}

fn check_target(ctx: &RequestContext, project_id: &str) -> Result<(), CoreError> {
    if ctx.is_admin() || ctx.project_id() == Some(project_id) {
        Ok(())
    } else {
        Err(crate::policy::forbidden())
    }
}

impl Compute {
    pub(crate) async fn quota_limit(&self, project_id: &str, name: &str) -> Result<i64, CoreError> {
        let default = QUOTA_NAMES.iter().find(|(n, _)| *n == name).map_or(-1, |(_, d)| *d);
        Ok(self.store.quota_override(project_id, &resource(name)).await?.unwrap_or(default))
    }

    pub fn quota_defaults(&self) -> QuotaSet {
        QUOTA_NAMES.iter().copied().collect()
    }

    pub async fn quota_show(&self, ctx: &RequestContext, project_id: &str) -> Result<QuotaSet, CoreError> {
        check_target(ctx, project_id)?;
        self.quota_limits(project_id).await
    }

    /// Every compute limit of the project: its overrides over the defaults, read at once.
    pub(crate) async fn quota_limits(&self, project_id: &str) -> Result<QuotaSet, CoreError> {
        let set = self.store.quota_overrides(project_id).await?;
        Ok(QUOTA_NAMES
            .iter()
            .map(|(name, default)| (*name, set.get(&resource(name)).copied().unwrap_or(*default)))
            .collect())
    }

    /// What the project uses of each quota that compute counts.
    pub async fn quota_usage(&self, project_id: &str) -> Result<QuotaSet, CoreError> {
        let (n, cores, ram) = self.store.server_usage(project_id).await?;
        let mut out = QuotaSet::new();
        out.insert("instances", n);
        out.insert("cores", cores);
        out.insert("ram", ram);
        Ok(out)
    }

    pub async fn quota_update(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        values: BTreeMap<String, i64>,
    ) -> Result<QuotaSet, CoreError> {
        ctx.require_admin()?;
        for (k, v) in &values {
            if !QUOTA_NAMES.iter().any(|(n, _)| n == k) {
                return Err(CoreError::BadRequest(format!("Unknown quota {k:?}.")));
            }
            if *v < -1 {
                return Err(CoreError::BadRequest(format!("Quota limit {v} for {k} must be -1 or greater.")));
            }
        }
        for (k, v) in values {
            self.store.quota_set(project_id, &resource(&k), v).await?;
        }
        self.quota_show(ctx, project_id).await
    }

    pub async fn quota_reset(&self, ctx: &RequestContext, project_id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        for (name, _) in QUOTA_NAMES {
            self.store.quota_clear(project_id, &resource(name)).await?;
        }
        Ok(())
    }

    /// Refuses a change that would take the project past its instance, core or RAM quota.
    /// Nova answers this with 403 and an overLimit-style message.
    pub(crate) async fn quota_check(
        &self,
        project_id: &str,
        add_instances: i64,
        add_cores: i64,
        add_ram: i64,
    ) -> Result<(), CoreError> {
        let used = self.quota_usage(project_id).await?;
        let limits = self.quota_limits(project_id).await?;
        for (name, add) in [("instances", add_instances), ("cores", add_cores), ("ram", add_ram)] {
            if add <= 0 {
                continue;
            }
            let limit = limits.get(name).copied().unwrap_or(-1);
            let have = used.get(name).copied().unwrap_or(0);
            if limit >= 0 && have + add > limit {
                return Err(CoreError::Forbidden(format!(
                    "Quota exceeded for {name}: Requested {add}, but already used {have} of {limit} {name}"
                )));
            }
        }
        Ok(())
    }
}
