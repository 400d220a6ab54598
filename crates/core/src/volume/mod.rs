//! The block-storage service (Cinder v3): volumes and snapshots in the store, each change
//! written with the operation that realises it on the volume's cloud (see `engine`), and
//! the state machine Cinder's clients expect (creating → available → attaching → in-use …).

mod admin;
mod edit;
pub mod lifecycle;
pub mod model;
pub mod ops;
pub mod quotas;
mod snapshots;
pub mod types;
mod upload;
mod volumes;

use std::sync::Arc;

use hybridstack_store::documents::Document;
use hybridstack_store::operations::Operation;
use hybridstack_store::write::{Expect, Write};
use hybridstack_store::{Store, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Notify;

pub use edit::Edit;
pub use snapshots::SnapshotRequest;
pub use upload::Upload;
pub use volumes::VolumeRequest;

use crate::clouds::Clouds;
use crate::images::Images;
use crate::policy::RequestContext;
use crate::CoreError;

/// Operation kinds, one saga each in `engine::sagas`.
/// The volume type volumes get when they name none (Cinder's `__DEFAULT__`), and its id,
/// fixed so that clients that remember it keep working across restarts.
pub const DEFAULT_TYPE: &str = "__DEFAULT__";
pub const DEFAULT_TYPE_ID: &str = "00000000-0000-4000-8000-0000000000d7";

const VOLUME: &str = "volume";
const SNAPSHOT: &str = "snapshot";

pub struct Volumes {
    store: Store,
    images: Arc<Images>,
    clouds: Arc<Clouds>,
    wake: Arc<Notify>,
}

/// A document read with the version a write must expect.
pub(crate) struct Versioned<T> {
    pub doc: T,
    pub version: i64,
}

pub(crate) fn not_found(what: &str, id: &str) -> CoreError {
    CoreError::NotFound(format!("{what} {id} could not be found."))
}

impl Volumes {
    pub fn new(store: Store, images: Arc<Images>, clouds: Arc<Clouds>, wake: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self { store, images, clouds, wake })
    }

    async fn load<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<Versioned<T>>, CoreError> {
        match self.store.doc_get(kind, id).await {
            Ok(o) => Ok(Some(Versioned { doc: decode(&o)?, version: o.version })),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// What the caller may see: its project's, or anything for an admin; another project's
    /// object is "not found", never "forbidden".
    async fn visible<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        kind: &str,
        what: &str,
        id: &str,
    ) -> Result<Versioned<T>, CoreError> {
        let o = match self.store.doc_get(kind, id).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => return Err(not_found(what, id)),
            Err(e) => return Err(e.into()),
        };
        if !ctx.sees_project(&o.owner) {
            return Err(not_found(what, id));
        }
        Ok(Versioned { doc: decode(&o)?, version: o.version })
    }

    async fn list_of<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        kind: &str,
        all: bool,
    ) -> Result<Vec<T>, CoreError> {
        let project = if all && ctx.is_admin() {
            None
        } else {
            Some(ctx.project_id().ok_or_else(crate::policy::forbidden)?.to_string())
        };
        self.store.doc_list(kind, project.as_deref()).await?.iter().map(decode).collect()
    }

    /// Writes documents (new ones with `expect` `None`) and queues operations, all or
    /// nothing; a lost compare-and-swap is a 409 the client may retry.
    async fn write(&self, put: Vec<(Document, Expect)>, ops: Vec<Operation>) -> Result<(), CoreError> {
        let queued = ops.len();
        match self.store.write(&Write { put, ops, ..Default::default() }).await {
            Err(StoreError::Conflict(m)) if m == "version" => {
                return Err(CoreError::Conflict("The volume is being changed by another request; try again.".into()))
            }
            other => other?,
        }
        for _ in 0..queued {
            self.wake.notify_one();
        }
        Ok(())
    }

    async fn remove(&self, kind: &str, id: &str) -> Result<(), CoreError> {
        let w = Write { delete: vec![(kind.into(), id.into())], ..Default::default() };
        Ok(self.store.write(&w).await?)
    }
}

fn decode<T: DeserializeOwned>(o: &Document) -> Result<T, CoreError> {
    crate::documents::decode(o)
}

/// The row for a document at `version` (the next version after `prev`, or 1 when new), and
/// what its write expects: nothing there, or the version it was read at.
fn object<T: Serialize>(
    kind: &str,
    id: &str,
    project: &str,
    parent: &str,
    doc: &T,
    prev: Option<i64>,
) -> Result<(Document, Expect), CoreError> {
    let d = crate::documents::document(kind, id, project, doc)?;
    let d = Document { parent_id: parent.into(), version: prev.map_or(1, |v| v + 1), ..d };
    Ok((d, prev.map_or(Expect::New, Expect::Version)))
}
