//! Name, description and metadata: what a volume and a snapshot let their owner change, in
//! the same way, written once.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::{Snapshot, Volume};
use super::{object, Versioned, Volumes, SNAPSHOT, VOLUME};
use crate::policy::RequestContext;
use crate::CoreError;

/// What an update asks to change; a `None` field stays as it was, and metadata given is a
/// full replacement.
#[derive(Debug, Default, Clone)]
pub struct Edit {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A document an [`Edit`] applies to.
pub(super) trait Editable: Serialize + DeserializeOwned + Send {
    const KIND: &'static str;
    /// How a missing one is named in the 404.
    const WHAT: &'static str;
    fn apply(&mut self, e: Edit);
    /// Its project and the document it hangs under ("" for none).
    fn owners(&self) -> (&str, &str);
}

macro_rules! editable {
    ($t:ty, $kind:expr, $what:literal, |$d:ident| $owners:expr) => {
        impl Editable for $t {
            const KIND: &'static str = $kind;
            const WHAT: &'static str = $what;
            fn apply(&mut self, e: Edit) {
                self.name = e.name.unwrap_or(self.name.take());
                self.description = e.description.unwrap_or(self.description.take());
                self.metadata = e.metadata.unwrap_or(std::mem::take(&mut self.metadata));
                self.updated_at = crate::clock::now();
            }
            fn owners(&self) -> (&str, &str) {
                let $d = self;
                $owners
            }
        }
    };
}

editable!(Volume, VOLUME, "Volume", |v| (&v.project_id, ""));
editable!(Snapshot, SNAPSHOT, "Snapshot", |s| (&s.project_id, &s.volume_id));

impl Volumes {
    pub(super) async fn edit<T: Editable>(&self, ctx: &RequestContext, id: &str, e: Edit) -> Result<T, CoreError> {
        ctx.require_member()?;
        let Versioned { mut doc, version } = self.visible::<T>(ctx, T::KIND, T::WHAT, id).await?;
        doc.apply(e);
        let (project, parent) = doc.owners();
        self.write(vec![object(T::KIND, id, project, parent, &doc, Some(version))?], vec![]).await?;
        Ok(doc)
    }

    /// Changes a volume's name, description and metadata.
    pub async fn volume_update(&self, ctx: &RequestContext, id: &str, e: Edit) -> Result<Volume, CoreError> {
        self.edit(ctx, id, e).await
    }

    /// Changes a snapshot's name, description and metadata.
    pub async fn snapshot_update(&self, ctx: &RequestContext, id: &str, e: Edit) -> Result<Snapshot, CoreError> {
        self.edit(ctx, id, e).await
    }
}
