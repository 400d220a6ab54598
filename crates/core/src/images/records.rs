//! The image records core hands out and the store keeps as rows: an image, one project's
//! membership of a shared image, and one copy of an image's data in one store.

use serde::{Deserialize, Serialize};

use crate::Extra;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub owner: String,
    pub status: String,
    pub visibility: String,
    pub protected: bool,
    pub os_hidden: bool,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    pub properties: Extra,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMember {
    pub image_id: String,
    pub member_id: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One copy of an image's data in one store. `status` is `active` once the copy is whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageLocation {
    pub image_id: String,
    pub store: String,
    pub reference: String,
    pub disk_format: String,
    pub status: String,
    pub created_at: i64,
}
