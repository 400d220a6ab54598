//! What every table's repository does the same way, written once: read a row by a column
//! or rows by a query, check that a change found its row, delete a row after the rows that
//! refer to it (refusing while rows it must not lose still point at it), and add or remove a
//! row of an association table. Each repository file keeps only what is its own: its
//! columns, its decoder and its writes.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Executor, Row, Transaction};

use crate::record::{cells, columns, read, Sql};
use crate::{Store, StoreError};

/// A row's columns by name.
pub(crate) type Cells = serde_json::Map<String, Value>;

/// How a repository turns a row into its type.
pub(crate) type Decode<T> = fn(&AnyRow) -> Result<T, StoreError>;

/// An association table of two id columns.
pub(crate) struct Link {
    pub table: &'static str,
    pub left: &'static str,
    pub right: &'static str,
}

/// A delete refused while `count` (an SQL count binding the id as `$1`) is above zero; the
/// conflict's message is `message` with `{n}` replaced by the count.
pub(crate) struct Guard {
    pub count: &'static str,
    pub message: &'static str,
}

/// A table of values that belong to another table's rows (`project_tags`, `image_tags`,
/// `application_credential_roles`): the owner's id column and the value's, and the field of
/// the owner's record that holds them (not a column of the owner's table).
pub(crate) struct Values {
    pub table: &'static str,
    pub owner: &'static str,
    pub value: &'static str,
    pub field: &'static str,
}

impl Values {
    /// Adds `values` to row `id`, inside the write's transaction.
    pub(crate) async fn add(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        values: &[String],
    ) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO {} ({}, {}) VALUES ($1, $2)", self.table, self.owner, self.value);
        for v in values {
            sqlx::query(&sql).bind(id).bind(v).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Makes `values` the whole set of row `id`'s.
    pub(crate) async fn replace(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        values: &[String],
    ) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE {} = $1", self.table, self.owner);
        sqlx::query(&sql).bind(id).execute(&mut **tx).await?;
        self.add(tx, id, values).await
    }

    /// A record's columns split into its table's row, its id and these values.
    pub(crate) fn split<T: Serialize>(&self, row: &T) -> Result<(Cells, String, Vec<String>), StoreError> {
        let mut cols = columns(row)?;
        let values = match cols.remove(self.field) {
            Some(v) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.field)))?,
            None => Vec::new(),
        };
        let id = cols.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        Ok((cols, id, values))
    }

    /// The values of each owner, by its id.
    pub(crate) async fn by_owner(&self, store: &Store) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let sql = format!("SELECT {}, {} FROM {} ORDER BY {}", self.owner, self.value, self.table, self.value);
        let mut by: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query(&sql).fetch_all(store.reader()).await? {
            by.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        Ok(by)
    }

    /// Row `id`'s values.
    pub(crate) async fn of(&self, store: &Store, id: &str) -> Result<Vec<String>, StoreError> {
        let sql =
            format!("SELECT {} FROM {} WHERE {} = $1 ORDER BY {}", self.value, self.table, self.owner, self.value);
        Ok(sqlx::query_scalar(&sql).bind(id).fetch_all(store.reader()).await?)
    }

    /// Puts the values back into a row's columns as the record's field.
    pub(crate) fn put(&self, cols: &mut Cells, values: Vec<String>) {
        cols.insert(self.field.into(), Value::from(values));
    }
}

impl Store {
    /// Inserts a record whose values live in `values`' table, in one transaction.
    pub(crate) async fn insert_with<T: Serialize>(
        &self,
        table: &str,
        row: &T,
        values: &Values,
    ) -> Result<(), StoreError> {
        let (cols, id, vals) = values.split(row)?;
        let mut tx = self.pool().begin().await?;
        Sql::insert(table, &cols)?.query().execute(&mut *tx).await?;
        values.add(&mut tx, &id, &vals).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes `update` (built from the record's row) and replaces its values, in one
    /// transaction; `none` is the error when the update touched no row.
    pub(crate) async fn update_with<T: Serialize>(
        &self,
        row: &T,
        values: &Values,
        update: impl FnOnce(&Cells) -> Result<Sql, StoreError>,
        none: StoreError,
    ) -> Result<(), StoreError> {
        let (cols, id, vals) = values.split(row)?;
        let sql = update(&cols)?;
        let mut tx = self.pool().begin().await?;
        if sql.query().execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(none);
        }
        values.replace(&mut tx, &id, &vals).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The record in row `id` of `table`, with its values.
    pub(crate) async fn get_with<T: DeserializeOwned>(
        &self,
        table: &str,
        id: &str,
        values: &Values,
    ) -> Result<T, StoreError> {
        let mut cols = self.row_where(table, "id", id, cells).await?;
        values.put(&mut cols, values.of(self, id).await?);
        read(cols)
    }

    /// Every record `sql` selects, each with its values.
    pub(crate) async fn list_with<T: DeserializeOwned>(
        &self,
        sql: &str,
        values: &Values,
    ) -> Result<Vec<T>, StoreError> {
        let rows = sqlx::query(sql).fetch_all(self.reader()).await?;
        with_values(&rows, values.by_owner(self).await?, values)
    }
}

/// Rows read into records, each given its owner's values from `by`.
pub(crate) fn with_values<T: DeserializeOwned>(
    rows: &[AnyRow],
    mut by: HashMap<String, Vec<String>>,
    values: &Values,
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|r| {
            let mut cols = cells(r)?;
            let id = cols.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            values.put(&mut cols, by.remove(&id).unwrap_or_default());
            read(cols)
        })
        .collect()
}

/// `NotFound` when a write touched no row.
pub(crate) fn found(done: AnyQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Equalities on text columns that pick rows: `&[("image_id", id), ("store", store)]`.
pub(crate) type Eq<'a> = [(&'a str, &'a str)];

/// `SELECT * FROM table WHERE …` (the columns of `eq`), ordered by `order` unless empty.
fn select(table: &str, eq: &Eq<'_>, order: &str) -> String {
    let order = if order.is_empty() { String::new() } else { format!(" ORDER BY {order}") };
    format!("SELECT * FROM {table} WHERE {}{order}", condition(eq))
}

fn condition(eq: &Eq<'_>) -> String {
    eq.iter().enumerate().map(|(i, (c, _))| format!("{c} = ${}", i + 1)).collect::<Vec<_>>().join(" AND ")
}

fn bound<'q>(sql: &'q str, eq: &'q Eq<'q>) -> Query<'q, Any, AnyArguments<'q>> {
    eq.iter().fold(sqlx::query(sql), |q, (_, v)| q.bind(*v))
}

/// Deletes the rows of `table` that `eq` picks, on a pool or inside a transaction.
pub(crate) async fn delete_where<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    table: &str,
    eq: &Eq<'_>,
) -> Result<AnyQueryResult, StoreError> {
    let sql = format!("DELETE FROM {table} WHERE {}", condition(eq));
    Ok(bound(&sql, eq).execute(ex).await?)
}

impl Store {
    /// Every row of `table` that `eq` picks, ordered by `order` ("" for any order).
    pub(crate) async fn rows_where<T>(
        &self,
        table: &str,
        eq: &Eq<'_>,
        order: &str,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StoreError> {
        let sql = select(table, eq, order);
        bound(&sql, eq).fetch_all(self.reader()).await?.iter().map(decode).collect()
    }

    /// The one row of `table` that `eq` picks; `NotFound` when there is none.
    pub(crate) async fn one_where<T>(&self, table: &str, eq: &Eq<'_>, decode: Decode<T>) -> Result<T, StoreError> {
        let sql = select(table, eq, "");
        decode(&bound(&sql, eq).fetch_one(self.reader()).await?)
    }

    /// The one row of `table` whose `column` is `value`.
    pub(crate) async fn row_where<T>(
        &self,
        table: &str,
        column: &str,
        value: &str,
        decode: Decode<T>,
    ) -> Result<T, StoreError> {
        self.one_where(table, &[(column, value)], decode).await
    }

    /// Every row `sql` (a query without parameters) selects.
    pub(crate) async fn rows<T>(&self, sql: &str, decode: Decode<T>) -> Result<Vec<T>, StoreError> {
        sqlx::query(sql).fetch_all(self.reader()).await?.iter().map(decode).collect()
    }

    /// Deletes row `id` of `table` in one transaction: refused while a guard counts rows,
    /// after the statements of `first` (each binding the id as `$1`) remove what refers to
    /// it; `NotFound` when there is no such row.
    pub(crate) async fn delete_row(
        &self,
        table: &str,
        id: &str,
        guards: &[Guard],
        first: &[&str],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for g in guards {
            let n: i64 = sqlx::query_scalar(g.count).bind(id).fetch_one(&mut *tx).await?;
            if n > 0 {
                return Err(StoreError::Conflict(g.message.replace("{n}", &n.to_string())));
            }
        }
        for sql in first {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        found(sqlx::query(&format!("DELETE FROM {table} WHERE id = $1")).bind(id).execute(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds the pair to an association table; one already there is no error.
    pub(crate) async fn link(&self, l: &Link, left: &str, right: &str) -> Result<(), StoreError> {
        let (t, a, b) = (l.table, l.left, l.right);
        let present: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t} WHERE {a} = $1 AND {b} = $2"))
            .bind(left)
            .bind(right)
            .fetch_one(self.reader())
            .await?;
        if present == 0 {
            sqlx::query(&format!("INSERT INTO {t} ({a}, {b}) VALUES ($1, $2)"))
                .bind(left)
                .bind(right)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Removes the pair from an association table; `NotFound` when it was not there.
    pub(crate) async fn unlink(&self, l: &Link, left: &str, right: &str) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE {} = $1 AND {} = $2", l.table, l.left, l.right);
        found(sqlx::query(&sql).bind(left).bind(right).execute(self.pool()).await?)
    }
}
