//! Core's side of the store's one document table: a service's typed document becomes a
//! stored `Document` and back, and a single-document change becomes the one write set.

use hybridstack_store::documents::Document;
use hybridstack_store::write::{Expect, Write};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::CoreError;

/// `body` stored as a `kind` document owned by `owner`, made now. Set `parent_id`, `name`
/// and `version` with struct-update syntax where the kind has them.
pub(crate) fn document<T: Serialize>(kind: &str, id: &str, owner: &str, body: &T) -> Result<Document, CoreError> {
    Ok(Document {
        kind: kind.into(),
        id: id.into(),
        owner: owner.into(),
        body: serde_json::to_string(body).map_err(|e| CoreError::Internal(e.to_string()))?,
        created_at: crate::clock::now_micros(),
        ..Default::default()
    })
}

pub(crate) fn decode<T: DeserializeOwned>(d: &Document) -> Result<T, CoreError> {
    serde_json::from_str(&d.body)
        .map_err(|e| CoreError::Internal(format!("stored {} {} is corrupt: {e}", d.kind, d.id)))
}

/// A write of one document.
pub(crate) fn put(d: Document, expect: Expect) -> Write {
    Write { put: vec![(d, expect)], ..Default::default() }
}
