//! Waiting for launched instances to run, all of them at once: one DescribeInstanceStatus asks
//! about every instance some step is waiting on, instead of one call per instance.
//!
//! EC2 rate-limits its Describe calls per account (`RequestLimitExceeded`), and a burst of
//! creates polling one instance each would spend that budget, and the endpoint's time, many
//! times over. While launches are under way, calls are at least `GAP` apart, so the
//! instances of a burst are asked about together; once none is under way, a new instance is
//! asked about at once. An instance still pending is asked again after a pause that grows
//! per instance, as a single waiter's would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use hybridstack_driver::DriverError;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::errors::aws;

/// Instance ids per call: a request that names fewer stays small.
const BATCH: usize = 200;
/// The least time between two status calls while launches are under way.
const GAP: Duration = Duration::from_millis(200);
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

type Reply = oneshot::Sender<Result<(), DriverError>>;

struct Waiting {
    waiters: Vec<Reply>,
    /// When to ask about this instance next, and the pause after that.
    due: Instant,
    pause: Duration,
}

#[derive(Default)]
struct Watching {
    waiting: HashMap<String, Waiting>,
    /// Whether a poller task runs; the first waiter with none starts it.
    polling: bool,
}

#[derive(Default)]
pub(crate) struct LaunchWatch {
    state: parking_lot::Mutex<Watching>,
    arrived: Notify,
    /// RunInstances calls under way (`launching`), and a signal when the last one ends.
    launching: AtomicUsize,
    settled: Notify,
}

/// Held while a RunInstances call is out.
pub(crate) struct Launching(Arc<LaunchWatch>);

impl Drop for Launching {
    fn drop(&mut self) {
        if self.0.launching.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.settled.notify_one();
        }
    }
}

/// What one status call said of an instance.
enum Seen {
    Running,
    /// Pending, or not yet visible: EC2's reads are eventually consistent, so an instance
    /// RunInstances has just returned can be unknown to DescribeInstanceStatus for a moment.
    NotYet,
    Gone(String),
}

impl LaunchWatch {
    /// Marks a RunInstances call as under way until the guard drops.
    pub(crate) fn launching(self: &Arc<Self>) -> Launching {
        self.launching.fetch_add(1, Ordering::SeqCst);
        Launching(Arc::clone(self))
    }

    /// Waits until `instance_id` runs (an error if it goes another way), for at most `limit`.
    pub(crate) async fn wait_running(
        self: &Arc<Self>,
        ec2: &aws_sdk_ec2::Client,
        instance_id: &str,
        limit: Duration,
    ) -> Result<(), DriverError> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut w = self.state.lock();
            w.waiting
                .entry(instance_id.to_string())
                .or_insert_with(|| Waiting { waiters: Vec::new(), due: Instant::now(), pause: FIRST_PAUSE })
                .waiters
                .push(tx);
            !std::mem::replace(&mut w.polling, true)
        };
        if start {
            tokio::spawn(Arc::clone(self).poll(ec2.clone()));
        } else {
            self.arrived.notify_one();
        }
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(DriverError::Failed(format!("instance {instance_id}: the launch watcher stopped"))),
            Err(_) => Err(DriverError::Transient(format!(
                "instance {instance_id} to run: not done after {}s",
                limit.as_secs()
            ))),
        }
    }

    /// The instances to ask about now, or else when the next one is due (none: nobody waits
    /// any more, and the poller ends).
    fn due(&self) -> (Vec<String>, Option<Instant>) {
        let mut w = self.state.lock();
        // A waiter that gave up (its step timed out or was dropped) is not asked for.
        w.waiting.retain(|_, x| {
            x.waiters.retain(|t| !t.is_closed());
            !x.waiters.is_empty()
        });
        if w.waiting.is_empty() {
            w.polling = false;
            return (Vec::new(), None);
        }
        let now = Instant::now();
        let due: Vec<String> =
            w.waiting.iter().filter(|(_, x)| x.due <= now).map(|(id, _)| id.clone()).take(BATCH).collect();
        let next = w.waiting.values().map(|x| x.due).min();
        (due, next)
    }

    /// Asks about the due instances until nobody waits any more.
    async fn poll(self: Arc<Self>, ec2: aws_sdk_ec2::Client) {
        let mut last: Option<Instant> = None;
        loop {
            if let Some(t) = last {
                let until = t + GAP;
                while Instant::now() < until && self.launching.load(Ordering::SeqCst) > 0 {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        () = self.settled.notified() => {}
                    }
                }
            }
            let (due, next) = self.due();
            if due.is_empty() {
                let Some(next) = next else { return };
                tokio::select! {
                    () = tokio::time::sleep_until(next) => {}
                    () = self.arrived.notified() => {}
                }
                continue;
            }
            last = Some(Instant::now());
            let seen = describe(&ec2, &due).await;
            self.answer(due, &seen);
        }
    }

    /// Hands each asked-about instance's answer to its waiters, or sets when to ask again.
    fn answer(&self, asked: Vec<String>, seen: &Result<HashMap<String, Seen>, DriverError>) {
        let mut w = self.state.lock();
        for id in asked {
            let answer = match seen {
                Err(e) => Some(Err(e.clone())),
                Ok(states) => match states.get(&id) {
                    Some(Seen::Running) => Some(Ok(())),
                    Some(Seen::Gone(state)) => {
                        Some(Err(DriverError::Failed(format!("instance {id} went {state} instead of running"))))
                    }
                    Some(Seen::NotYet) | None => None,
                },
            };
            match answer {
                Some(a) => {
                    for t in w.waiting.remove(&id).map(|x| x.waiters).unwrap_or_default() {
                        let _ = t.send(a.clone());
                    }
                }
                None => {
                    if let Some(x) = w.waiting.get_mut(&id) {
                        x.due = Instant::now() + x.pause;
                        x.pause = (x.pause * 2).min(LONGEST_PAUSE);
                    }
                }
            }
        }
    }
}

/// The state of each of `ids`. An id EC2 does not know yet is left out: a batch naming one
/// fails as a whole (`InvalidInstanceID.NotFound`), so then each is asked alone.
async fn describe(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> Result<HashMap<String, Seen>, DriverError> {
    match describe_all(ec2, ids).await {
        Err(DriverError::NotFound(_)) if ids.len() > 1 => {
            let mut out = HashMap::new();
            for id in ids {
                match describe_all(ec2, std::slice::from_ref(id)).await {
                    Ok(one) => out.extend(one),
                    Err(DriverError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        Err(DriverError::NotFound(_)) => Ok(HashMap::new()),
        other => other,
    }
}

async fn describe_all(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> Result<HashMap<String, Seen>, DriverError> {
    // DescribeInstanceStatus (with every state, not only running) answers with just each
    // instance's state, where DescribeInstances would describe everything about each.
    let mut out = HashMap::new();
    let mut token = None;
    loop {
        let page = ec2
            .describe_instance_status()
            .set_instance_ids(Some(ids.to_vec()))
            .include_all_instances(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws("reading launched instances", e))?;
        for i in page.instance_statuses() {
            let Some(id) = i.instance_id() else { continue };
            let seen = match i.instance_state().and_then(|s| s.name()) {
                Some(InstanceStateName::Running) => Seen::Running,
                Some(InstanceStateName::Pending) | None => Seen::NotYet,
                Some(other) => Seen::Gone(other.as_str().to_string()),
            };
            out.insert(id.to_string(), seen);
        }
        token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{moto_config, start_moto, FaultProxy};
    use crate::AwsCloud;

    async fn cloud(url: &str) -> AwsCloud {
        let cfg = moto_config(url, "AKIAHYBRIDSTACKWATCH", 32);
        AwsCloud::open("watch", "0f4d2c1a-7b9e-4c3d-8a2f-00000000a11c", cfg, Some("secret"))
            .await
            .expect("open the cloud")
    }

    async fn launch(c: &AwsCloud, n: i32) -> Vec<String> {
        let out = c
            .ec2
            .run_instances()
            .image_id("ami-760aaa0f")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(n)
            .max_count(n)
            .send()
            .await
            .expect("RunInstances");
        out.instances().iter().filter_map(|i| i.instance_id()).map(str::to_string).collect()
    }

    // The runtime has one thread, so every waiter below is registered before the poller
    // first runs: what a burst of creates looks like to it.
    #[tokio::test]
    async fn instances_launched_together_are_awaited_with_one_call() {
        let moto = start_moto();
        let proxy = FaultProxy::start(&moto.url);
        let c = cloud(&proxy.url).await;
        let ids = launch(&c, 10).await;
        assert_eq!(ids.len(), 10);
        let limit = Duration::from_secs(30);
        let mut waits = tokio::task::JoinSet::new();
        for id in ids.clone() {
            let (watch, ec2) = (c.launches.clone(), c.ec2.clone());
            waits.spawn(async move { watch.wait_running(&ec2, &id, limit).await });
        }
        let answers = waits.join_all().await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(proxy.requests("DescribeInstanceStatus"), 1, "ten waits, one status call");

        // An id EC2 does not know (yet) fails a batch with InvalidInstanceID.NotFound: the
        // others in it are still answered, and the unknown one is waited for until the limit.
        let more = launch(&c, 1).await;
        let unknown = "i-0123456789abcdef0";
        let (known, missing) = tokio::join!(
            c.launches.wait_running(&c.ec2, &more[0], limit),
            c.launches.wait_running(&c.ec2, unknown, Duration::from_millis(400)),
        );
        assert!(known.is_ok(), "{known:?}");
        assert!(matches!(missing, Err(DriverError::Transient(ref m)) if m.contains(unknown)), "{missing:?}");

        // An instance that went away instead of running is a failure, not a wait.
        c.ec2.terminate_instances().instance_ids(&ids[0]).send().await.expect("terminate");
        let gone = c.launches.wait_running(&c.ec2, &ids[0], limit).await;
        assert!(matches!(gone, Err(DriverError::Failed(ref m)) if m.contains("instead of running")), "{gone:?}");
    }
}
