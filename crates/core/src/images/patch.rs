//! `PATCH /v2/images/{id}`: JSON-patch operations on base attributes, tags and custom
//! properties, with Glance's rules on what is read-only and when.

use serde_json::Value;

use super::attributes::{SERVER_SET, SETTABLE};
use super::{check_choice, check_property_name, check_tag, forbidden, Image, Images, CONTAINER_FORMATS, DISK_FORMATS};
use crate::clock::now_micros;
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone)]
pub enum PatchOp {
    /// RFC 6902 add (v2.1 patches): sets the attribute whether or not it exists.
    Add(String, Value),
    /// Draft-4 add (v2.0 patches): the property must not exist yet.
    AddNew(String, Value),
    Replace(String, Value),
    Remove(String),
}

fn want_str(path: &str, v: &Value) -> Result<String, CoreError> {
    v.as_str().map(str::to_string).ok_or_else(|| CoreError::BadRequest(format!("{path} must be a string.")))
}

fn want_bool(path: &str, v: &Value) -> Result<bool, CoreError> {
    v.as_bool().ok_or_else(|| CoreError::BadRequest(format!("{path} must be a boolean.")))
}

fn want_nonneg(path: &str, v: &Value) -> Result<i64, CoreError> {
    v.as_i64()
        .filter(|n| *n >= 0)
        .ok_or_else(|| CoreError::BadRequest(format!("{path} must be a non-negative integer.")))
}

impl Images {
    fn apply(ctx: &RequestContext, i: &mut Image, op: &PatchOp) -> Result<(), CoreError> {
        let (path, value) = match op {
            PatchOp::Add(p, v) | PatchOp::AddNew(p, v) | PatchOp::Replace(p, v) => (p.as_str(), Some(v)),
            PatchOp::Remove(p) => (p.as_str(), None),
        };
        let attr = path.strip_prefix('/').unwrap_or(path);
        if attr.is_empty() || attr.contains('/') {
            return Err(CoreError::BadRequest(format!("Invalid path {path:?}.")));
        }
        if SERVER_SET.contains(&attr) || ["id", "locations", "location", "deleted", "deleted_at"].contains(&attr) {
            return Err(forbidden(&format!("Attribute '{attr}' is read-only.")));
        }
        let Some(v) = value else {
            if (SETTABLE.contains(&attr) || attr == "owner") && attr != "tags" {
                return Err(forbidden(&format!("Attribute '{attr}' cannot be removed.")));
            }
            if attr == "tags" {
                i.tags.clear();
                return Ok(());
            }
            check_property_name(attr)?;
            if i.properties.remove(attr).is_none() {
                return Err(CoreError::Conflict(format!("Property {attr} does not exist.")));
            }
            return Ok(());
        };
        match attr {
            "name" => i.name = if v.is_null() { None } else { Some(want_str(path, v)?) },
            "visibility" => {
                let vis = want_str(path, v)?;
                Self::check_visibility_change(ctx, &vis)?;
                i.visibility = vis;
            }
            "protected" => i.protected = want_bool(path, v)?,
            "os_hidden" => i.os_hidden = want_bool(path, v)?,
            "min_disk" => i.min_disk = want_nonneg(path, v)?,
            "min_ram" => i.min_ram = want_nonneg(path, v)?,
            "container_format" | "disk_format" => {
                if i.status != "queued" {
                    return Err(forbidden(&format!("Attribute {attr} can be only replaced for a queued image.")));
                }
                let f = Some(want_str(path, v)?);
                let allowed = if attr == "disk_format" { DISK_FORMATS } else { CONTAINER_FORMATS };
                check_choice(attr, &f, allowed)?;
                if attr == "disk_format" {
                    i.disk_format = f;
                } else {
                    i.container_format = f;
                }
            }
            "owner" => {
                ctx.require_admin()?;
                i.owner = want_str(path, v)?;
            }
            "tags" => {
                let list = v.as_array().ok_or_else(|| CoreError::BadRequest("tags must be a list.".into()))?;
                let mut tags = Vec::new();
                for t in list {
                    let t = want_str(path, t)?;
                    check_tag(&t)?;
                    tags.push(t);
                }
                tags.sort();
                tags.dedup();
                i.tags = tags;
            }
            custom => {
                check_property_name(custom)?;
                if matches!(op, PatchOp::Replace(..)) && !i.properties.contains_key(custom) {
                    return Err(CoreError::Conflict(format!("Property {custom} does not exist.")));
                }
                if matches!(op, PatchOp::AddNew(..)) && i.properties.contains_key(custom) {
                    return Err(CoreError::Conflict(format!("Property {custom} already present.")));
                }
                i.properties.insert(custom.to_string(), Value::String(want_str(path, v)?));
            }
        }
        Ok(())
    }

    /// Applies every operation or none.
    pub async fn update(&self, ctx: &RequestContext, id: &str, ops: &[PatchOp]) -> Result<Image, CoreError> {
        let mut i = self.owned(ctx, id).await?;
        let before = i.properties.clone();
        for op in ops {
            Self::apply(ctx, &mut i, op)?;
        }
        let added: crate::Extra = i
            .properties
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if self.check_locations(&added).await? && i.status == "queued" {
            i.status = "active".into();
        }
        i.updated_at = now_micros();
        self.store.image_update(&i, None).await?;
        Ok(i)
    }
}
