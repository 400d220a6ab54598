//! os-volume_upload_image: a volume's data becomes a Glance image. The image record is made
//! now (queued), so the answer can name it; the `volume.upload_image` operation copies the
//! data, converts it to the format asked for, and fills the image.

use hybridstack_driver::DiskFormat;

use super::model::Volume;
use super::{object, ops, Versioned, Volumes, VOLUME};
use crate::images::NewImage;
use crate::operations::operation_of;
use crate::policy::RequestContext;
use crate::CoreError;

/// What the answer to an upload names.
#[derive(Debug, Clone)]
pub struct Upload {
    pub volume: Volume,
    pub image_id: String,
    pub image_name: String,
    pub disk_format: String,
    pub container_format: String,
}

impl Volumes {
    pub async fn volume_upload_image(
        &self,
        ctx: &RequestContext,
        id: &str,
        image_name: &str,
        disk_format: Option<&str>,
        container_format: Option<&str>,
    ) -> Result<Upload, CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<Volume>(ctx, VOLUME, "Volume", id).await?;
        if doc.status != "available" {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume: volume {id} must be available to upload to an image; it is {}.",
                doc.status
            )));
        }
        let disk_format = disk_format.unwrap_or("raw").to_string();
        if DiskFormat::parse(&disk_format).filter(|f| *f != DiskFormat::Vmdk).is_none() {
            return Err(CoreError::BadRequest(format!(
                "Invalid disk-format {disk_format:?}: volumes upload as raw or qcow2."
            )));
        }
        let container_format = container_format.unwrap_or("bare").to_string();
        let image = self
            .images
            .create(
                ctx,
                NewImage {
                    name: Some(image_name.into()),
                    visibility: Some("private".into()),
                    container_format: Some(container_format.clone()),
                    disk_format: Some(disk_format.clone()),
                    ..Default::default()
                },
            )
            .await?;
        doc.status = "uploading".into();
        doc.updated_at = crate::clock::now();
        let op = operation_of(&ops::UploadImage {
            volume_id: id.into(),
            image_id: image.id.clone(),
            disk_format: disk_format.clone(),
        })?;
        if let Err(e) = self.write(vec![object(VOLUME, id, &doc.project_id, "", &doc, Some(version))?], vec![op]).await
        {
            // Nothing will fill the image: it goes, and the volume is as it was.
            let _ = self.images.delete_internal(&image.id).await;
            return Err(e);
        }
        Ok(Upload { volume: doc, image_id: image.id, image_name: image_name.into(), disk_format, container_format })
    }

    /// Where an upload's bytes wait before they become the image.
    pub fn upload_scratch(&self, image_id: &str, suffix: &str) -> std::path::PathBuf {
        self.images.scratch_path(&format!("{image_id}.{suffix}"))
    }

    /// Converts the copied volume (qcow2) to the image's format and fills the image.
    pub async fn fill_image(
        &self,
        image_id: &str,
        copied: &std::path::Path,
        disk_format: &str,
    ) -> Result<(), CoreError> {
        let to = DiskFormat::parse(disk_format)
            .ok_or_else(|| CoreError::BadRequest(format!("Invalid disk-format {disk_format:?}.")))?;
        let source = if to == DiskFormat::Qcow2 {
            copied.to_path_buf()
        } else {
            let out = self.upload_scratch(image_id, disk_format);
            crate::images::convert::convert(copied, DiskFormat::Qcow2, &out, to).await?;
            out
        };
        self.images.fill_from_file(image_id, &source).await?;
        Ok(())
    }

    /// Undoes an upload that failed: the image goes.
    pub async fn drop_upload_image(&self, image_id: &str) -> Result<(), CoreError> {
        self.images.delete_internal(image_id).await
    }
}
