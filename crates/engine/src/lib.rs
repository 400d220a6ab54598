//! The durable engine (DESIGN.md): every change to a backend runs as an operation, a saga of
//! idempotent steps. Each step's output is recorded before the next step starts; on failure
//! the finished steps are undone in reverse order. Workers hold a lease on the operation they
//! drive, so when a process dies its operations are claimed again after the lease runs out
//! and resume from the last recorded step (or carry on unwinding).
//!
//! Core decides, the engine acts: every driver call that changes a cloud is made here, in a
//! saga step or the reconciler, through the `hybridstack_driver_act::Actors` each cloud's
//! handle carries sealed (core cannot open them). `converge.rs` is the network convergence
//! the `network.sync` operation and the reconciler share.
//!
//! Steps must be idempotent (create-if-absent, keyed by the resource id tagged on the backend
//! object): after a crash the step that was running when the process died runs again.

mod converge;
pub mod reconciler;
mod saga;
pub mod sagas;
#[cfg(test)]
mod testbed;
mod worker;

pub use saga::{OnFailed, Saga, Step, StepError};
pub use worker::{Engine, EngineError, Outcome};

use hybridstack_core::clouds::CloudHandle;
use hybridstack_driver_act::Actors;

/// The acting handles sealed in a cloud's handle.
pub(crate) fn actors(handle: &CloudHandle) -> Result<std::sync::Arc<Actors>, String> {
    handle.acting.open::<Actors>().ok_or_else(|| format!("cloud {} was opened without acting handles", handle.name))
}
