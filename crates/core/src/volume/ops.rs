//! The block-storage operations' parameters, one type per kind: written by the volume
//! service, read by the engine's saga of that kind.

use crate::operation_params;

operation_params! {
    /// Makes the volume on its cloud from its source.
    CreateVolume = "volume.create" on volume_id { volume_id: String }
}

operation_params! {
    /// Removes the volume from its cloud, then its record.
    DeleteVolume = "volume.delete" on volume_id { volume_id: String }
}

operation_params! {
    /// Grows the volume to `new_size` GiB; on failure it returns to status `back_to`.
    ExtendVolume = "volume.extend" on volume_id { volume_id: String, new_size: u64, back_to: String }
}

operation_params! {
    /// Attaches the volume to the server.
    AttachVolume = "volume.attach" on volume_id { volume_id: String, server_id: String }
}

operation_params! {
    /// Detaches the volume from the server.
    DetachVolume = "volume.detach" on volume_id { volume_id: String, server_id: String }
}

operation_params! {
    /// Takes a snapshot of the volume on its cloud.
    CreateSnapshot = "snapshot.create" on volume_id { snapshot_id: String, volume_id: String }
}

operation_params! {
    /// Removes a snapshot from its volume's cloud, then its record.
    DeleteSnapshot = "snapshot.delete" on volume_id { snapshot_id: String, volume_id: String }
}

operation_params! {
    /// Copies the volume's data into the image `image_id`, as `disk_format`.
    UploadImage = "volume.upload_image" on volume_id { volume_id: String, image_id: String, disk_format: String }
}
