use crate::{RowExt, Store, StoreError};

/// A revocation: tokens whose `kind` attribute equals `value` and that were issued at or
/// before `issued_before` (unix microseconds) are invalid. Kept until `expires_at`, after
/// which no token it could match is still alive.
#[derive(Debug, Clone, PartialEq)]
pub struct RevocationEvent {
    pub seq: i64,
    pub kind: String,
    pub value: String,
    pub issued_before: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn revocation_add(
        &self,
        kind: &str,
        value: &str,
        issued_before: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO revocation_events (kind, value, issued_before, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(kind)
            .bind(value)
            .bind(issued_before)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Events newer than `after_seq`, in order; how every node keeps its in-memory index in step.
    pub async fn revocations_since(&self, after_seq: i64) -> Result<Vec<RevocationEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM revocation_events WHERE id > $1 ORDER BY id")
            .bind(after_seq)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RevocationEvent {
                    seq: r.int("id")?,
                    kind: r.text("kind")?,
                    value: r.text("value")?,
                    issued_before: r.int("issued_before")?,
                    expires_at: r.int("expires_at")?,
                })
            })
            .collect()
    }

    /// Drops events that can no longer match a live token.
    pub async fn revocations_purge(&self, now: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM revocation_events WHERE expires_at < $1").bind(now).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
