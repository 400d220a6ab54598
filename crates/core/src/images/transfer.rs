//! Moving image data: upload (`PUT …/file`), staging and import (`PUT …/stage`, `POST
//! …/import` with glance-direct or copy-image), and download. Every transition is a
//! compare-and-set on the image's status, so two uploads cannot race, and a transfer that
//! dies returns the image to `queued` (see `Images::recover` for crashes).

use std::path::PathBuf;
use std::sync::Arc;

use super::inspect::{inspect, matches_declared};
use super::upload::{Received, UploadSession};
use super::{forbidden, Image, ImageLocation, Images, LOCAL_STORE};
use crate::clock::now_micros;
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

/// An upload in progress. Dropped without `finish` (error, cut connection), it puts the image
/// back to `queued`; its `UploadSession` removes the partial file.
pub struct Upload {
    images: Arc<Images>,
    image: Image,
    from: &'static str,
    pub session: Option<UploadSession>,
    armed: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.armed {
            let (images, mut image, from) = (self.images.clone(), self.image.clone(), self.from);
            let tripped = image.status.clone();
            tokio::spawn(async move {
                image.status = from.into();
                image.updated_at = now_micros();
                if let Err(e) = images.store.image_update(&image, Some(&tripped)).await {
                    tracing::warn!(image = %image.id, error = %e, "could not return an interrupted upload to queued");
                }
            });
        }
    }
}

fn blocking_err(e: tokio::task::JoinError) -> CoreError {
    CoreError::Internal(format!("inspection task failed: {e}"))
}

impl Images {
    async fn begin(
        self: &Arc<Self>,
        ctx: &RequestContext,
        id: &str,
        to: &str,
        path: PathBuf,
    ) -> Result<Upload, CoreError> {
        let mut image = self.owned(ctx, id).await?;
        if image.status != "queued" {
            return Err(CoreError::Conflict(format!(
                "Image status transition from {} to {to} is not allowed.",
                image.status
            )));
        }
        if image.disk_format.is_none() || image.container_format.is_none() {
            return Err(CoreError::BadRequest(
                "Properties disk_format, container_format must be set prior to saving data.".into(),
            ));
        }
        let allowance = self.allowance(&image.owner).await?;
        image.status = to.into();
        image.updated_at = now_micros();
        self.store
            .image_update(&image, Some("queued"))
            .await
            .map_err(|_| CoreError::Conflict(format!("Image {id} is already receiving data.")))?;
        // The guard exists before the file does, so a failure from here on still resets the status.
        let mut upload = Upload { images: self.clone(), image, from: "queued", session: None, armed: true };
        upload.session = Some(UploadSession::create(path, allowance).await?);
        Ok(upload)
    }

    /// `PUT /v2/images/{id}/file`: the image moves `queued` → `saving`.
    pub async fn begin_upload(self: &Arc<Self>, ctx: &RequestContext, id: &str) -> Result<Upload, CoreError> {
        let path = self.local.staging_path(id);
        self.begin(ctx, id, "saving", path).await
    }

    /// Checks the received data, moves it into the local store and activates the image.
    async fn activate(&self, mut image: Image, got: Received, from: &str) -> Result<Image, CoreError> {
        let path = got.path.clone();
        let found = tokio::task::spawn_blocking(move || inspect(&path)).await.map_err(blocking_err)?;
        let declared = image.disk_format.clone().unwrap_or_default();
        let found = match found {
            Ok(f) if !self.cfg.require_format_match || matches_declared(&declared, &f) => f,
            Ok(f) => {
                let _ = tokio::fs::remove_file(&got.path).await;
                return Err(CoreError::BadRequest(format!(
                    "Image data does not match the declared disk_format {declared}: it is {}.",
                    f.format
                )));
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&got.path).await;
                return Err(e);
            }
        };
        let stored = self
            .local
            .adopt(&got.path, &image.id)
            .await
            .map_err(|e| CoreError::Internal(format!("storing image data: {e}")))?;
        let now = now_micros();
        self.store
            .image_location_put(&ImageLocation {
                image_id: image.id.clone(),
                store: LOCAL_STORE.into(),
                reference: stored.reference,
                disk_format: declared,
                status: "active".into(),
                created_at: now,
            })
            .await?;
        image.status = "active".into();
        image.size = i64::try_from(got.size).ok();
        image.virtual_size = found.virtual_size.and_then(|v| i64::try_from(v).ok());
        image.checksum = Some(got.md5);
        image.os_hash_algo = Some("sha512".into());
        image.os_hash_value = Some(got.sha512);
        image.updated_at = now;
        if self.store.image_update(&image, Some(from)).await.is_err() {
            // Deleted (or reset) while the data arrived: the data has no owner, remove it.
            let _ = self.local.delete_file(&image.id).await;
            return Err(CoreError::Conflict(format!("Image {} changed while its data was uploaded.", image.id)));
        }
        Ok(image)
    }

    pub async fn finish_upload(&self, mut up: Upload) -> Result<Image, CoreError> {
        let session = up.session.take().ok_or_else(|| CoreError::Internal("upload already finished".into()))?;
        let done = match session.finish().await {
            Ok(got) => self.activate(up.image.clone(), got, "saving").await,
            Err(e) => Err(e),
        };
        if done.is_err() {
            self.abort(up).await;
            return done;
        }
        up.armed = false;
        done
    }

    /// Ends a failed transfer now (rather than from the drop guard): the partial file goes
    /// and the image is `queued` again before the client hears of the failure.
    pub async fn abort(&self, mut up: Upload) {
        up.armed = false;
        drop(up.session.take());
        let mut image = up.image.clone();
        let tripped = image.status.clone();
        image.status = up.from.into();
        image.updated_at = now_micros();
        if let Err(e) = self.store.image_update(&image, Some(&tripped)).await {
            tracing::warn!(image = %image.id, error = %e, "could not return a failed upload to queued");
        }
    }

    fn stage_path(&self, id: &str) -> PathBuf {
        self.local.staging_path(id).with_file_name(format!("{id}.stage"))
    }

    /// `PUT /v2/images/{id}/stage`: data for a later glance-direct import; `queued` → `uploading`.
    pub async fn begin_stage(self: &Arc<Self>, ctx: &RequestContext, id: &str) -> Result<Upload, CoreError> {
        let path = self.local.staging_path(id);
        self.begin(ctx, id, "uploading", path).await
    }

    pub async fn finish_stage(&self, mut up: Upload) -> Result<(), CoreError> {
        let session = up.session.take().ok_or_else(|| CoreError::Internal("upload already finished".into()))?;
        let staged = match session.finish().await {
            Ok(got) => tokio::fs::rename(&got.path, self.stage_path(&up.image.id))
                .await
                .map_err(|e| CoreError::Internal(format!("staging image data: {e}"))),
            Err(e) => Err(e),
        };
        if let Err(e) = staged {
            self.abort(up).await;
            return Err(e);
        }
        up.armed = false;
        Ok(())
    }

    /// `POST /v2/images/{id}/import`. Returns once the import is accepted; the work runs in
    /// the background and ends with the image `active` (or back in `queued` on failure).
    pub async fn import(
        self: &Arc<Self>,
        ctx: &RequestContext,
        id: &str,
        method: &str,
        stores: Vec<String>,
    ) -> Result<(), CoreError> {
        let mut image = self.owned(ctx, id).await?;
        for s in &stores {
            if self.find_store_fresh(s).await?.is_none() {
                return Err(CoreError::BadRequest(format!("Unknown store {s:?}; see /v2/info/stores.")));
            }
        }
        match method {
            "glance-direct" => {
                if image.status != "uploading" {
                    return Err(CoreError::Conflict(format!(
                        "Image {id} has no staged data (status {}); PUT it to /stage first.",
                        image.status
                    )));
                }
                image.status = "importing".into();
                image.updated_at = now_micros();
                self.store.image_update(&image, Some("uploading")).await?;
                let me = self.clone();
                let staged = self.stage_path(id);
                tokio::spawn(async move { me.run_direct_import(image, staged, stores).await });
                Ok(())
            }
            "copy-image" => {
                if image.status != "active" {
                    return Err(CoreError::Conflict(format!(
                        "Only an active image can be copied; {id} is {}.",
                        image.status
                    )));
                }
                if stores.is_empty() {
                    return Err(CoreError::BadRequest("copy-image needs the target stores.".into()));
                }
                self.queue_copy(&image.id, stores).await
            }
            other => {
                Err(CoreError::BadRequest(format!("Import method {other:?} is not available; see /v2/info/import.")))
            }
        }
    }

    async fn run_direct_import(&self, image: Image, staged: PathBuf, stores: Vec<String>) {
        let id = image.id.clone();
        let result = async {
            let path = staged.clone();
            let got =
                tokio::task::spawn_blocking(move || super::upload::hash_file(&path)).await.map_err(blocking_err)??;
            let image = self.activate(image, got, "importing").await?;
            self.queue_copy(&image.id, stores).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(image = %id, error = %e, "glance-direct import failed; the image returns to queued");
            let _ = tokio::fs::remove_file(&staged).await;
            if let Ok(mut i) = self.store.image_get::<Image>(&id).await {
                if i.status == "importing" {
                    i.status = "queued".into();
                    i.updated_at = now_micros();
                    let _ = self.store.image_update::<Image>(&i, Some("importing")).await;
                }
            }
        }
    }

    /// The file to serve for `GET …/file`; `None` when the image has no data yet.
    pub async fn data(&self, ctx: &RequestContext, id: &str) -> Result<(Image, Option<PathBuf>), CoreError> {
        let image = self.get(ctx, id).await?;
        if image.status == "deactivated" && !ctx.is_admin() {
            return Err(forbidden("The requested image has been deactivated. Image data download is forbidden."));
        }
        if image.status != "active" && image.status != "deactivated" {
            return Ok((image, None));
        }
        let path = self.local.local_path_of(&image.id).await.ok_or_else(|| {
            CoreError::Conflict(format!("Image {id} has no copy in the local store; its data lives in a cloud."))
        })?;
        Ok((image, Some(path)))
    }

    /// Where the image lives: one location per store.
    pub async fn locations(&self, id: &str) -> Result<Vec<ImageLocation>, CoreError> {
        Ok(self.store.image_locations(id).await?)
    }

    /// For each image, the stores holding a whole copy (sorted), read in one go for a page.
    pub async fn active_stores(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, CoreError> {
        let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (image, store) in self.store.image_active_stores(ids).await? {
            out.entry(image).or_default().push(store);
        }
        Ok(out)
    }
}

impl Images {
    /// An image by id with no visibility check, for engine steps acting for the control plane.
    pub async fn image_internal(&self, id: &str) -> Result<Option<Image>, CoreError> {
        match self.store.image_get(id).await {
            Ok(i) => Ok(Some(i)),
            Err(hybridstack_store::StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The local store's file for an active image (what a cloud copies a server's disk from).
    pub async fn local_file(&self, id: &str) -> Option<PathBuf> {
        self.local.local_path_of(id).await
    }

    /// A scratch path beside the local store, on the same filesystem, for data the control
    /// plane produces itself (a server snapshot) before it becomes an image.
    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.local.staging_path(name).with_file_name(format!("{name}.scratch"))
    }

    /// Fills a queued image from a file the control plane made (a server snapshot) and
    /// activates it; the file is moved into the store.
    pub async fn fill_from_file(&self, id: &str, file: &std::path::Path) -> Result<Image, CoreError> {
        let mut image = self.store.image_get::<Image>(id).await.or_not_found("image", id)?;
        if image.status == "active" {
            return Ok(image);
        }
        image.status = "saving".into();
        image.updated_at = now_micros();
        self.store
            .image_update(&image, Some("queued"))
            .await
            .map_err(|_| CoreError::Conflict(format!("Image {id} is not waiting for data.")))?;
        let staged = self.local.staging_path(id);
        let moved = tokio::fs::rename(file, &staged).await;
        let got = match moved {
            Ok(()) => {
                let p = staged.clone();
                tokio::task::spawn_blocking(move || super::upload::hash_file(&p)).await.map_err(blocking_err)?
            }
            Err(e) => Err(CoreError::Internal(format!("staging snapshot data: {e}"))),
        };
        let done = match got {
            Ok(got) => self.activate(image.clone(), got, "saving").await,
            Err(e) => Err(e),
        };
        if done.is_err() {
            image.status = "queued".into();
            let _ = self.store.image_update(&image, Some("saving")).await;
            let _ = tokio::fs::remove_file(&staged).await;
        }
        done
    }
}
