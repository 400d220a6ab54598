//! `network.sync`: converge every cloud's filters, routers and floating IPs to the store. One
//! whole-state step: it has nothing to undo, and a failure is retried by the next sync or by
//! the reconciler's network pass.

use std::sync::Arc;

use hybridstack_core::compute::Compute;
use serde_json::{json, Value};

use super::{core, step_without_undo, Fut};
use crate::saga::Step;

pub(super) fn steps(c: &Arc<Compute>) -> Vec<Box<dyn Step>> {
    vec![step_without_undo(c, "converge", converge)]
}

fn converge<'a>(c: &'a Compute, _: &'a Value, _: &'a [(String, Value)]) -> Fut<'a, Value> {
    Box::pin(async move {
        c.sync_networks().await.map_err(core)?;
        Ok(json!({}))
    })
}
