use sqlx::Row;

use crate::record::{decode, Record, Sql};
use crate::table::found;
use crate::{Store, StoreError};

/// A grant's row is the whole grant: every column is part of its identity.
const TABLE: &str = "role_assignments";

impl Store {
    /// Grants a role; granting what is already granted changes nothing.
    pub async fn assignment_add<A: Record>(&self, a: &A) -> Result<(), StoreError> {
        if self.assignment_exists(a).await? {
            return Ok(());
        }
        self.insert(TABLE, a).await
    }

    pub async fn assignment_exists<A: Record>(&self, a: &A) -> Result<bool, StoreError> {
        let sql = Sql::matching("SELECT COUNT(*) FROM", TABLE, a)?;
        let n: i64 = sql.query().fetch_one(self.reader()).await?.try_get(0)?;
        Ok(n > 0)
    }

    pub async fn assignment_remove<A: Record>(&self, a: &A) -> Result<(), StoreError> {
        found(Sql::matching("DELETE FROM", TABLE, a)?.query().execute(self.pool()).await?)
    }

    pub async fn assignment_list<A: Record>(&self) -> Result<Vec<A>, StoreError> {
        self.rows("SELECT * FROM role_assignments", decode).await
    }

    /// Direct grants of one actor (`actor_type` is "user" or "group"; the hot path of token
    /// scoping).
    pub async fn assignments_of<A: Record>(&self, actor_type: &str, actor_id: &str) -> Result<Vec<A>, StoreError> {
        self.rows_where(TABLE, &[("actor_type", actor_type), ("actor_id", actor_id)], "", decode).await
    }
}
