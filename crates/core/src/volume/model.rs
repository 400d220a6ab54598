//! Block-storage objects as the store keeps them (the API shapes them per microversion).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub id: String,
    pub server_id: String,
    /// The device the cloud gave it (`/dev/vdb`); empty while attaching.
    pub device: String,
    pub attached_at: String,
    /// Made by the attachments API without a connector yet: the volume is held for the
    /// server (status `reserved`) but not on it.
    #[serde(default)]
    pub reserved: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Volume {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: String,
    /// GiB
    pub size: u64,
    /// creating, available, in-use, attaching, detaching, extending, deleting, error,
    /// error_deleting, error_extending
    pub status: String,
    /// The cloud holding it (Cinder's field; the API shows the zone that cloud is in).
    pub availability_zone: String,
    /// The type's name as last shown; reads refresh it from `volume_type_id`.
    pub volume_type: String,
    /// `None` on volumes made before types could be created: the default type.
    #[serde(default)]
    pub volume_type_id: Option<String>,
    pub bootable: bool,
    pub readonly: bool,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub image_id: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub created_at: String,
    pub updated_at: String,
    /// Why it went to an error state, for operators (Cinder logs this; it is not shown).
    #[serde(default)]
    pub error: Option<String>,
}

impl Volume {
    pub fn type_id(&self) -> &str {
        self.volume_type_id.as_deref().unwrap_or(super::DEFAULT_TYPE_ID)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub size: u64,
    /// creating, available, deleting, error, error_deleting
    pub status: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub error: Option<String>,
}
