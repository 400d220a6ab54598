//! `/os-quota-sets/{project}`: block-storage quotas (show, with `usage=true` the use of
//! each, defaults, and for admins update and reset).

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::volume::quotas::VolumeQuotaSet;
use serde_json::{json, Map, Value};

use super::{route, InProject, ListQuery, Result};
use crate::compute::{bad, json_body};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&route("/os-quota-sets/{target}"), get(show).put(update).delete(reset))
        .route(&route("/os-quota-sets/{target}/defaults"), get(defaults))
}

fn render(target: &str, q: &VolumeQuotaSet) -> Value {
    let mut m: Map<String, Value> = q.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    m.insert("id".into(), json!(target));
    Value::Object(m)
}

async fn show(
    InProject(st, ctx): InProject,
    Path((_, target)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let vols = &st.compute.volumes;
    let q = vols.volume_quota_show(&ctx, &target).await?;
    if !ListQuery::parse(raw).flag("usage") {
        return Ok(axum::Json(json!({"quota_set": render(&target, &q)})).into_response());
    }
    let used = vols.volume_quota_usage(&target).await?;
    let mut m: Map<String, Value> = q
        .iter()
        .map(|(k, limit)| {
            let in_use = used.get(k).copied().unwrap_or(0);
            (k.clone(), json!({"limit": limit, "in_use": in_use, "reserved": 0, "allocated": 0}))
        })
        .collect();
    m.insert("id".into(), json!(target));
    Ok(axum::Json(json!({"quota_set": m})).into_response())
}

async fn defaults(InProject(st, _ctx): InProject, Path((_, target)): Path<(String, String)>) -> Result<Response> {
    let q = st.compute.volumes.volume_quota_defaults().await?;
    Ok(axum::Json(json!({"quota_set": render(&target, &q)})).into_response())
}

async fn update(
    InProject(st, ctx): InProject,
    Path((_, target)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(q)) = v.get("quota_set") else {
        return Err(bad("Missing required element 'quota_set' in request body."));
    };
    let mut values = BTreeMap::new();
    for (k, v) in q {
        // Cinder ignores the project id some clients echo back.
        if k == "id" || k == "tenant_id" {
            continue;
        }
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad(format!("Invalid input received: quota {k} must be an integer.")))?;
        values.insert(k.clone(), n);
    }
    let q = st.compute.volumes.volume_quota_update(&ctx, &target, values).await?;
    let mut r = render(&target, &q);
    if let Some(m) = r.as_object_mut() {
        m.remove("id");
    }
    Ok(axum::Json(json!({"quota_set": r})).into_response())
}

async fn reset(InProject(st, ctx): InProject, Path((_, target)): Path<(String, String)>) -> Result<Response> {
    st.compute.volumes.volume_quota_reset(&ctx, &target).await?;
    Ok(StatusCode::OK.into_response())
}
