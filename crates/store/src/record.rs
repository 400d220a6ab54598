//! A row as its type's serde form. A row's type (a `Record`: core's resource types are
//! records) derives `Serialize` and `Deserialize` with its field names as the table's column
//! names; these functions build its INSERT and UPDATE from it and read it back, so a table's
//! columns are written once, in its type, and the store needs no copy of that type.
//!
//! Written here rather than taken from an ORM: sqlx has a derive for reading a row but none
//! for binding one, and the store's conventions come down to three rules. A boolean is bound
//! as a BIGINT 0 or 1; a JSON object or list is bound as its text; a null is written as the
//! literal NULL, because PostgreSQL wants a typed parameter and serde's null has no type.
//! Reading undoes the first two by what each field asks for (`Cell`), so a type carries no
//! store attribute.

use serde::de::value::MapDeserializer;
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::Serialize;
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

pub(crate) fn columns<T: Serialize>(row: &T) -> Result<Map<String, Value>, StoreError> {
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

    /// `head table WHERE` each column of row equals row's value: `head` is "DELETE FROM" or
    /// "SELECT COUNT(*) FROM", for a table whose whole row is its identity.
    pub(crate) fn matching<T: Serialize>(head: &str, table: &str, row: &T) -> Result<Self, StoreError> {
        let mut sql = Sql { text: String::new(), binds: Vec::new() };
        let conds: Vec<String> = columns(row)?.into_iter().map(|(c, v)| format!("{c} = {}", sql.param(v))).collect();
        sql.text = format!("{head} {table} WHERE {}", conds.join(" AND "));
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

/// A type the store keeps as a row: its serde form names the table's columns. Core's
/// resource types are rows as they are, so the store holds no copy of them and needs nothing
/// from them but their field names.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {}
impl<T: Serialize + DeserializeOwned + Send + Sync> Record for T {}

/// A row's columns by name, each as the JSON value of its own kind (a BLOB is left out).
pub(crate) fn cells(r: &AnyRow) -> Result<Map<String, Value>, StoreError> {
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
    Ok(m)
}

/// A row's columns read into its type; each field takes its column as the field asks (see
/// `Cell`), so a type needs no attribute to be a row.
pub(crate) fn read<T: DeserializeOwned>(cells: Map<String, Value>) -> Result<T, StoreError> {
    T::deserialize(MapDeserializer::new(cells.into_iter().map(|(k, v)| (k, Cell(v)))))
        .map_err(|e| StoreError::Corrupt(format!("a row did not read back: {e}")))
}

/// A row read into its type.
pub(crate) fn decode<T: DeserializeOwned>(r: &AnyRow) -> Result<T, StoreError> {
    read(cells(r)?)
}

/// One column's value, read as its field asks: a BIGINT 0 or 1 as a bool, a text as the JSON
/// object or list it holds; anything else as it is. These undo the two conventions of binding.
struct Cell(Value);

impl Cell {
    fn parsed(self) -> Result<Value, serde_json::Error> {
        match self.0 {
            Value::String(s) => serde_json::from_str(&s),
            other => Ok(other),
        }
    }
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Cell {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Cell {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Number(n) => v.visit_bool(n.as_i64() != Some(0)),
            other => other.deserialize_bool(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => v.visit_none(),
            other => v.visit_some(Cell(other)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.parsed()?.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.parsed()?.deserialize_map(v)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.parsed()?.deserialize_struct(name, fields, v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier ignored_any
    }
}

/// Where a table keeps an optional text as '' rather than NULL (it is part of a unique key,
/// and NULLs never collide): the row's `None` is written as '' and '' is read back as `None`.
pub(crate) fn blank_for_null(cols: &mut Map<String, Value>, column: &str) {
    if let Some(v @ Value::Null) = cols.get_mut(column) {
        *v = Value::String(String::new());
    }
}

pub(crate) fn null_for_blank(cols: &mut Map<String, Value>, column: &str) {
    if cols.get(column).and_then(Value::as_str) == Some("") {
        cols.insert(column.into(), Value::Null);
    }
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
