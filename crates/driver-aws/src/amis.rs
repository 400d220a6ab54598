//! Images as AMIs. An AWS cloud boots only from its own AMIs, so it is also an image store
//! (`/v2/info/stores` lists it): Glance's copy-image writes a local image into it as raw
//! blocks with the EBS direct APIs (StartSnapshot, PutSnapshotBlock, CompleteSnapshot, as
//! AWS's coldsnap does; ImportImage needs S3 and a service role, and the moto server lacks
//! it) and registers the snapshot as an AMI. A server's createImage is CreateImage, and a
//! volume's upload-to-image is a snapshot registered as an AMI. Each AMI and snapshot is
//! tagged with the Glance image's id, so a retried step finds the first one, and deleting
//! the image deregisters only AMIs we made (an imported public AMI is left alone).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use aws_sdk_ec2::types::{ArchitectureValues, BlockDeviceMapping, EbsBlockDevice, Image, ImageState, Tag, VolumeType};
use base64::Engine;
use hybridstack_driver::{DiskFormat, DriverError, ImageSource, ImageStoreQuery, StoredImage};
use hybridstack_driver_act::ImageStore;
use sha2::Digest;
use tokio::io::AsyncReadExt;

use crate::errors::aws;
use crate::{tag_value, AwsCloud, TAG_ID, TAG_KIND};

pub(crate) const IMAGE: &str = "image";
const GIB: u64 = 1 << 30;
const ROOT: &str = "/dev/xvda";

impl AwsCloud {
    /// Our AMI for a Glance image, if one was made.
    async fn ami_of(&self, image_id: &str) -> Result<Option<Image>, DriverError> {
        let out = self
            .ec2
            .describe_images()
            .owners("self")
            .set_filters(Some(self.ours(IMAGE, Some(image_id))))
            .send()
            .await
            .map_err(|e| aws("looking up an AMI", e))?;
        Ok(out.images().iter().find(|i| i.state() != Some(&ImageState::Deregistered)).cloned())
    }

    async fn tag_as_image(&self, resource: &str, image_id: &str, name: &str) -> Result<(), DriverError> {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        self.ec2
            .create_tags()
            .resources(resource)
            .set_tags(Some([vec![tag(TAG_ID, image_id), tag(TAG_KIND, IMAGE)], self.marks()].concat()))
            .tags(tag("Name", name))
            .send()
            .await
            .map_err(|e| aws("tagging", e))?;
        Ok(())
    }

    async fn wait_ami(&self, image_id: &str) -> Result<String, DriverError> {
        self.wait_until(&format!("the AMI of image {image_id} to be available"), || async {
            let Some(i) = self.ami_of(image_id).await? else {
                return Err(DriverError::NotFound(format!("the AMI of image {image_id} is gone")));
            };
            match i.state() {
                Some(ImageState::Available) => Ok(Some(i.image_id().unwrap_or_default().to_string())),
                Some(ImageState::Failed | ImageState::Error) => {
                    Err(DriverError::Failed(format!("the AMI of image {image_id} failed on AWS")))
                }
                _ => Ok(None),
            }
        })
        .await
    }

    /// The root-disk snapshot of an AMI, and its size in GiB.
    pub(crate) async fn root_snapshot(&self, ami: &str) -> Result<(String, i32), DriverError> {
        let out = self
            .ec2
            .describe_images()
            .image_ids(ami)
            .send()
            .await
            .map_err(|e| aws(&format!("describing AMI {ami}"), e))?;
        let i = out
            .images()
            .first()
            .ok_or_else(|| DriverError::NotFound(format!("AMI {ami} is not in {}", self.cfg.region)))?;
        // One of ours: its snapshot is tagged with the image (the moto server's RegisterImage
        // drops the block device mappings it is given, so they are not trusted for ours).
        if self.is_mine(i.tags()) {
            if let Some(image_id) = tag_value(i.tags(), TAG_ID) {
                if let Some(s) = self.ebs_snapshot(IMAGE, &image_id).await? {
                    return Ok((s.snapshot_id().unwrap_or_default().to_string(), s.volume_size().unwrap_or(0)));
                }
            }
        }
        let root = i.root_device_name().unwrap_or(ROOT);
        let ebs =
            i.block_device_mappings().iter().find(|m| m.device_name() == Some(root)).and_then(|m| m.ebs()).ok_or_else(
                || DriverError::Rejected(format!("AMI {ami} has no EBS root disk to make a volume from")),
            )?;
        let snap = ebs
            .snapshot_id()
            .ok_or_else(|| DriverError::Rejected(format!("AMI {ami}: its root disk has no snapshot")))?;
        Ok((snap.to_string(), ebs.volume_size().unwrap_or(0)))
    }

    /// Registers an EBS snapshot as the Glance image's AMI (found, not made twice, on retry).
    pub(crate) async fn register_ami(&self, image_id: &str, name: &str, snapshot: &str) -> Result<String, DriverError> {
        if self.ami_of(image_id).await?.is_none() {
            let out = self
                .ec2
                .register_image()
                .name(format!("hs-{image_id}"))
                .description(name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(255).collect::<String>())
                .architecture(ArchitectureValues::X8664)
                .virtualization_type("hvm")
                .ena_support(true)
                .root_device_name(ROOT)
                .block_device_mappings(
                    BlockDeviceMapping::builder()
                        .device_name(ROOT)
                        .ebs(
                            EbsBlockDevice::builder()
                                .snapshot_id(snapshot)
                                .delete_on_termination(true)
                                .volume_type(VolumeType::Gp3)
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws(&format!("registering the AMI of image {image_id}"), e))?;
            // Tagged apart from the call: a crash between the two leaves an untagged AMI of
            // the name `hs-<image id>`, which a retry refuses to duplicate (AWS's unique names).
            self.tag_as_image(out.image_id().unwrap_or_default(), image_id, name).await?;
        }
        self.wait_ami(image_id).await
    }

    /// CreateImage of a server's instance, without rebooting it (as Nova's live snapshot).
    pub(crate) async fn create_ami(&self, server_id: &str, image_id: &str, name: &str) -> Result<String, DriverError> {
        if self.ami_of(image_id).await?.is_none() {
            let i = self.require(server_id).await?;
            let out = self
                .ec2
                .create_image()
                .instance_id(Self::instance_id(&i)?)
                .name(format!("hs-{image_id}"))
                .description(name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(255).collect::<String>())
                .no_reboot(true)
                .send()
                .await
                .map_err(|e| aws(&format!("creating the AMI of server {server_id}"), e))?;
            let ami = out.image_id().unwrap_or_default().to_string();
            self.tag_as_image(&ami, image_id, name).await?;
        }
        let ami = self.wait_ami(image_id).await?;
        // Its snapshots carry the image's tags too, so nothing of it is left untagged.
        for snap in self.ami_snapshots(&ami).await? {
            self.tag_as_image(&snap, image_id, name).await?;
        }
        Ok(ami)
    }

    async fn ami_snapshots(&self, ami: &str) -> Result<Vec<String>, DriverError> {
        let out = self.ec2.describe_images().image_ids(ami).send().await.map_err(|e| aws("describing an AMI", e))?;
        Ok(out
            .images()
            .iter()
            .flat_map(|i| i.block_device_mappings())
            .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
            .collect())
    }

    /// Deregisters the image's AMI and deletes its snapshots, when they are ours.
    /// An empty `reference` finds the AMI by the image's tag (an undo that never learnt it).
    pub(crate) async fn delete_ami(&self, image_id: &str, reference: &str) -> Result<(), DriverError> {
        let images = if reference.is_empty() {
            self.ami_of(image_id).await?.into_iter().collect::<Vec<_>>()
        } else {
            match self.ec2.describe_images().image_ids(reference).send().await {
                Ok(o) => o.images().to_vec(),
                Err(e) => match aws("describing an AMI", e) {
                    DriverError::NotFound(_) => vec![],
                    other => return Err(other),
                },
            }
        };
        for i in &images {
            let reference = i.image_id().unwrap_or_default();
            let ours = self.is_mine(i.tags()) && tag_value(i.tags(), TAG_ID).as_deref() == Some(image_id);
            if !ours || i.state() == Some(&ImageState::Deregistered) {
                continue;
            }
            let snaps: Vec<String> = i
                .block_device_mappings()
                .iter()
                .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
                .collect();
            match self.ec2.deregister_image().image_id(reference).send().await {
                Ok(_) => {}
                Err(e) => match aws("deregistering an AMI", e) {
                    DriverError::NotFound(_) => {}
                    other => return Err(other),
                },
            }
            for s in snaps {
                self.delete_ebs_snapshot(&s).await?;
            }
        }
        // A snapshot made for it that never became an AMI (a failed upload or register).
        let left = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .set_filters(Some(self.ours(IMAGE, Some(image_id))))
            .send()
            .await
            .map_err(|e| aws("listing snapshots", e))?;
        for s in left.snapshots() {
            self.delete_ebs_snapshot(s.snapshot_id().unwrap_or_default()).await?;
        }
        Ok(())
    }

    /// Writes a disk image into a new EBS snapshot with the EBS direct APIs (raw blocks of
    /// the snapshot's block size; all-zero blocks are skipped, a new snapshot reads as zeros)
    /// and waits until it is complete. Returns the snapshot and its size in GiB.
    pub(crate) async fn upload_snapshot(
        &self,
        path: &Path,
        format: &str,
        kind: &str,
        id: &str,
    ) -> Result<(String, i32), DriverError> {
        if let Some(s) = self.ebs_snapshot(kind, id).await? {
            if s.state() == Some(&aws_sdk_ec2::types::SnapshotState::Completed) {
                return Ok((s.snapshot_id().unwrap_or_default().to_string(), s.volume_size().unwrap_or(0)));
            }
            // A half-written one from an earlier try: start again.
            self.delete_ebs_snapshot(s.snapshot_id().unwrap_or_default()).await?;
        }
        let (raw, _tmp) = raw_file(path, format).await?;
        let bytes = tokio::fs::metadata(&raw).await.map_err(io)?.len();
        let gib = bytes.div_ceil(GIB).max(1);
        let started = self
            .ebs
            .start_snapshot()
            .volume_size(i64::try_from(gib).unwrap_or(i64::MAX))
            .description(format!("hybridstack {kind} {id}"))
            .send()
            .await
            .map_err(|e| aws("starting a snapshot (EBS direct)", e))?;
        let snap = started.snapshot_id().unwrap_or_default().to_string();
        self.tag_snapshot(&snap, kind, id).await?;
        let block = usize::try_from(started.block_size().unwrap_or(524_288)).unwrap_or(524_288);
        let mut f = tokio::fs::File::open(&raw).await.map_err(io)?;
        let mut buf = vec![0u8; block];
        let mut index: i32 = 0;
        let mut changed: i32 = 0;
        loop {
            let mut filled = 0;
            while filled < block {
                let n = f.read(&mut buf[filled..]).await.map_err(io)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            // The last block is padded with zeros: EBS takes whole blocks only.
            buf[filled..].fill(0);
            if buf.iter().any(|b| *b != 0) {
                let sum = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&buf));
                self.ebs
                    .put_snapshot_block()
                    .snapshot_id(&snap)
                    .block_index(index)
                    .block_data(aws_sdk_ebs::primitives::ByteStream::from(buf.clone()))
                    .data_length(i32::try_from(block).unwrap_or(i32::MAX))
                    .checksum(sum)
                    .checksum_algorithm(aws_sdk_ebs::types::ChecksumAlgorithm::ChecksumAlgorithmSha256)
                    .send()
                    .await
                    .map_err(|e| aws(&format!("writing block {index} of snapshot {snap}"), e))?;
                changed += 1;
            }
            if filled < block {
                break;
            }
            index += 1;
        }
        self.ebs
            .complete_snapshot()
            .snapshot_id(&snap)
            .changed_blocks_count(changed)
            .send()
            .await
            .map_err(|e| aws("completing the snapshot (EBS direct)", e))?;
        let done = self.wait_snapshot(kind, id).await?;
        Ok((snap, done.volume_size().unwrap_or(i32::try_from(gib).unwrap_or(i32::MAX))))
    }

    async fn tag_snapshot(&self, snap: &str, kind: &str, id: &str) -> Result<(), DriverError> {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        self.ec2
            .create_tags()
            .resources(snap)
            .set_tags(Some([vec![tag(TAG_ID, id), tag(TAG_KIND, kind)], self.marks()].concat()))
            .send()
            .await
            .map_err(|e| aws("tagging a snapshot", e))?;
        Ok(())
    }

    /// Our AMIs, by Glance image id (for the tests' leak checks and the operator).
    pub async fn owned_images(&self) -> Result<Vec<(String, String)>, DriverError> {
        let out = self
            .ec2
            .describe_images()
            .owners("self")
            .set_filters(Some(self.mine()))
            .send()
            .await
            .map_err(|e| aws("listing AMIs", e))?;
        Ok(out
            .images()
            .iter()
            .filter(|i| i.state() != Some(&ImageState::Deregistered))
            .filter_map(|i| Some((tag_value(i.tags(), TAG_ID)?, i.image_id()?.to_string())))
            .collect())
    }
}

fn io(e: std::io::Error) -> DriverError {
    DriverError::Failed(format!("reading the image: {e}"))
}

/// Removes a scratch file when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The image as a raw file: itself, or a raw copy made with qemu-img.
async fn raw_file(path: &Path, format: &str) -> Result<(PathBuf, Option<Scratch>), DriverError> {
    if format == "raw" {
        return Ok((path.to_path_buf(), None));
    }
    let out = path.with_extension("ebs-raw");
    let status = tokio::process::Command::new("qemu-img")
        .args(["convert", "-f", format, "-O", "raw"])
        .arg(path)
        .arg(&out)
        .status()
        .await
        .map_err(|e| DriverError::Failed(format!("running qemu-img: {e}")))?;
    if !status.success() {
        let _ = tokio::fs::remove_file(&out).await;
        return Err(DriverError::Rejected(format!("qemu-img could not read the image as {format}")));
    }
    Ok((out.clone(), Some(Scratch(out))))
}

#[async_trait]
impl ImageStoreQuery for AwsCloud {
    fn id(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        "AMIs of an AWS cloud (EBS snapshots written with the EBS direct APIs)"
    }

    fn accepted_formats(&self) -> &[DiskFormat] {
        &[DiskFormat::Raw]
    }

    async fn check_reference(&self, reference: &str) -> Result<(), DriverError> {
        hybridstack_driver::ComputeQuery::cloud_image(self, reference).await.map(|_| ())
    }

    async fn local_path(&self, image_id: &str, reference: &str) -> Result<PathBuf, DriverError> {
        Err(DriverError::NotSupported(format!(
            "image {image_id}: AMI {reference} lives in AWS; its data is not kept on this host"
        )))
    }
}

#[async_trait]
impl ImageStore for AwsCloud {
    async fn put(&self, src: &ImageSource) -> Result<StoredImage, DriverError> {
        let (snap, _) = self.upload_snapshot(&src.path, src.format.as_str(), IMAGE, &src.image_id).await?;
        let ami = self.register_ami(&src.image_id, &src.image_id, &snap).await?;
        Ok(StoredImage { reference: ami, format: DiskFormat::Raw })
    }

    async fn delete(&self, image_id: &str, reference: &str) -> Result<(), DriverError> {
        self.delete_ami(image_id, reference).await
    }
}
