//! `image.purge`: removes a deleted image's copies from the clouds' own stores (AMIs): the
//! recorded ones by reference, then on every other cloud that keeps images whatever still
//! carries the image's tag (a copy recorded while the delete was reading the image's
//! locations).
//! Each removal succeeds when the copy is already gone, so a run again after a crash
//! converges.

use std::sync::Arc;

use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::Compute;
use hybridstack_core::images::copies::PurgeParams;
use serde::{Deserialize, Serialize};

use super::{cloud_of, driver};
use crate::saga::{step, SagaOf};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    engine.register(SagaOf::<PurgeParams>::new().step(Remove(c.clouds.clone())).build());
}

#[derive(Debug, Serialize, Deserialize)]
struct Removed {
    removed: usize,
}

step!(Remove(Arc<Clouds>): PurgeParams, "remove", |clouds, p, _| -> Removed {
    for copy in &p.copies {
        let cloud = cloud_of(clouds, &copy.store).await?;
        match &cloud.images {
            Some(store) => store.delete(&p.image_id, &copy.reference).await.map_err(driver)?,
            None => tracing::warn!(image = %p.image_id, cloud = %copy.store,
                "the cloud keeps no images any more; its copy is left to its operator"),
        }
    }
    // A cloud whose copy was recorded had it removed above; a second copy there is never
    // made (a copy is skipped where one is recorded).
    for handle in clouds.all().iter().filter(|h| !p.copies.iter().any(|c| c.store == h.name)) {
        if let Some(store) = crate::actors(handle).ok().and_then(|cloud| cloud.images.clone()) {
            store.delete(&p.image_id, "").await.map_err(driver)?;
        }
    }
    Ok(Removed { removed: p.copies.len() })
});
