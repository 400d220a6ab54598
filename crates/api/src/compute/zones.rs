//! `/os-availability-zone`, `/os-hypervisors` and `/os-services`: each cloud is a zone, a
//! hypervisor and a compute service.

use crate::routes::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hybridstack_core::compute::Hypervisor;
use hybridstack_core::CoreError;
use serde_json::{json, Map, Value};

use super::{path, NovaError, Result};
use crate::auth::Call;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/os-availability-zone"), get(zones))
        .route(&path("/os-availability-zone/detail"), get(zones_detail))
        .route(&path("/os-hypervisors"), get(hypervisors))
        .route(&path("/os-hypervisors/detail"), get(hypervisors_detail))
        .route(&path("/os-hypervisors/statistics"), get(statistics))
        .route(&path("/os-hypervisors/{id}"), get(hypervisor))
        .route(&path("/os-services"), get(services))
}

async fn zones(Call(st, ctx): Call) -> Result<Response> {
    let z = st.compute.zones(&ctx).await?;
    let items: Vec<Value> =
        z.iter().map(|z| json!({"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": null})).collect();
    Ok(axum::Json(json!({"availabilityZoneInfo": items})).into_response())
}

async fn zones_detail(Call(st, ctx): Call) -> Result<Response> {
    ctx.require_admin()?;
    let z = st.compute.zones(&ctx).await?;
    let items: Vec<Value> = z
        .iter()
        .map(|z| {
            let hosts: Map<String, Value> = z
                .clouds
                .iter()
                .map(|(c, up)| {
                    (c.clone(), json!({"nova-compute": {"available": up, "active": true, "updated_at": null}}))
                })
                .collect();
            json!({"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": hosts})
        })
        .collect();
    Ok(axum::Json(json!({"availabilityZoneInfo": items})).into_response())
}

fn brief(h: &Hypervisor) -> Value {
    json!({"id": h.id, "hypervisor_hostname": h.name, "state": if h.state_up { "up" } else { "down" }, "status": "enabled"})
}

fn full(h: &Hypervisor) -> Value {
    let mut v = brief(h);
    let extra = json!({
        "hypervisor_type": h.kind,
        "hypervisor_version": 1,
        "host_ip": "127.0.0.1",
        "vcpus": h.vcpus,
        "vcpus_used": h.vcpus_used,
        "memory_mb": h.memory_mb,
        "memory_mb_used": h.memory_mb_used,
        "free_ram_mb": i64::try_from(h.memory_mb).unwrap_or(0) - h.memory_mb_used,
        "local_gb": h.local_gb,
        "local_gb_used": h.local_gb.saturating_sub(h.free_disk_gb),
        "free_disk_gb": h.free_disk_gb,
        "disk_available_least": h.free_disk_gb,
        "running_vms": h.running_vms,
        "current_workload": 0,
        "cpu_info": "{}",
        "service": {"host": h.name, "id": h.id, "disabled_reason": h.error},
    });
    if let (Some(a), Some(b)) = (v.as_object_mut(), extra.as_object()) {
        a.extend(b.clone());
    }
    v
}

async fn hypervisors(Call(st, ctx): Call) -> Result<Response> {
    let hs = st.compute.hypervisors(&ctx).await?;
    Ok(axum::Json(json!({"hypervisors": hs.iter().map(brief).collect::<Vec<_>>()})).into_response())
}

async fn hypervisors_detail(Call(st, ctx): Call) -> Result<Response> {
    let hs = st.compute.hypervisors(&ctx).await?;
    Ok(axum::Json(json!({"hypervisors": hs.iter().map(full).collect::<Vec<_>>()})).into_response())
}

async fn hypervisor(Call(st, ctx): Call, Path(id): Path<String>) -> Result<Response> {
    let hs = st.compute.hypervisors(&ctx).await?;
    let h = hs
        .iter()
        .find(|h| h.id.to_string() == id || h.name == id)
        .ok_or_else(|| NovaError(CoreError::NotFound(format!("Hypervisor with ID '{id}' could not be found."))))?;
    Ok(axum::Json(json!({"hypervisor": full(h)})).into_response())
}

async fn statistics(Call(st, ctx): Call) -> Result<Response> {
    let hs = st.compute.hypervisors(&ctx).await?;
    let sum = |f: fn(&Hypervisor) -> i64| hs.iter().map(f).sum::<i64>();
    let s = json!({
        "count": hs.len(),
        "vcpus": sum(|h| i64::try_from(h.vcpus).unwrap_or(0)),
        "vcpus_used": sum(|h| h.vcpus_used),
        "memory_mb": sum(|h| i64::try_from(h.memory_mb).unwrap_or(0)),
        "memory_mb_used": sum(|h| h.memory_mb_used),
        "free_ram_mb": sum(|h| i64::try_from(h.memory_mb).unwrap_or(0) - h.memory_mb_used),
        "local_gb": sum(|h| i64::try_from(h.local_gb).unwrap_or(0)),
        "local_gb_used": sum(|h| i64::try_from(h.local_gb.saturating_sub(h.free_disk_gb)).unwrap_or(0)),
        "free_disk_gb": sum(|h| i64::try_from(h.free_disk_gb).unwrap_or(0)),
        "disk_available_least": sum(|h| i64::try_from(h.free_disk_gb).unwrap_or(0)),
        "running_vms": sum(|h| h.running_vms),
        "current_workload": 0,
    });
    Ok(axum::Json(json!({"hypervisor_statistics": s})).into_response())
}

async fn services(Call(st, ctx): Call) -> Result<Response> {
    let hs = st.compute.hypervisors(&ctx).await?;
    let items: Vec<Value> = hs
        .iter()
        .map(|h| {
            json!({"id": h.id, "binary": "nova-compute", "host": h.name, "zone": st.compute.clouds.zone_of(&h.name),
                "status": "enabled", "state": if h.state_up { "up" } else { "down" },
                "updated_at": null, "disabled_reason": h.error, "forced_down": false})
        })
        .collect();
    Ok(axum::Json(json!({"services": items})).into_response())
}
