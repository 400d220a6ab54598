//! Block-storage quotas (Cinder's `os-quota-sets` and `limits`): defaults, per-project
//! overrides in the store beside compute's, per-type quotas (`volumes_<type>` …), and the
//! checks at volume create, extend and snapshot create. Cinder counts snapshots' sizes in
//! `gigabytes` too, and so does this.

use std::collections::BTreeMap;

use super::model::{Snapshot, Volume};
use super::{Volumes, SNAPSHOT, VOLUME};
use crate::policy::RequestContext;
use crate::CoreError;

/// The quotas every project has, and their defaults. Backups and groups are not served;
/// their quotas are shown (clients expect the keys) and never consumed.
pub const VOLUME_QUOTAS: &[(&str, i64)] = &[
    ("volumes", 10),
    ("snapshots", 10),
    ("gigabytes", 1000),
    ("per_volume_gigabytes", -1),
    ("backups", 10),
    ("backup_gigabytes", 1000),
    ("groups", 10),
];

/// Per-type quotas, one of each per volume type, unlimited by default.
const PER_TYPE: &[&str] = &["volumes", "snapshots", "gigabytes"];

pub type VolumeQuotaSet = BTreeMap<String, i64>;

fn resource(name: &str) -> String {
    format!("volume.{name}")
}

/// What a project holds: counts and GiB, in total and per type id.
#[derive(Default)]
struct Usage {
    totals: BTreeMap<String, i64>,
    per_type: BTreeMap<(String, &'static str), i64>,
}

impl Usage {
    fn add(&mut self, type_id: &str, key: &'static str, n: i64) {
        *self.totals.entry(key.to_string()).or_default() += n;
        *self.per_type.entry((type_id.to_string(), key)).or_default() += n;
    }
}

impl Volumes {
    /// Every quota key: the fixed ones and the per-type ones of each type there is.
    async fn quota_keys(&self) -> Result<Vec<(String, i64)>, CoreError> {
        let mut keys: Vec<(String, i64)> = VOLUME_QUOTAS.iter().map(|(k, d)| (k.to_string(), *d)).collect();
        for name in self.type_names().await?.values() {
            for k in PER_TYPE {
                keys.push((format!("{k}_{name}"), -1));
            }
        }
        Ok(keys)
    }

    pub(super) async fn limit_of(&self, project: &str, key: &str, default: i64) -> Result<i64, CoreError> {
        Ok(self.store.quota_override(project, &resource(key)).await?.unwrap_or(default))
    }

    pub async fn volume_quota_defaults(&self) -> Result<VolumeQuotaSet, CoreError> {
        Ok(self.quota_keys().await?.into_iter().collect())
    }

    pub async fn volume_quota_show(&self, ctx: &RequestContext, project: &str) -> Result<VolumeQuotaSet, CoreError> {
        if !ctx.sees_project(project) {
            return Err(crate::policy::forbidden());
        }
        let mut out = VolumeQuotaSet::new();
        for (k, d) in self.quota_keys().await? {
            let limit = self.limit_of(project, &k, d).await?;
            out.insert(k, limit);
        }
        Ok(out)
    }

    async fn usage(&self, project: &str) -> Result<Usage, CoreError> {
        let mut u = Usage::default();
        let vols: Vec<Volume> =
            self.store.doc_list(VOLUME, Some(project)).await?.iter().map(super::decode).collect::<Result<_, _>>()?;
        let mut type_of = BTreeMap::new();
        for v in &vols {
            type_of.insert(v.id.clone(), v.type_id().to_string());
            u.add(v.type_id(), "volumes", 1);
            u.add(v.type_id(), "gigabytes", i64::try_from(v.size).unwrap_or(i64::MAX));
        }
        for o in self.store.doc_list(SNAPSHOT, Some(project)).await? {
            let s: Snapshot = super::decode(&o)?;
            let t = type_of.get(&s.volume_id).cloned().unwrap_or_else(|| super::DEFAULT_TYPE_ID.to_string());
            u.add(&t, "snapshots", 1);
            u.add(&t, "gigabytes", i64::try_from(s.size).unwrap_or(i64::MAX));
        }
        Ok(u)
    }

    /// What the project uses of each quota key.
    pub async fn volume_quota_usage(&self, project: &str) -> Result<VolumeQuotaSet, CoreError> {
        let u = self.usage(project).await?;
        let names = self.type_names().await?;
        let mut out: VolumeQuotaSet = u.totals.clone();
        for ((type_id, key), n) in &u.per_type {
            if let Some(name) = names.get(type_id) {
                out.insert(format!("{key}_{name}"), *n);
            }
        }
        Ok(out)
    }

    pub async fn volume_quota_update(
        &self,
        ctx: &RequestContext,
        project: &str,
        values: BTreeMap<String, i64>,
    ) -> Result<VolumeQuotaSet, CoreError> {
        ctx.require_admin()?;
        let keys = self.quota_keys().await?;
        let used = self.volume_quota_usage(project).await?;
        for (k, v) in &values {
            if !keys.iter().any(|(n, _)| n == k) {
                return Err(CoreError::BadRequest(format!("Invalid input received: unknown quota resource {k:?}.")));
            }
            if *v < -1 {
                return Err(CoreError::BadRequest(format!("Invalid input received: quota {k} must be -1 or more.")));
            }
            let in_use = used.get(k).copied().unwrap_or(0);
            if *v >= 0 && *v < in_use {
                return Err(CoreError::BadRequest(format!(
                    "Invalid input received: quota {k} of {v} is less than the {in_use} already in use."
                )));
            }
        }
        for (k, v) in values {
            self.store.quota_set(project, &resource(&k), v).await?;
        }
        self.volume_quota_show(ctx, project).await
    }

    pub async fn volume_quota_reset(&self, ctx: &RequestContext, project: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        for (k, _) in self.quota_keys().await? {
            self.store.quota_clear(project, &resource(&k)).await?;
        }
        Ok(())
    }

    /// Refuses a change that would take the project past a quota (Cinder's 413s). `volumes`
    /// and `snapshots` are counts to add, `gigabytes` GiB to add, `size` the size of the one
    /// volume made or grown (for `per_volume_gigabytes`).
    pub(crate) async fn quota_check(
        &self,
        project: &str,
        type_id: &str,
        volumes: i64,
        snapshots: i64,
        gigabytes: i64,
        size: Option<u64>,
    ) -> Result<(), CoreError> {
        if let Some(size) = size {
            let per = self.limit_of(project, "per_volume_gigabytes", -1).await?;
            if per >= 0 && i64::try_from(size).unwrap_or(i64::MAX) > per {
                return Err(CoreError::PayloadTooLarge(format!(
                    "Requested volume size {size}G is larger than maximum allowed limit {per}G."
                )));
            }
        }
        let u = self.usage(project).await?;
        let type_name = self.type_names().await?.get(type_id).cloned();
        for (key, add) in [("volumes", volumes), ("snapshots", snapshots), ("gigabytes", gigabytes)] {
            if add <= 0 {
                continue;
            }
            let default = VOLUME_QUOTAS.iter().find(|(k, _)| *k == key).map_or(-1, |(_, d)| *d);
            let mut checks = vec![(key.to_string(), default, u.totals.get(key).copied().unwrap_or(0))];
            if let Some(t) = &type_name {
                let used = u.per_type.get(&(type_id.to_string(), key)).copied().unwrap_or(0);
                checks.push((format!("{key}_{t}"), -1, used));
            }
            for (k, d, used) in checks {
                let limit = self.limit_of(project, &k, d).await?;
                if limit >= 0 && used + add > limit {
                    return Err(CoreError::PayloadTooLarge(if key == "gigabytes" {
                        format!(
                            "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed {k} \
                             quota. Requested {add}G, quota is {limit}G and {used}G has been consumed."
                        )
                    } else {
                        format!("Maximum number of {k} allowed ({limit}) exceeded for quota '{k}'.")
                    }));
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn quota_check_volume(&self, project: &str, type_id: &str, size: u64) -> Result<(), CoreError> {
        self.quota_check(project, type_id, 1, 0, i64::try_from(size).unwrap_or(i64::MAX), Some(size)).await
    }
}
