//! Server create: place it on a cloud, make or claim its block-device volumes there, give it
//! its ports, realise its networks on that cloud, boot it, and mark it ACTIVE. A failure
//! undoes the finished steps in reverse, so a server that ends in ERROR holds no domain, disk
//! or port.

use std::sync::Arc;

use hybridstack_core::compute::model::Server;
use hybridstack_core::compute::ops::CreateServer;
use hybridstack_core::compute::Compute;
use serde::{Deserialize, Serialize};

use super::{cloud_of, core, driver, server_and_cloud, shared, FailServer};
use crate::saga::{step, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Arc<Compute>) {
    let saga = SagaOf::<CreateServer>::new()
        .step(Schedule(c.clone()))
        .step(Volumes(c.clone()))
        .step(Ports(c.clone()))
        .step(Network(c.clone()))
        .step(Spawn(c.clone()))
        .step(Finish(c.clone()));
    engine.register(saga.on_failed(FailServer(c.clone())).build());
}

fn gone(id: &str) -> StepError {
    StepError::Failed(format!("Instance {id} could not be found."))
}

/// Where the server was placed, and how many block devices it has (later steps skip reading
/// the server when it has nothing for them).
#[derive(Debug, Serialize, Deserialize)]
struct Scheduled {
    cloud: String,
    block_devices: usize,
}

step!(Schedule(Arc<Compute>): CreateServer, "schedule", |c, p, _| -> Scheduled {
    let (s, row) = c.server_row(&p.server_id).await.map_err(core)?.ok_or_else(|| gone(&p.server_id))?;
    let block_devices = s.block_devices.len();
    if !s.cloud.is_empty() {
        return Ok(Scheduled { cloud: s.cloud, block_devices });
    }
    let cloud = c.choose_cloud(&s).await.map_err(core)?.map_err(StepError::Failed)?;
    // A server without networks has none to wire up: it is spawning from here on.
    let next = if s.networks.is_empty() { "spawning" } else { "networking" };
    c.transition_from((s, row), |s| {
        s.cloud = cloud.clone();
        s.task_state = Some(next.into());
    })
    .await
    .map_err(core)?;
    Ok(Scheduled { cloud, block_devices })
});

#[derive(Debug, Serialize, Deserialize)]
struct Claimed {
    volumes: usize,
}

// Boot from volume: the volumes of its block_device_mapping_v2, made on (or claimed for)
// the chosen cloud. A failure part-way takes back what the step made.
step!(Volumes(Arc<Compute>): CreateServer, "volumes", |c, p, run| -> Claimed {
    if run.output::<CreateServer, Schedule>().is_some_and(|s| s.block_devices == 0) {
        return Ok(Claimed { volumes: 0 });
    }
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    match make_volumes(c, &s).await {
        Ok(()) => Ok(Claimed { volumes: s.block_devices.len() }),
        Err(e) => {
            if let Err(again) = unmake_volumes(c, &s).await {
                tracing::warn!(server = %s.id, "could not take back part-made volumes: {again}");
            }
            Err(e)
        }
    }
} undo |c, p, _| {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    unmake_volumes(c, &s).await
} leaves_work |out| out.volumes != 0);

/// Makes the new volumes on the server's cloud and claims the user's, each attached to the
/// server at its device.
async fn make_volumes(c: &Compute, s: &Server) -> Result<(), StepError> {
    let cloud = cloud_of(&c.clouds, &s.cloud).await?;
    for bd in &s.block_devices {
        if let Some(n) = &bd.create {
            let spec = c.server_volume_spec(s, n).await.map_err(core)?;
            if let Err(e) = cloud.block.ensure_volume(&spec).await {
                let _ = cloud.block.delete_volume(&spec.id).await;
                return Err(StepError::Failed(format!("volume {} could not be made: {e}", spec.id)));
            }
        }
        c.claim_block_device(s, bd).await.map_err(core)?;
    }
    Ok(())
}

/// Undoes `make_volumes`: new volumes are deleted, the user's freed.
async fn unmake_volumes(c: &Compute, s: &Server) -> Result<(), StepError> {
    for bd in s.block_devices.iter().rev() {
        if bd.create.is_some() && !s.cloud.is_empty() {
            let cloud = cloud_of(&c.clouds, &s.cloud).await?;
            cloud
                .block
                .delete_volume(&bd.volume_id)
                .await
                .map_err(|e| StepError::Failed(format!("volume {} could not be removed: {e}", bd.volume_id)))?;
        }
        c.release_block_device(s, bd).await.map_err(core)?;
    }
    Ok(())
}

/// The server's ports, each with whether the server made it (and so deletes it).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Given {
    ports: Vec<(String, bool)>,
}

// Gives the server its Neutron ports (and their addresses).
step!(Ports(Arc<Compute>): CreateServer, "ports", |c, p, _| -> Given {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    let ports = c.ensure_ports(&s).await.map_err(core)?;
    let ids: Vec<String> = ports.iter().map(|p| p.0.clone()).collect();
    let addresses = c.networking.addresses_of(&ids).await.map_err(core)?;
    // A server given no ports, and told so already, needs no write here.
    let unchanged = ports.is_empty()
        && s.ports.is_empty()
        && s.addresses.is_empty()
        && s.task_state.as_deref() == Some("spawning");
    if !unchanged {
        let recorded = ports.clone();
        c.transition(&p.server_id, |s| {
            s.ports = recorded.clone();
            s.addresses = addresses.clone();
            s.task_state = Some("spawning".into());
        })
        .await
        .map_err(core)?;
    }
    Ok(Given { ports })
} undo |c, p, out| {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    c.release_ports(&s, &out.ports).await.map_err(core)?;
    c.transition(&p.server_id, |s| {
        s.ports.clear();
        s.addresses.clear();
    })
    .await
    .map_err(core)?;
    Ok(())
} leaves_work |out| !out.ports.is_empty());

#[derive(Debug, Default, Serialize, Deserialize)]
struct Realised {
    networks: Vec<String>,
}

// Realises each of the server's networks and ports on its cloud (DHCP entry, filters). A
// failed step is not undone by the saga, so a failure part-way takes back what c step
// made before reporting it.
step!(Network(Arc<Compute>): CreateServer, "network", |c, p, run| -> Realised {
    if run.output::<CreateServer, Ports>().is_some_and(|g| g.ports.is_empty()) {
        return Ok(Realised::default());
    }
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    let mut networks: Vec<String> = Vec::new();
    let mut realise = async || -> Result<(), StepError> {
        for (port_id, _) in &s.ports {
            let Some(p) = c.networking.port_internal(port_id).await.map_err(core)? else { continue };
            if !networks.contains(&p.network_id) {
                let spec = c.networking.network_spec(&p.network_id).await.map_err(core)?;
                networks.push(p.network_id.clone());
                cloud.network.ensure_network(&spec).await.map_err(driver)?;
            }
            let spec = c.networking.port_spec(&p).await.map_err(core)?;
            cloud.network.ensure_port(&spec).await.map_err(driver)?;
        }
        Ok(())
    };
    let done = realise().await;
    if let Err(e) = done {
        if let Err(again) = shared::remove_ports_and_networks(c, &s, &networks).await {
            tracing::warn!(server = %s.id, "could not take back a part-realised network: {again}");
        }
        return Err(e);
    }
    // Routers and floating IPs that reach these networks follow now they exist here (a
    // server without ports realised nothing for them to follow).
    if !networks.is_empty() {
        c.networking.request_sync().await.map_err(core)?;
    }
    Ok(Realised { networks })
} undo |c, p, out| {
    let s = c.server_internal(&p.server_id).await.map_err(core)?;
    shared::remove_ports_and_networks(c, &s, &out.networks).await
} leaves_work |out| !out.networks.is_empty());

#[derive(Debug, Serialize, Deserialize)]
struct Spawned {
    /// `ensure_server` returns once a started server runs: `finish` need not ask again.
    running: bool,
}

// Boots the server on its cloud (its image copied in first where the cloud boots only its
// own images).
step!(Spawn(Arc<Compute>): CreateServer, "spawn", |c, p, run| -> Spawned {
    let (s, cloud) = server_and_cloud(c, &p.server_id).await?;
    shared::image_onto_cloud(c, &s).await?;
    let mut spec = c.boot_spec(&s, &s.flavor, true).await.map_err(core)?;
    spec.fresh = run.attempt == 1;
    if let Err(e) = cloud.compute.ensure_server(&spec).await {
        // Whatever the failed call made (a disk, a definition) goes before the saga unwinds.
        if let Err(again) = cloud.compute.delete_server(&p.server_id).await {
            tracing::warn!(server = %p.server_id, "could not take back a part-made server: {again}");
        }
        return Err(driver(e));
    }
    Ok(Spawned { running: spec.start })
} undo |c, p, _| {
    let (_, cloud) = server_and_cloud(c, &p.server_id).await?;
    cloud.compute.delete_server(&p.server_id).await.map_err(driver)
} leaves_work |_| true);

step!(Finish(Arc<Compute>): CreateServer, "finish", |c, p, run| -> () {
    let (s, row) = c.server_row(&p.server_id).await.map_err(core)?.ok_or_else(|| gone(&p.server_id))?;
    let power = if run.output::<CreateServer, Spawn>().is_some_and(|s| s.running) {
        hybridstack_driver::PowerState::Running
    } else {
        let cloud = cloud_of(&c.clouds, &s.cloud).await?;
        cloud.compute.power_state(&p.server_id).await.map_err(driver)?
    };
    let ids: Vec<String> = s.ports.iter().map(|p| p.0.clone()).collect();
    let addresses = c.networking.addresses_of(&ids).await.map_err(core)?;
    let launched = shared::chrono_now();
    c.succeed_from(&p.server_id, Some((s, row)), p.request_id.as_deref(), |s| {
        s.vm_state = "active".into();
        s.power_state = power as u8;
        s.launched_at = Some(launched.clone());
        s.addresses = addresses.clone();
        s.fault = None;
    })
    .await
    .map_err(core)?;
    Ok(())
});
