//! Images whose data a cloud keeps itself (an AMI on AWS): registered in Glance as active
//! images with no data here and a location property per cloud, `hybridstack:location:<cloud>`,
//! which a server on that cloud boots from.

use super::{Image, ImageLocation, Images};
use crate::clock::now_micros;
use crate::CoreError;

pub fn location_key(cloud: &str) -> String {
    format!("hybridstack:location:{cloud}")
}

/// The image's own copy on `cloud`, if it has one.
pub fn location_on(image: &Image, cloud: &str) -> Option<String> {
    image.properties.get(&location_key(cloud)).and_then(|v| v.as_str()).map(str::to_string)
}

impl Images {
    /// Checks the location properties among `properties` (`hybridstack:location:<cloud>` =
    /// an AMI): the cloud must keep images and hold that one. Returns whether there were any.
    pub async fn check_locations(&self, properties: &crate::Extra) -> Result<bool, CoreError> {
        let mut any = false;
        for (k, v) in properties {
            let Some(cloud) = k.strip_prefix("hybridstack:location:") else { continue };
            let reference = v.as_str().unwrap_or_default();
            let store =
                self.find_store_fresh(cloud).await?.filter(|s| s.id() != super::LOCAL_STORE).ok_or_else(|| {
                    CoreError::BadRequest(format!("{k}: no cloud named {cloud} keeps images of its own."))
                })?;
            store
                .check_reference(reference)
                .await
                .map_err(|e| CoreError::BadRequest(format!("{k}: cloud {cloud} cannot boot {reference:?}: {e}")))?;
            any = true;
        }
        Ok(any)
    }

    /// Registers (or finds, when already registered) a cloud's image as a public Glance
    /// image owned by `owner`; returns it.
    pub async fn register_cloud_image(
        &self,
        owner: &str,
        cloud: &str,
        reference: &str,
        name: &str,
        min_disk_gb: u64,
        architecture: &str,
    ) -> Result<Image, CoreError> {
        let key = location_key(cloud);
        let existing = self.store.image_list(&Default::default()).await?;
        if let Some(i) = existing.into_iter().find(|i| location_on(i, cloud).as_deref() == Some(reference)) {
            return Ok(i);
        }
        let mut properties = crate::Extra::new();
        properties.insert(key, serde_json::Value::String(reference.into()));
        if !architecture.is_empty() {
            properties.insert("architecture".into(), serde_json::Value::String(architecture.into()));
        }
        let now = now_micros();
        let i = Image {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            name: Some(name.into()),
            owner: owner.into(),
            status: "active".into(),
            visibility: "public".into(),
            protected: false,
            os_hidden: false,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            size: None,
            virtual_size: None,
            min_disk: i64::try_from(min_disk_gb).unwrap_or(0),
            min_ram: 0,
            container_format: Some("ami".into()),
            disk_format: Some("ami".into()),
            properties,
            tags: vec![],
            created_at: now,
            updated_at: now,
        };
        self.store.image_create(&i).await?;
        Ok(i)
    }

    /// Records that `cloud` holds the image as `reference` (an AMI): the location a server
    /// there boots from, and the copy an image delete removes.
    pub async fn record_cloud_copy(&self, image_id: &str, cloud: &str, reference: &str) -> Result<(), CoreError> {
        self.store
            .image_location_put(&ImageLocation {
                image_id: image_id.into(),
                store: cloud.into(),
                reference: reference.into(),
                disk_format: "raw".into(),
                status: "active".into(),
                created_at: now_micros(),
            })
            .await?;
        for _ in 0..20 {
            let mut i = self.store.image_get(image_id).await?;
            if location_on(&i, cloud).as_deref() == Some(reference) {
                return Ok(());
            }
            i.properties.insert(location_key(cloud), serde_json::Value::String(reference.into()));
            i.updated_at = now_micros();
            let status = i.status.clone();
            match self.store.image_update(&i, Some(&status)).await {
                Err(hybridstack_store::StoreError::Conflict(_)) => continue,
                other => return other.map_err(CoreError::from),
            }
        }
        Err(CoreError::Conflict(format!("image {image_id} kept changing while its location was recorded")))
    }

    /// A queued image (a server's createImage, a volume's upload) made active with its data
    /// held only by `cloud`, as `reference`.
    pub async fn activate_cloud_copy(&self, image_id: &str, cloud: &str, reference: &str) -> Result<(), CoreError> {
        self.record_cloud_copy(image_id, cloud, reference).await?;
        let mut i = self.store.image_get::<Image>(image_id).await?;
        if i.status == "active" {
            return Ok(());
        }
        let from = i.status.clone();
        i.status = "active".into();
        // The cloud holds the data as raw blocks (an EBS snapshot behind the AMI); formats
        // the request named are kept.
        i.disk_format.get_or_insert_with(|| "raw".into());
        i.container_format.get_or_insert_with(|| "bare".into());
        i.updated_at = now_micros();
        self.store.image_update(&i, Some(&from)).await?;
        Ok(())
    }
}
