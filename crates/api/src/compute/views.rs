//! How servers and flavors look at each microversion.

use std::collections::BTreeMap;

use hybridstack_core::compute::model::{Flavor, Server};
use hybridstack_core::policy::RequestContext;
use serde::Serialize;
use serde_json::{json, Value};
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

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

#[derive(Serialize)]
struct Ref<'a> {
    id: &'a str,
    links: [Link; 1],
}

/// Nova shows a server booted from a volume with `"image": ""`.
#[derive(Serialize)]
#[serde(untagged)]
enum ImageRef<'a> {
    Image(Ref<'a>),
    None(&'static str),
}

#[derive(Serialize)]
struct AddressView<'a> {
    version: u8,
    addr: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    kind: &'a str,
    #[serde(rename = "OS-EXT-IPS-MAC:mac_addr")]
    mac: &'a str,
}

#[derive(Serialize)]
struct FaultView<'a> {
    code: u16,
    created: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
}

#[derive(Serialize)]
struct AttachedView<'a> {
    id: &'a str,
    /// Shown from 2.3 on; volumes attached through this API are never deleted with the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    delete_on_termination: Option<bool>,
}

#[derive(Serialize)]
struct GroupName<'a> {
    name: &'a str,
}

/// Attributes only admins see; the `Option<Option<_>>` ones appear from a microversion on,
/// and may then be null.
#[derive(Serialize)]
struct AdminView<'a> {
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    host: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:hypervisor_hostname")]
    hypervisor_hostname: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:instance_name")]
    instance_name: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:reservation_id", skip_serializing_if = "Option::is_none")]
    reservation_id: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:launch_index", skip_serializing_if = "Option::is_none")]
    launch_index: Option<u32>,
    #[serde(rename = "OS-EXT-SRV-ATTR:hostname", skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:kernel_id", skip_serializing_if = "Option::is_none")]
    kernel_id: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:ramdisk_id", skip_serializing_if = "Option::is_none")]
    ramdisk_id: Option<&'a str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:root_device_name", skip_serializing_if = "Option::is_none")]
    root_device_name: Option<&'static str>,
    #[serde(rename = "OS-EXT-SRV-ATTR:user_data", skip_serializing_if = "Option::is_none")]
    user_data: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_status: Option<&'static str>,
}

/// The full server body (show and list detail). It is a typed view serialised straight to
/// the response, not a `Value` tree: a 1,000-server page otherwise spends most of its time
/// allocating and freeing map nodes.
#[derive(Serialize)]
pub(crate) struct ServerView<'a> {
    id: &'a str,
    name: &'a str,
    status: &'static str,
    tenant_id: &'a str,
    user_id: &'a str,
    metadata: &'a BTreeMap<String, String>,
    #[serde(rename = "hostId")]
    host_id: String,
    image: ImageRef<'a>,
    flavor: Ref<'a>,
    created: &'a str,
    updated: &'a str,
    addresses: BTreeMap<&'a str, Vec<AddressView<'a>>>,
    #[serde(rename = "accessIPv4")]
    access_ipv4: &'a str,
    #[serde(rename = "accessIPv6")]
    access_ipv6: &'a str,
    links: [Link; 2],
    #[serde(rename = "OS-DCF:diskConfig")]
    disk_config: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<u8>,
    #[serde(rename = "OS-EXT-AZ:availability_zone")]
    availability_zone: String,
    config_drive: &'a str,
    key_name: Option<&'a str>,
    #[serde(rename = "OS-SRV-USG:launched_at")]
    launched_at: Option<&'a str>,
    #[serde(rename = "OS-SRV-USG:terminated_at")]
    terminated_at: Option<&'a str>,
    #[serde(rename = "OS-EXT-STS:task_state")]
    task_state: Option<&'a str>,
    #[serde(rename = "OS-EXT-STS:vm_state")]
    vm_state: &'a str,
    #[serde(rename = "OS-EXT-STS:power_state")]
    power_state: u8,
    #[serde(rename = "os-extended-volumes:volumes_attached")]
    volumes_attached: Vec<AttachedView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_groups: Option<Vec<GroupName<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<FaultView<'a>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    admin: Option<AdminView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [String]>,
}

fn bookmark(base: &str, kind: &str, id: &str) -> [Link; 1] {
    [Link { rel: "bookmark", href: format!("{base}{}/{kind}/{id}", super::PREFIX) }]
}

/// A server in full; `zone` is the availability zone of its cloud.
pub(crate) fn server<'a>(base: &str, s: &'a Server, zone: String, ctx: &RequestContext, mv: Mv) -> ServerView<'a> {
    let status = s.status();
    let placed = |v: &'a str| if s.cloud.is_empty() { None } else { Some(v) };
    let mut addresses: BTreeMap<&str, Vec<AddressView>> = BTreeMap::new();
    for a in &s.addresses {
        addresses.entry(a.network_name.as_str()).or_default().push(AddressView {
            version: a.version,
            addr: &a.addr,
            kind: &a.kind,
            mac: &a.mac,
        });
    }
    let at = |v: u16| mv.at_least(v);
    let admin = ctx.is_admin().then(|| AdminView {
        host: placed(&s.cloud),
        hypervisor_hostname: placed(&s.cloud),
        instance_name: format!("hs-{}", s.id),
        reservation_id: at(3).then_some(s.reservation_id.as_str()),
        launch_index: at(3).then_some(s.launch_index),
        hostname: at(3).then_some(s.hostname.as_str()),
        kernel_id: at(3).then_some(s.kernel_id.as_str()),
        ramdisk_id: at(3).then_some(s.ramdisk_id.as_str()),
        root_device_name: at(3).then_some("/dev/vda"),
        user_data: at(3).then_some(s.user_data.as_deref()),
        host_status: at(16).then_some(if s.cloud.is_empty() { "" } else { "UP" }),
    });
    let self_path = format!("/servers/{}", s.id);
    ServerView {
        id: &s.id,
        name: &s.name,
        status,
        tenant_id: &s.project_id,
        user_id: &s.user_id,
        metadata: &s.metadata,
        host_id: host_id(s),
        image: if s.image_id.is_empty() {
            ImageRef::None("")
        } else {
            ImageRef::Image(Ref { id: &s.image_id, links: bookmark(base, "images", &s.image_id) })
        },
        flavor: Ref { id: &s.flavor.id, links: bookmark(base, "flavors", &s.flavor.id) },
        created: &s.created,
        updated: &s.updated,
        addresses,
        access_ipv4: &s.access_ipv4,
        access_ipv6: &s.access_ipv6,
        links: [
            Link { rel: "self", href: format!("{base}{}", path(&self_path)) },
            Link { rel: "bookmark", href: format!("{base}{}{self_path}", super::PREFIX) },
        ],
        disk_config: "MANUAL",
        progress: progress(status),
        availability_zone: zone,
        config_drive: &s.config_drive,
        key_name: s.key_name.as_deref(),
        launched_at: s.launched_at.as_deref().map(|t| t.trim_end_matches('Z')),
        terminated_at: s.terminated_at.as_deref().map(|t| t.trim_end_matches('Z')),
        task_state: s.task_state.as_deref(),
        vm_state: &s.vm_state,
        power_state: s.power_state,
        volumes_attached: s
            .volumes_attached
            .iter()
            .map(|id| AttachedView { id, delete_on_termination: at(3).then_some(false) })
            .collect(),
        security_groups: (!s.ports.is_empty() || !s.networks.is_empty())
            .then(|| s.security_groups.iter().map(|n| GroupName { name: n }).collect()),
        fault: match (&s.fault, status) {
            (Some(f), "ERROR" | "DELETED") => Some(FaultView {
                code: f.code,
                created: &f.created,
                message: &f.message,
                details: ctx.is_admin().then(|| f.details.as_deref().unwrap_or_default()),
            }),
            _ => None,
        },
        admin,
        locked: at(9).then_some(s.locked),
        description: at(19).then_some(s.description.as_deref()),
        tags: at(26).then_some(s.tags.as_slice()),
    }
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
