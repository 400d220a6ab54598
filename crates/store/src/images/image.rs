use sqlx::any::AnyRow;

use crate::table::found;
use crate::{extra_text, flag, Extra, RowExt, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub owner: String,
    pub status: String,
    pub visibility: String,
    pub protected: bool,
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
    pub properties: Extra,
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

fn decode(r: &AnyRow) -> Result<Image, StoreError> {
    Ok(Image {
        id: r.text("id")?,
        name: r.opt_text("name")?,
        owner: r.text("owner")?,
        status: r.text("status")?,
        visibility: r.text("visibility")?,
        protected: r.boolean("protected")?,
        os_hidden: r.boolean("os_hidden")?,
        checksum: r.opt_text("checksum")?,
        os_hash_algo: r.opt_text("os_hash_algo")?,
        os_hash_value: r.opt_text("os_hash_value")?,
        size: r.opt_int("size")?,
        virtual_size: r.opt_int("virtual_size")?,
        min_disk: r.int("min_disk")?,
        min_ram: r.int("min_ram")?,
        container_format: r.opt_text("container_format")?,
        disk_format: r.opt_text("disk_format")?,
        properties: r.json("properties")?,
        tags: Vec::new(),
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

const COLUMNS: &str = "id, name, owner, status, visibility, protected, os_hidden, checksum, os_hash_algo, \
    os_hash_value, size, virtual_size, min_disk, min_ram, container_format, disk_format, properties, created_at, updated_at";

impl Store {
    pub async fn image_create(&self, i: &Image) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO images ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.owner)
        .bind(&i.status)
        .bind(&i.visibility)
        .bind(flag(i.protected))
        .bind(flag(i.os_hidden))
        .bind(&i.checksum)
        .bind(&i.os_hash_algo)
        .bind(&i.os_hash_value)
        .bind(i.size)
        .bind(i.virtual_size)
        .bind(i.min_disk)
        .bind(i.min_ram)
        .bind(&i.container_format)
        .bind(&i.disk_format)
        .bind(extra_text(&i.properties))
        .bind(i.created_at)
        .bind(i.updated_at)
        .execute(&mut *tx)
        .await?;
        for t in &i.tags {
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
                .bind(&i.id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
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
        let mut i = decode(first)?;
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
        let mut images = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
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
        let sql = "UPDATE images SET name = $2, status = $3, visibility = $4, protected = $5, os_hidden = $6, \
             checksum = $7, os_hash_algo = $8, os_hash_value = $9, size = $10, virtual_size = $11, min_disk = $12, \
             min_ram = $13, container_format = $14, disk_format = $15, properties = $16, updated_at = $17 \
             WHERE id = $1 AND ($18 = '' OR status = $18)";
        let done = sqlx::query(sql)
            .bind(&i.id)
            .bind(&i.name)
            .bind(&i.status)
            .bind(&i.visibility)
            .bind(flag(i.protected))
            .bind(flag(i.os_hidden))
            .bind(&i.checksum)
            .bind(&i.os_hash_algo)
            .bind(&i.os_hash_value)
            .bind(i.size)
            .bind(i.virtual_size)
            .bind(i.min_disk)
            .bind(i.min_ram)
            .bind(&i.container_format)
            .bind(&i.disk_format)
            .bind(extra_text(&i.properties))
            .bind(i.updated_at)
            .bind(expect_status.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(match expect_status {
                Some(s) => StoreError::Conflict(format!("image is no longer {s}")),
                None => StoreError::NotFound,
            });
        }
        sqlx::query("DELETE FROM image_tags WHERE image_id = $1").bind(&i.id).execute(&mut *tx).await?;
        for t in &i.tags {
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
                .bind(&i.id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn image_delete(&self, id: &str) -> Result<(), StoreError> {
        found(sqlx::query("DELETE FROM images WHERE id = $1").bind(id).execute(self.pool()).await?)
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
        rows.iter().map(decode).collect()
    }
}
