//! Engine tests on real stores (SQLite, and PostgreSQL when configured). The backend is a
//! recording fake at the step seam, where the issue asks for fault injection.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_store::testing;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::*;
use crate::saga::Step;

/// What the fake backend holds, and every call made to it.
#[derive(Default)]
struct Backend {
    objects: Mutex<HashSet<String>>,
    calls: Mutex<Vec<String>>,
}

struct Create {
    name: &'static str,
    backend: Arc<Backend>,
    /// Fail this many times (transient), or forever (hard) when `hard`.
    fail: Arc<AtomicI64>,
    hard: bool,
}

#[async_trait]
impl Step for Create {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn run(&self, input: &Value, _done: &[(String, Value)]) -> Result<Value, StepError> {
        self.backend.calls.lock().push(format!("run {}", self.name));
        if self.fail.load(Ordering::SeqCst) != 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err(if self.hard {
                StepError::Failed("injected".into())
            } else {
                StepError::Transient("injected".into())
            });
        }
        // Create-if-absent, keyed by the resource: running twice leaves one object.
        let key = format!("{}:{}", self.name, input["id"].as_str().unwrap_or_default());
        self.backend.objects.lock().insert(key.clone());
        Ok(json!({ "key": key }))
    }

    async fn undo(&self, _input: &Value, output: &Value) -> Result<(), StepError> {
        self.backend.calls.lock().push(format!("undo {}", self.name));
        if let Some(k) = output["key"].as_str() {
            self.backend.objects.lock().remove(k);
        }
        Ok(())
    }
}

const STEPS: [&str; 3] = ["disk", "nic", "domain"];

fn saga(backend: &Arc<Backend>, failing: Option<(usize, i64, bool)>) -> Saga {
    Saga {
        kind: "server.create",
        steps: STEPS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (n, hard) = match failing {
                    Some((at, n, hard)) if at == i => (n, hard),
                    _ => (0, false),
                };
                Box::new(Create { name, backend: backend.clone(), fail: Arc::new(AtomicI64::new(n)), hard })
                    as Box<dyn Step>
            })
            .collect(),
        on_failed: None,
    }
}

fn engine(
    store: &hybridstack_store::Store,
    owner: &str,
    backend: &Arc<Backend>,
    failing: Option<(usize, i64, bool)>,
) -> Engine {
    let mut e = Engine::new(store.clone(), owner, std::time::Duration::from_secs(30));
    e.register(saga(backend, failing));
    e
}

#[tokio::test]
async fn an_operation_runs_every_step_in_order() {
    for (name, t) in testing::all().await {
        let b = Arc::new(Backend::default());
        let e = engine(&t.store, "w1", &b, None);
        let id = e.submit("server.create", "s1", json!({"id": "s1"})).await.expect("submit");
        assert_eq!(e.drain().await.expect("drain"), vec![Outcome::Done(id.clone())], "{name}");
        assert_eq!(*b.calls.lock(), ["run disk", "run nic", "run domain"]);
        let op = t.store.op_get(&id).await.expect("op");
        assert_eq!(op.state, "done");
        assert!(op.steps_done.contains("domain:s1"));
    }
}

#[tokio::test]
async fn a_failure_at_any_step_undoes_the_finished_ones_in_reverse() {
    for at in 0..STEPS.len() {
        let t = testing::sqlite().await;
        let b = Arc::new(Backend::default());
        let e = engine(&t.store, "w1", &b, Some((at, i64::MAX, true)));
        let id = e.submit("server.create", "s1", json!({"id": "s1"})).await.expect("submit");
        assert_eq!(e.drain().await.expect("drain"), vec![Outcome::Failed(id.clone())]);
        assert!(b.objects.lock().is_empty(), "failing at {}: nothing is left behind", STEPS[at]);
        let undone: Vec<String> = b.calls.lock().iter().filter(|c| c.starts_with("undo")).cloned().collect();
        let expected: Vec<String> = STEPS[..at].iter().rev().map(|s| format!("undo {s}")).collect();
        assert_eq!(undone, expected);
        let op = t.store.op_get(&id).await.expect("op");
        assert_eq!(op.state, "failed");
        assert!(op.error.as_deref().is_some_and(|m| m.starts_with(STEPS[at])), "{:?}", op.error);
    }
}

#[tokio::test]
async fn transient_failures_are_retried_without_undoing() {
    let t = testing::sqlite().await;
    let b = Arc::new(Backend::default());
    let e = engine(&t.store, "w1", &b, Some((1, 2, false)));
    let id = e.submit("server.create", "s1", json!({"id": "s1"})).await.expect("submit");
    let outcomes = e.drain().await.expect("drain");
    assert_eq!(outcomes, vec![Outcome::Deferred(id.clone()), Outcome::Deferred(id.clone()), Outcome::Done(id.clone())]);
    assert_eq!(b.objects.lock().len(), 3);
    assert!(!b.calls.lock().iter().any(|c| c.starts_with("undo")));
}

#[tokio::test]
async fn a_dead_workers_operation_resumes_from_its_last_recorded_step() {
    for (name, t) in testing::all().await {
        let b = Arc::new(Backend::default());
        let now = Arc::new(AtomicI64::new(1_000_000_000));
        let clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst)) as Arc<dyn Fn() -> i64 + Send + Sync>
        };
        // The first worker records the disk step, then dies while creating the NIC.
        let dying = engine(&t.store, "w1", &b, Some((1, 1, false))).with_clock(clock.clone());
        let id = dying.submit("server.create", "s1", json!({"id": "s1"})).await.expect("submit");
        let op = t
            .store
            .op_claim("w1", now.load(Ordering::SeqCst), now.load(Ordering::SeqCst) + 30_000_000)
            .await
            .expect("claim")
            .expect("op");
        assert_eq!(op.id, id);
        let p = hybridstack_store::operations::Progress {
            id: &id,
            state: "running",
            steps_done: "[{\"step\":\"disk\",\"output\":{\"key\":\"disk:s1\"}}]",
            error: None,
            now: now.load(Ordering::SeqCst),
            lease_until: now.load(Ordering::SeqCst) + 30_000_000,
        };
        t.store.op_progress("w1", &p).await.expect("progress");
        b.objects.lock().insert("disk:s1".into());
        // While the lease holds, nobody else takes it.
        let rescuer = engine(&t.store, "w2", &b, None).with_clock(clock.clone());
        assert_eq!(rescuer.run_once().await.expect("run"), Outcome::Idle, "{name}");
        now.fetch_add(31_000_000, Ordering::SeqCst);
        assert_eq!(rescuer.drain().await.expect("drain"), vec![Outcome::Done(id.clone())], "{name}");
        assert_eq!(*b.calls.lock(), ["run nic", "run domain"], "{name}: the recorded disk step is not redone");
        // The dead worker, waking up, cannot overwrite the finished operation.
        assert!(t.store.op_progress("w1", &p).await.is_err(), "{name}");
        assert_eq!(t.store.op_get(&id).await.expect("op").state, "done");
    }
}

#[tokio::test]
async fn two_workers_never_run_the_same_operation() {
    for (name, t) in testing::all().await {
        let b = Arc::new(Backend::default());
        let w1 = Arc::new(engine(&t.store, "w1", &b, None));
        let w2 = Arc::new(engine(&t.store, "w2", &b, None));
        for i in 0..20 {
            w1.submit("server.create", &format!("s{i}"), json!({"id": format!("s{i}")})).await.expect("submit");
        }
        let (a, c) = tokio::join!(w1.drain(), w2.drain());
        let mut done: Vec<String> =
            a.expect("w1").into_iter().chain(c.expect("w2")).map(|o| format!("{o:?}")).collect();
        done.sort();
        done.dedup();
        assert_eq!(done.len(), 20, "{name}: each operation finished once");
        assert_eq!(b.calls.lock().len(), 60, "{name}: each step ran once");
    }
}

/// Each probe that ran, with the steps its operation had on record as done then.
type Recorded = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// Notes, when it runs, which steps the store has recorded as done for its operation.
struct Probe {
    name: &'static str,
    store: hybridstack_store::Store,
    recorded: Recorded,
    leaves_work: bool,
}

#[async_trait]
impl Step for Probe {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn run(&self, input: &Value, _done: &[(String, Value)]) -> Result<Value, StepError> {
        let ops = self.store.ops_live_for(input["id"].as_str().unwrap_or_default()).await.expect("live ops");
        let steps: Vec<String> = ops
            .first()
            .map(|op| serde_json::from_str::<Vec<Value>>(&op.steps_done).expect("steps_done"))
            .unwrap_or_default()
            .iter()
            .map(|s| s["step"].as_str().unwrap_or_default().to_string())
            .collect();
        self.recorded.lock().push((self.name.to_string(), steps));
        Ok(json!({ "step": self.name }))
    }

    async fn undo(&self, _input: &Value, _output: &Value) -> Result<(), StepError> {
        Ok(())
    }

    fn leaves_work(&self, _output: &Value) -> bool {
        self.leaves_work
    }
}

#[tokio::test]
async fn progress_is_recorded_once_a_step_has_left_work_to_undo() {
    for (name, t) in testing::all().await {
        let recorded: Recorded = Arc::default();
        let probe = |name, leaves_work| {
            Box::new(Probe { name, store: t.store.clone(), recorded: recorded.clone(), leaves_work }) as Box<dyn Step>
        };
        let mut e = Engine::new(t.store.clone(), "w1", std::time::Duration::from_secs(30));
        e.register(Saga {
            kind: "server.create",
            steps: vec![probe("place", false), probe("make", true), probe("note", false), probe("last", false)],
            on_failed: None,
        });
        let id = e.submit("server.create", "s1", json!({"id": "s1"})).await.expect("submit");
        assert_eq!(e.drain().await.expect("drain"), vec![Outcome::Done(id.clone())], "{name}");
        let seen: Vec<(String, Vec<String>)> = recorded.lock().clone();
        let expect = |step: &str, done: &[&str]| (step.to_string(), done.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            seen,
            vec![
                expect("place", &[]),
                // `place` left nothing to undo: were the worker to die now, it would simply run again.
                expect("make", &[]),
                // `make` did: it is on record before anything else runs.
                expect("note", &["place", "make"]),
                expect("last", &["place", "make"]),
            ],
            "{name}"
        );
        let op = t.store.op_get(&id).await.expect("op");
        assert_eq!(op.state, "done", "{name}");
        for step in ["place", "make", "note", "last"] {
            assert!(op.steps_done.contains(step), "{name}: {step} in {}", op.steps_done);
        }
    }
}
