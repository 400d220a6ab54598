//! This installation's identity. `bootstrap` makes it; an installation made before it existed
//! gets one the first time it opens its clouds. Drivers mark every backend object with it, so
//! two control planes sharing a libvirt host or an AWS account never touch each other's
//! objects (DESIGN.md, "The way a request travels").

use hybridstack_store::Store;

use crate::CoreError;

/// The installation id, made (and kept in the store) if there is none yet.
pub async fn ensure(store: &Store) -> Result<String, CoreError> {
    if let Some(id) = store.installation_id().await? {
        return Ok(id);
    }
    let id =
        store.installation_id_or(&uuid::Uuid::new_v4().hyphenated().to_string(), crate::clock::now_micros()).await?;
    tracing::info!(installation = %id, "this installation's id is made");
    Ok(id)
}
