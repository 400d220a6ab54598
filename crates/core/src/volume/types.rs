//! Volume types: the default (`__DEFAULT__`, always there, never deleted) and the ones an
//! admin creates, each with extra specs and, when private, the projects that may use it.
//! A type's name is unique: a second object keyed by the name claims it in the same write.
//!
//! Extra specs hybridstack acts on: `RESKEY:availability_zones` (a comma list of the zones
//! a volume of the type may be created in, as Cinder reads it). Others are kept and shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::Volume;
use super::{object, Versioned, Volumes, DEFAULT_TYPE, DEFAULT_TYPE_ID, VOLUME};
use crate::policy::RequestContext;
use crate::CoreError;

const TYPE: &str = "volume_type";
const TYPE_NAME: &str = "volume_type_name";

/// The extra spec that limits a type to some availability zones.
pub const ZONES_SPEC: &str = "RESKEY:availability_zones";

/// Extra specs a non-admin may see (Cinder's user-visible set).
const USER_VISIBLE: &[&str] = &["multiattach", "replication_enabled", ZONES_SPEC];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
    /// Projects given access to a private type.
    #[serde(default)]
    pub projects: Vec<String>,
}

impl VolumeType {
    /// The clouds a volume of this type may be made in; `None` is any.
    pub fn zones(&self) -> Option<Vec<String>> {
        self.extra_specs.get(ZONES_SPEC).map(|z| z.split(',').map(|s| s.trim().to_string()).collect())
    }

    fn usable_by(&self, ctx: &RequestContext) -> bool {
        self.is_public || ctx.is_admin() || ctx.project_id().is_some_and(|p| self.projects.iter().any(|x| x == p))
    }

    /// What this caller may see of it: extra specs are an admin's, but for the user-visible.
    fn for_caller(mut self, ctx: &RequestContext) -> Self {
        if !ctx.is_admin() {
            self.extra_specs.retain(|k, _| USER_VISIBLE.contains(&k.as_str()));
        }
        self
    }
}

/// The changes an update asks for.
#[derive(Debug, Default, Clone)]
pub struct TypeUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
}

fn default_type() -> VolumeType {
    VolumeType {
        id: DEFAULT_TYPE_ID.into(),
        name: DEFAULT_TYPE.into(),
        description: Some("Default Volume Type".into()),
        is_public: true,
        extra_specs: BTreeMap::new(),
        projects: vec![],
    }
}

fn check_name(name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(CoreError::BadRequest("Invalid input received: name must be 1 to 255 characters.".into()));
    }
    Ok(())
}

fn check_specs(specs: &BTreeMap<String, String>) -> Result<(), CoreError> {
    for (k, v) in specs {
        if k.is_empty() || k.chars().count() > 255 || v.chars().count() > 255 {
            return Err(CoreError::BadRequest(format!(
                "Invalid input received: extra spec {k:?} must have a key and value of 1 to 255 characters."
            )));
        }
    }
    Ok(())
}

impl Volumes {
    /// Every type, the default one written the first time it is asked for.
    async fn all_types(&self) -> Result<Vec<Versioned<VolumeType>>, CoreError> {
        let mut out: Vec<Versioned<VolumeType>> = Vec::new();
        for o in self.store.doc_list(TYPE, None).await? {
            out.push(Versioned { doc: super::decode(&o)?, version: o.version });
        }
        if !out.iter().any(|t| t.doc.id == DEFAULT_TYPE_ID) {
            let t = default_type();
            match self.claim_type(&t).await {
                Ok(()) | Err(CoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            out.insert(0, Versioned { doc: t, version: 1 });
        }
        Ok(out)
    }

    async fn claim_type(&self, t: &VolumeType) -> Result<(), CoreError> {
        let put = vec![object(TYPE, &t.id, "", "", t, None)?, object(TYPE_NAME, &t.name, "", &t.id, &t.id, None)?];
        match self.write(put, vec![]).await {
            Err(CoreError::Conflict(_)) => Err(CoreError::Conflict(format!("Volume Type {} already exists.", t.name))),
            other => other,
        }
    }

    async fn type_by_ref(&self, id_or_name: &str) -> Result<Option<Versioned<VolumeType>>, CoreError> {
        Ok(self.all_types().await?.into_iter().find(|t| t.doc.id == id_or_name || t.doc.name == id_or_name))
    }

    /// The type a volume request names (by id or name), or the default; one this caller may
    /// not use is "not found".
    pub(crate) async fn type_for_volume(
        &self,
        ctx: &RequestContext,
        asked: Option<&str>,
    ) -> Result<VolumeType, CoreError> {
        let asked = asked.unwrap_or(DEFAULT_TYPE_ID);
        self.type_by_ref(asked)
            .await?
            .map(|t| t.doc)
            .filter(|t| t.usable_by(ctx))
            .ok_or_else(|| CoreError::NotFound(format!("Volume type with name {asked} could not be found.")))
    }

    /// Types the caller may use; `is_public` `Some(true)` (the default) lists public ones and
    /// the private ones the caller's project may use, `Some(false)` private ones only, `None`
    /// both (for an admin: all).
    pub async fn type_list(&self, ctx: &RequestContext, is_public: Option<bool>) -> Result<Vec<VolumeType>, CoreError> {
        Ok(self
            .all_types()
            .await?
            .into_iter()
            .map(|t| t.doc)
            .filter(|t| match is_public {
                Some(true) if ctx.is_admin() => t.is_public,
                Some(true) => t.usable_by(ctx),
                Some(false) => !t.is_public && t.usable_by(ctx),
                None => t.usable_by(ctx),
            })
            .map(|t| t.for_caller(ctx))
            .collect())
    }

    pub async fn type_get(&self, ctx: &RequestContext, id: &str) -> Result<VolumeType, CoreError> {
        let t = if id == "default" { Some(default_type()) } else { self.type_by_ref(id).await?.map(|t| t.doc) };
        t.filter(|t| t.usable_by(ctx))
            .map(|t| t.for_caller(ctx))
            .ok_or_else(|| CoreError::NotFound(format!("Volume type {id} could not be found.")))
    }

    pub async fn type_create(
        &self,
        ctx: &RequestContext,
        name: String,
        description: Option<String>,
        is_public: bool,
        extra_specs: BTreeMap<String, String>,
    ) -> Result<VolumeType, CoreError> {
        ctx.require_admin()?;
        check_name(&name)?;
        check_specs(&extra_specs)?;
        self.all_types().await?;
        let t = VolumeType { id: crate::clock::new_id(), name, description, is_public, extra_specs, projects: vec![] };
        self.claim_type(&t).await?;
        Ok(t)
    }

    /// Changes a type under compare-and-swap; a new name moves the name claim in the
    /// same write.
    async fn change_type(
        &self,
        ctx: &RequestContext,
        id: &str,
        f: impl FnOnce(&mut VolumeType) -> Result<(), CoreError>,
    ) -> Result<VolumeType, CoreError> {
        ctx.require_admin()?;
        let Versioned { mut doc, version } = self
            .type_by_ref(id)
            .await?
            .filter(|t| t.doc.id == id)
            .ok_or_else(|| CoreError::NotFound(format!("Volume type {id} could not be found.")))?;
        let old_name = doc.name.clone();
        f(&mut doc)?;
        let mut put = vec![object(TYPE, &doc.id, "", "", &doc, Some(version))?];
        let mut delete = vec![];
        if doc.name != old_name {
            put.push(object(TYPE_NAME, &doc.name, "", &doc.id, &doc.id, None)?);
            delete.push((TYPE_NAME.to_string(), old_name));
        }
        let w = hybridstack_store::write::Write { put, delete, ..Default::default() };
        match self.store.write(&w).await {
            Ok(()) => Ok(doc),
            Err(hybridstack_store::StoreError::Conflict(m)) if m == "version" => {
                Err(CoreError::Conflict("The volume type is being changed by another request; try again.".into()))
            }
            Err(hybridstack_store::StoreError::Conflict(_)) => {
                Err(CoreError::Conflict(format!("Volume Type {} already exists.", doc.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn type_update(&self, ctx: &RequestContext, id: &str, u: TypeUpdate) -> Result<VolumeType, CoreError> {
        if u.name.is_none() && u.description.is_none() && u.is_public.is_none() {
            return Err(CoreError::BadRequest(
                "Invalid input received: give at least one of name, description and is_public.".into(),
            ));
        }
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        self.change_type(ctx, id, move |t| {
            if let Some(n) = u.name {
                // Volumes show their type's current name, so only the default's is fixed.
                if n != t.name && t.id == DEFAULT_TYPE_ID {
                    return Err(CoreError::BadRequest("The default volume type cannot be renamed.".into()));
                }
                t.name = n;
            }
            if let Some(d) = u.description {
                t.description = d;
            }
            if let Some(p) = u.is_public {
                t.is_public = p;
            }
            Ok(())
        })
        .await
    }

    async fn type_in_use(&self, id: &str) -> Result<bool, CoreError> {
        let all: Vec<Volume> =
            self.store.doc_list(VOLUME, None).await?.iter().map(super::decode).collect::<Result<_, _>>()?;
        Ok(all.iter().any(|v| v.type_id() == id))
    }

    /// Deletes a type no volume uses; the default type stays.
    pub async fn type_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        let t = self
            .type_by_ref(id)
            .await?
            .filter(|t| t.doc.id == id)
            .ok_or_else(|| CoreError::NotFound(format!("Volume type {id} could not be found.")))?;
        if t.doc.id == DEFAULT_TYPE_ID {
            return Err(CoreError::BadRequest("Default volume type can not be deleted.".into()));
        }
        if self.type_in_use(id).await? {
            return Err(CoreError::BadRequest(format!(
                "Invalid volume type: target volume type {} is still in use.",
                t.doc.name
            )));
        }
        let w = hybridstack_store::write::Write {
            delete: vec![(TYPE.into(), t.doc.id.clone()), (TYPE_NAME.into(), t.doc.name.clone())],
            ..Default::default()
        };
        Ok(self.store.write(&w).await?)
    }

    /// Extra specs: all of them for an admin, the user-visible ones for others.
    pub async fn type_specs(&self, ctx: &RequestContext, id: &str) -> Result<BTreeMap<String, String>, CoreError> {
        Ok(self.type_get(ctx, id).await?.extra_specs)
    }

    /// Adds or replaces the given extra specs.
    pub async fn type_specs_set(
        &self,
        ctx: &RequestContext,
        id: &str,
        specs: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, CoreError> {
        check_specs(&specs)?;
        let given = specs.clone();
        self.change_type(ctx, id, move |t| {
            t.extra_specs.extend(specs);
            Ok(())
        })
        .await?;
        Ok(given)
    }

    pub async fn type_spec_delete(&self, ctx: &RequestContext, id: &str, key: &str) -> Result<(), CoreError> {
        let key = key.to_string();
        let type_id = id.to_string();
        self.change_type(ctx, id, move |t| {
            t.extra_specs
                .remove(&key)
                .map(|_| ())
                .ok_or_else(|| CoreError::NotFound(format!("Volume Type {type_id} has no extra specs with key {key}.")))
        })
        .await
        .map(|_| ())
    }

    /// The projects that may use a private type (a public one has no list: 404, as Cinder).
    pub async fn type_access(&self, ctx: &RequestContext, id: &str) -> Result<Vec<String>, CoreError> {
        ctx.require_admin()?;
        let t = self.type_get(ctx, id).await?;
        if t.is_public {
            return Err(CoreError::NotFound("Access list not available for public volume types.".into()));
        }
        Ok(t.projects)
    }

    pub async fn type_access_change(
        &self,
        ctx: &RequestContext,
        id: &str,
        project: &str,
        add: bool,
    ) -> Result<(), CoreError> {
        let project = project.to_string();
        let type_id = id.to_string();
        self.change_type(ctx, id, move |t| {
            if t.is_public {
                return Err(CoreError::BadRequest(format!("Invalid volume type: type {type_id} is public.")));
            }
            let has = t.projects.contains(&project);
            match (add, has) {
                (true, true) => Err(CoreError::Conflict(format!(
                    "Volume type access for {type_id}/{project} combination already exists."
                ))),
                (false, false) => Err(CoreError::NotFound(format!(
                    "Volume type access not found for {type_id}/{project} combination."
                ))),
                (true, false) => {
                    t.projects.push(project);
                    Ok(())
                }
                (false, true) => {
                    t.projects.retain(|p| *p != project);
                    Ok(())
                }
            }
        })
        .await
        .map(|_| ())
    }

    /// The current name of a type by id (a volume shows its type's name).
    pub(crate) async fn type_names(&self) -> Result<BTreeMap<String, String>, CoreError> {
        Ok(self.all_types().await?.into_iter().map(|t| (t.doc.id, t.doc.name)).collect())
    }
}
