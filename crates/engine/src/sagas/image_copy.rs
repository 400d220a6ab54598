//! `image.copy`: copies an active image into clouds' own stores (Glance's copy-image, and a
//! glance-direct import naming several stores). One step over the stores: each copy is
//! recorded as it is made and skipped when found, so a run again after a crash or a transient
//! failure copies only what is missing. Nothing to undo: a made copy is a location of the
//! image, which its delete removes.

use std::sync::Arc;

use async_trait::async_trait;
use hybridstack_core::clouds::Clouds;
use hybridstack_core::compute::Compute;
use hybridstack_core::images::copies::CopyParams;
use hybridstack_core::images::Images;
use serde::{Deserialize, Serialize};

use super::{core, shared};
use crate::saga::{Act, Run, SagaOf, StepError};
use crate::Engine;

pub(super) fn register(engine: &mut Engine, c: &Compute) {
    let copy = Copy { images: c.images.clone(), clouds: c.clouds.clone() };
    engine.register(SagaOf::<CopyParams>::new().step(copy).build());
}

struct Copy {
    images: Arc<Images>,
    clouds: Arc<Clouds>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Copied {
    copied: usize,
}

#[async_trait]
impl Act<CopyParams> for Copy {
    const NAME: &'static str = "copy";
    type Out = Copied;

    async fn run(&self, p: &CopyParams, _: &Run<'_>) -> Result<Copied, StepError> {
        // An image deleted meanwhile needs no copy.
        let Some(image) = self.images.image_internal(&p.image_id).await.map_err(core)? else {
            return Ok(Copied { copied: 0 });
        };
        for store in &p.stores {
            shared::copy_image(&self.images, &self.clouds, &image, store).await?;
        }
        Ok(Copied { copied: p.stores.len() })
    }
}
