//! The compute documents as stored. The API renders them per microversion; these hold what
//! every microversion needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram: u64,
    pub disk: u64,
    #[serde(default)]
    pub ephemeral: u64,
    #[serde(default)]
    pub swap: u64,
    #[serde(default = "one")]
    pub rxtx_factor: f64,
    pub is_public: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
    /// Projects a private flavor is shared with.
    #[serde(default)]
    pub access: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Keypair {
    pub name: String,
    pub user_id: String,
    pub public_key: String,
    pub fingerprint: String,
    /// `ssh` or `x509`
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    pub code: u16,
    pub message: String,
    pub created: String,
    #[serde(default)]
    pub details: Option<String>,
}

/// One address of a server (networking hands them out; compute shows them).
pub use crate::network::model::Address;

/// A flavor as embedded in a server: a copy taken at boot (and at resize), so that editing
/// or deleting the flavor later does not change what the server was given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlavorCopy {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram: u64,
    pub disk: u64,
    pub ephemeral: u64,
    pub swap: u64,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
}

impl From<&Flavor> for FlavorCopy {
    fn from(f: &Flavor) -> Self {
        Self {
            id: f.id.clone(),
            name: f.name.clone(),
            vcpus: f.vcpus,
            ram: f.ram,
            disk: f.disk,
            ephemeral: f.ephemeral,
            swap: f.swap,
            extra_specs: f.extra_specs.clone(),
        }
    }
}

/// What the server asked for on the network, kept for rebuilds and for the ports the server
/// creates itself (and so deletes with it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RequestedNetwork {
    pub network_id: Option<String>,
    pub port_id: Option<String>,
    pub fixed_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    /// Nova's vm_state: building, active, stopped, paused, suspended, resized, error, deleted.
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: u8,
    /// The cloud (availability zone) the server runs on; empty until scheduled.
    pub cloud: String,
    /// The zone the user asked for, if any.
    #[serde(default)]
    pub requested_zone: Option<String>,
    pub flavor: FlavorCopy,
    /// Kept during a resize until it is confirmed or reverted.
    #[serde(default)]
    pub old_flavor: Option<FlavorCopy>,
    pub image_id: String,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub key_data: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub access_ipv4: String,
    #[serde(default)]
    pub access_ipv6: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub locked_reason: Option<String>,
    #[serde(default)]
    pub locked_by: Option<String>,
    pub created: String,
    pub updated: String,
    #[serde(default)]
    pub launched_at: Option<String>,
    #[serde(default)]
    pub terminated_at: Option<String>,
    #[serde(default)]
    pub fault: Option<Fault>,
    #[serde(default)]
    pub networks: Vec<RequestedNetwork>,
    /// `auto`, `none`, or empty when networks were listed.
    #[serde(default)]
    pub network_mode: String,
    /// Ports attached to the server, and whether the server created (and so owns) each.
    #[serde(default)]
    pub ports: Vec<(String, bool)>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Volumes attached (or being attached) to the server, in attach order.
    #[serde(default)]
    pub volumes_attached: Vec<String>,
    /// The volumes of its block_device_mapping_v2, made or held at create and attached at boot.
    #[serde(default)]
    pub block_devices: Vec<BlockDevice>,
    #[serde(default)]
    pub config_drive: String,
    pub reservation_id: String,
    #[serde(default)]
    pub launch_index: u32,
    pub hostname: String,
    #[serde(default)]
    pub kernel_id: String,
    #[serde(default)]
    pub ramdisk_id: String,
    #[serde(default)]
    pub server_group: Option<String>,
    /// Request ids of actions in flight, so a completing step can close its action record.
    #[serde(default)]
    pub pending_action: Option<String>,
}

/// A volume a server was created with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockDevice {
    pub volume_id: String,
    /// `/dev/vda` for the root.
    pub device: String,
    pub boot: bool,
    pub delete_on_termination: bool,
    /// Set when the server's create makes the volume (so its undo deletes it); `None` for
    /// a volume the user had.
    pub create: Option<NewVolume>,
}

/// A volume a server's create makes, under an id fixed when the server was accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewVolume {
    pub volume_id: String,
    pub size: u64,
    pub image_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub type_id: String,
    pub type_name: String,
}

impl Server {
    /// The volume it boots from, when it is volume-backed.
    pub fn root_volume(&self) -> Option<&str> {
        self.block_devices.iter().find(|b| b.boot).map(|b| b.volume_id.as_str())
    }

    /// Whether a volume goes with the server when it is deleted.
    pub fn deletes_volume(&self, id: &str) -> bool {
        self.block_devices.iter().any(|b| b.volume_id == id && b.delete_on_termination)
    }

    /// Nova's status, derived from vm_state and task_state.
    pub fn status(&self) -> &'static str {
        let task = self.task_state.as_deref().unwrap_or("");
        match self.vm_state.as_str() {
            "building" => "BUILD",
            "deleted" => "DELETED",
            "soft-delete" => "SOFT_DELETED",
            "error" => "ERROR",
            "stopped" => match task {
                "resize_prep" | "resize_migrating" | "resize_migrated" | "resize_finish" => "RESIZE",
                "rebuilding" => "REBUILD",
                _ => "SHUTOFF",
            },
            "paused" => "PAUSED",
            "suspended" => "SUSPENDED",
            "resized" => match task {
                "resize_reverting" => "REVERT_RESIZE",
                _ => "VERIFY_RESIZE",
            },
            _ => match task {
                "rebooting" | "reboot_pending" | "reboot_started" => "REBOOT",
                "rebooting_hard" | "reboot_pending_hard" | "reboot_started_hard" => "HARD_REBOOT",
                "rebuilding" | "rebuild_block_device_mapping" | "rebuild_spawning" => "REBUILD",
                "resize_prep" | "resize_migrating" | "resize_migrated" | "resize_finish" => "RESIZE",
                "image_snapshot" | "image_snapshot_pending" | "image_pending_upload" | "image_uploading" => "ACTIVE",
                _ => "ACTIVE",
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionEvent {
    pub event: String,
    pub start_time: String,
    pub finish_time: Option<String>,
    /// `Success` or `Error`; `None` while running.
    pub result: Option<String>,
    #[serde(default)]
    pub traceback: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstanceAction {
    pub action: String,
    pub instance_uuid: String,
    pub request_id: String,
    pub user_id: String,
    pub project_id: String,
    pub start_time: String,
    pub updated_at: String,
    pub message: Option<String>,
    #[serde(default)]
    pub events: Vec<ActionEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    /// `affinity`, `anti-affinity`, `soft-affinity` or `soft-anti-affinity`
    pub policy: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub max_server_per_host: Option<u32>,
}
