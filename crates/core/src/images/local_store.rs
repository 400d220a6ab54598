//! The local store: image files under `<data-dir>/images`, one file per image, named by its id.
//! Uploads land in `.staging` first and are renamed into place only once whole, so a crash
//! or a cut connection never leaves a partial image behind.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use hybridstack_driver::{DiskFormat, DriverError, ImageSource, ImageStoreQuery, StoredImage};

pub const LOCAL_STORE: &str = "local";

pub struct LocalStore {
    root: PathBuf,
}

fn io(e: std::io::Error) -> DriverError {
    DriverError::Failed(format!("local image store: {e}"))
}

impl LocalStore {
    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join(".staging"))?;
        Ok(Self { root })
    }

    pub fn staging_path(&self, image_id: &str) -> PathBuf {
        self.root.join(".staging").join(format!("{image_id}.{}", uuid::Uuid::new_v4().simple()))
    }

    fn path_of(&self, image_id: &str) -> Result<PathBuf, DriverError> {
        // Ids come from our own rows, but a path is built from them: refuse anything that
        // could climb out of the store.
        if image_id.is_empty() || !image_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(DriverError::Rejected(format!("invalid image id {image_id:?}")));
        }
        Ok(self.root.join(image_id))
    }

    /// Moves a finished upload into place.
    pub async fn adopt(&self, staged: &Path, image_id: &str) -> Result<StoredImage, DriverError> {
        let dst = self.path_of(image_id)?;
        tokio::fs::rename(staged, &dst).await.map_err(io)?;
        Ok(StoredImage { reference: image_id.to_string(), format: DiskFormat::Raw })
    }

    /// The image's file, if the local store holds one.
    pub async fn local_path_of(&self, image_id: &str) -> Option<PathBuf> {
        let p = self.path_of(image_id).ok()?;
        tokio::fs::metadata(&p).await.ok().map(|_| p)
    }

    pub async fn delete_file(&self, image_id: &str) -> Result<(), DriverError> {
        match tokio::fs::remove_file(self.path_of(image_id)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    /// Copies a file in (the local store is the control plane's own disk, not a cloud).
    pub async fn put(&self, src: &ImageSource) -> Result<StoredImage, DriverError> {
        let dst = self.path_of(&src.image_id)?;
        if tokio::fs::metadata(&dst).await.is_ok_and(|m| m.len() == src.size) {
            return Ok(StoredImage { reference: src.image_id.clone(), format: src.format });
        }
        let staged = self.staging_path(&src.image_id);
        tokio::fs::copy(&src.path, &staged).await.map_err(io)?;
        tokio::fs::rename(&staged, &dst).await.map_err(io)?;
        Ok(StoredImage { reference: src.image_id.clone(), format: src.format })
    }

    /// Removes staging files left by a crash.
    pub fn clear_staging(&self) -> std::io::Result<usize> {
        let mut n = 0;
        for e in std::fs::read_dir(self.root.join(".staging"))? {
            std::fs::remove_file(e?.path())?;
            n += 1;
        }
        Ok(n)
    }
}

#[async_trait]
impl ImageStoreQuery for LocalStore {
    fn id(&self) -> &str {
        LOCAL_STORE
    }

    fn description(&self) -> &str {
        "Image files on the control-plane host"
    }

    fn accepted_formats(&self) -> &[DiskFormat] {
        &[DiskFormat::Raw, DiskFormat::Qcow2, DiskFormat::Vmdk]
    }

    async fn local_path(&self, image_id: &str, _reference: &str) -> Result<PathBuf, DriverError> {
        let p = self.path_of(image_id)?;
        if tokio::fs::metadata(&p).await.is_err() {
            return Err(DriverError::NotFound(format!("image {image_id} has no data in the local store")));
        }
        Ok(p)
    }
}
