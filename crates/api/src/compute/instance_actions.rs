//! `/servers/{id}/os-instance-actions`.

use crate::routes::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::model::InstanceAction;
use serde_json::{json, Value};

use super::{path, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/servers/{id}/os-instance-actions"), get(list))
        .route(&path("/servers/{id}/os-instance-actions/{request_id}"), get(show))
}

fn plain_time(t: &str) -> String {
    t.trim_end_matches('Z').to_string()
}

fn view(a: &InstanceAction) -> Value {
    json!({
        "action": a.action,
        "instance_uuid": a.instance_uuid,
        "request_id": a.request_id,
        "user_id": a.user_id,
        "project_id": a.project_id,
        "start_time": plain_time(&a.start_time),
        "message": a.message,
    })
}

async fn list(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let actions = st.compute.instance_actions(&ctx, &id).await?;
    Ok(axum::Json(json!({"instanceActions": actions.iter().map(view).collect::<Vec<_>>()})).into_response())
}

async fn show(Call(st, ctx): Call, Path((id, rid)): Path<(String, String)>) -> Result<Response> {
    let a = st.compute.instance_action(&ctx, &id, &rid).await?;
    let mut v = view(&a);
    // Before 2.51 Nova shows events to admins only.
    if !ctx.is_admin() {
        return Ok(axum::Json(json!({"instanceAction": v})).into_response());
    }
    let events: Vec<Value> = a
        .events
        .iter()
        .map(|e| {
            let mut ev = json!({
                "event": e.event,
                "start_time": plain_time(&e.start_time),
                "finish_time": e.finish_time.as_deref().map(plain_time),
                "result": e.result,
            });
            // Tracebacks are for operators (Nova's default policy shows them to admins only).
            if ctx.is_admin() {
                ev["traceback"] = json!(e.traceback);
            }
            ev
        })
        .collect();
    v["events"] = Value::Array(events);
    Ok(axum::Json(json!({"instanceAction": v})).into_response())
}
