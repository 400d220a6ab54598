//! `network.sync`: converge every cloud's filters, routers and floating IPs to the store. One
//! whole-state step: it has nothing to undo, and a failure is retried by the next sync or by
//! the reconciler's network pass.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::Compute;
use hybridstack_core::network::realisation::NetworkSync;
use hybridstack_core::network::Networking;
use serde::{Deserialize, Serialize};

use super::core;
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let converge = Converge { networking: c.networking.clone(), clouds: c.clouds.clone() };
    engine.register(SagaOf::<NetworkSync>::new().step(converge).build());
}

/// Convergence reads the networking service's view of each cloud.
struct Converge {
    networking: Arc<Networking>,
    clouds: Arc<Clouds>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Converged {}

#[async_trait]
impl Act<NetworkSync> for Converge {
    const NAME: &'static str = "converge";
    type Out = Converged;

    async fn run(&self, _: &NetworkSync, _: &Run<'_>) -> Result<Converged, StepError> {
        crate::converge::all_clouds(&self.networking, &self.clouds).await.map_err(core)?;
        Ok(Converged {})
    }
}
