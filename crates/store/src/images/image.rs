use serde::{Deserialize, Serialize};

use crate::record::{decode, flag, json_text, Sql};
use crate::table::{delete_where, found, Values};
use crate::{Extra, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub owner: String,
    pub status: String,
    pub visibility: String,
    #[serde(deserialize_with = "flag")]
    pub protected: bool,
    #[serde(deserialize_with = "flag")]
    pub os_hidden: bool,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    #[serde(deserialize_with = "json_text")]
    pub properties: Extra,
    /// Kept in `image_tags`.
    #[serde(skip)]
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Which rows a caller may see: its own project's, public and community ones, and the
/// shared ones it is a member of. `None` means everything (admin).
#[derive(Debug, Clone, Default)]
pub struct ImageQuery {
    pub viewer_project: Option<String>,
}

const TAGS: Values = Values { table: "image_tags", owner: "image_id", value: "tag" };

/// What an update leaves as it was made.
const FIXED: [&str; 2] = ["owner", "created_at"];

const COLUMNS: &str = "id, name, owner, status, visibility, protected, os_hidden, checksum, os_hash_algo, \
    os_hash_value, size, virtual_size, min_disk, min_ram, container_format, disk_format, properties, created_at, updated_at";

impl Store {
    pub async fn image_create(&self, i: &Image) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        Sql::insert("images", i)?.query().execute(&mut *tx).await?;
        TAGS.add(&mut tx, &i.id, &i.tags).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn image_get(&self, id: &str) -> Result<Image, StoreError> {
        // The image and its tags in one read: a row per tag (one with no tag when it has none).
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, image_tags.tag AS tag FROM images LEFT JOIN image_tags ON image_tags.image_id = images.id \
             WHERE images.id = $1 ORDER BY image_tags.tag"
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        let first = rows.first().ok_or(StoreError::NotFound)?;
        let mut i = decode::<Image>(first)?;
        i.tags = rows.iter().map(|r| r.opt_text("tag")).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
        Ok(i)
    }

    /// Every image the query lets the viewer see, oldest first; the service filters, sorts and pages.
    pub async fn image_list(&self, q: &ImageQuery) -> Result<Vec<Image>, StoreError> {
        let rows = match &q.viewer_project {
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM images ORDER BY created_at, id"))
                    .fetch_all(self.reader())
                    .await?
            }
            Some(p) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM images WHERE owner = $1 OR visibility IN ('public', 'community') \
                     OR (visibility = 'shared' AND id IN (SELECT image_id FROM image_members WHERE member_id = $1)) \
                     ORDER BY created_at, id"
                ))
                .bind(p)
                .fetch_all(self.reader())
                .await?
            }
        };
        let mut images = rows.iter().map(decode::<Image>).collect::<Result<Vec<_>, _>>()?;
        let tags = sqlx::query("SELECT image_id, tag FROM image_tags ORDER BY tag").fetch_all(self.reader()).await?;
        let mut by_image: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in &tags {
            by_image.entry(r.text("image_id")?).or_default().push(r.text("tag")?);
        }
        for i in &mut images {
            if let Some(t) = by_image.remove(&i.id) {
                i.tags = t;
            }
        }
        Ok(images)
    }

    /// Writes every mutable column and the tags. With `expect_status`, the write happens only
    /// if the row is still in that status (a compare-and-set for upload/import transitions).
    pub async fn image_update(&self, i: &Image, expect_status: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut sql = Sql::update_all_but("images", i, &["id"], &FIXED)?;
        if let Some(s) = expect_status {
            sql = sql.and_where("status", s);
        }
        if sql.query().execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(match expect_status {
                Some(s) => StoreError::Conflict(format!("image is no longer {s}")),
                None => StoreError::NotFound,
            });
        }
        TAGS.replace(&mut tx, &i.id, &i.tags).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn image_delete(&self, id: &str) -> Result<(), StoreError> {
        found(delete_where(self.pool(), "images", &[("id", id)]).await?)
    }

    /// Bytes of image data a project holds (for its quota).
    pub async fn image_bytes_of(&self, owner: &str) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM images WHERE owner = $1")
            .bind(owner)
            .fetch_one(self.reader())
            .await?;
        Ok(n)
    }

    /// Images left mid-transfer by a crash (`saving`, `uploading`, `importing`).
    pub async fn images_in_status(&self, status: &str) -> Result<Vec<Image>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM images WHERE status = $1"))
            .bind(status)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(decode::<Image>).collect()
    }
}
