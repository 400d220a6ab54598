//! Where this cloud lives in the vCenter's inventory (its datacenter, cluster, resource
//! pool, datastore and VM folder), found by inventory path when the cloud opens, and what it
//! holds: capacity from the cluster's hosts and the datastore, the vCenter's version and
//! clock.

use hybridstack_driver::{Capacity, DriverError};

use crate::collector::{by_path, properties, properties_of};
use crate::config::VsphereConfig;
use crate::soap::Soap;
use crate::xml::{Mor, Xml};

#[derive(Debug, Clone)]
pub struct Placement {
    pub datacenter: Mor,
    pub cluster: Mor,
    /// The cluster's root resource pool: where VMs run.
    pub pool: Mor,
    pub datastore: Mor,
    pub datastore_name: String,
    /// The datacenter's VM folder, under which `folder` (if set) is found or made.
    pub vm_root: Mor,
}

fn missing(what: &str, path: &str) -> DriverError {
    DriverError::Rejected(format!("the vCenter has no {what} at inventory path {path:?}"))
}

/// Inventory paths are `/`-separated names; a `/` inside a name is written `%2f`.
fn segment(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2f")
}

pub async fn locate(soap: &Soap, cfg: &VsphereConfig) -> Result<Placement, DriverError> {
    let dc_path = segment(&cfg.datacenter);
    let datacenter = by_path(soap, &dc_path).await?.ok_or_else(|| missing("datacenter", &dc_path))?;
    let dc = properties_of(soap, &datacenter, &["vmFolder"]).await?;
    let cluster_path = format!("{dc_path}/host/{}", segment(&cfg.cluster));
    let cluster = by_path(soap, &cluster_path)
        .await?
        .filter(|m| m.kind == "ClusterComputeResource")
        .ok_or_else(|| missing("cluster", &cluster_path))?;
    let pool = properties_of(soap, &cluster, &["resourcePool"])
        .await?
        .mor("resourcePool")
        .ok_or_else(|| DriverError::Failed(format!("cluster {} has no resource pool", cfg.cluster)))?;
    let ds_path = format!("{dc_path}/datastore/{}", segment(&cfg.datastore));
    let datastore = by_path(soap, &ds_path).await?.ok_or_else(|| missing("datastore", &ds_path))?;
    let need = |o: Option<Mor>, what: &str| {
        o.ok_or_else(|| DriverError::Failed(format!("datacenter {} has no {what}", cfg.datacenter)))
    };
    Ok(Placement {
        vm_root: need(dc.mor("vmFolder"), "VM folder")?,
        datacenter,
        cluster,
        pool,
        datastore,
        datastore_name: cfg.datastore.clone(),
    })
}

/// The cluster's connected hosts' CPU threads and memory, and the datastore's size and free
/// space.
pub async fn capacity(soap: &Soap, p: &Placement, cluster_name: &str) -> Result<Capacity, DriverError> {
    let hosts = properties_of(soap, &p.cluster, &["host"]).await?.mors("host");
    let hosts = properties(soap, "HostSystem", &hosts, &["summary.hardware", "runtime.connectionState"]).await?;
    let (mut vcpus, mut memory) = (0u64, 0u64);
    for h in hosts.iter().filter(|h| h.text("runtime.connectionState") == Some("connected")) {
        let hw = h.prop("summary.hardware");
        vcpus += hw.and_then(|n| n.u64_at(&["numCpuThreads"])).unwrap_or(0);
        memory += hw.and_then(|n| n.u64_at(&["memorySize"])).unwrap_or(0);
    }
    let ds = properties_of(soap, &p.datastore, &["summary"]).await?;
    let summary = ds.prop("summary");
    let gib = |f: &str| summary.and_then(|s| s.u64_at(&[f])).unwrap_or(0) >> 30;
    Ok(Capacity {
        hypervisor_type: "VMware vCenter Server".into(),
        hypervisor_hostname: cluster_name.into(),
        vcpus,
        memory_mb: memory >> 20,
        local_gb: gib("capacity"),
        free_disk_gb: gib("freeSpace"),
    })
}

/// The vCenter's clock (ServiceInstance.CurrentTime), for the skew `cloud check` reports:
/// a vCenter whose clock is far off signs tickets and stamps events that look wrong.
pub async fn current_time(soap: &Soap) -> Result<chrono::DateTime<chrono::Utc>, DriverError> {
    let si = Mor::new("ServiceInstance", "ServiceInstance");
    let t = soap.call("CurrentTime", &si, Xml::new()).await?;
    chrono::DateTime::parse_from_rfc3339(t.text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| DriverError::Failed(format!("vCenter's CurrentTime {:?} is not a time: {e}", t.text)))
}
