//! Neutron networks as distributed port groups. A network of this cloud is a port group on
//! the distributed switch that spans the cluster's hosts, tagged with a VLAN from the
//! cloud's range that no other port group of the switch uses. Its name is
//! `hs-<installation>-<network id>` and its description carries our marks, so a retried step
//! finds it and the reconcilers tell ours from the rest. A port is a NIC of its server's VM,
//! bound by the switch's UUID and the port group's key with the port's MAC (`servers.rs`).
//!
//! vCenter has no DHCP and a plain distributed switch no per-port filtering: addresses
//! reach the guest in the config drive's network data, and security groups are not enforced
//! here (the cloud says so in its capabilities).

use std::collections::HashMap;

use hybridstack_driver::{DriverError, Foreign, Maker, NetworkSpec, Owned};

use crate::collector::{all_of, properties_of, Object};
use crate::xml::{Mor, Node, Xml};
use crate::{VsphereCloud, KEY_CLOUD, KEY_ID, KEY_INSTALLATION};

/// The distributed switch networks go on.
#[derive(Debug, Clone)]
pub struct Switch {
    pub mor: Mor,
    pub uuid: String,
}

/// A port group as read.
pub struct PortGroup {
    pub mor: Mor,
    pub key: String,
    pub name: String,
    pub vlan: Option<u16>,
    pub marks: HashMap<String, String>,
}

/// Marks in a description: `hybridstack.id=…; hybridstack.cloud=…; …`.
fn marks_of(description: &str) -> HashMap<String, String> {
    description
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| k.starts_with("hybridstack."))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn vlan_of(default_port_config: Option<&Node>) -> Option<u16> {
    let vlan = default_port_config?.child("vlan")?;
    (vlan.kind() == "VmwareDistributedVirtualSwitchVlanIdSpec").then(|| vlan.u64_at(&["vlanId"]))??.try_into().ok()
}

impl VsphereCloud {
    fn port_group_name(&self, network_id: &str) -> String {
        let short: String = self.installation.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
        format!("hs-{short}-{network_id}")
    }

    /// The distributed switch every host of the cluster is a member of.
    pub(crate) async fn switch(&self) -> Result<Switch, DriverError> {
        self.switch
            .get_or_try_init(|| async {
                let hosts = properties_of(&self.soap, &self.place.cluster, &["host"]).await?.mors("host");
                // The base type: a view of it shows vCenter's VMware switches (a subtype) too.
                let switches = all_of(
                    &self.soap,
                    &self.place.datacenter,
                    "DistributedVirtualSwitch",
                    &["uuid", "summary.hostMember"],
                )
                .await?;
                switches
                    .into_iter()
                    .find(|s| {
                        let members = s.mors("summary.hostMember");
                        !hosts.is_empty() && hosts.iter().all(|h| members.contains(h))
                    })
                    .and_then(|s| Some(Switch { uuid: s.text("uuid")?.to_string(), mor: s.obj }))
                    .ok_or_else(|| {
                        DriverError::NotSupported(format!(
                            "networks on cloud {}: no distributed switch spans cluster {}",
                            self.name, self.cfg.cluster
                        ))
                    })
            })
            .await
            .cloned()
    }

    /// Every port group of the cloud's switch.
    pub(crate) async fn port_groups(&self) -> Result<Vec<PortGroup>, DriverError> {
        let switch = self.switch().await?;
        let found = all_of(
            &self.soap,
            &self.place.datacenter,
            "DistributedVirtualPortgroup",
            &["name", "key", "config.description", "config.defaultPortConfig", "config.distributedVirtualSwitch"],
        )
        .await?;
        Ok(found
            .into_iter()
            .filter(|o| o.mor("config.distributedVirtualSwitch").as_ref() == Some(&switch.mor))
            .map(|o: Object| PortGroup {
                key: o.text("key").unwrap_or_default().to_string(),
                name: o.text("name").unwrap_or_default().to_string(),
                vlan: vlan_of(o.prop("config.defaultPortConfig")),
                marks: marks_of(o.text("config.description").unwrap_or_default()),
                mor: o.obj,
            })
            .collect())
    }

    /// The switch's port groups; none where no switch spans the cluster (nothing of a network
    /// was ever made there).
    async fn port_groups_if_any(&self) -> Result<Vec<PortGroup>, DriverError> {
        match self.port_groups().await {
            Err(DriverError::NotSupported(_)) => Ok(Vec::new()),
            other => other,
        }
    }

    /// The port group of our network `id`, if it is realised here.
    pub(crate) async fn port_group_of(&self, network_id: &str) -> Result<Option<PortGroup>, DriverError> {
        Ok(self
            .port_groups()
            .await?
            .into_iter()
            .find(|pg| self.ours(&pg.marks) && pg.marks.get(KEY_ID).map(String::as_str) == Some(network_id)))
    }

    pub(crate) async fn ensure_port_group(&self, n: &NetworkSpec) -> Result<String, DriverError> {
        let Some((first, last)) = self.cfg.vlans().map_err(DriverError::Rejected)? else {
            return Err(DriverError::NotSupported(format!(
                "networks on cloud {}: it was registered without --vlan-range, so it has no VLANs to give them",
                self.name
            )));
        };
        // One allocation at a time: two networks made at once must not take one VLAN.
        let _one = self.vlan_lock.lock().await;
        let groups = self.port_groups().await?;
        if let Some(pg) =
            groups.iter().find(|pg| self.ours(&pg.marks) && pg.marks.get(KEY_ID).map(String::as_str) == Some(&n.id))
        {
            return Ok(pg.key.clone());
        }
        let vlan = (first..=last).find(|v| groups.iter().all(|pg| pg.vlan != Some(*v))).ok_or_else(|| {
            DriverError::Rejected(format!(
                "cloud {}: every VLAN of its range {first}-{last} is taken by a port group",
                self.name
            ))
        })?;
        let switch = self.switch().await?;
        let vlan_spec = Xml::new().text("inherited", "false").text("vlanId", vlan.to_string());
        let setting = Xml::new().typed_node("vlan", "VmwareDistributedVirtualSwitchVlanIdSpec", vlan_spec);
        let description =
            format!("{KEY_ID}={}; {KEY_CLOUD}={}; {KEY_INSTALLATION}={}", n.id, self.name, self.installation);
        let spec = Xml::new()
            .text("name", self.port_group_name(&n.id))
            .text("numPorts", "8")
            .typed_node("defaultPortConfig", "VMwareDVSPortSetting", setting)
            .text("description", description)
            .text("type", "earlyBinding")
            .text("autoExpand", "true");
        match self.task(&switch.mor, "AddDVPortgroup_Task", Xml::new().node("spec", spec), "add a port group").await {
            Ok(_) => {}
            // Made by an earlier attempt whose reply was lost.
            Err(DriverError::Rejected(m)) if m.contains("DuplicateName") => {}
            Err(e) => return Err(e),
        }
        self.port_group_of(&n.id)
            .await?
            .map(|pg| pg.key)
            .ok_or_else(|| DriverError::Failed(format!("port group of network {} was added but cannot be found", n.id)))
    }

    pub(crate) async fn delete_port_group(&self, network_id: &str) -> Result<(), DriverError> {
        let groups = self.port_groups_if_any().await?;
        let Some(pg) = groups
            .into_iter()
            .find(|pg| self.ours(&pg.marks) && pg.marks.get(KEY_ID).map(String::as_str) == Some(network_id))
        else {
            return Ok(());
        };
        match self.task(&pg.mor, "Destroy_Task", Xml::new(), "remove a port group").await {
            Ok(_) | Err(DriverError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Our port groups, for the reconciler.
    pub(crate) async fn owned_port_groups(&self) -> Result<Vec<Owned>, DriverError> {
        let groups = self.port_groups_if_any().await?;
        Ok(groups
            .into_iter()
            .filter(|pg| self.ours(&pg.marks))
            .filter_map(|pg| Some(Owned { kind: "network", id: pg.marks.get(KEY_ID)?.clone(), reference: pg.name }))
            .collect())
    }

    /// Port groups marked as hybridstack's that are not this cloud's of this installation.
    pub(crate) async fn foreign_port_groups(&self) -> Result<Vec<Foreign>, DriverError> {
        let groups = self.port_groups_if_any().await?;
        Ok(groups
            .into_iter()
            .filter(|pg| !pg.marks.is_empty() && !self.ours(&pg.marks))
            .map(|pg| {
                let cloud = pg.marks.get(KEY_CLOUD).cloned().unwrap_or_default();
                let maker = match pg.marks.get(KEY_INSTALLATION) {
                    Some(i) => Maker::Installation { installation: i.clone(), cloud },
                    None => Maker::Legacy { cloud },
                };
                Foreign {
                    kind: "network",
                    id: pg.marks.get(KEY_ID).cloned().unwrap_or_default(),
                    reference: pg.name,
                    maker,
                    adoptable: false,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::marks_of;

    #[test]
    fn marks_are_read_from_a_description_and_other_text_ignored() {
        let m = marks_of("hybridstack.id=n1; hybridstack.cloud=vc; hybridstack.installation=i; owner=ops");
        assert_eq!(m.len(), 3);
        assert_eq!(m["hybridstack.id"], "n1");
        assert!(marks_of("the web tier").is_empty());
    }
}
