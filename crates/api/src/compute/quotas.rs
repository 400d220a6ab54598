//! `/os-quota-sets` and `/limits`.

use std::collections::BTreeMap;

use crate::routes::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::QuotaSet;
use serde_json::{json, Map, Value};

use super::{bad, json_body, path, Mv, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/os-quota-sets/{project}"), get(show).put(update).delete(reset))
        .route(&path("/os-quota-sets/{project}/defaults"), get(defaults))
        .route(&path("/os-quota-sets/{project}/detail"), get(detail))
        .route(&path("/limits"), get(limits))
}

/// The network-proxy quotas went away at 2.36.
const PROXY: &[&str] = &["fixed_ips", "floating_ips", "security_groups", "security_group_rules"];

fn render(project: &str, q: &QuotaSet, mv: Mv) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(project));
    for (k, v) in q {
        if mv.at_least(36) && PROXY.contains(k) {
            continue;
        }
        m.insert((*k).into(), json!(v));
    }
    Value::Object(m)
}

async fn show(Call(st, ctx): Call, mv: Mv, Path(project): Path<String>) -> Result<Response> {
    let q = st.compute.quota_show(&ctx, &project).await?;
    Ok(axum::Json(json!({"quota_set": render(&project, &q, mv)})).into_response())
}

async fn defaults(Call(st, _): Call, mv: Mv, Path(project): Path<String>) -> Result<Response> {
    let q = st.compute.quota_defaults();
    Ok(axum::Json(json!({"quota_set": render(&project, &q, mv)})).into_response())
}

async fn detail(Call(st, ctx): Call, mv: Mv, Path(project): Path<String>) -> Result<Response> {
    let q = st.compute.quota_show(&ctx, &project).await?;
    let used = st.compute.quota_usage(&project).await?;
    let mut m = Map::new();
    m.insert("id".into(), json!(project));
    for (k, v) in &q {
        if mv.at_least(36) && PROXY.contains(k) {
            continue;
        }
        m.insert((*k).into(), json!({"limit": v, "in_use": used.get(k).copied().unwrap_or(0), "reserved": 0}));
    }
    Ok(axum::Json(json!({"quota_set": m})).into_response())
}

async fn update(Call(st, ctx): Call, mv: Mv, Path(project): Path<String>, body: Bytes) -> Result<Response> {
    let v = json_body(&body)?;
    let Some(Value::Object(q)) = v.get("quota_set") else { return Err(bad("'quota_set' is a required property.")) };
    let mut values = BTreeMap::new();
    for (k, v) in q {
        if k == "force" {
            continue;
        }
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad(format!("Invalid input for field/attribute {k}: it must be an integer.")))?;
        values.insert(k.clone(), n);
    }
    let q = st.compute.quota_update(&ctx, &project, values).await?;
    let mut r = render(&project, &q, mv);
    if let Some(m) = r.as_object_mut() {
        m.remove("id");
    }
    Ok(axum::Json(json!({"quota_set": r})).into_response())
}

async fn reset(Call(st, ctx): Call, Path(project): Path<String>) -> Result<Response> {
    st.compute.quota_reset(&ctx, &project).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn limits(Call(st, ctx): Call, mv: Mv) -> Result<Response> {
    let project = ctx.project_id().unwrap_or_default().to_string();
    let q = st.compute.quota_show(&ctx, &project).await?;
    let used = st.compute.quota_usage(&project).await?;
    let get = |k: &str| q.get(k).copied().unwrap_or(-1);
    let mut abs = json!({
        "maxTotalInstances": get("instances"),
        "maxTotalCores": get("cores"),
        "maxTotalRAMSize": get("ram"),
        "maxTotalKeypairs": get("key_pairs"),
        "maxServerMeta": get("metadata_items"),
        "maxImageMeta": get("metadata_items"),
        "maxPersonality": get("injected_files"),
        "maxPersonalitySize": get("injected_file_content_bytes"),
        "maxServerGroups": get("server_groups"),
        "maxServerGroupMembers": get("server_group_members"),
        "totalInstancesUsed": used.get("instances").copied().unwrap_or(0),
        "totalCoresUsed": used.get("cores").copied().unwrap_or(0),
        "totalRAMUsed": used.get("ram").copied().unwrap_or(0),
        "totalServerGroupsUsed": 0,
    });
    if !mv.at_least(36) {
        abs["maxSecurityGroups"] = json!(get("security_groups"));
        abs["maxSecurityGroupRules"] = json!(get("security_group_rules"));
        abs["maxTotalFloatingIps"] = json!(get("floating_ips"));
        abs["totalSecurityGroupsUsed"] = json!(0);
        abs["totalFloatingIpsUsed"] = json!(0);
    }
    Ok(axum::Json(json!({"limits": {"absolute": abs, "rate": []}})).into_response())
}
