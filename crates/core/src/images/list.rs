//! Listing images: Glance's filters, sort keys and marker paging.

use std::collections::HashMap;

use hybridstack_store::images::ImageQuery;

use super::{Image, ImageMember, Images};
use crate::policy::RequestContext;
use crate::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Status,
    ContainerFormat,
    DiskFormat,
    Size,
    Id,
    CreatedAt,
    UpdatedAt,
    Visibility,
    MinDisk,
    MinRam,
}

impl SortKey {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Ok(match s {
            "name" => SortKey::Name,
            "status" => SortKey::Status,
            "container_format" => SortKey::ContainerFormat,
            "disk_format" => SortKey::DiskFormat,
            "size" => SortKey::Size,
            "id" => SortKey::Id,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "visibility" => SortKey::Visibility,
            "min_disk" => SortKey::MinDisk,
            "min_ram" => SortKey::MinRam,
            other => return Err(CoreError::BadRequest(format!("Unsupported sort key {other:?}."))),
        })
    }

    fn cmp(self, a: &Image, b: &Image) -> std::cmp::Ordering {
        match self {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Status => a.status.cmp(&b.status),
            SortKey::ContainerFormat => a.container_format.cmp(&b.container_format),
            SortKey::DiskFormat => a.disk_format.cmp(&b.disk_format),
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortKey::Visibility => a.visibility.cmp(&b.visibility),
            SortKey::MinDisk => a.min_disk.cmp(&b.min_disk),
            SortKey::MinRam => a.min_ram.cmp(&b.min_ram),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Attribute filters as sent (`name`, `status`, `disk_format`, `id=in:a,b`, custom properties…).
    pub filters: HashMap<String, String>,
    pub tags: Vec<String>,
    pub sort: Vec<(SortKey, bool)>,
    pub limit: usize,
    pub marker: Option<String>,
}

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;

fn matches_value(actual: Option<&str>, want: &str) -> bool {
    match want.strip_prefix("in:") {
        Some(list) => actual.is_some_and(|a| list.split(',').any(|w| w == a)),
        None => actual == Some(want),
    }
}

fn parse_i64(k: &str, v: &str) -> Result<i64, CoreError> {
    v.parse().map_err(|_| CoreError::BadRequest(format!("{k} must be an integer.")))
}

impl Images {
    /// One page of the images the caller may list, and whether another page follows.
    pub async fn list(&self, ctx: &RequestContext, q: &ListQuery) -> Result<(Vec<Image>, bool), CoreError> {
        let viewer = if ctx.is_admin() { None } else { ctx.project_id().map(str::to_string) };
        let mut all = self.store.image_list::<Image>(&ImageQuery { viewer_project: viewer.clone() }).await?;
        if !ctx.is_admin() && viewer.is_none() {
            all.retain(|i| i.visibility == "public");
        }
        let f = &q.filters;
        let member_status = f.get("member_status").map(String::as_str).unwrap_or("accepted");
        if !["accepted", "pending", "rejected", "all"].contains(&member_status) {
            return Err(CoreError::BadRequest(format!("Invalid member_status {member_status:?}.")));
        }
        let memberships: HashMap<String, String> = match ctx.project_id() {
            Some(p) => self
                .store
                .image_memberships_of::<ImageMember>(p)
                .await?
                .into_iter()
                .map(|m| (m.image_id, m.status))
                .collect(),
            None => HashMap::new(),
        };
        let me = ctx.project_id().unwrap_or_default().to_string();
        let visibility = f.get("visibility").map(String::as_str);
        if let Some(v) = visibility {
            if v != "all" {
                super::check_choice("visibility", &Some(v.to_string()), super::VISIBILITIES)?;
            }
        }
        // Glance reads it with oslo's strict bool_from_string (the CLI sends `True`).
        let hidden = match f.get("os_hidden").map(|v| v.to_ascii_lowercase()) {
            None => Some(false),
            Some(v) if ["1", "t", "true", "on", "y", "yes"].contains(&v.as_str()) => Some(true),
            Some(v) if ["0", "f", "false", "off", "n", "no"].contains(&v.as_str()) => Some(false),
            Some(other) => return Err(CoreError::BadRequest(format!("Invalid os_hidden {other:?}."))),
        };
        let size_min = f.get("size_min").map(|v| parse_i64("size_min", v)).transpose()?;
        let size_max = f.get("size_max").map(|v| parse_i64("size_max", v)).transpose()?;
        const HANDLED: &[&str] = &[
            "member_status",
            "visibility",
            "os_hidden",
            "size_min",
            "size_max",
            "limit",
            "marker",
            "sort",
            "sort_key",
            "sort_dir",
            "tag",
        ];
        all.retain(|i| {
            let mine = i.owner == me;
            let vis_ok = match visibility {
                Some("all") => true,
                Some(v) => i.visibility == v,
                // Community images show only when asked for, unless they are the caller's own.
                None => i.visibility != "community" || mine,
            };
            let member_ok = i.visibility != "shared"
                || mine
                || ctx.is_admin() && !memberships.contains_key(&i.id)
                || memberships.get(&i.id).is_some_and(|s| member_status == "all" || s == member_status);
            let tags_ok = q.tags.iter().all(|t| i.tags.contains(t));
            let size_ok = size_min.is_none_or(|m| i.size.is_some_and(|s| s >= m))
                && size_max.is_none_or(|m| i.size.is_some_and(|s| s <= m));
            let attrs_ok = f.iter().filter(|(k, _)| !HANDLED.contains(&k.as_str())).all(|(k, v)| {
                let actual: Option<String> = match k.as_str() {
                    "id" => Some(i.id.clone()),
                    "name" => i.name.clone(),
                    "status" => Some(i.status.clone()),
                    "owner" => Some(i.owner.clone()),
                    "disk_format" => i.disk_format.clone(),
                    "container_format" => i.container_format.clone(),
                    "protected" => Some(i.protected.to_string()),
                    "min_disk" => Some(i.min_disk.to_string()),
                    "size" => i.size.map(|s| s.to_string()),
                    "virtual_size" => i.virtual_size.map(|s| s.to_string()),
                    "min_ram" => Some(i.min_ram.to_string()),
                    "checksum" => i.checksum.clone(),
                    "os_hash_value" => i.os_hash_value.clone(),
                    other => {
                        i.properties.get(other).map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()))
                    }
                };
                matches_value(actual.as_deref(), v)
            });
            vis_ok && member_ok && hidden.is_none_or(|h| i.os_hidden == h) && tags_ok && size_ok && attrs_ok
        });
        let sort = if q.sort.is_empty() { vec![(SortKey::CreatedAt, false)] } else { q.sort.clone() };
        all.sort_by(|a, b| {
            for (k, asc) in &sort {
                let o = k.cmp(a, b);
                let o = if *asc { o } else { o.reverse() };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            // A total order, so that marker paging neither skips nor repeats.
            b.id.cmp(&a.id)
        });
        let start = match &q.marker {
            Some(m) => {
                all.iter()
                    .position(|i| &i.id == m)
                    .ok_or_else(|| CoreError::BadRequest(format!("Invalid marker {m}: no such image is visible.")))?
                    + 1
            }
            None => 0,
        };
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let page: Vec<Image> = all.iter().skip(start).take(limit).cloned().collect();
        let more = all.len() > start + page.len();
        Ok((page, more))
    }
}
