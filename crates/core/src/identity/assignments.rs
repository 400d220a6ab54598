//! Role assignments: grants, their checks, and the effective view (groups expanded into
//! their members, implied roles added, inherited grants pushed down to projects).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Domain, Group, Identity, Project, Role, User};
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    User,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Project,
    Domain,
    System,
}

/// One grant of a role. For system grants `target_id` is `"all"`, as in Keystone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    pub actor_type: ActorType,
    pub actor_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
}

#[derive(Debug, Default, Clone)]
pub struct AssignmentFilter {
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub role_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub system: bool,
    pub inherited: Option<bool>,
    pub effective: bool,
}

/// One line of `GET /v3/role_assignments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectiveAssignment {
    pub actor_type: &'static str,
    pub actor_id: String,
    pub target_type: &'static str,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
    /// For an effective line that came through a group, the group.
    pub via_group: Option<String>,
}

/// One part of an assignment as `include_names` shows it: its id, and its name and its
/// domain's (id, name) where it has them. A part deleted since keeps only its id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Named {
    pub id: String,
    pub name: Option<String>,
    pub domain: Option<(String, String)>,
}

/// The named parts of one assignment; `target` is `None` for a system grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentNames {
    pub role: Named,
    pub actor: Named,
    pub target: Option<Named>,
}

fn actor_str(a: ActorType) -> &'static str {
    match a {
        ActorType::User => "user",
        ActorType::Group => "group",
    }
}

fn target_str(t: TargetType) -> &'static str {
    match t {
        TargetType::Project => "project",
        TargetType::Domain => "domain",
        TargetType::System => "system",
    }
}

impl Identity {
    /// The names of an assignment's role, actor and target (Keystone's `include_names`).
    pub async fn assignment_names(&self, e: &EffectiveAssignment) -> AssignmentNames {
        let domain = |id: String| async move {
            let name = self.store.domain_get::<Domain>(&id).await.map(|d| d.name).unwrap_or_default();
            Some((id, name))
        };
        let unnamed = |id: &str| Named { id: id.to_string(), ..Named::default() };
        let role = match self.store.role_get::<Role>(&e.role_id).await {
            Ok(r) => Named { id: r.id, name: Some(r.name), domain: None },
            Err(_) => unnamed(&e.role_id),
        };
        let owned = |id: String, name: String| Named { id, name: Some(name), domain: None };
        let actor = match e.actor_type {
            "user" => match self.store.user_get::<User>(&e.actor_id).await {
                Ok(u) => Named { domain: domain(u.domain_id).await, ..owned(u.id, u.name) },
                Err(_) => unnamed(&e.actor_id),
            },
            _ => match self.store.group_get::<Group>(&e.actor_id).await {
                Ok(g) => Named { domain: domain(g.domain_id).await, ..owned(g.id, g.name) },
                Err(_) => unnamed(&e.actor_id),
            },
        };
        let target = match e.target_type {
            "project" => Some(match self.store.project_get::<Project>(&e.target_id).await {
                Ok(p) => Named { domain: domain(p.domain_id).await, ..owned(p.id, p.name) },
                Err(_) => unnamed(&e.target_id),
            }),
            "domain" => Some(match self.store.domain_get::<Domain>(&e.target_id).await {
                Ok(d) => owned(d.id, d.name),
                Err(_) => unnamed(&e.target_id),
            }),
            _ => None,
        };
        AssignmentNames { role, actor, target }
    }

    /// The closure of `role_ids` under role implication.
    async fn expand_implied(&self, role_ids: BTreeSet<String>) -> Result<Vec<Role>, CoreError> {
        let implied = self.store.implied_role_list().await?;
        let mut by_prior: HashMap<&str, Vec<&str>> = HashMap::new();
        for (p, i) in &implied {
            by_prior.entry(p.as_str()).or_default().push(i.as_str());
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = role_ids.into_iter().collect();
        while let Some(r) = stack.pop() {
            if seen.insert(r.clone()) {
                if let Some(next) = by_prior.get(r.as_str()) {
                    stack.extend(next.iter().map(|s| s.to_string()));
                }
            }
        }
        let all = self.store.role_list::<Role>().await?;
        Ok(all.into_iter().filter(|r| seen.contains(&r.id)).collect())
    }

    /// Every grant that applies to the user: its own and its groups'.
    async fn grants_of_user(&self, user_id: &str) -> Result<Vec<Assignment>, CoreError> {
        let mut grants = self.store.assignments_of(actor_str(ActorType::User), user_id).await?;
        for g in self.store.user_groups(user_id).await? {
            grants.extend(self.store.assignments_of(actor_str(ActorType::Group), &g).await?);
        }
        Ok(grants)
    }

    pub(super) async fn effective_roles_on_project(
        &self,
        user_id: &str,
        project: &Project,
    ) -> Result<Vec<Role>, CoreError> {
        let grants = self.grants_of_user(user_id).await?;
        let ancestors = self.ancestors(project).await?;
        let ids = grants
            .iter()
            .filter(|a| {
                (a.target_type == TargetType::Project && a.target_id == project.id && !a.inherited)
                    || (a.inherited && a.target_type == TargetType::Domain && a.target_id == project.domain_id)
                    || (a.inherited && a.target_type == TargetType::Project && ancestors.contains(&a.target_id))
            })
            .map(|a| a.role_id.clone())
            .collect();
        self.expand_implied(ids).await
    }

    pub(super) async fn effective_roles_on(
        &self,
        user_id: &str,
        t: TargetType,
        id: &str,
    ) -> Result<Vec<Role>, CoreError> {
        let grants = self.grants_of_user(user_id).await?;
        let ids = grants
            .iter()
            .filter(|a| a.target_type == t && a.target_id == id && !a.inherited)
            .map(|a| a.role_id.clone())
            .collect();
        self.expand_implied(ids).await
    }

    async fn ancestors(&self, project: &Project) -> Result<HashSet<String>, CoreError> {
        let mut out = HashSet::new();
        let mut next = project.parent_id.clone();
        while let Some(id) = next {
            if !out.insert(id.clone()) {
                break;
            }
            next = match self.store.project_get::<Project>(&id).await {
                Ok(p) => p.parent_id,
                Err(_) => None,
            };
        }
        Ok(out)
    }

    /// Projects on which the user holds any role, directly, through a group or inherited.
    pub async fn projects_of_user(&self, user_id: &str) -> Result<Vec<Project>, CoreError> {
        let grants = self.grants_of_user(user_id).await?;
        if grants.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for p in self.store.project_list().await? {
            let ancestors = self.ancestors(&p).await?;
            if grants.iter().any(|a| {
                (a.target_type == TargetType::Project && a.target_id == p.id && !a.inherited)
                    || (a.inherited && a.target_type == TargetType::Domain && a.target_id == p.domain_id)
                    || (a.inherited && a.target_type == TargetType::Project && ancestors.contains(&a.target_id))
            }) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Domains on which the user holds a role directly or through a group.
    pub async fn domains_of_user(&self, user_id: &str) -> Result<Vec<super::Domain>, CoreError> {
        let grants = self.grants_of_user(user_id).await?;
        let ids: HashSet<&str> = grants
            .iter()
            .filter(|a| a.target_type == TargetType::Domain && !a.inherited)
            .map(|a| a.target_id.as_str())
            .collect();
        Ok(self.store.domain_list::<Domain>().await?.into_iter().filter(|d| ids.contains(d.id.as_str())).collect())
    }

    pub async fn has_system_role(&self, user_id: &str) -> Result<bool, CoreError> {
        Ok(!self.effective_roles_on(user_id, TargetType::System, "all").await?.is_empty())
    }

    async fn check_grant_parts(&self, a: &Assignment) -> Result<(), CoreError> {
        self.store.role_get::<Role>(&a.role_id).await.or_not_found("role", &a.role_id)?;
        match a.actor_type {
            ActorType::User => {
                self.store.user_get::<User>(&a.actor_id).await.or_not_found("user", &a.actor_id).map(drop)?
            }
            ActorType::Group => {
                self.store.group_get::<Group>(&a.actor_id).await.or_not_found("group", &a.actor_id).map(drop)?
            }
        }
        match a.target_type {
            TargetType::Project => {
                self.store.project_get::<Project>(&a.target_id).await.or_not_found("project", &a.target_id).map(drop)
            }
            TargetType::Domain => {
                self.store.domain_get::<Domain>(&a.target_id).await.or_not_found("domain", &a.target_id).map(drop)
            }
            TargetType::System => Ok(()),
        }
    }

    pub async fn grant(&self, ctx: &RequestContext, a: &Assignment) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.check_grant_parts(a).await?;
        self.announce(self.store.assignment_add(a).await)
    }

    pub async fn revoke_grant(&self, ctx: &RequestContext, a: &Assignment) -> Result<(), CoreError> {
        ctx.require_admin()?;
        self.check_grant_parts(a).await?;
        self.store
            .assignment_remove(a)
            .await
            .or_not_found("role assignment", &format!("{} {} on {}", a.role_id, a.actor_id, a.target_id))?;
        self.changed();
        Ok(())
    }

    pub async fn check_grant(&self, ctx: &RequestContext, a: &Assignment) -> Result<(), CoreError> {
        if !(ctx.is_admin() || (a.actor_type == ActorType::User && a.actor_id == ctx.user_id)) {
            return Err(crate::policy::forbidden());
        }
        self.check_grant_parts(a).await?;
        if self.store.assignment_exists(a).await? {
            Ok(())
        } else {
            Err(CoreError::not_found("role assignment", &a.role_id))
        }
    }

    /// Roles granted directly to an actor on a target (`GET …/users/{u}/roles`).
    pub async fn grants_on(
        &self,
        ctx: &RequestContext,
        actor: ActorType,
        actor_id: &str,
        t: TargetType,
        id: &str,
    ) -> Result<Vec<Role>, CoreError> {
        if !(ctx.is_admin() || (actor == ActorType::User && actor_id == ctx.user_id)) {
            return Err(crate::policy::forbidden());
        }
        let ids: HashSet<String> = self
            .store
            .assignments_of::<Assignment>(actor_str(actor), actor_id)
            .await?
            .into_iter()
            .filter(|a| a.target_type == t && a.target_id == id && !a.inherited)
            .map(|a| a.role_id)
            .collect();
        Ok(self.store.role_list::<Role>().await?.into_iter().filter(|r| ids.contains(&r.id)).collect())
    }

    /// `GET /v3/role_assignments`. Admins see everything; others only their own lines.
    pub async fn list_assignments(
        &self,
        ctx: &RequestContext,
        f: &AssignmentFilter,
    ) -> Result<Vec<EffectiveAssignment>, CoreError> {
        if !ctx.is_admin() && f.user_id.as_deref() != Some(ctx.user_id.as_str()) {
            return Err(crate::policy::forbidden());
        }
        if f.group_id.is_some() && f.effective {
            return Err(CoreError::BadRequest(
                "Combining effective and group filter will always result in an empty list.".into(),
            ));
        }
        let all = self.store.assignment_list::<Assignment>().await?;
        let mut lines: BTreeSet<EffectiveAssignment> = BTreeSet::new();
        let implied = if f.effective { self.store.implied_role_list().await? } else { Vec::new() };
        for a in &all {
            let base = EffectiveAssignment {
                actor_type: actor_str(a.actor_type),
                actor_id: a.actor_id.clone(),
                target_type: target_str(a.target_type),
                target_id: a.target_id.clone(),
                role_id: a.role_id.clone(),
                inherited: a.inherited,
                via_group: None,
            };
            let mut expanded = Vec::new();
            if f.effective && a.actor_type == ActorType::Group {
                for u in self.store.group_members(&a.actor_id).await? {
                    expanded.push(EffectiveAssignment {
                        actor_type: "user",
                        actor_id: u,
                        via_group: Some(a.actor_id.clone()),
                        ..base.clone()
                    });
                }
            } else {
                expanded.push(base);
            }
            if f.effective {
                // Inherited grants show up on the projects they reach, not on their anchor.
                let mut pushed = Vec::new();
                for e in expanded {
                    if e.inherited {
                        for p in self.store.project_list::<Project>().await? {
                            let hit = match a.target_type {
                                TargetType::Domain => p.domain_id == a.target_id,
                                TargetType::Project => self.ancestors(&p).await?.contains(&a.target_id),
                                TargetType::System => false,
                            };
                            if hit {
                                pushed.push(EffectiveAssignment {
                                    target_type: "project",
                                    target_id: p.id.clone(),
                                    inherited: false,
                                    ..e.clone()
                                });
                            }
                        }
                    } else {
                        pushed.push(e);
                    }
                }
                expanded = pushed;
                let mut with_implied = Vec::new();
                for e in expanded {
                    let mut stack = vec![e.role_id.clone()];
                    let mut seen = HashSet::new();
                    while let Some(r) = stack.pop() {
                        if seen.insert(r.clone()) {
                            stack.extend(implied.iter().filter(|(p, _)| *p == r).map(|(_, i)| i.clone()));
                            with_implied.push(EffectiveAssignment { role_id: r, ..e.clone() });
                        }
                    }
                }
                expanded = with_implied;
            }
            lines.extend(expanded);
        }
        Ok(lines
            .into_iter()
            .filter(|e| {
                f.user_id.as_ref().is_none_or(|u| e.actor_type == "user" && &e.actor_id == u)
                    && f.group_id.as_ref().is_none_or(|g| e.actor_type == "group" && &e.actor_id == g)
                    && f.role_id.as_ref().is_none_or(|r| &e.role_id == r)
                    && f.project_id.as_ref().is_none_or(|p| e.target_type == "project" && &e.target_id == p)
                    && f.domain_id.as_ref().is_none_or(|d| e.target_type == "domain" && &e.target_id == d)
                    && (!f.system || e.target_type == "system")
                    && f.inherited.is_none_or(|i| e.inherited == i)
            })
            .collect())
    }
}
