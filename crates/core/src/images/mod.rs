//! The image service (Glance v2): image records, their data in the local store, per-cloud
//! locations, sharing, and the import flows. One module per concern; the HTTP shapes live
//! in `api::images`.

pub mod attributes;
pub mod cloud_images;
pub mod convert;
pub mod copies;
pub mod inspect;
mod list;
mod local_store;
mod members;
mod patch;
mod records;
mod transfer;
mod upload;

use std::path::Path;
use std::sync::Arc;

use hybridstack_driver::ImageStoreQuery;
use hybridstack_store::Store;

use crate::clock::now_micros;
use crate::clouds::Clouds;
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

pub use list::{ListQuery, SortKey, DEFAULT_LIMIT};
pub use local_store::{LocalStore, LOCAL_STORE};
pub use patch::PatchOp;
pub use records::{Image, ImageLocation, ImageMember};
pub use transfer::Upload;
pub use upload::UploadSession;

pub const DISK_FORMATS: &[&str] = &["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];
pub const CONTAINER_FORMATS: &[&str] = &["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
pub const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];
pub const QUOTA_RESOURCE: &str = "image_size_total";

#[derive(Debug, Clone)]
pub struct ImagesConfig {
    /// Default cap on the bytes of image data one project may hold; per-project overrides
    /// live in the store.
    pub quota_bytes: i64,
    /// Refuse data whose detected format differs from the declared `disk_format` (Glance's
    /// `require_image_format_match`). Hostile images (a qcow2 with a backing or data file)
    /// are refused either way.
    pub require_format_match: bool,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self { quota_bytes: 1 << 40, require_format_match: true }
    }
}

pub struct Images {
    store: Store,
    local: Arc<LocalStore>,
    /// The clouds, whose image stores (AMIs) hold copies beside the local one.
    clouds: Arc<Clouds>,
    cfg: ImagesConfig,
}

/// The attributes a client may set at create time.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    pub id: Option<String>,
    pub name: Option<String>,
    pub visibility: Option<String>,
    pub protected: bool,
    pub os_hidden: bool,
    pub min_disk: i64,
    pub min_ram: i64,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    pub tags: Vec<String>,
    pub properties: crate::Extra,
}

pub(crate) fn forbidden(msg: &str) -> CoreError {
    CoreError::Forbidden(msg.to_string())
}

pub(crate) fn check_choice(kind: &str, v: &Option<String>, allowed: &[&str]) -> Result<(), CoreError> {
    match v {
        Some(x) if !allowed.contains(&x.as_str()) => {
            Err(CoreError::BadRequest(format!("Invalid value {x:?} for {kind}; choose from {}.", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Properties under `os_glance_` are Glance's own bookkeeping and may not be set by users.
pub(crate) fn check_property_name(k: &str) -> Result<(), CoreError> {
    if k.starts_with("os_glance") {
        return Err(forbidden(&format!("Attribute '{k}' is reserved.")));
    }
    if k.is_empty() || k.len() > 255 {
        return Err(CoreError::BadRequest("Property names have 1 to 255 characters.".into()));
    }
    Ok(())
}

pub(crate) fn check_tag(t: &str) -> Result<(), CoreError> {
    if t.is_empty() || t.chars().count() > 255 {
        return Err(CoreError::BadRequest("Tags have 1 to 255 characters.".into()));
    }
    Ok(())
}

impl Images {
    pub fn open(store: Store, data_dir: &Path, cfg: ImagesConfig, clouds: Arc<Clouds>) -> Result<Arc<Self>, CoreError> {
        let local = Arc::new(
            LocalStore::open(data_dir.join("images"))
                .map_err(|e| CoreError::Internal(format!("cannot open the local image store: {e}")))?,
        );
        Ok(Arc::new(Self { store, local, clouds, cfg }))
    }

    pub fn clouds(&self) -> &Arc<Clouds> {
        &self.clouds
    }

    /// Every store an image may live in: the local one first, then each open cloud's.
    pub fn stores(&self) -> Vec<Arc<dyn ImageStoreQuery>> {
        let mut all: Vec<Arc<dyn ImageStoreQuery>> = vec![self.local.clone()];
        all.extend(self.clouds.image_stores());
        all
    }

    pub(crate) fn find_store(&self, id: &str) -> Option<Arc<dyn ImageStoreQuery>> {
        self.stores().into_iter().find(|s| s.id() == id)
    }

    /// A store by id, opening clouds registered since the last look when it is not known yet.
    pub(crate) async fn find_store_fresh(&self, id: &str) -> Result<Option<Arc<dyn ImageStoreQuery>>, CoreError> {
        if let Some(s) = self.find_store(id) {
            return Ok(Some(s));
        }
        self.clouds.refresh().await?;
        Ok(self.find_store(id))
    }

    /// Whether the caller may see the image at all (members see shared images whatever their
    /// membership status; that status only filters lists).
    async fn visible(&self, ctx: &RequestContext, i: &Image) -> Result<bool, CoreError> {
        if ctx.is_admin() || ctx.project_id() == Some(i.owner.as_str()) {
            return Ok(true);
        }
        Ok(match i.visibility.as_str() {
            "public" | "community" => true,
            "shared" => match ctx.project_id() {
                Some(p) => self.store.image_member_get::<ImageMember>(&i.id, p).await.is_ok(),
                None => false,
            },
            _ => false,
        })
    }

    pub async fn get(&self, ctx: &RequestContext, id: &str) -> Result<Image, CoreError> {
        let i = self.store.image_get(id).await.or_not_found("image", id)?;
        if !self.visible(ctx, &i).await? {
            return Err(CoreError::not_found("image", id));
        }
        Ok(i)
    }

    /// The image, if the caller may change it: its project's members, or an admin.
    async fn owned(&self, ctx: &RequestContext, id: &str) -> Result<Image, CoreError> {
        let i = self.get(ctx, id).await?;
        if !(ctx.is_admin() || ctx.project_id() == Some(i.owner.as_str())) {
            return Err(forbidden("You are not permitted to modify this image."));
        }
        ctx.require_member()?;
        Ok(i)
    }

    fn check_visibility_change(ctx: &RequestContext, v: &str) -> Result<(), CoreError> {
        check_choice("visibility", &Some(v.to_string()), VISIBILITIES)?;
        if v == "public" && !ctx.is_admin() {
            return Err(forbidden("Only an administrator may publicize an image."));
        }
        Ok(())
    }

    pub async fn create(&self, ctx: &RequestContext, n: NewImage) -> Result<Image, CoreError> {
        ctx.require_member()?;
        let owner =
            ctx.project_id().ok_or_else(|| forbidden("Creating an image needs a project-scoped token."))?.to_string();
        let visibility = n.visibility.clone().unwrap_or_else(|| "shared".into());
        Self::check_visibility_change(ctx, &visibility)?;
        check_choice("disk_format", &n.disk_format, DISK_FORMATS)?;
        check_choice("container_format", &n.container_format, CONTAINER_FORMATS)?;
        if n.min_disk < 0 || n.min_ram < 0 {
            return Err(CoreError::BadRequest("min_disk and min_ram cannot be negative.".into()));
        }
        for k in n.properties.keys() {
            check_property_name(k)?;
        }
        // An image registered with a cloud's own copy (an AMI) as its location has its data
        // already: it is active at once, as `cloud import-images` makes them.
        let located = self.check_locations(&n.properties).await?;
        for t in &n.tags {
            check_tag(t)?;
        }
        let id = match n.id {
            Some(id) => uuid::Uuid::parse_str(&id)
                .map_err(|_| CoreError::BadRequest(format!("Image id {id:?} is not a UUID.")))?
                .hyphenated()
                .to_string(),
            None => uuid::Uuid::new_v4().hyphenated().to_string(),
        };
        let now = now_micros();
        let mut tags = n.tags;
        tags.sort();
        tags.dedup();
        let i = Image {
            id,
            name: n.name,
            owner,
            status: if located { "active" } else { "queued" }.into(),
            visibility,
            protected: n.protected,
            os_hidden: n.os_hidden,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            size: None,
            virtual_size: None,
            min_disk: n.min_disk,
            min_ram: n.min_ram,
            container_format: n.container_format,
            disk_format: n.disk_format,
            properties: n.properties,
            tags,
            created_at: now,
            updated_at: now,
        };
        match self.store.image_create(&i).await {
            Err(hybridstack_store::StoreError::Conflict(_)) => {
                Err(CoreError::Conflict(format!("An image with id {} already exists.", i.id)))
            }
            other => other.map_err(CoreError::from),
        }?;
        Ok(i)
    }

    /// Deletes the record and every copy of the data. A protected image is refused.
    pub async fn delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        let i = self.owned(ctx, id).await?;
        if i.protected {
            return Err(forbidden(&format!("Image {id} is protected and cannot be deleted.")));
        }
        self.delete_internal(id).await
    }

    /// Deletes an image and every copy of its data, with no policy check (the undo of a
    /// failed snapshot). Deleting one already gone succeeds. The copies in clouds' stores are
    /// removed by the engine (`image.purge`), queued before the records go so a crash in
    /// between leaves no copy without its removal on record.
    pub async fn delete_internal(&self, id: &str) -> Result<(), CoreError> {
        let locations = self.store.image_locations::<ImageLocation>(id).await?;
        let copies: Vec<copies::Copy> = locations
            .iter()
            .filter(|l| l.store != LOCAL_STORE)
            .map(|l| copies::Copy { store: l.store.clone(), reference: l.reference.clone() })
            .collect();
        // Also with no copy recorded when a cloud keeps images: a copy being made now is
        // recorded too late for this list, and the purge finds it by the image's tag.
        if !copies.is_empty() || !self.clouds.image_stores().is_empty() {
            self.queue(copies::PurgeParams { image_id: id.into(), copies }).await?;
        }
        for loc in &locations {
            self.store.image_location_delete(id, &loc.store).await?;
        }
        let _ = self.local.delete_file(id).await;
        match self.store.image_delete(id).await {
            Ok(()) | Err(hybridstack_store::StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn add_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<(), CoreError> {
        check_tag(tag)?;
        let mut i = self.owned(ctx, id).await?;
        if !i.tags.iter().any(|t| t == tag) {
            i.tags.push(tag.to_string());
            i.tags.sort();
            i.updated_at = now_micros();
            self.store.image_update(&i, None).await?;
        }
        Ok(())
    }

    pub async fn remove_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<(), CoreError> {
        let mut i = self.owned(ctx, id).await?;
        let before = i.tags.len();
        i.tags.retain(|t| t != tag);
        if i.tags.len() == before {
            return Err(CoreError::not_found("tag", tag));
        }
        i.updated_at = now_micros();
        self.store.image_update(&i, None).await?;
        Ok(())
    }

    /// A deactivated image keeps its data but serves it to admins only.
    pub async fn set_active(&self, ctx: &RequestContext, id: &str, active: bool) -> Result<(), CoreError> {
        let mut i = self.owned(ctx, id).await?;
        let (from, to) = if active { ("deactivated", "active") } else { ("active", "deactivated") };
        if i.status == to {
            return Ok(());
        }
        if i.status != from {
            return Err(forbidden(&format!("Image status {} does not allow this action.", i.status)));
        }
        i.status = to.into();
        i.updated_at = now_micros();
        self.store.image_update(&i, Some(from)).await?;
        Ok(())
    }

    /// The bytes the project may still add under its image quota.
    async fn allowance(&self, owner: &str) -> Result<u64, CoreError> {
        let limit = self.store.quota_override(owner, QUOTA_RESOURCE).await?.unwrap_or(self.cfg.quota_bytes);
        let used = self.store.image_bytes_of(owner).await?;
        Ok(u64::try_from(limit.saturating_sub(used)).unwrap_or(0))
    }

    /// After a crash: transfers that were under way are rolled back to `queued` and their
    /// staging files removed, so no image stays stuck and no partial data survives.
    pub async fn recover(&self) -> Result<usize, CoreError> {
        let mut n = 0;
        for status in ["saving", "uploading", "importing"] {
            for mut i in self.store.images_in_status::<Image>(status).await? {
                i.status = "queued".into();
                i.updated_at = now_micros();
                if self.store.image_update::<Image>(&i, Some(status)).await.is_ok() {
                    n += 1;
                }
            }
        }
        self.local.clear_staging().map_err(|e| CoreError::Internal(format!("clearing staging: {e}")))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
