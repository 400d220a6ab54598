//! Availability zones and hypervisors: each registered cloud is one hypervisor, in the zone
//! of its settings or of its own name.

use super::Compute;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    /// Whether any of its clouds is.
    pub available: bool,
    /// Its clouds (Nova's hosts), each with whether it can be opened.
    pub clouds: Vec<(String, bool)>,
}

#[derive(Debug, Clone)]
pub struct Hypervisor {
    pub id: usize,
    pub name: String,
    pub kind: String,
    pub state_up: bool,
    pub vcpus: u64,
    pub vcpus_used: i64,
    pub memory_mb: u64,
    pub memory_mb_used: i64,
    pub local_gb: u64,
    pub free_disk_gb: u64,
    pub running_vms: i64,
    pub error: Option<String>,
}

impl Compute {
    /// The zones a caller may use: the shared clouds and its project's own (admins see all).
    pub async fn zones(&self, ctx: &RequestContext) -> Result<Vec<Zone>, CoreError> {
        self.clouds.refresh().await?;
        let broken = self.clouds.broken();
        let project = ctx.project_id().unwrap_or_default();
        let mut zones: Vec<Zone> = Vec::new();
        for c in self.clouds.list().await? {
            if !(ctx.is_admin() || self.clouds.serves(&c.name, project)) {
                continue;
            }
            let name = self.clouds.zone_of(&c.name);
            let up = !broken.contains_key(&c.name);
            match zones.iter_mut().find(|z| z.name == name) {
                Some(z) => {
                    z.available |= up;
                    z.clouds.push((c.name, up));
                }
                None => zones.push(Zone { name, available: up, clouds: vec![(c.name, up)] }),
            }
        }
        Ok(zones)
    }

    pub async fn hypervisors(&self, ctx: &RequestContext) -> Result<Vec<Hypervisor>, CoreError> {
        ctx.require_admin()?;
        self.clouds.refresh().await?;
        let usage = self.store().server_usage_by_cloud().await?;
        let mut out = Vec::new();
        for (i, c) in self.clouds.list().await?.into_iter().enumerate() {
            let (cpu, ram, n) = usage.iter().find(|u| u.0 == c.name).map_or((0, 0, 0), |u| (u.1, u.2, u.3));
            let mut h = Hypervisor {
                id: i + 1,
                name: c.name.clone(),
                kind: c.kind.clone(),
                state_up: false,
                vcpus: 0,
                vcpus_used: cpu,
                memory_mb: 0,
                memory_mb_used: ram,
                local_gb: 0,
                free_disk_gb: 0,
                running_vms: n,
                error: c.error.clone(),
            };
            if let Some(handle) = self.clouds.get(&c.name) {
                match handle.compute.capacity().await {
                    Ok(cap) => {
                        h.state_up = true;
                        h.kind = cap.hypervisor_type;
                        h.vcpus = cap.vcpus;
                        h.memory_mb = cap.memory_mb;
                        h.local_gb = cap.local_gb;
                        h.free_disk_gb = cap.free_disk_gb;
                    }
                    Err(e) => h.error = Some(e.to_string()),
                }
            }
            out.push(h);
        }
        Ok(out)
    }
}
