//! Server delete: destroy the guest and its disks, free its volumes, take its ports off the
//! cloud (and the cloud network with the last of them), release its Neutron ports, and mark
//! it deleted.
//! Nothing here is undone: each step converges, and a failed one is retried or reported.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::{cloud_of, core, driver, server_id, step_without_undo, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![
        step_without_undo(c, "destroy", destroy),
        step_without_undo(c, "volumes", volumes),
        step_without_undo(c, "ports", ports),
        step_without_undo(c, "network", network),
        step_without_undo(c, "finish", finish),
    ]
}

fn destroy<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        if !s.cloud.is_empty() {
            let cloud = cloud_of(c, &s.cloud).await?;
            cloud.compute.delete_server(&id).await.map_err(driver)?;
        }
        Ok(Value::Null)
    })
}

/// The guest is gone, so its volumes are free again.
fn volumes<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let s = c.server_internal(&server_id(input)?).await.map_err(core)?;
        c.release_volumes(&s).await.map_err(core)?;
        Ok(Value::Null)
    })
}

/// Releases the server's Neutron ports, remembering their networks for the next step. The
/// ports go before the networks are looked at: of several servers deleted at once on one
/// network, the last to look then sees no bound port and removes the network.
fn ports<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let s = c.server_internal(&id).await.map_err(core)?;
        let mut networks = Vec::new();
        for (port_id, _) in &s.ports {
            if let Some(p) = c.networking.port_internal(port_id).await.map_err(core)? {
                if !networks.contains(&p.network_id) {
                    networks.push(p.network_id);
                }
            }
        }
        c.release_ports(&s, &s.ports).await.map_err(core)?;
        Ok(json!({"networks": networks}))
    })
}

fn network<'a>(c: &'a Compute, input: &'a Value, done: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let networks = done.iter().find(|(n, _)| n == "ports").map(|(_, o)| o.clone()).unwrap_or_default();
        super::server_create::unnetwork(c, input, &networks).await?;
        Ok(Value::Null)
    })
}

fn finish<'a>(c: &'a Compute, input: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        let id = server_id(input)?;
        let at = super::server_create::chrono_now();
        c.succeed(&id, super::request_id(input).as_deref(), |s| {
            s.vm_state = "deleted".into();
            s.power_state = 0;
            s.terminated_at = Some(at.clone());
            s.ports.clear();
        })
        .await
        .map_err(core)?;
        Ok(Value::Null)
    })
}
