//! Workers: claim an operation, drive it forward (or backward) step by step, record each
//! step, and release it in a final state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hybridstack_store::operations::{Operation, Progress};
use hybridstack_store::{Store, StoreError};
use serde_json::{json, Value};
use thiserror::Error;

use crate::saga::{Saga, StepError};

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("no saga is registered for operation kind {0}")]
    UnknownKind(String),
    #[error("operation {0} has corrupt progress: {1}")]
    Corrupt(String, String),
}

/// What `run_once` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Idle,
    Done(String),
    Failed(String),
    /// A transient failure: the operation is left to be claimed again later.
    Deferred(String),
    /// The lease was lost mid-way; another worker owns the operation now.
    LeaseLost(String),
}

pub struct Engine {
    store: Store,
    owner: String,
    lease: Duration,
    sagas: HashMap<&'static str, Arc<Saga>>,
    /// Unix microseconds; tests move it to expire leases without waiting.
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

type Done = Vec<(String, Value)>;

fn encode(done: &Done) -> String {
    Value::Array(done.iter().map(|(s, o)| json!({"step": s, "output": o})).collect()).to_string()
}

fn decode(op: &Operation) -> Result<Done, EngineError> {
    let v: Value =
        serde_json::from_str(&op.steps_done).map_err(|e| EngineError::Corrupt(op.id.clone(), e.to_string()))?;
    let list = v.as_array().ok_or_else(|| EngineError::Corrupt(op.id.clone(), "steps_done is not a list".into()))?;
    list.iter()
        .map(|e| {
            let step = e
                .get("step")
                .and_then(Value::as_str)
                .ok_or_else(|| EngineError::Corrupt(op.id.clone(), "step without a name".into()))?;
            Ok((step.to_string(), e.get("output").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

impl Engine {
    pub fn new(store: Store, owner: impl Into<String>, lease: Duration) -> Self {
        Self { store, owner: owner.into(), lease, sagas: HashMap::new(), clock: Arc::new(now_micros) }
    }

    /// Replaces the clock (tests use it to expire leases).
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> i64 + Send + Sync>) -> Self {
        self.clock = clock;
        self
    }

    pub fn register(&mut self, saga: Saga) {
        self.sagas.insert(saga.kind, Arc::new(saga));
    }

    fn lease_micros(&self) -> i64 {
        i64::try_from(self.lease.as_micros()).unwrap_or(i64::MAX / 2)
    }

    fn lease_until(&self) -> i64 {
        (self.clock)() + self.lease_micros()
    }

    /// Queues an operation. (Services write it in the transaction that records the resource's
    /// desired state; this is the standalone form.)
    pub async fn submit(&self, kind: &str, resource_id: &str, input: Value) -> Result<String, EngineError> {
        if !self.sagas.contains_key(kind) {
            return Err(EngineError::UnknownKind(kind.into()));
        }
        let mut op = hybridstack_core::operations::operation(kind, resource_id, input);
        // The engine's clock, which tests set.
        (op.created_at, op.updated_at) = ((self.clock)(), (self.clock)());
        self.store.op_create(&op).await?;
        Ok(op.id)
    }

    async fn record(
        &self,
        op: &Operation,
        state: &str,
        done: &Done,
        error: Option<&str>,
        lease_until: i64,
    ) -> Result<bool, EngineError> {
        let p = Progress { id: &op.id, state, steps_done: &encode(done), error, now: (self.clock)(), lease_until };
        match self.store.op_progress(&self.owner, &p).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims one operation and drives it as far as it goes.
    pub async fn run_once(&self) -> Result<Outcome, EngineError> {
        let Some(op) = self.store.op_claim(&self.owner, (self.clock)(), self.lease_until()).await? else {
            return Ok(Outcome::Idle);
        };
        let saga =
            self.sagas.get(op.kind.as_str()).cloned().ok_or_else(|| EngineError::UnknownKind(op.kind.clone()))?;
        let mut input: Value =
            serde_json::from_str(&op.input).map_err(|e| EngineError::Corrupt(op.id.clone(), e.to_string()))?;
        // Which claim of the operation this is (1: its first run, so no step has run before
        // and nothing of it can exist yet); steps read it as `_attempt`, never stored.
        if let Some(o) = input.as_object_mut() {
            o.insert("_attempt".into(), Value::from(op.attempts));
        }
        let mut done = decode(&op)?;
        // An operation found unwinding keeps its original error; one going forward starts clean
        // (an error recorded there was transient).
        let mut error = if op.state == "undoing" { op.error.clone() } else { None };
        if op.state != "undoing" {
            // The claim recorded the operation as running under this lease. Progress is
            // recorded again before a step only once a finished step has left work to undo
            // (`Step::leaves_work`), or when half the lease has gone.
            let mut lease_end = op.lease_until;
            let mut unrecorded_work = false;
            for step in saga.steps.iter().skip(done.len()) {
                let lease_low = (self.clock)() > lease_end - self.lease_micros() / 2;
                if unrecorded_work || lease_low {
                    lease_end = self.lease_until();
                    if !self.record(&op, "running", &done, None, lease_end).await? {
                        return Ok(Outcome::LeaseLost(op.id));
                    }
                    unrecorded_work = false;
                }
                match step.run(&input, &done).await {
                    Ok(out) => {
                        unrecorded_work |= step.leaves_work(&out);
                        done.push((step.name().to_string(), out));
                    }
                    Err(StepError::Transient(m)) => {
                        tracing::warn!(op = %op.id, step = step.name(), "transient failure, will retry: {m}");
                        // Release the lease now so that the retry does not wait for it to lapse.
                        self.record(&op, "running", &done, Some(&m), 0).await?;
                        return Ok(Outcome::Deferred(op.id));
                    }
                    Err(StepError::Failed(m)) => {
                        tracing::warn!(op = %op.id, step = step.name(), "step failed, undoing: {m}");
                        error = Some(format!("{}: {m}", step.name()));
                        break;
                    }
                }
            }
            if error.is_none() {
                if self.record(&op, "done", &done, None, 0).await? {
                    return Ok(Outcome::Done(op.id));
                }
                return Ok(Outcome::LeaseLost(op.id));
            }
        }
        // Unwind: undo the finished steps, newest first, recording each one as it goes.
        while let Some((name, out)) = done.last().cloned() {
            if !self.record(&op, "undoing", &done, error.as_deref(), self.lease_until()).await? {
                return Ok(Outcome::LeaseLost(op.id));
            }
            let step = saga
                .steps
                .iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| EngineError::Corrupt(op.id.clone(), format!("unknown step {name}")))?;
            match step.undo(&input, &out).await {
                Ok(()) => {
                    done.pop();
                }
                Err(e) => {
                    tracing::warn!(op = %op.id, step = %name, "undo failed, will retry: {e}");
                    self.record(&op, "undoing", &done, error.as_deref(), 0).await?;
                    return Ok(Outcome::Deferred(op.id));
                }
            }
        }
        if let Some(hook) = &saga.on_failed {
            let why = error.clone().unwrap_or_default();
            if let Err(e) = hook.failed(&input, &why).await {
                tracing::warn!(op = %op.id, "recording the failure failed, will retry: {e}");
                self.record(&op, "undoing", &done, error.as_deref(), 0).await?;
                return Ok(Outcome::Deferred(op.id));
            }
        }
        self.record(&op, "failed", &done, error.as_deref(), 0).await?;
        Ok(Outcome::Failed(op.id))
    }

    /// At start-up: operations this node held when it last stopped are free to claim at once,
    /// since no process of this node's name still runs them.
    pub async fn reclaim_own(&self) -> Result<u64, EngineError> {
        Ok(self.store.op_release_owner(&self.owner).await?)
    }

    /// Works the queue until `stop` is set: drains it, then sleeps until woken (each queued
    /// operation wakes one worker) or a second passes (operations deferred after a transient
    /// failure come back that way).
    pub async fn run(self: Arc<Self>, wake: Arc<tokio::sync::Notify>, stop: Arc<std::sync::atomic::AtomicBool>) {
        use std::sync::atomic::Ordering;
        while !stop.load(Ordering::Relaxed) {
            // Listening before looking, so an operation queued meanwhile still wakes a worker.
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.run_once().await {
                Ok(Outcome::Idle) => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
                }
                Ok(Outcome::Deferred(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("engine: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs until no operation is claimable.
    pub async fn drain(&self) -> Result<Vec<Outcome>, EngineError> {
        let mut out = Vec::new();
        loop {
            match self.run_once().await? {
                Outcome::Idle => return Ok(out),
                o => out.push(o),
            }
        }
    }
}

#[cfg(test)]
mod tests;
