//! Server groups (`os-server-groups`): affinity and anti-affinity between a project's servers.
//! Each cloud is one host to the scheduler, so affinity keeps a group on one cloud and
//! anti-affinity puts each member on a different one (with one cloud, a second member of an
//! anti-affinity group has no valid host, as in Nova with one compute node).

use hybridstack_store::documents::Document;
use hybridstack_store::write::Expect;
use hybridstack_store::StoreError;

use super::model::{Server, ServerGroup};
use super::{new_id, Compute};
use crate::policy::RequestContext;
use crate::CoreError;

const KIND: &str = "server_group";
pub const POLICIES: &[&str] = &["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"];

fn not_found(id: &str) -> CoreError {
    CoreError::NotFound(format!("Server group {id} could not be found."))
}

impl Compute {
    fn group_decode(o: &Document) -> Result<ServerGroup, CoreError> {
        crate::documents::decode(o)
    }

    async fn group_save(&self, g: &ServerGroup, new: bool) -> Result<(), CoreError> {
        let o = Document { name: g.name.clone(), ..crate::documents::document(KIND, &g.id, &g.project_id, g)? };
        let expect = if new { Expect::New } else { Expect::Existing };
        Ok(self.store.write(&crate::documents::put(o, expect)).await?)
    }

    pub async fn group_list(&self, ctx: &RequestContext, all_projects: bool) -> Result<Vec<ServerGroup>, CoreError> {
        let owner = if all_projects && ctx.is_admin() { None } else { ctx.project_id() };
        if owner.is_none() && !(all_projects && ctx.is_admin()) {
            return Ok(vec![]);
        }
        self.store.doc_list(KIND, owner).await?.iter().map(Self::group_decode).collect()
    }

    pub async fn group_get(&self, ctx: &RequestContext, id: &str) -> Result<ServerGroup, CoreError> {
        match self.store.doc_get(KIND, id).await {
            Ok(o) => {
                let g = Self::group_decode(&o)?;
                if ctx.sees_project(&g.project_id) {
                    Ok(g)
                } else {
                    Err(not_found(id))
                }
            }
            Err(StoreError::NotFound) => Err(not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn group_create(&self, ctx: &RequestContext, name: &str, policy: &str) -> Result<ServerGroup, CoreError> {
        ctx.require_member()?;
        let project = ctx.project_id().ok_or_else(crate::policy::forbidden)?.to_string();
        if name.trim().is_empty() || name.chars().count() > 255 {
            return Err(CoreError::BadRequest("Server group names have 1 to 255 characters.".into()));
        }
        if !POLICIES.contains(&policy) {
            return Err(CoreError::BadRequest(format!(
                "Invalid server group policy {policy:?}; use one of {}.",
                POLICIES.join(", ")
            )));
        }
        let limit = self.quota_limit(&project, "server_groups").await?;
        let have = self.store.doc_list(KIND, Some(&project)).await?.len();
        if limit >= 0 && i64::try_from(have).unwrap_or(i64::MAX) >= limit {
            return Err(CoreError::Forbidden("Quota exceeded, too many server groups.".into()));
        }
        let g = ServerGroup {
            id: new_id(),
            name: name.into(),
            project_id: project,
            user_id: ctx.user_id.clone(),
            policy: policy.into(),
            members: vec![],
            max_server_per_host: None,
        };
        self.group_save(&g, true).await?;
        Ok(g)
    }

    pub async fn group_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        self.group_get(ctx, id).await?;
        match self.store.doc_delete(KIND, id).await {
            Err(StoreError::NotFound) => Err(not_found(id)),
            other => Ok(other?),
        }
    }

    /// Adds a new server to its group (checked at create, before anything is written).
    pub(crate) async fn group_join(
        &self,
        ctx: &RequestContext,
        id: &str,
        server_ids: &[String],
    ) -> Result<(), CoreError> {
        let mut g =
            self.group_get(ctx, id).await.map_err(|_| CoreError::BadRequest(format!("Invalid server group {id}.")))?;
        let limit = self.quota_limit(&g.project_id, "server_group_members").await?;
        let live = self.group_members_live(&g).await?;
        if limit >= 0 && i64::try_from(live.len() + server_ids.len()).unwrap_or(i64::MAX) > limit {
            return Err(CoreError::Forbidden("Quota exceeded, too many servers in group.".into()));
        }
        g.members = live.into_iter().chain(server_ids.iter().cloned()).collect();
        self.group_save(&g, false).await
    }

    /// The group's members that still exist.
    async fn group_members_live(&self, g: &ServerGroup) -> Result<Vec<String>, CoreError> {
        let mut out = Vec::new();
        for m in &g.members {
            if let Some((_, row)) = self.server_row(m).await? {
                if row.deleted_at == 0 {
                    out.push(m.clone());
                }
            }
        }
        Ok(out)
    }

    /// The clouds a server may (`Ok(Some(allowed))`) or may not (`Err(forbidden)`) go to,
    /// given its group; `Ok(None)` when it has no group constraint.
    pub(crate) async fn group_placement(&self, s: &Server) -> Result<Option<(bool, Vec<String>)>, CoreError> {
        let Some(gid) = &s.server_group else { return Ok(None) };
        let g = match self.store.doc_get(KIND, gid).await {
            Ok(o) => Self::group_decode(&o)?,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut clouds = Vec::new();
        for m in self.group_members_live(&g).await? {
            if m == s.id {
                continue;
            }
            if let Some((other, _)) = self.server_row(&m).await? {
                if !other.cloud.is_empty() && !clouds.contains(&other.cloud) {
                    clouds.push(other.cloud);
                }
            }
        }
        Ok(match g.policy.as_str() {
            "affinity" if !clouds.is_empty() => Some((true, clouds)),
            "anti-affinity" => Some((false, clouds)),
            // Soft policies are preferences: they never make a server unschedulable.
            _ => None,
        })
    }
}
