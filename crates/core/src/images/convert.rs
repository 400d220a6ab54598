//! Format conversion with `qemu-img`, for stores that hold another format than the image's.

use std::path::Path;

use hybridstack_driver::DiskFormat;

use crate::CoreError;

/// Converts `src` (in `from`) to a new file `dst` in `to`. The source format is always passed
/// explicitly: letting qemu-img probe would reopen the door the inspector closed.
pub async fn convert(src: &Path, from: DiskFormat, dst: &Path, to: DiskFormat) -> Result<(), CoreError> {
    let out = tokio::process::Command::new("qemu-img")
        .args(["convert", "-q", "-f", from.as_str(), "-O", to.as_str()])
        .arg(src)
        .arg(dst)
        .output()
        .await
        .map_err(|e| CoreError::Internal(format!("cannot run qemu-img: {e}")))?;
    if !out.status.success() {
        let _ = tokio::fs::remove_file(dst).await;
        return Err(CoreError::Internal(format!(
            "qemu-img convert {} -> {} failed: {}",
            from.as_str(),
            to.as_str(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::inspect::inspect;

    #[tokio::test]
    async fn raw_converts_to_qcow2_and_vmdk_and_back() {
        let dir = tempfile::tempdir().expect("dir");
        let raw = dir.path().join("a.raw");
        let mut data = vec![0u8; 1 << 20];
        data[4096..4100].copy_from_slice(b"HSTK");
        std::fs::write(&raw, &data).expect("write");
        for to in [DiskFormat::Qcow2, DiskFormat::Vmdk] {
            let out = dir.path().join(format!("a.{}", to.as_str()));
            convert(&raw, DiskFormat::Raw, &out, to).await.expect("convert");
            let found = inspect(&out).expect("inspect");
            assert_eq!(found.format, to.as_str());
            assert_eq!(found.virtual_size, Some(1 << 20));
            let back = dir.path().join(format!("back-from-{}.raw", to.as_str()));
            convert(&out, to, &back, DiskFormat::Raw).await.expect("back");
            assert_eq!(std::fs::read(&back).expect("read"), data, "round trip keeps the bytes");
        }
        let missing =
            convert(&dir.path().join("nope"), DiskFormat::Raw, &dir.path().join("x"), DiskFormat::Qcow2).await;
        assert!(missing.is_err());
    }
}
