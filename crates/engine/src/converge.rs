//! Converging a cloud's security-group filters, routers and floating IPs to the store (the
//! `network.sync` operation and the reconciler's network pass). Core says what the cloud
//! should hold (`Networking::cloud_state`, `port_spec`); this makes the cloud hold it. Every call is whole-state
//! and idempotent: it reads what the cloud should hold now, ensures each object, and takes
//! away what carries our tag but is no longer wanted, so a sync that was lost in a crash is
//! made good by the next one.

use std::collections::BTreeSet;

use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::lifecycle::driver_error;
use hybridstack_core::network::Networking;
use hybridstack_core::CoreError;
use hybridstack_driver::DriverError;
use hybridstack_driver_act::Actors;

/// Converges every open cloud; the first failure is returned after all were tried.
pub(crate) async fn all_clouds(networking: &Networking, clouds: &Clouds) -> Result<(), CoreError> {
    clouds.refresh().await?;
    let mut first = None;
    for handle in clouds.all() {
        let cloud = crate::actors(&handle).map_err(CoreError::Internal)?;
        if let Err(e) = one_cloud(networking, &cloud).await {
            tracing::warn!(cloud = %cloud.name, "network sync failed: {e}");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Converges one cloud; returns the external networks its routers hold there, which the
/// reconciler must not collect as orphans.
pub(crate) async fn one_cloud(networking: &Networking, cloud: &Actors) -> Result<BTreeSet<String>, CoreError> {
    let caps = cloud.network.capabilities();
    let state = networking.cloud_state(&cloud.name).await?;
    // An object whose network is not realised yet belongs to a create still running;
    // its own saga realises the network, then asks for another sync.
    let skip_missing = |r: Result<String, DriverError>| match r {
        Err(DriverError::NotFound(m)) => {
            tracing::debug!(cloud = %cloud.name, "not realised yet, skipped: {m}");
            Ok(())
        }
        other => other.map(|_| ()).map_err(driver_error),
    };
    let mut failed = None;
    // The groups the cloud must keep: the ports' own, and those their rules name as
    // remote groups (a cloud with group references holds those as rule sources).
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut specs = Vec::with_capacity(state.ports.len());
    for p in &state.ports {
        let spec = networking.port_spec(p).await?;
        for g in &spec.security_groups {
            groups.extend(g.rules.iter().filter_map(|r| r.remote_group_id.clone()));
            groups.insert(g.id.clone());
        }
        specs.push(spec);
    }
    if caps.security_groups {
        // Ports are made and removed by their servers' sagas; a sync only brings the
        // ones the cloud holds up to date with their groups. One port's filter failing
        // (libvirt refuses a redefinition while the guest's filter is being set up) does
        // not hold back the rest; the error is returned at the end, so the sync is retried.
        for spec in &specs {
            if let Err(e) = cloud.network.refresh_port(spec).await {
                tracing::warn!(cloud = %cloud.name, port = %spec.id, "could not refresh the port's filter: {e}");
                failed.get_or_insert(e);
            }
        }
    }
    let mut routers = BTreeSet::new();
    if caps.routers {
        for r in &state.routers {
            if let Some(g) = &r.gateway {
                cloud.network.ensure_network(&g.network).await.map_err(driver_error)?;
            }
            skip_missing(cloud.network.ensure_router(r).await)?;
            routers.insert(r.id.clone());
        }
    }
    let mut fips = BTreeSet::new();
    if caps.floating_ips {
        for f in &state.floating_ips {
            skip_missing(cloud.network.ensure_floating_ip(f).await)?;
            fips.insert(f.id.clone());
        }
    }
    let bound_networks: BTreeSet<&str> = state.ports.iter().map(|p| p.network_id.as_str()).collect();
    for o in cloud.network.list_owned().await.map_err(driver_error)? {
        let gone = match o.kind {
            "floatingip" => !fips.contains(&o.id),
            "router" => !routers.contains(&o.id),
            "security_group" => !groups.contains(&o.id),
            // An external network realised for a gateway goes with the last router using
            // it; tenant networks go with their last port (server sagas, reconciler).
            "network" => {
                !state.external_networks.contains(&o.id)
                    && !bound_networks.contains(o.id.as_str())
                    && networking.network_is_external(&o.id).await?
            }
            _ => false,
        };
        if !gone {
            continue;
        }
        tracing::info!(cloud = %cloud.name, kind = o.kind, id = %o.id, "no longer needed on this cloud; removing");
        let done = match o.kind {
            "floatingip" => cloud.network.delete_floating_ip(&o.id).await,
            "router" => cloud.network.delete_router(&o.id).await,
            "security_group" => cloud.network.delete_security_group(&o.id).await,
            _ => cloud.network.delete_network(&o.id).await,
        };
        done.map_err(driver_error)?;
    }
    match failed {
        Some(e) => Err(driver_error(e)),
        None => Ok(state.external_networks),
    }
}
