//! A row as its type's serde form. A repository's type derives `Serialize` and `Deserialize`
//! with its field names as the table's column names; these functions build its INSERT and
//! UPDATE from it and read it back, so a table's columns are written once, in its type.
//!
//! Written here rather than taken from an ORM: sqlx has a derive for reading a row but none
//! for binding one, and the store's conventions come down to three rules. A boolean is bound
//! as a BIGINT 0 or 1 (`flag` reads it back); a JSON object or list is bound as its text
//! (`json_text` reads it back); a null is written as the literal NULL, because PostgreSQL
//! wants a typed parameter and serde's null has no type.

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, Column, Row, ValueRef};

use crate::StoreError;

/// One statement with its parameters, ready to bind.
pub(crate) struct Sql {
    text: String,
    binds: Vec<Value>,
}

fn columns<T: Serialize>(row: &T) -> Result<Map<String, Value>, StoreError> {
    match serde_json::to_value(row) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(StoreError::Corrupt("a row must serialise to an object".into())),
        Err(e) => Err(StoreError::Corrupt(format!("a row did not serialise: {e}"))),
    }
}

impl Sql {
    /// `INSERT INTO table (every column of row) VALUES (…)`.
    pub(crate) fn insert<T: Serialize>(table: &str, row: &T) -> Result<Self, StoreError> {
        let mut sql = Sql { text: String::new(), binds: Vec::new() };
        let (names, values): (Vec<String>, Vec<String>) =
            columns(row)?.into_iter().map(|(k, v)| (k, sql.param(v))).unzip();
        sql.text = format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "));
        Ok(sql)
    }

    /// `UPDATE table SET (the columns named in set) WHERE (the key columns) = (row's)`.
    pub(crate) fn update<T: Serialize>(table: &str, row: &T, key: &[&str], set: &[&str]) -> Result<Self, StoreError> {
        Self::update_of(table, columns(row)?, key, set)
    }

    /// An UPDATE of every column but the key and those `fixed` once made.
    pub(crate) fn update_all_but<T: Serialize>(
        table: &str,
        row: &T,
        key: &[&str],
        fixed: &[&str],
    ) -> Result<Self, StoreError> {
        let cols = columns(row)?;
        let set: Vec<String> =
            cols.keys().filter(|c| !key.contains(&c.as_str()) && !fixed.contains(&c.as_str())).cloned().collect();
        Self::update_of(table, cols, key, &set.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn update_of(table: &str, mut cols: Map<String, Value>, key: &[&str], set: &[&str]) -> Result<Self, StoreError> {
        let mut take = |c: &str| cols.remove(c).ok_or_else(|| StoreError::Corrupt(format!("{table} has no {c}")));
        let mut sql = Sql { text: String::new(), binds: Vec::new() };
        let assign = |sql: &mut Sql, c: &str, v: Value| format!("{c} = {}", sql.param(v));
        let mut sets = Vec::with_capacity(set.len());
        for c in set {
            let v = take(c)?;
            sets.push(assign(&mut sql, c, v));
        }
        let mut wheres = Vec::with_capacity(key.len());
        for c in key {
            let v = take(c)?;
            wheres.push(assign(&mut sql, c, v));
        }
        sql.text = format!("UPDATE {table} SET {} WHERE {}", sets.join(", "), wheres.join(" AND "));
        Ok(sql)
    }

    /// Adds `AND column = value` to an UPDATE's condition (a compare-and-set).
    pub(crate) fn and_where(mut self, column: &str, value: impl Into<Value>) -> Self {
        let p = self.param(value.into());
        self.text = format!("{} AND {column} = {p}", self.text);
        self
    }

    /// The placeholder for `v`: a numbered parameter, or NULL written out.
    fn param(&mut self, v: Value) -> String {
        if v.is_null() {
            return "NULL".into();
        }
        self.binds.push(v);
        format!("${}", self.binds.len())
    }

    /// The statement with its parameters bound.
    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.binds.iter().fold(sqlx::query(&self.text), |q, v| match v {
            Value::Bool(b) => q.bind(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => q.bind(i),
                None => q.bind(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => q.bind(s.as_str()),
            other => q.bind(other.to_string()),
        })
    }
}

/// A row read into its type through the column values' own kinds.
pub(crate) fn decode<T: DeserializeOwned>(r: &AnyRow) -> Result<T, StoreError> {
    let mut m = Map::with_capacity(r.columns().len());
    for (i, c) in r.columns().iter().enumerate() {
        let kind = r.try_get_raw(i)?.type_info().kind();
        let v = match kind {
            AnyTypeInfoKind::Null => Value::Null,
            AnyTypeInfoKind::Bool => Value::Bool(r.try_get(i)?),
            AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                Value::from(r.try_get::<i64, _>(i)?)
            }
            AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::from(r.try_get::<f64, _>(i)?),
            AnyTypeInfoKind::Text => Value::String(r.try_get(i)?),
            AnyTypeInfoKind::Blob => continue,
        };
        m.insert(c.name().to_string(), v);
    }
    serde_json::from_value(Value::Object(m)).map_err(|e| StoreError::Corrupt(format!("a row did not read back: {e}")))
}

/// `#[serde(deserialize_with = "flag")]`: a boolean kept as a BIGINT 0 or 1.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::Number(n) => Ok(n.as_i64() != Some(0)),
        other => Err(D::Error::custom(format!("not a flag: {other}"))),
    }
}

/// `#[serde(deserialize_with = "json_text")]`: a JSON value kept as its text.
pub(crate) fn json_text<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let raw = String::deserialize(d)?;
    serde_json::from_str(&raw).map_err(D::Error::custom)
}

impl crate::Store {
    /// Inserts `row` into `table`.
    pub(crate) async fn insert<T: Serialize>(&self, table: &str, row: &T) -> Result<(), StoreError> {
        Sql::insert(table, row)?.query().execute(self.pool()).await?;
        Ok(())
    }

    /// Sets the `set` columns of the row of `table` whose `id` is row's; `NotFound` when
    /// there is none.
    pub(crate) async fn update<T: Serialize>(&self, table: &str, row: &T, set: &[&str]) -> Result<(), StoreError> {
        crate::table::found(Sql::update(table, row, &["id"], set)?.query().execute(self.pool()).await?)
    }
}

/// `#[serde(with = "empty_none")]`: an optional text kept as '' when absent, where the
/// column is part of a unique key (NULLs would never collide).
pub(crate) mod empty_none {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_deref().unwrap_or_default())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Some(String::deserialize(d)?).filter(|v| !v.is_empty()))
    }
}
