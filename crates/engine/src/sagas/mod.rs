//! The server sagas, one file per operation (Oxide's omicron layout): each step is a pair of
//! functions, the work and its undo, declared side by side. The domain logic lives in
//! `core::compute::lifecycle`; these files say in which order it runs and what undoes what.

mod network_sync;
mod server_create;
mod server_delete;
mod server_power;
mod server_rebuild;
mod server_resize;
mod server_snapshot;
mod snapshot_create;
mod snapshot_delete;
mod volume_attach;
mod volume_create;
mod volume_delete;
mod volume_detach;
mod volume_extend;
mod volume_steps;
mod volume_upload;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::compute::{CloudHandle, Compute};
use hybridstack_core::CoreError;
use hybridstack_driver::DriverError;
use serde_json::Value;

use crate::saga::{OnFailed, Saga, Step, StepError};
use crate::Engine;

pub(crate) type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'a>>;
pub(crate) type RunFn = for<'a> fn(&'a Compute, &'a Value, &'a [(String, Value)]) -> Fut<'a, Value>;
pub(crate) type UndoFn = for<'a> fn(&'a Compute, &'a Value, &'a Value) -> Fut<'a, ()>;

/// A step made of two plain functions over the compute service.
pub(crate) struct FnStep {
    name: &'static str,
    run: RunFn,
    undo: UndoFn,
    leaves_work: fn(&Value) -> bool,
    compute: Arc<Compute>,
}

#[async_trait]
impl Step for FnStep {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn run(&self, input: &Value, done: &[(String, Value)]) -> Result<Value, StepError> {
        (self.run)(&self.compute, input, done).await
    }

    async fn undo(&self, input: &Value, output: &Value) -> Result<(), StepError> {
        (self.undo)(&self.compute, input, output).await
    }

    fn leaves_work(&self, output: &Value) -> bool {
        (self.leaves_work)(output)
    }
}

/// A step whose every run leaves work for `undo`.
pub(crate) fn step(compute: &Arc<Compute>, name: &'static str, run: RunFn, undo: UndoFn) -> Box<dyn Step> {
    step_leaving(compute, name, run, undo, |_| true)
}

/// A step whose run may have found nothing to do: `leaves_work` tells from its output.
pub(crate) fn step_leaving(
    compute: &Arc<Compute>,
    name: &'static str,
    run: RunFn,
    undo: UndoFn,
    leaves_work: fn(&Value) -> bool,
) -> Box<dyn Step> {
    Box::new(FnStep { name, run, undo, leaves_work, compute: compute.clone() })
}

/// A step that changes nothing a later failure must reverse.
pub(crate) fn step_without_undo(compute: &Arc<Compute>, name: &'static str, run: RunFn) -> Box<dyn Step> {
    step_leaving(compute, name, run, nothing, |_| false)
}

fn nothing<'a>(_: &'a Compute, _: &'a Value, _: &'a Value) -> Fut<'a, ()> {
    Box::pin(async { Ok(()) })
}

/// Marks the server ERROR with the failure as its fault, and closes its action.
struct FailServer(Arc<Compute>);

#[async_trait]
impl OnFailed for FailServer {
    async fn failed(&self, input: &Value, error: &str) -> Result<(), StepError> {
        let id = server_id(input)?;
        // The step name prefix is for the log; the fault shows the reason.
        let reason = error.split_once(": ").map_or(error, |(_, r)| r);
        self.0.fail_server(&id, request_id(input).as_deref(), 500, reason).await.map_err(core)
    }
}

pub(crate) fn server_id(input: &Value) -> Result<String, StepError> {
    input
        .get("server_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| StepError::Failed("operation input has no server_id".into()))
}

pub(crate) fn request_id(input: &Value) -> Option<String> {
    input.get("request_id").and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn text(input: &Value, key: &str) -> Result<String, StepError> {
    input
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| StepError::Failed(format!("operation input has no {key}")))
}

/// A store hiccup or a lost compare-and-swap is worth retrying; the rest is final.
pub(crate) fn core(e: CoreError) -> StepError {
    match e {
        CoreError::Internal(m) => StepError::Transient(m),
        CoreError::Conflict(m) if m.contains("being changed by another request") => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    }
}

pub(crate) fn driver(e: DriverError) -> StepError {
    match e {
        DriverError::Transient(m) => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    }
}

pub(crate) async fn cloud_of(c: &Compute, name: &str) -> Result<Arc<CloudHandle>, StepError> {
    c.clouds.require(name).await.map_err(|e| match e {
        // A registered cloud that cannot be opened now may come back.
        CoreError::Conflict(m) => StepError::Transient(m),
        other => StepError::Failed(other.to_string()),
    })
}

fn saga(kind: &'static str, steps: Vec<Box<dyn Step>>, on_failed: Box<dyn OnFailed>) -> Saga {
    Saga { kind, steps, on_failed: Some(on_failed) }
}

/// Registers every saga with the engine.
pub fn register(engine: &mut Engine, compute: &Arc<Compute>) {
    let fail = || Box::new(FailServer(compute.clone())) as Box<dyn OnFailed>;
    engine.register(saga(hybridstack_core::compute::ops::CREATE, server_create::steps(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::DELETE, server_delete::steps(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::POWER, server_power::steps(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::REBUILD, server_rebuild::steps(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::RESIZE, server_resize::resize(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::CONFIRM_RESIZE, server_resize::confirm(compute), fail()));
    engine.register(saga(hybridstack_core::compute::ops::REVERT_RESIZE, server_resize::revert(compute), fail()));
    engine.register(saga(
        hybridstack_core::compute::ops::SNAPSHOT,
        server_snapshot::steps(compute),
        Box::new(server_snapshot::SnapshotFailed(compute.clone())),
    ));
    use hybridstack_core::volume::ops as vol;
    let fail = |volume_status, snapshot_status| {
        Some(Box::new(volume_steps::FailVolume { compute: compute.clone(), volume_status, snapshot_status })
            as Box<dyn OnFailed>)
    };
    for (kind, steps, on_failed) in [
        (vol::CREATE, volume_create::steps(compute), fail(Some("error"), None)),
        (vol::DELETE, volume_delete::steps(compute), fail(Some("error_deleting"), None)),
        (vol::EXTEND, volume_extend::steps(compute), fail(Some("error_extending"), None)),
        (vol::ATTACH, volume_attach::steps(compute), fail(Some("available"), None)),
        (vol::DETACH, volume_detach::steps(compute), fail(Some("in-use"), None)),
        (vol::SNAPSHOT_CREATE, snapshot_create::steps(compute), fail(None, Some("error"))),
        (vol::SNAPSHOT_DELETE, snapshot_delete::steps(compute), fail(None, Some("error_deleting"))),
        (vol::UPLOAD_IMAGE, volume_upload::steps(compute), fail(Some("available"), None)),
    ] {
        engine.register(Saga { kind, steps, on_failed });
    }
    engine.register(Saga {
        kind: hybridstack_core::network::realisation::NETWORK_SYNC,
        steps: network_sync::steps(compute),
        on_failed: None,
    });
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod volume_tests;
