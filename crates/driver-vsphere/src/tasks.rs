//! Waiting for a vCenter task to end: a property collector of its own per wait (so that
//! waits running side by side never see each other's updates), a filter on the task's
//! `info.state`, and WaitForUpdatesEx until the state is `success` or `error`. Never by
//! sleeping and polling: vCenter tells when the state changes.

use std::time::{Duration, Instant};

use hybridstack_driver::DriverError;

use crate::soap::{Fault, Soap};
use crate::xml::{Mor, Node, Xml};

/// How long a wait gives a task before saying it is still running (a disk copy of a large
/// image can take this long on a busy datastore).
const TASK_LIMIT: Duration = Duration::from_secs(3600);

/// Waits for `task`; returns its `info.result` (a created VM's reference, say) on success, and
/// its fault as a driver error on failure.
pub async fn wait(soap: &Soap, task: &Mor, doing: &str) -> Result<Option<Node>, DriverError> {
    // A quick task (a reconfigure, a power-on, every task of the simulator) has often ended
    // by the time its call returns: one read tells, before a collector is set up to wait.
    let now = crate::collector::properties_of(soap, task, &["info.state", "info.error", "info.result"]).await?;
    match now.text("info.state") {
        Some("success") => return Ok(now.prop("info.result").cloned()),
        Some("error") => return Err(task_fault(now.prop("info.error")).into_driver_error(doing)),
        _ => {}
    }
    with_collector(soap, |pc| async move { watch(soap, &pc, task, doing).await }).await
}

/// Runs `f` with a property collector of its own, destroyed after (best effort: a collector
/// left behind goes with the session).
async fn with_collector<T, F, Fut>(soap: &Soap, f: F) -> Result<T, DriverError>
where
    F: FnOnce(Mor) -> Fut,
    Fut: std::future::Future<Output = Result<T, DriverError>>,
{
    let root = soap.content().property_collector.clone();
    let pc = soap
        .call("CreatePropertyCollector", &root, Xml::new())
        .await?
        .as_mor()
        .ok_or_else(|| DriverError::Failed("CreatePropertyCollector returned no collector".into()))?;
    let outcome = f(pc.clone()).await;
    let _ = soap.call("DestroyPropertyCollector", &pc, Xml::new()).await;
    outcome
}

async fn watch(soap: &Soap, pc: &Mor, task: &Mor, doing: &str) -> Result<Option<Node>, DriverError> {
    let prop = Xml::new()
        .text("type", "Task")
        .text("all", "false")
        .text("pathSet", "info.state")
        .text("pathSet", "info.error")
        .text("pathSet", "info.result");
    let spec = Xml::new().node("propSet", prop).node("objectSet", Xml::new().mor("obj", task).text("skip", "false"));
    soap.call("CreateFilter", pc, Xml::new().node("spec", spec).text("partialUpdates", "false")).await?;
    let deadline = Instant::now() + TASK_LIMIT;
    let (mut version, mut state, mut error, mut result) = (String::new(), String::new(), None, None);
    while Instant::now() < deadline {
        let body = Xml::new().text("version", &version).node("options", Xml::new().text("maxWaitSeconds", "60"));
        let set = soap.call("WaitForUpdatesEx", pc, body).await?;
        if let Some(v) = set.text_at(&["version"]) {
            version = v.to_string();
        }
        for change in set.all("filterSet").flat_map(|f| f.all("objectSet")).flat_map(|o| o.all("changeSet")) {
            let val = change.child("val");
            match change.text_at(&["name"]) {
                Some("info.state") => state = val.map(|v| v.text.clone()).unwrap_or_default(),
                Some("info.error") => error = val.cloned(),
                Some("info.result") => result = val.cloned(),
                _ => {}
            }
        }
        match state.as_str() {
            "success" => return Ok(result),
            "error" => return Err(task_fault(error.as_ref()).into_driver_error(doing)),
            _ => {}
        }
    }
    Err(DriverError::Transient(format!("{doing}: task {} still running after {}s", task.value, TASK_LIMIT.as_secs())))
}

/// A task's `info.error` (a LocalizedMethodFault) as a fault.
fn task_fault(error: Option<&Node>) -> Fault {
    let kind = error.and_then(|e| e.child("fault")).map(|f| f.kind().to_string()).unwrap_or_else(|| "Fault".into());
    let message = error.and_then(|e| e.text_at(&["localizedMessage"])).unwrap_or_default().to_string();
    Fault { kind, message }
}

/// Waits up to `limit_secs` for `obj`'s `path` to read `want` (a VM reaching `poweredOff`
/// after a guest shutdown); says whether it did.
pub async fn wait_for(soap: &Soap, obj: &Mor, path: &str, want: &str, limit_secs: u64) -> Result<bool, DriverError> {
    with_collector(soap, |pc| async move {
        let prop = Xml::new().text("type", &obj.kind).text("all", "false").text("pathSet", path);
        let spec = Xml::new().node("propSet", prop).node("objectSet", Xml::new().mor("obj", obj).text("skip", "false"));
        soap.call("CreateFilter", &pc, Xml::new().node("spec", spec).text("partialUpdates", "false")).await?;
        let deadline = Instant::now() + Duration::from_secs(limit_secs);
        let mut version = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs();
            if left == 0 {
                return Ok(false);
            }
            let body = Xml::new()
                .text("version", &version)
                .node("options", Xml::new().text("maxWaitSeconds", left.to_string()));
            let set = soap.call("WaitForUpdatesEx", &pc, body).await?;
            if let Some(v) = set.text_at(&["version"]) {
                version = v.to_string();
            }
            let reached = set
                .all("filterSet")
                .flat_map(|f| f.all("objectSet"))
                .flat_map(|o| o.all("changeSet"))
                .any(|c| c.text_at(&["name"]) == Some(path) && c.text_at(&["val"]) == Some(want));
            if reached {
                return Ok(true);
            }
        }
    })
    .await
}
