use crate::identity::projects::Id;
use crate::record::{decode, Record};
use crate::table::{delete_where, found, Values};
use crate::{Store, StoreError};

/// The roles a credential delegates, its record's `role_ids`.
const ROLES: Values = Values {
    table: "application_credential_roles",
    owner: "application_credential_id",
    value: "role_id",
    field: "role_ids",
};

impl Store {
    pub async fn app_credential_create<C: Record>(&self, c: &C) -> Result<(), StoreError> {
        self.insert_with("application_credentials", c, &ROLES).await
    }

    pub async fn app_credential_get<C: Record>(&self, id: &str) -> Result<C, StoreError> {
        self.get_with("application_credentials", id, &ROLES).await
    }

    pub async fn app_credential_by_name<C: Record>(&self, user_id: &str, name: &str) -> Result<C, StoreError> {
        let id: Id = self.one_where("application_credentials", &[("user_id", user_id), ("name", name)], decode).await?;
        self.app_credential_get(&id.id).await
    }

    pub async fn app_credential_list<C: Record>(&self, user_id: &str) -> Result<Vec<C>, StoreError> {
        let ids: Vec<Id> = self.rows_where("application_credentials", &[("user_id", user_id)], "name", decode).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.app_credential_get(&id.id).await?);
        }
        Ok(out)
    }

    pub async fn app_credential_delete(&self, id: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), "application_credentials", &[("id", id)]).await?)
    }
}
