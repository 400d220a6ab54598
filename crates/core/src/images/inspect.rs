//! Disk-format inspection of uploaded data, so that the declared `disk_format` is the truth
//! and hostile images are refused before any cloud or `qemu-img` touches them.
//!
//! Hand-written because no maintained Rust crate inspects images for safety: we need only
//! each format's fixed header fields (documented in the QEMU, VMware, Microsoft and ECMA-119
//! specifications), and parsing no more than that keeps the attack surface small. Like
//! Glance's format inspector, a qcow2 that names a backing file or an external data file is
//! refused (either would make QEMU read an arbitrary host file), and so is a VMDK whose
//! descriptor points at extent files.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// `qcow2`, `vmdk`, `vhd`, `vhdx`, `iso` or `raw` (nothing recognised).
    pub format: &'static str,
    /// The guest-visible disk size, when the format records it.
    pub virtual_size: Option<u64>,
}

const HEADER: usize = 64 * 1024;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn refuse(msg: &str) -> CoreError {
    CoreError::BadRequest(format!("Image data refused: {msg}."))
}

fn qcow2(h: &[u8]) -> Result<Inspection, CoreError> {
    let version = be_u32(h, 4).ok_or_else(|| refuse("truncated qcow2 header"))?;
    if !(2..=3).contains(&version) {
        return Err(refuse(&format!("unsupported qcow2 version {version}")));
    }
    if be_u64(h, 8).unwrap_or(0) != 0 || be_u32(h, 16).unwrap_or(0) != 0 {
        return Err(refuse("qcow2 images with a backing file are not allowed"));
    }
    if version == 3 {
        // Incompatible feature bit 2: the guest data lives in an external file.
        let incompatible = be_u64(h, 72).ok_or_else(|| refuse("truncated qcow2 v3 header"))?;
        if incompatible & 0b100 != 0 {
            return Err(refuse("qcow2 images with an external data file are not allowed"));
        }
    }
    Ok(Inspection { format: "qcow2", virtual_size: be_u64(h, 24) })
}

fn vmdk_descriptor_is_safe(text: &str) -> Result<(), CoreError> {
    for line in text.lines().map(str::trim) {
        if let Some(kind) = line.strip_prefix("createType=") {
            let kind = kind.trim_matches('"');
            if kind != "monolithicSparse" && kind != "streamOptimized" {
                return Err(refuse(&format!("VMDK createType {kind} refers to other files")));
            }
        }
    }
    Ok(())
}

fn vmdk_sparse(h: &[u8], file: &mut std::fs::File) -> Result<Inspection, CoreError> {
    let capacity = le_u64(h, 12).ok_or_else(|| refuse("truncated VMDK header"))?;
    let desc_offset = le_u64(h, 28).unwrap_or(0);
    let desc_size = le_u64(h, 36).unwrap_or(0);
    if desc_offset > 0 && desc_size > 0 && desc_size <= 2048 {
        let mut d = vec![0u8; (desc_size * 512) as usize];
        file.seek(SeekFrom::Start(desc_offset * 512)).map_err(io)?;
        let n = file.read(&mut d).map_err(io)?;
        vmdk_descriptor_is_safe(&String::from_utf8_lossy(&d[..n]))?;
    }
    Ok(Inspection { format: "vmdk", virtual_size: capacity.checked_mul(512) })
}

fn io(e: std::io::Error) -> CoreError {
    CoreError::Internal(format!("reading image data: {e}"))
}

/// Inspects the file at `path`.
pub fn inspect(path: &Path) -> Result<Inspection, CoreError> {
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut h = vec![0u8; HEADER];
    let n = f.read(&mut h).map_err(io)?;
    h.truncate(n);
    if h.starts_with(b"QFI\xfb") {
        return qcow2(&h);
    }
    if h.starts_with(b"KDMV") {
        return vmdk_sparse(&h, &mut f);
    }
    if h.starts_with(b"# Disk DescriptorFile") {
        vmdk_descriptor_is_safe(&String::from_utf8_lossy(&h))?;
        return Err(refuse("a VMDK descriptor without its extents is not a disk image"));
    }
    if h.starts_with(b"vhdxfile") {
        return Ok(Inspection { format: "vhdx", virtual_size: None });
    }
    if h.starts_with(b"conectix") {
        return Ok(Inspection { format: "vhd", virtual_size: be_u64(&h, 48) });
    }
    if h.get(0x8001..0x8006) == Some(b"CD001") {
        return Ok(Inspection { format: "iso", virtual_size: Some(len) });
    }
    // A fixed VHD keeps its only footer in the last 512 bytes.
    if len >= 512 {
        let mut footer = [0u8; 512];
        f.seek(SeekFrom::Start(len - 512)).map_err(io)?;
        if f.read_exact(&mut footer).is_ok() && footer.starts_with(b"conectix") {
            return Ok(Inspection { format: "vhd", virtual_size: be_u64(&footer, 48) });
        }
    }
    Ok(Inspection { format: "raw", virtual_size: Some(len) })
}

/// Whether data inspected as `found` may be stored under the declared `disk_format`.
/// Formats without a signature of their own (raw, and the AMI kernel/ramdisk/machine
/// formats) accept only data that is not another recognised format, so a qcow2 cannot be
/// smuggled in as "raw" and later handed to QEMU as something else.
pub fn matches_declared(declared: &str, found: &Inspection) -> bool {
    match declared {
        "raw" | "ami" | "ari" | "aki" => found.format == "raw",
        "iso" => found.format == "iso" || found.format == "raw",
        other => other == found.format,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write");
        f
    }

    fn qemu_img(args: &[&str]) {
        let out = std::process::Command::new("qemu-img").args(args).output().expect("qemu-img is installed");
        assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn real_qcow2_images_are_recognised_with_their_size() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("a.qcow2");
        let ps = p.to_string_lossy().to_string();
        qemu_img(&["create", "-f", "qcow2", &ps, "64M"]);
        let got = inspect(&p).expect("inspect");
        assert_eq!(got, Inspection { format: "qcow2", virtual_size: Some(64 << 20) });
        assert!(matches_declared("qcow2", &got));
        assert!(!matches_declared("raw", &got), "a qcow2 cannot pass as raw");
    }

    #[test]
    fn a_qcow2_with_a_backing_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let base = dir.path().join("base.raw").to_string_lossy().to_string();
        let top = dir.path().join("top.qcow2");
        qemu_img(&["create", "-f", "raw", &base, "1M"]);
        qemu_img(&["create", "-f", "qcow2", "-F", "raw", "-b", &base, &top.to_string_lossy()]);
        let err = inspect(&top).expect_err("refused");
        assert!(err.to_string().contains("backing file"), "{err}");
    }

    #[test]
    fn a_qcow2_with_an_external_data_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data.raw").to_string_lossy().to_string();
        let top = dir.path().join("top.qcow2");
        qemu_img(&["create", "-f", "qcow2", "-o", &format!("data_file={data}"), &top.to_string_lossy(), "1M"]);
        let err = inspect(&top).expect_err("refused");
        assert!(err.to_string().contains("external data file"), "{err}");
    }

    #[test]
    fn vmdk_and_raw_are_told_apart() {
        let dir = tempfile::tempdir().expect("dir");
        let v = dir.path().join("a.vmdk");
        qemu_img(&["create", "-f", "vmdk", &v.to_string_lossy(), "8M"]);
        assert_eq!(inspect(&v).expect("vmdk"), Inspection { format: "vmdk", virtual_size: Some(8 << 20) });
        let raw = file_with(&[7u8; 4096]);
        let got = inspect(raw.path()).expect("raw");
        assert_eq!(got, Inspection { format: "raw", virtual_size: Some(4096) });
        assert!(matches_declared("raw", &got) && matches_declared("ami", &got));
        assert!(!matches_declared("qcow2", &got));
        let flat = file_with(b"# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n");
        assert!(inspect(flat.path()).is_err());
    }
}
