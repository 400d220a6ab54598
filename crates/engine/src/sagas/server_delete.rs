//! Server delete: destroy the guest and its disks, free its volumes, take its ports off the
//! cloud (and the cloud network with the last of them), release its Neutron ports, and mark
//! it deleted.
//! Nothing here is undone: each step converges, and a failed one is retried or reported.

use std::sync::Arc;

use hybridstack_core::compute::ops::DeleteServer;
use hybridstack_core::compute::Compute;
use serde::{Deserialize, Serialize};

use super::{cloud_of, core, driver, shared, FailServer};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let saga = SagaOf::<DeleteServer>::new()
        .step(Destroy(c.clone()))
        .step(Volumes(c.clone()))
        .step(Ports(c.clone()))
        .step(Network(c.clone()))
        .step(Finish(c.clone()));
    engine.register(saga.on_failed(FailServer(c.clone())).build());
}

step!(Destroy(Arc<Compute>): DeleteServer, "destroy", |c, p, _| -> () {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    if !s.cloud.is_empty() {
        let cloud = cloud_of(&c.clouds, &s.cloud).await?;
        cloud.compute.delete_server(&p.server_id).await.map_err(driver)?;
    }
    Ok(())
});

// The guest is gone, so its volumes are free again.
step!(Volumes(Arc<Compute>): DeleteServer, "volumes", |c, p, _| -> () {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    c.release_volumes(&s).await.map_err(core)
});

#[derive(Debug, Default, Serialize, Deserialize)]
struct Released {
    networks: Vec<String>,
}

// Releases the server's Neutron ports, remembering their networks for the next step. The
// ports go before the networks are looked at: of several servers deleted at once on one
// network, the last to look then sees no bound port and removes the network.
step!(Ports(Arc<Compute>): DeleteServer, "ports", |c, p, _| -> Released {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    let mut networks = Vec::new();
    for (port_id, _) in &s.ports {
        if let Some(port) = c.networking.port_internal(port_id).await.map_err(core)? {
            if !networks.contains(&port.network_id) {
                networks.push(port.network_id);
            }
        }
    }
    c.release_ports(&s, &s.ports).await.map_err(core)?;
    Ok(Released { networks })
});

step!(Network(Arc<Compute>): DeleteServer, "network", |c, p, run| -> () {
    let networks = run.output::<DeleteServer, Ports>().unwrap_or_default().networks;
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    shared::remove_ports_and_networks(c, &s, &networks).await
});

step!(Finish(Arc<Compute>): DeleteServer, "finish", |c, p, _| -> () {
    let at = shared::chrono_now();
    c.succeed(&p.server_id, p.request_id.as_deref(), |s| {
        s.vm_state = "deleted".into();
        s.power_state = 0;
        s.terminated_at = Some(at.clone());
        s.ports.clear();
    })
    .await
    .map_err(core)?;
    Ok(())
});
