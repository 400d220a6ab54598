//! Subnet pools: named sets of prefixes (records only; subnets are not yet carved from them).

use hybridstack_store::write::Write;

use super::ipam::parse_cidr;
use super::model::SubnetPool;
use super::{fault, new_id, now, stored_as, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

stored_as!(SubnetPool, "subnetpool");

#[derive(Debug, Default, Clone)]
pub struct SubnetPoolRequest {
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub prefixes: Option<Vec<String>>,
    pub default_prefixlen: Option<u8>,
    pub min_prefixlen: Option<u8>,
    pub max_prefixlen: Option<u8>,
    pub shared: Option<bool>,
    pub description: Option<String>,
}

fn check_prefixes(p: &[String]) -> Result<u8, CoreError> {
    if p.is_empty() {
        return Err(fault(
            Fault::InvalidInput,
            "Invalid input for prefixes. Reason: at least one prefix is required.".into(),
        ));
    }
    let mut version = None;
    for x in p {
        let v = if parse_cidr(x)?.addr().is_ipv6() { 6 } else { 4 };
        if version.is_some_and(|w| w != v) {
            return Err(fault(
                Fault::InvalidInput,
                "Invalid input for operation: Illegal subnetpool: prefixes of more than one IP version.".into(),
            ));
        }
        version = Some(v);
    }
    Ok(version.unwrap_or(4))
}

impl Networking {
    pub async fn subnetpool_list(&self, ctx: &RequestContext) -> Result<Vec<SubnetPool>, CoreError> {
        Ok(self.all::<SubnetPool>().await?.into_iter().filter(|p| Self::owns(ctx, &p.project_id) || p.shared).collect())
    }

    pub async fn subnetpool_get(&self, ctx: &RequestContext, id: &str) -> Result<SubnetPool, CoreError> {
        match self.load::<SubnetPool>(id).await? {
            Some(p) if Self::owns(ctx, &p.project_id) || p.shared => Ok(p),
            _ => Err(fault(Fault::SubnetPoolNotFound, format!("Subnet pool {id} could not be found."))),
        }
    }

    pub async fn subnetpool_create(&self, ctx: &RequestContext, r: SubnetPoolRequest) -> Result<SubnetPool, CoreError> {
        ctx.require_member()?;
        let project_id = Self::target_project(ctx, r.project_id)?;
        self.check_quota(&project_id, "subnetpool").await?;
        if r.shared == Some(true) && !ctx.is_admin() {
            return Err(fault(
                Fault::PolicyNotAuthorized,
                "Only administrators may create shared subnet pools.".into(),
            ));
        }
        let prefixes = r.prefixes.unwrap_or_default();
        let ip_version = check_prefixes(&prefixes)?;
        let max = if ip_version == 6 { 128 } else { 32 };
        let min_len = r.min_prefixlen.unwrap_or(if ip_version == 6 { 64 } else { 8 });
        let max_len = r.max_prefixlen.unwrap_or(max);
        let default_len = r.default_prefixlen.unwrap_or(min_len);
        if !(min_len <= default_len && default_len <= max_len && max_len <= max) {
            return Err(fault(
                Fault::InvalidInput,
                "Invalid input for operation: prefix lengths must satisfy min <= default <= max.".into(),
            ));
        }
        let t = now();
        let p = SubnetPool {
            id: new_id(),
            name: r.name.unwrap_or_default(),
            project_id,
            prefixes,
            ip_version,
            default_prefixlen: default_len,
            min_prefixlen: min_len,
            max_prefixlen: max_len,
            default_quota: None,
            address_scope_id: None,
            is_default: false,
            shared: r.shared.unwrap_or(false),
            description: r.description.unwrap_or_default(),
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision_number: 1,
        };
        self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await?;
        Ok(p)
    }

    pub async fn subnetpool_update(
        &self,
        ctx: &RequestContext,
        id: &str,
        r: SubnetPoolRequest,
    ) -> Result<SubnetPool, CoreError> {
        ctx.require_member()?;
        let mut p = self.subnetpool_get(ctx, id).await?;
        if !Self::owns(ctx, &p.project_id) {
            return Err(fault(Fault::PolicyNotAuthorized, format!("Subnet pool {id} belongs to another project.")));
        }
        if let Some(x) = r.name {
            p.name = x;
        }
        if let Some(x) = r.description {
            p.description = x;
        }
        if let Some(x) = r.prefixes {
            if check_prefixes(&x)? != p.ip_version {
                return Err(fault(
                    Fault::InvalidInput,
                    "Invalid input for operation: prefixes must keep the pool's IP version.".into(),
                ));
            }
            p.prefixes = x;
        }
        p.updated_at = now();
        p.revision_number += 1;
        self.apply(Write { put: vec![Self::object(&p)?], ..Default::default() }).await?;
        Ok(p)
    }

    pub async fn subnetpool_delete(&self, ctx: &RequestContext, id: &str) -> Result<(), CoreError> {
        ctx.require_member()?;
        let p = self.subnetpool_get(ctx, id).await?;
        if !Self::owns(ctx, &p.project_id) {
            return Err(fault(Fault::PolicyNotAuthorized, format!("Subnet pool {id} belongs to another project.")));
        }
        self.apply(Write { delete: vec![("subnetpool".into(), p.id)], ..Default::default() }).await
    }
}
