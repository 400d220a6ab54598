//! The upgrade path's decision (the reconciler acts on it): a backend object from before
//! installation ids, marked with a cloud's name only, is this installation's when its store
//! has a row for it. Ids are random UUIDs, so a row for the id proves the object was made
//! for it here; without one, the object may be another installation's and is left alone.

use hybridstack_driver::Foreign;
use hybridstack_store::StoreError;

use super::Compute;
use crate::images::Image;
use crate::CoreError;

impl Compute {
    /// Whether this installation's store has a row for the object `o` stands for on `cloud`.
    pub async fn has_row_for(&self, o: &Foreign, cloud: &str) -> Result<bool, CoreError> {
        if o.id.is_empty() {
            return Ok(false);
        }
        let found = match o.kind {
            "server" => self.store.server_get(&o.id).await.map(|r| r.cloud == cloud),
            "network" | "subnet" | "port" | "router" | "floatingip" | "security_group" => {
                self.store.doc_get(o.kind, &o.id).await.map(|_| true)
            }
            "volume" | "snapshot" => self.store.doc_get(o.kind, &o.id).await.map(|_| true),
            "image" => self.store.image_get::<Image>(&o.id).await.map(|_| true),
            _ => return Ok(false),
        };
        match found {
            Ok(b) => Ok(b),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
