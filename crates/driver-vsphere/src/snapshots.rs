//! Images made on the cloud: a server's root disk (Nova's createImage) or a volume (Cinder's
//! upload-to-image) copied into the datastore's image store, where the Glance image gets
//! its location. A running VM's disk is locked, so a VM snapshot is taken first: the disk
//! under it becomes a read-only base that can be copied while the guest writes to the
//! snapshot's delta, and the snapshot is removed (consolidated) after. Keyed by the image id:
//! an image already whole is returned, and a snapshot left by a crashed attempt is removed.

use hybridstack_driver::DriverError;

use crate::collector::properties_of;
use crate::servers::{directory_of, Vm, ROOT_DISK};
use crate::xml::{Mor, Node, Xml};
use crate::VsphereCloud;

fn snapshot_name(image_id: &str) -> String {
    format!("hybridstack-image-{image_id}")
}

/// The snapshots in a tree of `snapshot.rootSnapshotList`, by name.
fn find_snapshots(list: &Node, name: &str, out: &mut Vec<Mor>) {
    for tree in &list.children {
        if tree.text_at(&["name"]) == Some(name) {
            if let Some(m) = tree.child("snapshot").and_then(Node::as_mor) {
                out.push(m);
            }
        }
        for child in tree.all("childSnapshotList") {
            find_snapshots(&Node { children: vec![child.clone()], ..Node::default() }, name, out);
        }
    }
}

impl VsphereCloud {
    /// Removes the VM snapshots an image copy of ours left (consolidating the disks).
    async fn remove_image_snapshots(&self, vm: &Vm, image_id: &str) -> Result<(), DriverError> {
        let o = properties_of(&self.soap, &vm.mor, &["snapshot.rootSnapshotList"]).await?;
        let mut found = Vec::new();
        if let Some(list) = o.prop("snapshot.rootSnapshotList") {
            find_snapshots(list, &snapshot_name(image_id), &mut found);
        }
        for snap in found {
            let body = Xml::new().text("removeChildren", "false").text("consolidate", "true");
            match self.task(&snap, "RemoveSnapshot_Task", body, "remove the VM snapshot").await {
                Ok(_) | Err(DriverError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn image_copy_of(&self, image_id: &str, from: &str) -> Result<String, DriverError> {
        let dir = self.image_dir(image_id);
        let reference = format!("{dir}/{image_id}.vmdk");
        crate::datastore::make_directory(self, &dir).await?;
        self.copy_disk(from, &reference).await?;
        Ok(reference)
    }

    pub(crate) async fn server_to_image(&self, server_id: &str, image_id: &str) -> Result<String, DriverError> {
        let vm =
            self.find_vm(server_id).await?.ok_or_else(|| DriverError::NotFound(format!("VM of server {server_id}")))?;
        let reference = format!("{}/{image_id}.vmdk", self.image_dir(image_id));
        if self.disk_exists(&reference).await? {
            self.remove_image_snapshots(&vm, image_id).await?;
            return Ok(reference);
        }
        let root = vm
            .disks
            .iter()
            .find(|d| d.unit == 0)
            .map(|d| d.file.clone())
            .ok_or_else(|| DriverError::Failed(format!("server {server_id} has no root disk")))?;
        // The base disk's name, as the VM held it before any snapshot of ours.
        let base = if root.ends_with(&format!("/{ROOT_DISK}")) || root.contains("/volumes/") {
            root
        } else {
            format!("{}/{ROOT_DISK}", directory_of(&vm.vmx))
        };
        let body = Xml::new()
            .text("name", snapshot_name(image_id))
            .text("description", format!("hybridstack image {image_id}"))
            .text("memory", "false")
            .text("quiesce", "false");
        self.task(&vm.mor, "CreateSnapshot_Task", body, "snapshot the VM").await?;
        let copied = self.image_copy_of(image_id, &base).await;
        self.remove_image_snapshots(&vm, image_id).await?;
        copied
    }

    pub(crate) async fn volume_to_image(&self, volume_id: &str, image_id: &str) -> Result<String, DriverError> {
        let reference = format!("{}/{image_id}.vmdk", self.image_dir(image_id));
        if self.disk_exists(&reference).await? {
            return Ok(reference);
        }
        self.image_copy_of(image_id, &self.volume_path(volume_id)).await
    }
}
