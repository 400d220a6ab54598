use sqlx::any::AnyRow;

use crate::table::found;
use crate::{flag, RowExt, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorType {
    User,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    Project,
    Domain,
    System,
}

impl ActorType {
    fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::Group => "group",
        }
    }
}

impl TargetType {
    fn as_str(self) -> &'static str {
        match self {
            TargetType::Project => "project",
            TargetType::Domain => "domain",
            TargetType::System => "system",
        }
    }
}

/// One grant of a role. For system grants `target_id` is `"all"`, as in Keystone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assignment {
    pub actor_type: ActorType,
    pub actor_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
}

fn decode(r: &AnyRow) -> Result<Assignment, StoreError> {
    let actor_type = match r.text("actor_type")?.as_str() {
        "user" => ActorType::User,
        "group" => ActorType::Group,
        other => return Err(StoreError::Corrupt(format!("actor_type {other}"))),
    };
    let target_type = match r.text("target_type")?.as_str() {
        "project" => TargetType::Project,
        "domain" => TargetType::Domain,
        "system" => TargetType::System,
        other => return Err(StoreError::Corrupt(format!("target_type {other}"))),
    };
    Ok(Assignment {
        actor_type,
        actor_id: r.text("actor_id")?,
        target_type,
        target_id: r.text("target_id")?,
        role_id: r.text("role_id")?,
        inherited: r.boolean("inherited")?,
    })
}

impl Store {
    /// Grants a role; granting what is already granted changes nothing.
    pub async fn assignment_add(&self, a: &Assignment) -> Result<(), StoreError> {
        if self.assignment_exists(a).await? {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO role_assignments (actor_type, actor_id, target_type, target_id, role_id, inherited) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.actor_type.as_str())
        .bind(&a.actor_id)
        .bind(a.target_type.as_str())
        .bind(&a.target_id)
        .bind(&a.role_id)
        .bind(flag(a.inherited))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn assignment_exists(&self, a: &Assignment) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM role_assignments WHERE actor_type = $1 AND actor_id = $2 \
             AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
        )
        .bind(a.actor_type.as_str())
        .bind(&a.actor_id)
        .bind(a.target_type.as_str())
        .bind(&a.target_id)
        .bind(&a.role_id)
        .bind(flag(a.inherited))
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    pub async fn assignment_remove(&self, a: &Assignment) -> Result<(), StoreError> {
        found(
            sqlx::query(
                "DELETE FROM role_assignments WHERE actor_type = $1 AND actor_id = $2 \
             AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
            )
            .bind(a.actor_type.as_str())
            .bind(&a.actor_id)
            .bind(a.target_type.as_str())
            .bind(&a.target_id)
            .bind(&a.role_id)
            .bind(flag(a.inherited))
            .execute(self.pool())
            .await?,
        )
    }

    pub async fn assignment_list(&self) -> Result<Vec<Assignment>, StoreError> {
        self.rows("SELECT * FROM role_assignments", decode).await
    }

    /// Direct grants of one actor (the hot path of token scoping).
    pub async fn assignments_of(&self, actor: ActorType, actor_id: &str) -> Result<Vec<Assignment>, StoreError> {
        let rows = sqlx::query("SELECT * FROM role_assignments WHERE actor_type = $1 AND actor_id = $2")
            .bind(actor.as_str())
            .bind(actor_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(decode).collect()
    }
}
