//! Steps (and parts of steps) several operations share: copying an image into a cloud's own
//! store (a boot there, a rebuild, Glance's copy-image), taking a server's ports and
//! networks off its cloud (a failed create's undo and a delete), and the time stamps the
//! server sagas write.

use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::model::Server;
use hybridstack_core::compute::Compute;
use hybridstack_core::images::Image;
use hybridstack_core::images::Images;
use hybridstack_driver_act::ImageStore;

use super::{cloud_of, core, driver};
use crate::saga::StepError;

/// Copies `image` into the store of cloud `store` unless it holds a copy already, and
/// records the copy. The driver's `put` is keyed by the image id, so a copy run again after
/// a crash finds the first one instead of making a second.
pub(super) async fn copy_image(images: &Images, clouds: &Clouds, image: &Image, store: &str) -> Result<(), StepError> {
    let Some(copy) = images.copy_source(image, store).await.map_err(core)? else { return Ok(()) };
    let cloud = cloud_of(clouds, store).await?;
    let target: &dyn ImageStore = cloud
        .images
        .as_deref()
        .ok_or_else(|| StepError::Failed(format!("cloud {store} keeps no images of its own")))?;
    let stored = target.put(&copy.source).await.map_err(driver)?;
    if let Err(e) = images.record_copy(&image.id, store, &stored).await {
        // The image was deleted while its copy was made: its delete knew of no copy here to
        // remove, so this one goes now rather than be left on the cloud.
        if images.image_internal(&image.id).await.map_err(core)?.is_none() {
            return target.delete(&image.id, &stored.reference).await.map_err(driver);
        }
        return Err(core(e));
    }
    Ok(())
}

/// A server about to boot (or be rebuilt) on a cloud that boots only its own images gets
/// its image copied in first.
pub(super) async fn image_onto_cloud(c: &Compute, s: &Server) -> Result<(), StepError> {
    if let Some(image) = c.image_to_copy(s).await.map_err(core)? {
        tracing::info!(image = %image.id, cloud = %s.cloud, "copying the image into the cloud to boot it");
        copy_image(&c.images, &c.clouds, &image, &s.cloud).await?;
    }
    Ok(())
}

/// Takes the server's ports off its cloud, and each of `networks` with the last port of
/// this cloud on it; then asks for a network sync (the ports' filters and floating IPs).
pub(super) async fn remove_ports_and_networks(c: &Compute, s: &Server, networks: &[String]) -> Result<(), StepError> {
    if s.cloud.is_empty() {
        return Ok(());
    }
    let cloud = cloud_of(&c.clouds, &s.cloud).await?;
    for (port_id, _) in &s.ports {
        cloud.network.delete_port(port_id).await.map_err(driver)?;
    }
    for n in networks {
        // The network stays while another server's port on this cloud still uses it.
        if c.networking.ports_bound_on(n, &s.cloud, &s.id).await.map_err(core)? == 0 {
            cloud.network.delete_network(n).await.map_err(driver)?;
        }
    }
    if !s.ports.is_empty() {
        c.networking.request_sync().await.map_err(core)?;
    }
    Ok(())
}

/// Now, as the server's `launched_at` and `terminated_at` show it.
pub(super) fn chrono_now() -> String {
    hybridstack_core::clock::iso(hybridstack_core::clock::now_micros())
}
