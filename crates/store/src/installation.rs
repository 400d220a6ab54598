//! The installation's identity (one row): what marks every backend object as this control
//! plane's.

use crate::{Store, StoreError};

impl Store {
    /// The installation id, if one was made.
    pub async fn installation_id(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM installation WHERE singleton = 1").fetch_optional(self.pool()).await?)
    }

    /// The installation id, recording `candidate` as it when there is none yet. Several
    /// processes starting at once on one database agree on the first one written.
    pub async fn installation_id_or(&self, candidate: &str, now: i64) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO installation (singleton, id, created_at) VALUES (1, $1, $2) ON CONFLICT (singleton) DO NOTHING",
        )
        .bind(candidate)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.installation_id().await?.ok_or_else(|| StoreError::Corrupt("the installation row vanished".into()))
    }
}
