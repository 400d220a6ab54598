//! Projects and their tags.

use serde::{Deserialize, Serialize};

use super::domains::validate_name;
use super::{new_id, Domain, Identity};
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::{CoreError, Extra};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub extra: Extra,
}

const MAX_TAGS: usize = 80;

pub(super) fn validate_tags(tags: &[String]) -> Result<(), CoreError> {
    if tags.len() > MAX_TAGS {
        return Err(CoreError::BadRequest(format!("A project may have at most {MAX_TAGS} tags.")));
    }
    for t in tags {
        if t.is_empty() || t.chars().count() > 255 || t.contains('/') || t.contains(',') {
            return Err(CoreError::BadRequest(format!("Invalid tag {t:?}: 1 to 255 characters, without '/' or ','.")));
        }
    }
    Ok(())
}

impl Identity {
    /// Admins list every project; anyone else lists the projects they hold a role on.
    pub async fn project_list(&self, ctx: &RequestContext) -> Result<Vec<Project>, CoreError> {
        if ctx.is_admin() {
            Ok(self.store.project_list().await?)
        } else {
            self.projects_of_user(&ctx.user_id).await
        }
    }

    pub async fn project_get(&self, ctx: &RequestContext, id: &str) -> Result<Project, CoreError> {
        let p = self.store.project_get(id).await.or_not_found("project", id)?;
        if ctx.sees_project(id) || self.projects_of_user(&ctx.user_id).await?.iter().any(|q| q.id == id) {
            Ok(p)
        } else {
            Err(CoreError::not_found("project", id))
        }
    }

    pub async fn project_create(&self, ctx: &RequestContext, mut p: Project) -> Result<Project, CoreError> {
        ctx.require_admin()?;
        validate_name(&p.name)?;
        validate_tags(&p.tags)?;
        if let Some(parent) = &p.parent_id {
            let parent = self
                .store
                .project_get::<Project>(parent)
                .await
                .map_err(|_| CoreError::BadRequest(format!("Parent project {parent} not found.")))?;
            if parent.domain_id != p.domain_id {
                return Err(CoreError::BadRequest("A project's parent must be in the same domain.".into()));
            }
        }
        self.store
            .domain_get::<Domain>(&p.domain_id)
            .await
            .map_err(|_| CoreError::BadRequest(format!("Domain {} not found.", p.domain_id)))?;
        p.id = new_id();
        p.tags.sort();
        p.tags.dedup();
        self.announce(self.store.project_create(&p).await).map(|()| p)
    }

    pub async fn project_update(&self, ctx: &RequestContext, mut p: Project) -> Result<Project, CoreError> {
        ctx.require_admin()?;
        validate_name(&p.name)?;
        validate_tags(&p.tags)?;
        p.tags.sort();
        p.tags.dedup();
        self.announce(self.store.project_update(&p).await.or_not_found("project", &p.id)).map(|()| p)
    }

    pub async fn project_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.announce(self.store.project_delete(id).await.or_not_found("project", id))
    }
}
