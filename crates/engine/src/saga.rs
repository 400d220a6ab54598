//! A saga: named steps, each declared beside its undo.

use async_trait::async_trait;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StepError {
    /// The step cannot succeed; the saga unwinds.
    #[error("{0}")]
    Failed(String),
    /// Worth another try later (throttling, a backend restarting); the operation is left for
    /// a worker to claim again.
    #[error("transient: {0}")]
    Transient(String),
}

#[async_trait]
pub trait Step: Send + Sync {
    fn name(&self) -> &'static str;

    /// Does the work, given the operation's input and the outputs of the steps before it.
    async fn run(&self, input: &Value, done: &[(String, Value)]) -> Result<Value, StepError>;

    /// Reverses what `run` did, given its output. Must tolerate the work being already gone.
    async fn undo(&self, input: &Value, output: &Value) -> Result<(), StepError>;

    /// Whether `output` holds work a later failure must undo. The engine records a step that
    /// left none together with the next one that leaves some, instead of on its own: were the
    /// process to die in between, the step would run again, and nothing of it could be left
    /// behind. (Each durable record is a committed write; most steps of a plain create leave
    /// nothing.)
    fn leaves_work(&self, _output: &Value) -> bool {
        true
    }
}

/// What to do once a failed operation has been unwound: record the fault on the resource.
/// Runs again after a crash until it succeeds, so it must be idempotent too.
#[async_trait]
pub trait OnFailed: Send + Sync {
    async fn failed(&self, input: &Value, error: &str) -> Result<(), StepError>;
}

/// The steps of one kind of operation, in order.
pub struct Saga {
    pub kind: &'static str,
    pub steps: Vec<Box<dyn Step>>,
    pub on_failed: Option<Box<dyn OnFailed>>,
}
