use crate::record::{cells, read, Record, Sql};
use crate::table::{delete_where, found, with_values, Values};
use crate::{Store, StoreError};

/// Which rows a caller may see: its own project's, public and community ones, and the
/// shared ones it is a member of. `None` means everything (admin).
#[derive(Debug, Clone, Default)]
pub struct ImageQuery {
    pub viewer_project: Option<String>,
}

/// An image's tags, its record's `tags`.
const TAGS: Values = Values { table: "image_tags", owner: "image_id", value: "tag", field: "tags" };

/// What an update leaves as it was made.
const FIXED: [&str; 2] = ["owner", "created_at"];

const COLUMNS: &str = "id, name, owner, status, visibility, protected, os_hidden, checksum, os_hash_algo, \
    os_hash_value, size, virtual_size, min_disk, min_ram, container_format, disk_format, properties, created_at, updated_at";

impl Store {
    pub async fn image_create<I: Record>(&self, i: &I) -> Result<(), StoreError> {
        self.insert_with("images", i, &TAGS).await
    }

    pub async fn image_get<I: Record>(&self, id: &str) -> Result<I, StoreError> {
        // The image and its tags in one read: a row per tag (one with no tag when it has none).
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, image_tags.tag AS tag FROM images LEFT JOIN image_tags ON image_tags.image_id = images.id \
             WHERE images.id = $1 ORDER BY image_tags.tag"
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        let mut tags = Vec::with_capacity(rows.len());
        let mut image = None;
        for r in &rows {
            let mut cols = cells(r)?;
            if let Some(serde_json::Value::String(t)) = cols.remove("tag") {
                tags.push(t);
            }
            image.get_or_insert(cols);
        }
        let mut cols = image.ok_or(StoreError::NotFound)?;
        TAGS.put(&mut cols, tags);
        read(cols)
    }

    /// Every image the query lets the viewer see, oldest first; the service filters, sorts and pages.
    pub async fn image_list<I: Record>(&self, q: &ImageQuery) -> Result<Vec<I>, StoreError> {
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
        with_values(&rows, TAGS.by_owner(self).await?, &TAGS)
    }

    /// Writes every mutable column and the tags. With `expect_status`, the write happens only
    /// if the row is still in that status (a compare-and-set for upload/import transitions).
    pub async fn image_update<I: Record>(&self, i: &I, expect_status: Option<&str>) -> Result<(), StoreError> {
        let update = |row: &_| {
            let sql = Sql::update_all_but("images", row, &["id"], &FIXED)?;
            Ok(match expect_status {
                Some(s) => sql.and_where("status", s),
                None => sql,
            })
        };
        let none = match expect_status {
            Some(s) => StoreError::Conflict(format!("image is no longer {s}")),
            None => StoreError::NotFound,
        };
        self.update_with(i, &TAGS, update, none).await
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

    /// Images left mid-transfer by a crash (`saving`, `uploading`, `importing`), with their tags.
    pub async fn images_in_status<I: Record>(&self, status: &str) -> Result<Vec<I>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM images WHERE status = $1"))
            .bind(status)
            .fetch_all(self.reader())
            .await?;
        with_values(&rows, TAGS.by_owner(self).await?, &TAGS)
    }
}
