//! A saga: named steps, each declared beside its undo. The worker drives untyped steps
//! ([`Step`]) over recorded JSON; sagas are written as typed steps ([`Act`]) over their
//! operation's parameters type, which the builder ([`SagaOf`]) adapts.

use std::marker::PhantomData;

use async_trait::async_trait;
use hybridstack_core::operations::Params;
use serde::de::DeserializeOwned;
use serde::Serialize;
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

/// A step of an operation whose parameters are `P`, with a typed output: the worker records
/// the output, a later step reads it by the step's type ([`Run::output`]), and the undo gets
/// it back. Declared by one struct per step holding the services it uses.
#[async_trait]
pub(crate) trait Act<P: Params>: Send + Sync + 'static {
    const NAME: &'static str;
    type Out: Serialize + DeserializeOwned + Send + Sync + 'static;

    async fn run(&self, p: &P, run: &Run<'_>) -> Result<Self::Out, StepError>;

    /// Reverses `run`; must tolerate the work being already gone. Steps that change nothing
    /// a later failure must reverse keep this default.
    async fn undo(&self, p: &P, out: &Self::Out) -> Result<(), StepError> {
        let _ = (p, out);
        Ok(())
    }

    /// Whether `out` holds work a later failure must undo (see [`Step::leaves_work`]).
    fn leaves_work(&self, out: &Self::Out) -> bool {
        let _ = out;
        false
    }
}

/// A step written as its body, with its undo beside it when it has one:
/// `step!(Finish(Arc<Compute>): PowerServer, "finish", |c, p, run| -> () { … })` declares
/// the struct holding what the step uses (bound as `c`) and its `Act` with that `run`;
/// `… -> Out { … } undo |c, p, out| { … } leaves_work |out| expr)` adds the undo and says
/// which outputs hold work a later failure must undo.
macro_rules! step {
    ($step:ident($holds:ty): $params:ty, $name:literal, |$s:pat_param, $p:pat_param, $run:pat_param| -> $out:ty $body:block) => {
        $crate::saga::step!($step($holds): $params, $name, |$s, $p, $run| -> $out $body
            undo |_, _, _| { Ok(()) }
            leaves_work |_| false);
    };
    ($step:ident($holds:ty): $params:ty, $name:literal, |$s:pat_param, $p:pat_param, $run:pat_param| -> $out:ty $body:block
     undo |$us:pat_param, $up:pat_param, $uo:pat_param| $undo:block
     leaves_work |$lo:pat_param| $leaves:expr) => {
        struct $step($holds);

        #[async_trait::async_trait]
        impl $crate::saga::Act<$params> for $step {
            const NAME: &'static str = $name;
            type Out = $out;

            async fn run(&self, $p: &$params, $run: &$crate::saga::Run<'_>) -> Result<$out, $crate::saga::StepError> {
                let $s = &self.0;
                $body
            }

            async fn undo(&self, $up: &$params, $uo: &$out) -> Result<(), $crate::saga::StepError> {
                let $us = &self.0;
                $undo
            }

            fn leaves_work(&self, $lo: &$out) -> bool {
                $leaves
            }
        }
    };
}
pub(crate) use step;

/// What a step knows of its run: which attempt of the operation this is, and what the steps
/// before it returned.
pub(crate) struct Run<'a> {
    /// 1 on the operation's first run: no earlier attempt can have made anything.
    pub attempt: u64,
    done: &'a [(String, Value)],
}

impl Run<'_> {
    /// What an earlier step of this run returned; `None` if it has not run.
    pub fn output<P: Params, S: Act<P>>(&self) -> Option<S::Out> {
        let (_, v) = self.done.iter().find(|(name, _)| name == S::NAME)?;
        serde_json::from_value(v.clone()).ok()
    }
}

/// What a failed operation of parameters `P` leaves once unwound (the fault on its resource).
#[async_trait]
pub(crate) trait Failed<P: Params>: Send + Sync + 'static {
    async fn failed(&self, p: &P, error: &str) -> Result<(), StepError>;
}

fn params<P: Params>(input: &Value) -> Result<P, StepError> {
    P::from_input(input).map_err(StepError::Failed)
}

fn encoded<T: Serialize>(name: &str, out: &T) -> Result<Value, StepError> {
    serde_json::to_value(out).map_err(|e| StepError::Failed(format!("{name}: output: {e}")))
}

fn decoded<T: DeserializeOwned>(name: &str, out: &Value) -> Result<T, StepError> {
    serde_json::from_value(out.clone()).map_err(|e| StepError::Failed(format!("{name}: recorded output: {e}")))
}

/// A typed step as the worker drives it: parameters and outputs as recorded JSON.
struct Typed<P, S>(S, PhantomData<fn() -> P>);

#[async_trait]
impl<P: Params, S: Act<P>> Step for Typed<P, S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    async fn run(&self, input: &Value, done: &[(String, Value)]) -> Result<Value, StepError> {
        let p = params::<P>(input)?;
        let attempt = input.get("_attempt").and_then(Value::as_u64).unwrap_or(0);
        let out = self.0.run(&p, &Run { attempt, done }).await?;
        encoded(S::NAME, &out)
    }

    async fn undo(&self, input: &Value, output: &Value) -> Result<(), StepError> {
        self.0.undo(&params::<P>(input)?, &decoded(S::NAME, output)?).await
    }

    fn leaves_work(&self, output: &Value) -> bool {
        // An output that does not read back is taken to leave work: recorded at once.
        decoded(S::NAME, output).map_or(true, |out| self.0.leaves_work(&out))
    }
}

struct TypedFailed<P, F>(F, PhantomData<fn() -> P>);

#[async_trait]
impl<P: Params, F: Failed<P>> OnFailed for TypedFailed<P, F> {
    async fn failed(&self, input: &Value, error: &str) -> Result<(), StepError> {
        self.0.failed(&params::<P>(input)?, error).await
    }
}

/// Builds the saga of the operation kind whose parameters are `P`.
pub(crate) struct SagaOf<P> {
    steps: Vec<Box<dyn Step>>,
    on_failed: Option<Box<dyn OnFailed>>,
    _p: PhantomData<fn() -> P>,
}

impl<P: Params> SagaOf<P> {
    pub fn new() -> Self {
        Self { steps: Vec::new(), on_failed: None, _p: PhantomData }
    }

    pub fn step<S: Act<P>>(mut self, s: S) -> Self {
        self.steps.push(Box::new(Typed(s, PhantomData)));
        self
    }

    pub fn on_failed<F: Failed<P>>(mut self, f: F) -> Self {
        self.on_failed = Some(Box::new(TypedFailed(f, PhantomData)));
        self
    }

    pub fn build(self) -> Saga {
        Saga { kind: P::KIND, steps: self.steps, on_failed: self.on_failed }
    }
}
