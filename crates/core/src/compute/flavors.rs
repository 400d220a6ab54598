//! Flavors: sizes a server can take, with extra specs and, for private flavors, the projects
//! allowed to use them. Only admins change flavors.

use std::collections::BTreeMap;

use hybridstack_store::documents::Document;
use hybridstack_store::write::Expect;
use hybridstack_store::StoreError;

use super::model::Flavor;
use super::Compute;
use crate::policy::RequestContext;
use crate::CoreError;

const KIND: &str = "flavor";

#[derive(Debug, Clone, Default)]
pub struct FlavorRequest {
    pub id: Option<String>,
    pub name: String,
    pub vcpus: u32,
    pub ram: u64,
    pub disk: u64,
    pub ephemeral: u64,
    pub swap: u64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub description: Option<String>,
}

pub(crate) fn flavor_not_found(id: &str) -> CoreError {
    CoreError::NotFound(format!("Flavor {id} could not be found."))
}

fn valid_spec_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
}

impl Compute {
    fn flavor_decode(o: &Document) -> Result<Flavor, CoreError> {
        crate::documents::decode(o)
    }

    async fn flavor_save(&self, f: &Flavor, new: bool) -> Result<(), CoreError> {
        let o = Document { name: f.name.clone(), ..crate::documents::document(KIND, &f.id, "", f)? };
        if new {
            match self.store.write(&crate::documents::put(o, Expect::New)).await {
                Err(StoreError::Conflict(_)) => {
                    Err(CoreError::Conflict(format!("Flavor with ID {} already exists.", f.id)))
                }
                other => Ok(other?),
            }
        } else {
            Ok(self.store.write(&crate::documents::put(o, Expect::Existing)).await?)
        }
    }

    /// A flavor by id with no visibility check (servers keep using a flavor they booted with).
    pub async fn flavor_internal(&self, id: &str) -> Result<Option<Flavor>, CoreError> {
        match self.store.doc_get(KIND, id).await {
            Ok(o) => Ok(Some(Self::flavor_decode(&o)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn flavor_visible(ctx: &RequestContext, f: &Flavor) -> bool {
        f.is_public || ctx.is_admin() || ctx.project_id().is_some_and(|p| f.access.iter().any(|a| a == p))
    }

    /// Flavors the caller may see. `is_public`: `Some(Some(b))` filters on it, `Some(None)`
    /// (the literal `None`) asks for all, `None` means the default (public ones, plus for
    /// admins everything, plus private ones shared with the caller's project).
    pub async fn flavor_list(
        &self,
        ctx: &RequestContext,
        is_public: Option<Option<bool>>,
    ) -> Result<Vec<Flavor>, CoreError> {
        let mut out = Vec::new();
        for o in self.store.doc_list(KIND, None).await? {
            let f = Self::flavor_decode(&o)?;
            if !Self::flavor_visible(ctx, &f) {
                continue;
            }
            let keep = match is_public {
                Some(Some(b)) => f.is_public == b,
                Some(None) => true,
                // Nova: admins see only public flavors unless they ask; users also see the
                // private ones shared with them.
                None => f.is_public || (!ctx.is_admin() && Self::flavor_visible(ctx, &f)),
            };
            if keep {
                out.push(f);
            }
        }
        // Nova sorts by flavorid by default; numeric ids sort numerically for the usual "1".."5".
        out.sort_by(|a, b| match (a.id.parse::<u64>(), b.id.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.id.cmp(&b.id),
        });
        Ok(out)
    }

    pub async fn flavor_get(&self, ctx: &RequestContext, id: &str) -> Result<Flavor, CoreError> {
        match self.flavor_internal(id).await? {
            Some(f) if Self::flavor_visible(ctx, &f) => Ok(f),
            _ => Err(flavor_not_found(id)),
        }
    }

    pub async fn flavor_create(&self, ctx: &RequestContext, r: FlavorRequest) -> Result<Flavor, CoreError> {
        ctx.require_admin()?;
        let name = r.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(CoreError::BadRequest("Flavor names have 1 to 255 characters.".into()));
        }
        if r.vcpus == 0 || r.ram == 0 {
            return Err(CoreError::BadRequest("A flavor needs at least 1 vCPU and 1 MiB of RAM.".into()));
        }
        let id = match r.id.as_deref() {
            None | Some("auto") | Some("") => super::new_id(),
            Some(x) => {
                if x.len() > 255 || !x.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c)) {
                    return Err(CoreError::BadRequest(format!("Invalid flavor id {x:?}.")));
                }
                x.to_string()
            }
        };
        let all = self.store.doc_list(KIND, None).await?;
        if all.iter().any(|o| o.name == name) {
            return Err(CoreError::Conflict(format!("Flavor with name {name} already exists.")));
        }
        let f = Flavor {
            id,
            name,
            vcpus: r.vcpus,
            ram: r.ram,
            disk: r.disk,
            ephemeral: r.ephemeral,
            swap: r.swap,
            rxtx_factor: if r.rxtx_factor > 0.0 { r.rxtx_factor } else { 1.0 },
            is_public: r.is_public,
            description: r.description,
            extra_specs: BTreeMap::new(),
            access: vec![],
            disabled: false,
        };
        self.flavor_save(&f, true).await?;
        Ok(f)
    }

    pub async fn flavor_update_description(
        &self,
        ctx: &RequestContext,
        id: &str,
        description: Option<String>,
    ) -> Result<Flavor, CoreError> {
        ctx.require_admin()?;
        let mut f = self.flavor_internal(id).await?.ok_or_else(|| flavor_not_found(id))?;
        f.description = description;
        self.flavor_save(&f, false).await?;
        Ok(f)
    }

    pub async fn flavor_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        match self.store.doc_delete(KIND, id).await {
            Err(StoreError::NotFound) => Err(flavor_not_found(id)),
            other => Ok(other?),
        }
    }

    pub async fn flavor_set_specs(
        &self,
        ctx: &RequestContext,
        id: &str,
        specs: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, CoreError> {
        ctx.require_admin()?;
        let mut f = self.flavor_internal(id).await?.ok_or_else(|| flavor_not_found(id))?;
        for (k, v) in &specs {
            if !valid_spec_key(k) || v.chars().count() > 255 {
                return Err(CoreError::BadRequest(format!("Invalid extra spec {k:?}.")));
            }
        }
        f.extra_specs.extend(specs.clone());
        self.flavor_save(&f, false).await?;
        Ok(specs)
    }

    pub async fn flavor_delete_spec(&self, ctx: &RequestContext, id: &str, key: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        let mut f = self.flavor_internal(id).await?.ok_or_else(|| flavor_not_found(id))?;
        if f.extra_specs.remove(key).is_none() {
            return Err(CoreError::NotFound(format!("Flavor {id} has no extra specs with key {key}.")));
        }
        self.flavor_save(&f, false).await
    }

    /// The projects a private flavor is shared with.
    pub async fn flavor_access(&self, ctx: &RequestContext, id: &str) -> Result<Vec<String>, CoreError> {
        ctx.require_admin()?;
        let f = self.flavor_internal(id).await?.ok_or_else(|| flavor_not_found(id))?;
        if f.is_public {
            return Err(CoreError::NotFound("Access list not available for public flavors.".into()));
        }
        Ok(f.access)
    }

    pub async fn flavor_access_change(
        &self,
        ctx: &RequestContext,
        id: &str,
        project: &str,
        add: bool,
    ) -> Result<Vec<String>, CoreError> {
        ctx.require_admin()?;
        let mut f = self.flavor_internal(id).await?.ok_or_else(|| flavor_not_found(id))?;
        if f.is_public {
            return Err(CoreError::Conflict("Can not add access to a public flavor.".into()));
        }
        let has = f.access.iter().any(|a| a == project);
        match (add, has) {
            (true, true) => {
                return Err(CoreError::Conflict(format!(
                    "Flavor access already exists for flavor {id} and project {project} combination."
                )))
            }
            (false, false) => {
                return Err(CoreError::NotFound(format!("Flavor access not found for {id} / {project} combination.")))
            }
            (true, false) => f.access.push(project.into()),
            (false, true) => f.access.retain(|a| a != project),
        }
        self.flavor_save(&f, false).await?;
        Ok(f.access)
    }
}
