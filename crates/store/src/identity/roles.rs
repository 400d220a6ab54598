use sqlx::any::AnyRow;

use crate::record::{blank_for_null, cells, columns, null_for_blank, read, Record};
use crate::table::Link;
use crate::{RowExt, Store, StoreError};

const IMPLIED: Link = Link { table: "implied_roles", left: "prior_role_id", right: "implied_role_id" };

/// A global role's `domain_id` is '' in its row: the column is part of the name's unique key.
const DOMAIN: &str = "domain_id";

fn role<R: Record>(r: &AnyRow) -> Result<R, StoreError> {
    let mut cols = cells(r)?;
    null_for_blank(&mut cols, DOMAIN);
    read(cols)
}

impl Store {
    pub async fn role_create<R: Record>(&self, role: &R) -> Result<(), StoreError> {
        let mut row = columns(role)?;
        blank_for_null(&mut row, DOMAIN);
        self.insert("roles", &row).await
    }

    pub async fn role_get<R: Record>(&self, id: &str) -> Result<R, StoreError> {
        self.row_where("roles", "id", id, role).await
    }

    pub async fn role_list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.rows("SELECT * FROM roles ORDER BY name, id", role).await
    }

    pub async fn role_update<R: Record>(&self, role: &R) -> Result<(), StoreError> {
        self.update("roles", role, &["name", "description"]).await
    }

    pub async fn role_delete(&self, id: &str) -> Result<(), StoreError> {
        let first = [
            "DELETE FROM role_assignments WHERE role_id = $1",
            "DELETE FROM implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
            "DELETE FROM application_credential_roles WHERE role_id = $1",
        ];
        self.delete_row("roles", id, &[], &first).await
    }

    pub async fn implied_role_add(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        self.link(&IMPLIED, prior, implied).await
    }

    pub async fn implied_role_remove(&self, prior: &str, implied: &str) -> Result<(), StoreError> {
        self.unlink(&IMPLIED, prior, implied).await
    }

    /// Every (prior, implied) pair.
    pub async fn implied_role_list(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT prior_role_id, implied_role_id FROM implied_roles").fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((r.text("prior_role_id")?, r.text("implied_role_id")?))).collect()
    }
}
