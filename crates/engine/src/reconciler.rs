//! Reconciliation, per cloud and periodic (level-triggered, as kube-rs controllers are):
//! list what the cloud holds under our ids and compare it with the store.
//!
//! - a server stopped or started out of band has its state corrected (drift);
//! - a server whose backend object vanished goes to ERROR with a fault;
//! - a backend object no live row owns (an orphan) is deleted once it has been seen orphaned
//!   for the grace period, so an object whose row is still being written is never touched.
//!
//! Only objects that carry this installation's id and the cloud's name are looked at: those
//! of another installation sharing the backend, and those carrying no installation id, are
//! never adopted, changed or deleted. The one exception is the upgrade path: an object from
//! before installation ids, marked with this cloud's name, whose id has a row in this store,
//! is adopted (marked as this installation's) once, when the reconciler first meets the cloud
//! (`serve` does it before its workers start); without a row it is reported and left.
//!
//! Servers with an operation in flight are left to their operation.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hybridstack_core::compute::Compute;
use hybridstack_core::CoreError;
use hybridstack_driver::PowerState;
use hybridstack_driver_act::Actors;
use parking_lot::Mutex;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub drift_fixed: usize,
    pub vanished: usize,
    pub orphans_deleted: usize,
    /// Objects from before installation ids adopted by this installation.
    pub adopted: usize,
    /// Objects of this cloud's name from before installation ids without a row here, left
    /// alone (and logged).
    pub unowned_left: usize,
}

pub struct Reconciler {
    compute: Arc<Compute>,
    grace: Duration,
    /// When each orphan candidate (cloud, kind, id) was first seen.
    seen: Mutex<HashMap<(String, &'static str, String), Instant>>,
    /// Clouds whose objects from before installation ids were looked at. Once done, a cloud
    /// is not looked at again: such objects are made only by releases before installation
    /// ids, so none appear later (and listing foreign objects is a dozen calls on AWS).
    adoption_done: Mutex<HashSet<String>>,
}

impl Reconciler {
    pub fn new(compute: Arc<Compute>, grace: Duration) -> Self {
        Self { compute, grace, seen: Mutex::default(), adoption_done: Mutex::default() }
    }

    fn ripe(
        &self,
        key: (String, &'static str, String),
        now: Instant,
        still: &mut HashSet<(String, &'static str, String)>,
    ) -> bool {
        still.insert(key.clone());
        let first = *self.seen.lock().entry(key).or_insert(now);
        now.duration_since(first) >= self.grace
    }

    pub async fn run_once(&self) -> Result<Report, CoreError> {
        self.compute.clouds.refresh().await?;
        let mut report = Report::default();
        let mut still = HashSet::new();
        for handle in self.compute.clouds.all() {
            let cloud = crate::actors(&handle).map_err(CoreError::Internal)?;
            if let Err(e) = self.cloud(&cloud, &mut report, &mut still).await {
                tracing::warn!(cloud = %cloud.name, "reconciliation failed: {e}");
            }
        }
        // Forget candidates that stopped being orphans (adopted, or gone).
        self.seen.lock().retain(|k, _| still.contains(k));
        Ok(report)
    }

    async fn busy(&self, id: &str) -> Result<bool, CoreError> {
        Ok(!self.compute.store().ops_live_for(id).await?.is_empty())
    }

    async fn cloud(
        &self,
        cloud: &Actors,
        report: &mut Report,
        still: &mut HashSet<(String, &'static str, String)>,
    ) -> Result<(), CoreError> {
        self.adopt_legacy(cloud, report).await?;
        let owned = cloud.compute.list_owned().await.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
        let owned_ids: HashMap<&str, PowerState> = owned.iter().map(|o| (o.id.as_str(), o.power)).collect();
        let live: HashSet<String> = self.compute.store().server_ids_on(&cloud.name).await?.into_iter().collect();
        let now = Instant::now();
        for id in &live {
            if self.busy(id).await? {
                continue;
            }
            let s = self.compute.server_internal(id).await?;
            if s.task_state.is_some() || !["active", "stopped", "paused", "suspended"].contains(&s.vm_state.as_str()) {
                continue;
            }
            // The listing is a moment old: a server that got its domain, or changed power,
            // since then is asked about again before anything is concluded.
            let seen = owned_ids.get(id.as_str()).copied();
            let settled = |p: Option<PowerState>| match (s.vm_state.as_str(), p) {
                (_, None) => false,
                ("active", Some(PowerState::Running)) | ("paused", Some(PowerState::Paused)) => true,
                ("stopped" | "suspended", Some(PowerState::Shutdown)) => true,
                _ => false,
            };
            let power = if settled(seen) {
                seen
            } else {
                match cloud.compute.power_state(id).await {
                    Ok(p) => Some(p),
                    Err(hybridstack_driver::DriverError::NotFound(_)) => None,
                    Err(e) => return Err(hybridstack_core::compute::lifecycle::driver_error(e)),
                }
            };
            if self.busy(id).await? {
                continue;
            }
            match power.as_ref() {
                None => {
                    tracing::warn!(server = %id, cloud = %cloud.name, "server vanished from its cloud");
                    let msg = format!("The server's backend object vanished from cloud {}.", cloud.name);
                    self.compute.fail_server(id, None, 500, &msg).await?;
                    report.vanished += 1;
                }
                Some(power) => {
                    let (vm, p) = match (s.vm_state.as_str(), power) {
                        ("active", PowerState::Shutdown | PowerState::Crashed) => ("stopped", PowerState::Shutdown),
                        ("stopped", PowerState::Running) => ("active", PowerState::Running),
                        ("active", PowerState::Paused) => ("paused", PowerState::Paused),
                        ("paused", PowerState::Running) => ("active", PowerState::Running),
                        _ => continue,
                    };
                    tracing::info!(server = %id, from = %s.vm_state, to = vm, "correcting state drift");
                    let expect = s.vm_state.clone();
                    self.compute
                        .transition(id, |s| {
                            // Only if nothing changed it meanwhile.
                            if s.vm_state == expect && s.task_state.is_none() {
                                s.vm_state = vm.into();
                                s.power_state = p as u8;
                            }
                        })
                        .await?;
                    report.drift_fixed += 1;
                }
            }
        }
        for o in &owned {
            if live.contains(&o.id) || self.busy(&o.id).await? {
                continue;
            }
            if self.ripe((cloud.name.clone(), "server", o.id.clone()), now, still) {
                tracing::warn!(server = %o.id, cloud = %cloud.name, "deleting an orphaned server");
                cloud.compute.delete_server(&o.id).await.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
                report.orphans_deleted += 1;
            }
        }
        // Filters, routers and floating IPs first: a sync lost in a crash is made good here.
        // A failed sync is retried next pass; it must not hold back the orphan collection.
        let gateways = self.compute.networking.cloud_state(&cloud.name).await?.external_networks;
        if let Err(e) = crate::converge::one_cloud(&self.compute.networking, cloud).await {
            tracing::warn!(cloud = %cloud.name, "network sync failed, retried next pass: {e}");
        }
        let net_owned = cloud.network.list_owned().await.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
        for o in net_owned {
            let orphan = match o.kind {
                "port" => match self.compute.networking.port_internal(&o.id).await? {
                    Some(p) => p.host_id != cloud.name,
                    None => true,
                },
                "network" => {
                    !gateways.contains(&o.id)
                        && self.compute.networking.ports_bound_on(&o.id, &cloud.name, "").await? == 0
                }
                _ => false,
            };
            if !orphan || self.busy(&o.id).await? {
                continue;
            }
            if self.ripe((cloud.name.clone(), o.kind, o.id.clone()), now, still) {
                tracing::warn!(kind = o.kind, id = %o.id, cloud = %cloud.name, "deleting an orphaned network object");
                let r = match o.kind {
                    "port" => cloud.network.delete_port(&o.id).await,
                    _ => cloud.network.delete_network(&o.id).await,
                };
                r.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
                report.orphans_deleted += 1;
            }
        }
        Ok(())
    }

    /// The upgrade path on every open cloud, before the engine's workers start: an operation
    /// on an object from before installation ids must find it as this installation's.
    pub async fn adopt_all(&self) -> Report {
        let mut report = Report::default();
        for handle in self.compute.clouds.all() {
            let adopted = match crate::actors(&handle) {
                Ok(cloud) => self.adopt_legacy(&cloud, &mut report).await,
                Err(e) => Err(CoreError::Internal(e)),
            };
            if let Err(e) = adopted {
                tracing::warn!(cloud = %handle.name, "adopting objects from before installation ids failed: {e}");
            }
        }
        report
    }

    /// The upgrade path: this cloud's objects from before installation ids become this
    /// installation's when its store has their rows; the others are reported once and left.
    async fn adopt_legacy(&self, cloud: &Actors, report: &mut Report) -> Result<(), CoreError> {
        if self.adoption_done.lock().contains(&cloud.name) {
            return Ok(());
        }
        let foreign =
            cloud.ownership.list_foreign().await.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
        // Servers first: a port filter's adoption switches the interfaces of adopted domains.
        let mut legacy: Vec<_> = foreign.into_iter().filter(|f| f.adoptable).collect();
        legacy.sort_by_key(|f| f.kind != "server");
        for f in legacy {
            if self.compute.has_row_for(&f, &cloud.name).await? {
                cloud.ownership.adopt(&f).await.map_err(hybridstack_core::compute::lifecycle::driver_error)?;
                report.adopted += 1;
            } else {
                report.unowned_left += 1;
                tracing::warn!(cloud = %cloud.name, kind = f.kind, id = %f.id, reference = %f.reference,
                    "an object of this cloud's name from before installation ids has no row here; left alone");
            }
        }
        self.adoption_done.lock().insert(cloud.name.clone());
        Ok(())
    }

    pub async fn run(self: Arc<Self>, every: Duration, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            match self.run_once().await {
                Ok(r) if r != Report::default() => tracing::info!(?r, "reconciled"),
                Ok(_) => {}
                Err(e) => tracing::warn!("reconciliation failed: {e}"),
            }
            // Lets a test (or an operator at debug level) count the passes.
            tracing::debug!("reconcile pass done");
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests;
