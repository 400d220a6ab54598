//! Image sharing: the owner adds projects as members of a `shared` image; each member
//! accepts or rejects it, which decides whether it shows in that member's image list.

use super::{forbidden, ImageMember, Images};
use crate::clock::now_micros;
use crate::error::OrNotFound;
use crate::policy::RequestContext;
use crate::CoreError;

pub const MEMBER_STATUSES: &[&str] = &["pending", "accepted", "rejected"];

impl Images {
    fn is_owner(ctx: &RequestContext, owner: &str) -> bool {
        ctx.is_admin() || ctx.project_id() == Some(owner)
    }

    pub async fn member_add(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member: &str,
    ) -> Result<ImageMember, CoreError> {
        let i = self.owned(ctx, image_id).await?;
        if i.visibility != "shared" {
            return Err(forbidden(&format!("Only shared images have members; image {image_id} is {}.", i.visibility)));
        }
        if member.trim().is_empty() || member.len() > 255 {
            return Err(CoreError::BadRequest("A member is a project id.".into()));
        }
        if self.store.image_member_get::<ImageMember>(image_id, member).await.is_ok() {
            return Err(CoreError::Conflict(format!("Project {member} is already a member of image {image_id}.")));
        }
        let now = now_micros();
        let m = ImageMember {
            image_id: image_id.into(),
            member_id: member.into(),
            status: "pending".into(),
            created_at: now,
            updated_at: now,
        };
        self.store.image_member_create(&m).await?;
        Ok(m)
    }

    /// The owner sees every member; a member sees only itself.
    pub async fn member_list(&self, ctx: &RequestContext, image_id: &str) -> Result<Vec<ImageMember>, CoreError> {
        let i = self.get(ctx, image_id).await?;
        if i.visibility != "shared" {
            return Err(forbidden(&format!("Only shared images have members; image {image_id} is {}.", i.visibility)));
        }
        let all = self.store.image_members(image_id).await?;
        if Self::is_owner(ctx, &i.owner) {
            return Ok(all);
        }
        Ok(all.into_iter().filter(|m| Some(m.member_id.as_str()) == ctx.project_id()).collect())
    }

    pub async fn member_get(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member: &str,
    ) -> Result<ImageMember, CoreError> {
        let i = self.get(ctx, image_id).await?;
        if !(Self::is_owner(ctx, &i.owner) || ctx.project_id() == Some(member)) {
            return Err(CoreError::not_found("member", member));
        }
        self.store.image_member_get(image_id, member).await.or_not_found("member", member)
    }

    /// Only the member itself decides whether it accepts the image.
    pub async fn member_set_status(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member: &str,
        status: &str,
    ) -> Result<ImageMember, CoreError> {
        let i = self.get(ctx, image_id).await?;
        self.store.image_member_get::<ImageMember>(image_id, member).await.or_not_found("member", member)?;
        if ctx.project_id() != Some(member) {
            if Self::is_owner(ctx, &i.owner) && !ctx.is_admin() {
                return Err(forbidden("Only the member may accept or reject a shared image."));
            }
            if !ctx.is_admin() {
                return Err(CoreError::not_found("member", member));
            }
        }
        if !MEMBER_STATUSES.contains(&status) {
            return Err(CoreError::BadRequest(format!("Invalid member status {status:?}.")));
        }
        self.store.image_member_set_status(image_id, member, status, now_micros()).await?;
        self.store.image_member_get(image_id, member).await.or_not_found("member", member)
    }

    pub async fn member_delete(&self, ctx: &RequestContext, image_id: &str, member: &str) -> Result<(), CoreError> {
        let i = self.get(ctx, image_id).await?;
        if !Self::is_owner(ctx, &i.owner) {
            return Err(forbidden("Only the image owner may remove members."));
        }
        ctx.require_member()?;
        self.store.image_member_delete(image_id, member).await.or_not_found("member", member)
    }
}
