//! Tags on network resources (Neutron's `standard-attr-tag`): networks, subnets, ports,
//! routers, floating IPs, security groups and subnet pools.

use hybridstack_store::write::Write;

use super::model::{FloatingIp, Network, Port, Router, SecurityGroup, Subnet, SubnetPool};
use super::{fault, now, Doc, Fault, Networking};
use crate::policy::RequestContext;
use crate::CoreError;

pub(crate) trait Tagged: Doc {
    fn tags_mut(&mut self) -> &mut Vec<String>;
    fn touch(&mut self);
}

macro_rules! tagged {
    ($($t:ty),*) => {$(
        impl Tagged for $t {
            fn tags_mut(&mut self) -> &mut Vec<String> {
                &mut self.tags
            }
            fn touch(&mut self) {
                self.updated_at = now();
                self.revision_number += 1;
            }
        }
    )*};
}

tagged!(Network, Subnet, Port, Router, FloatingIp, SecurityGroup, SubnetPool);

/// What a tag request does.
pub enum TagOp {
    Read,
    Add(String),
    Remove(String),
    Replace(Vec<String>),
    Clear,
}

fn check(tag: &str) -> Result<(), CoreError> {
    if tag.is_empty() || tag.chars().count() > 255 || tag.contains(',') || tag.contains('/') {
        return Err(fault(Fault::InvalidInput, format!("Invalid input for operation: '{tag}' is not a valid tag.")));
    }
    Ok(())
}

impl Networking {
    async fn tag_doc<T: Tagged>(&self, ctx: &RequestContext, id: &str, op: TagOp) -> Result<Vec<String>, CoreError> {
        let mut doc = self
            .load::<T>(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("NotFound: {} {id} could not be found.", T::KIND)))?;
        if !Self::owns(ctx, doc.project_id()) {
            return Err(CoreError::NotFound(format!("NotFound: {} {id} could not be found.", T::KIND)));
        }
        if matches!(op, TagOp::Read) {
            return Ok(doc.tags_mut().clone());
        }
        ctx.require_member()?;
        let tags = doc.tags_mut();
        match op {
            TagOp::Read => {}
            TagOp::Add(t) => {
                check(&t)?;
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            TagOp::Remove(t) => {
                let before = tags.len();
                tags.retain(|x| *x != t);
                if tags.len() == before {
                    return Err(CoreError::NotFound(format!(
                        "TagNotFound: Tag {t} could not be found for {} {id}.",
                        T::KIND
                    )));
                }
            }
            TagOp::Replace(list) => {
                for t in &list {
                    check(t)?;
                }
                *tags = list;
                tags.sort();
                tags.dedup();
            }
            TagOp::Clear => tags.clear(),
        }
        let out = tags.clone();
        doc.touch();
        self.apply(Write { put: vec![Self::object(&doc)?], ..Default::default() }).await?;
        Ok(out)
    }

    /// `kind` is the URL collection (`networks`, `ports`…).
    pub async fn tags(&self, ctx: &RequestContext, kind: &str, id: &str, op: TagOp) -> Result<Vec<String>, CoreError> {
        match kind {
            "networks" => self.tag_doc::<Network>(ctx, id, op).await,
            "subnets" => self.tag_doc::<Subnet>(ctx, id, op).await,
            "ports" => self.tag_doc::<Port>(ctx, id, op).await,
            "routers" => self.tag_doc::<Router>(ctx, id, op).await,
            "floatingips" => self.tag_doc::<FloatingIp>(ctx, id, op).await,
            "security-groups" => self.tag_doc::<SecurityGroup>(ctx, id, op).await,
            "subnetpools" => self.tag_doc::<SubnetPool>(ctx, id, op).await,
            other => Err(CoreError::NotFound(format!("NotFound: Resources of type {other} have no tags."))),
        }
    }
}
