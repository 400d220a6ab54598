//! The durable engine (DESIGN.md): every change to a backend runs as an operation, a saga of
//! idempotent steps. Each step's output is recorded before the next step starts; on failure
//! the finished steps are undone in reverse order. Workers hold a lease on the operation they
//! drive, so when a process dies its operations are claimed again after the lease runs out
//! and resume from the last recorded step (or carry on unwinding).
//!
//! Steps must be idempotent (create-if-absent, keyed by the resource id tagged on the backend
//! object): after a crash the step that was running when the process died runs again.

pub mod reconciler;
mod saga;
pub mod sagas;
#[cfg(test)]
mod testbed;
mod worker;

pub use saga::{OnFailed, Saga, Step, StepError};
pub use worker::{Engine, EngineError, Outcome};
