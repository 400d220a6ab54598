//! Server create: place it on a cloud, make or claim its block-device volumes there, give it
//! its ports, realise its networks on that cloud, boot it, and mark it ACTIVE. A failure undoes the finished steps in reverse, so a server
//! that ends in ERROR holds no domain, disk or port.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::{cloud_of, core, driver, server_id, step, step_leaving, step_without_undo, Fut};
use crate::saga::{Step, StepError};

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![
        step_without_undo(c, "schedule", schedule),
        step_leaving(c, "volumes", volumes, unvolumes, |out| out["volumes"] != 0),
        step_leaving(c, "ports", ports, unports, |out| out["ports"].as_array().is_some_and(|p| !p.is_empty())),
        step_leaving(c, "network", network, unnetwork, |out| out["networks"].as_array().is_some_and(|n| !n.is_empty())),
        step(c, "spawn", spawn, unspawn),
        step_without_undo(c, "finish", finish),
    ]
}

fn schedule<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let (s, row) = c.server_row(&id).await.map_err(core)?.ok_or_else(|| gone(&id))?;
        // Later steps skip reading the server when it has nothing for them.
        let devices = s.block_devices.len();
        if !s.cloud.is_empty() {
            return Ok(json!({"cloud": s.cloud, "block_devices": devices}));
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
        Ok(json!({"cloud": cloud, "block_devices": devices}))
    })
}

/// Boot from volume: the volumes of its block_device_mapping_v2, made on (or claimed for)
/// the chosen cloud. A failure part-way takes back what the step made.
fn volumes<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        if output_of(done, "schedule")["block_devices"] == 0 {
            return Ok(json!({"volumes": 0}));
        }
        match c.realise_block_devices(&id).await {
            Ok(n) => Ok(json!({"volumes": n})),
            Err(e) => {
                if let Err(again) = c.unrealise_block_devices(&id).await {
                    tracing::warn!(server = %id, "could not take back part-made volumes: {again}");
                }
                Err(core(e))
            }
        }
    })
}

fn unvolumes<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move { c.unrealise_block_devices(&server_id(input)?).await.map_err(core) })
}

fn ports<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let ports = c.ensure_ports(&s).await.map_err(core)?;
        let addresses =
            c.networking.addresses_of(&ports.iter().map(|p| p.0.clone()).collect::<Vec<_>>()).await.map_err(core)?;
        // A server given no ports, and told so already, needs no write here.
        let unchanged = ports.is_empty()
            && s.ports.is_empty()
            && s.addresses.is_empty()
            && s.task_state.as_deref() == Some("spawning");
        if !unchanged {
            let recorded = ports.clone();
            c.transition(&id, |s| {
                s.ports = recorded.clone();
                s.addresses = addresses.clone();
                s.task_state = Some("spawning".into());
            })
            .await
            .map_err(core)?;
        }
        Ok(json!({"ports": ports}))
    })
}

fn unports<'a>(c: &'a Compute, input: &'a Value, output: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let ports: Vec<(String, bool)> = serde_json::from_value(output["ports"].clone()).unwrap_or_default();
        c.release_ports(&s, &ports).await.map_err(core)?;
        c.transition(&id, |s| {
            s.ports.clear();
            s.addresses.clear();
        })
        .await
        .map_err(core)?;
        Ok(())
    })
}

/// Realises each of the server's networks and ports on its cloud (DHCP entry, filters). A
/// failed step is not undone by the saga, so a failure part-way takes back what this step
/// made before reporting it.
fn network<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        if output_of(done, "ports")["ports"].as_array().is_some_and(Vec::is_empty) {
            return Ok(json!({"networks": []}));
        }
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
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
        let out = json!({"networks": networks});
        if let Err(e) = done {
            if let Err(again) = unnetwork(c, input, &out).await {
                tracing::warn!(server = %id, "could not take back a part-realised network: {again}");
            }
            return Err(e);
        }
        // Routers and floating IPs that reach these networks follow now they exist here (a
        // server without ports realised nothing for them to follow).
        if !networks.is_empty() {
            c.networking.request_sync().await.map_err(core)?;
        }
        Ok(out)
    })
}

pub(super) fn unnetwork<'a>(c: &'a Compute, input: &'a Value, output: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        if s.cloud.is_empty() {
            return Ok(());
        }
        let cloud = cloud_of(c, &s.cloud).await?;
        for (port_id, _) in &s.ports {
            cloud.network.delete_port(port_id).await.map_err(driver)?;
        }
        let networks: Vec<String> = serde_json::from_value(output["networks"].clone()).unwrap_or_default();
        for n in networks {
            // The network stays while another server's port on this cloud still uses it.
            if c.networking.ports_bound_on(&n, &s.cloud, &s.id).await.map_err(core)? == 0 {
                cloud.network.delete_network(&n).await.map_err(driver)?;
            }
        }
        if !s.ports.is_empty() {
            c.networking.request_sync().await.map_err(core)?;
        }
        Ok(())
    })
}

fn spawn<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        let mut spec = c.boot_spec(&s, &s.flavor, true).await.map_err(core)?;
        spec.fresh = input["_attempt"] == 1;
        if let Err(e) = cloud.compute.ensure_server(&spec).await {
            // Whatever the failed call made (a disk, a definition) goes before the saga unwinds.
            if let Err(again) = cloud.compute.delete_server(&id).await {
                tracing::warn!(server = %id, "could not take back a part-made server: {again}");
            }
            return Err(driver(e));
        }
        // `ensure_server` returns once a started server runs: `finish` need not ask again.
        Ok(json!({"running": spec.start}))
    })
}

pub(super) fn unspawn<'a>(c: &'a Compute, input: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let cloud = cloud_of(c, &s.cloud).await?;
        cloud.compute.delete_server(&id).await.map_err(driver)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let (s, row) = c.server_row(&id).await.map_err(core)?.ok_or_else(|| gone(&id))?;
        let spawned = output_of(done, "spawn")["running"] == true;
        let power = if spawned {
            hybridstack_driver::PowerState::Running
        } else {
            let cloud = cloud_of(c, &s.cloud).await?;
            cloud.compute.power_state(&id).await.map_err(driver)?
        };
        let addresses =
            c.networking.addresses_of(&s.ports.iter().map(|p| p.0.clone()).collect::<Vec<_>>()).await.map_err(core)?;
        let launched = chrono_now();
        c.succeed_from(&id, Some((s, row)), super::request_id(input).as_deref(), |s| {
            s.vm_state = "active".into();
            s.power_state = power as u8;
            s.launched_at = Some(launched.clone());
            s.addresses = addresses.clone();
            s.fault = None;
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}

/// What an earlier step of this run returned (null if it has not run).
fn output_of<'a>(done: &'a [(String, Value)], step: &str) -> &'a Value {
    done.iter().find(|(name, _)| name == step).map_or(&Value::Null, |(_, out)| out)
}

fn gone(id: &str) -> StepError {
    StepError::Failed(format!("Instance {id} could not be found."))
}

pub(super) fn chrono_now() -> String {
    hybridstack_core::clock::iso(hybridstack_core::clock::now_micros())
}
