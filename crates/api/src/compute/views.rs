//! How servers and flavors look at each microversion.

use std::collections::BTreeMap;

use hybridstack_core::compute::model::{Flavor, Server};
use hybridstack_core::policy::RequestContext;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use super::{path, Mv};

pub(crate) fn links(base: &str, rest: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}{}", path(rest))},
        {"rel": "bookmark", "href": format!("{base}{}{rest}", super::PREFIX)},
    ])
}

/// Nova's hostId: an opaque per-project digest of the host, so a project can tell which of
/// its servers share a host without learning the host's name.
fn host_id(s: &Server) -> String {
    if s.cloud.is_empty() {
        return String::new();
    }
    let mut h = Sha224::new();
    h.update(format!("{}{}", s.project_id, s.cloud));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn addresses(s: &Server) -> Value {
    let mut by_net: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for a in &s.addresses {
        by_net.entry(a.network_name.clone()).or_default().push(json!({
            "version": a.version,
            "addr": a.addr,
            "OS-EXT-IPS:type": a.kind,
            "OS-EXT-IPS-MAC:mac_addr": a.mac,
        }));
    }
    json!(by_net)
}

/// Nova shows `progress` only while it means something.
fn progress(status: &str) -> Option<u8> {
    match status {
        "ACTIVE" | "VERIFY_RESIZE" => Some(100),
        "BUILD" | "REBUILD" | "RESIZE" | "MIGRATING" => Some(0),
        _ => None,
    }
}

/// The short view update and rebuild answer with: no extended attributes, and addresses as
/// version and address only.
pub(crate) fn server_short(base: &str, s: &Server, mv: Mv) -> Value {
    let status = s.status();
    let mut addrs: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for a in &s.addresses {
        addrs.entry(a.network_name.clone()).or_default().push(json!({"version": a.version, "addr": a.addr}));
    }
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "status": status,
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": s.metadata,
        "hostId": host_id(s),
        "image": if s.image_id.is_empty() { json!("") } else {
            json!({"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{base}/compute/images/{}", s.image_id)}]})
        },
        "flavor": {"id": s.flavor.id, "links": [{"rel": "bookmark", "href": format!("{base}/compute/flavors/{}", s.flavor.id)}]},
        "created": s.created,
        "updated": s.updated,
        "addresses": addrs,
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "links": links(base, &format!("/servers/{}", s.id)),
        "OS-DCF:diskConfig": "MANUAL",
    });
    if let Some(p) = progress(status) {
        v["progress"] = json!(p);
    }
    if let (Some(f), "ERROR" | "DELETED") = (&s.fault, status) {
        v["fault"] = json!({"code": f.code, "created": f.created, "message": f.message});
    }
    if mv.at_least(9) {
        v["locked"] = json!(s.locked);
    }
    if mv.at_least(19) {
        v["description"] = json!(s.description);
    }
    if mv.at_least(26) {
        v["tags"] = json!(s.tags);
    }
    v
}

pub(crate) fn server_brief(base: &str, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": links(base, &format!("/servers/{}", s.id))})
}

pub(crate) fn server(base: &str, s: &Server, ctx: &RequestContext, mv: Mv) -> Value {
    let status = s.status();
    let image = if s.image_id.is_empty() {
        json!("")
    } else {
        json!({"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{base}/compute/images/{}", s.image_id)}]})
    };
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("id", json!(s.id));
    put("name", json!(s.name));
    put("status", json!(status));
    put("tenant_id", json!(s.project_id));
    put("user_id", json!(s.user_id));
    put("metadata", json!(s.metadata));
    put("hostId", json!(host_id(s)));
    put("image", image);
    put(
        "flavor",
        json!({"id": s.flavor.id, "links": [{"rel": "bookmark", "href": format!("{base}/compute/flavors/{}", s.flavor.id)}]}),
    );
    put("created", json!(s.created));
    put("updated", json!(s.updated));
    put("addresses", addresses(s));
    put("accessIPv4", json!(s.access_ipv4));
    put("accessIPv6", json!(s.access_ipv6));
    put("links", links(base, &format!("/servers/{}", s.id)));
    put("OS-DCF:diskConfig", json!("MANUAL"));
    if let Some(p) = progress(status) {
        put("progress", json!(p));
    }
    put("OS-EXT-AZ:availability_zone", json!(s.cloud));
    put("config_drive", json!(s.config_drive));
    put("key_name", json!(s.key_name));
    put("OS-SRV-USG:launched_at", json!(s.launched_at.as_deref().map(|t| t.trim_end_matches('Z').to_string())));
    put("OS-SRV-USG:terminated_at", json!(s.terminated_at.as_deref().map(|t| t.trim_end_matches('Z').to_string())));
    put("OS-EXT-STS:task_state", json!(s.task_state));
    put("OS-EXT-STS:vm_state", json!(s.vm_state));
    put("OS-EXT-STS:power_state", json!(s.power_state));
    put("os-extended-volumes:volumes_attached", json!([]));
    if !s.ports.is_empty() || !s.networks.is_empty() {
        put("security_groups", Value::Array(s.security_groups.iter().map(|n| json!({"name": n})).collect()));
    }
    if let (Some(f), "ERROR" | "DELETED") = (&s.fault, status) {
        let mut fault = json!({"code": f.code, "created": f.created, "message": f.message});
        if ctx.is_admin() {
            fault["details"] = json!(f.details.clone().unwrap_or_default());
        }
        put("fault", fault);
    }
    if ctx.is_admin() {
        put("OS-EXT-SRV-ATTR:host", json!(if s.cloud.is_empty() { Value::Null } else { json!(s.cloud) }));
        put(
            "OS-EXT-SRV-ATTR:hypervisor_hostname",
            json!(if s.cloud.is_empty() { Value::Null } else { json!(s.cloud) }),
        );
        put("OS-EXT-SRV-ATTR:instance_name", json!(format!("hs-{}", s.id)));
        if mv.at_least(3) {
            put("OS-EXT-SRV-ATTR:reservation_id", json!(s.reservation_id));
            put("OS-EXT-SRV-ATTR:launch_index", json!(s.launch_index));
            put("OS-EXT-SRV-ATTR:hostname", json!(s.hostname));
            put("OS-EXT-SRV-ATTR:kernel_id", json!(s.kernel_id));
            put("OS-EXT-SRV-ATTR:ramdisk_id", json!(s.ramdisk_id));
            put("OS-EXT-SRV-ATTR:root_device_name", json!("/dev/vda"));
            put("OS-EXT-SRV-ATTR:user_data", json!(s.user_data));
        }
        if mv.at_least(16) {
            put("host_status", json!(if s.cloud.is_empty() { "" } else { "UP" }));
        }
    }
    if mv.at_least(9) {
        put("locked", json!(s.locked));
    }
    if mv.at_least(19) {
        put("description", json!(s.description));
    }
    if mv.at_least(26) {
        put("tags", json!(s.tags));
    }
    Value::Object(m)
}

pub(crate) fn flavor_brief(base: &str, f: &Flavor) -> Value {
    json!({"id": f.id, "name": f.name, "links": links(base, &format!("/flavors/{}", f.id))})
}

pub(crate) fn flavor(base: &str, f: &Flavor) -> Value {
    json!({
        "id": f.id,
        "name": f.name,
        "ram": f.ram,
        "disk": f.disk,
        "vcpus": f.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "swap": if f.swap == 0 { json!("") } else { json!(f.swap) },
        "rxtx_factor": f.rxtx_factor,
        "os-flavor-access:is_public": f.is_public,
        "links": links(base, &format!("/flavors/{}", f.id)),
    })
}
