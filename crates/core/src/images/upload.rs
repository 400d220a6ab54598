//! Receiving image data: streamed to a staging file chunk by chunk with constant memory,
//! hashed on the fly (MD5 for Glance's `checksum`, SHA-512 for `os_hash_value`), and held
//! to the project's byte quota as it arrives. Dropping an unfinished session removes the
//! staging file; nothing partial survives.

use std::path::PathBuf;

use md5::{Digest as _, Md5};
use sha2::Sha512;
use tokio::io::AsyncWriteExt;

use crate::CoreError;

pub struct Received {
    pub path: PathBuf,
    pub size: u64,
    pub md5: String,
    pub sha512: String,
}

pub struct UploadSession {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    path: PathBuf,
    size: u64,
    /// Bytes this upload may add before the project's quota is exceeded.
    allowance: u64,
    md5: Md5,
    sha512: Sha512,
    finished: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl UploadSession {
    pub async fn create(path: PathBuf, allowance: u64) -> Result<Self, CoreError> {
        let f = tokio::fs::File::create(&path)
            .await
            .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", path.display())))?;
        Ok(Self {
            file: Some(tokio::io::BufWriter::with_capacity(1 << 20, f)),
            path,
            size: 0,
            allowance,
            md5: Md5::new(),
            sha512: Sha512::new(),
            finished: false,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), CoreError> {
        self.size += chunk.len() as u64;
        if self.size > self.allowance {
            return Err(CoreError::PayloadTooLarge("The image data exceeds the project's image storage quota.".into()));
        }
        self.md5.update(chunk);
        self.sha512.update(chunk);
        let f = self.file.as_mut().ok_or_else(|| CoreError::Internal("upload already finished".into()))?;
        f.write_all(chunk).await.map_err(|e| CoreError::Internal(format!("writing image data: {e}")))
    }

    pub async fn finish(mut self) -> Result<Received, CoreError> {
        let mut f = self.file.take().ok_or_else(|| CoreError::Internal("upload already finished".into()))?;
        f.flush().await.map_err(|e| CoreError::Internal(format!("writing image data: {e}")))?;
        f.get_ref().sync_all().await.map_err(|e| CoreError::Internal(format!("syncing image data: {e}")))?;
        self.finished = true;
        Ok(Received {
            path: self.path.clone(),
            size: self.size,
            md5: hex(&self.md5.clone().finalize()),
            sha512: hex(&self.sha512.clone().finalize()),
        })
    }
}

impl Drop for UploadSession {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Hashes a file already on disk (a staged upload being imported). Blocking: run it on a
/// blocking thread.
pub fn hash_file(path: &std::path::Path) -> Result<Received, CoreError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| CoreError::Internal(format!("reading staged data: {e}")))?;
    let (mut md5, mut sha512, mut size) = (Md5::new(), Sha512::new(), 0u64);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| CoreError::Internal(format!("reading staged data: {e}")))?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha512.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Received { path: path.to_path_buf(), size, md5: hex(&md5.finalize()), sha512: hex(&sha512.finalize()) })
}
