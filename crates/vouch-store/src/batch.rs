//! Multi-row inserts, the one way rows are written in bulk on both backends.
//!
//! SQL text here is assembled only from table and column names that are
//! constants in this crate; every value travels as a bound parameter. That is
//! what makes the `AssertSqlSafe` wrappers in this crate true.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::Backend;

/// A value bound to a statement parameter; the same on both backends.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    /// Shared, so binding it copies no text (review bodies are most of the
    /// bytes a bulk import binds).
    Text(Option<Arc<str>>),
    Time(Option<DateTime<Utc>>),
    Json(Box<serde_json::value::RawValue>),
}

impl Value {
    /// JSON, serialised once here: binding then copies text, not a tree.
    pub(crate) fn json(value: &impl serde::Serialize) -> Value {
        Value::Json(
            serde_json::value::to_raw_value(value)
                .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        )
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        Value::Real(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v.into()))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.into()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v.map(Arc::from))
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(Arc::from))
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Value {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Value::Time(v)
    }
}

/// SQLite allows 32,766 parameters a statement, PostgreSQL 65,535; stay under both.
const MAX_PARAMETERS: usize = 30_000;
const MAX_ROWS: usize = 1_000;

/// One multi-row insert: its SQL and the rows whose values it binds.
pub(crate) struct InsertStatement<'a> {
    pub sql: String,
    pub rows: &'a [Vec<Value>],
    /// A full chunk's SQL is the same text every time, so it is worth
    /// keeping prepared: parsing its thousands of placeholders again was a
    /// sixth of a bulk import's writing. Tail chunks of every size would
    /// only pile up large cached programs.
    pub reusable: bool,
}

/// `INSERT INTO table (columns) VALUES ($1, …), (…) <suffix>` for each chunk
/// of rows that fits the parameter limit.
///
/// SQLite gets anonymous `?` placeholders: it treats `$N` as named
/// parameters and resolves each name by a linear search, which makes a
/// statement with thousands of them quadratic to prepare and bind.
pub(crate) fn insert_statements<'a>(
    backend: Backend,
    table: &str,
    columns: &[&str],
    suffix: &str,
    rows: &'a [Vec<Value>],
) -> Vec<InsertStatement<'a>> {
    let per_chunk = (MAX_PARAMETERS / columns.len().max(1)).clamp(1, MAX_ROWS);
    rows.chunks(per_chunk)
        .map(|chunk| {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..columns.len() {
                    n += 1;
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    match backend {
                        Backend::Sqlite => sql.push('?'),
                        Backend::Postgres => {
                            sql.push('$');
                            sql.push_str(&n.to_string());
                        }
                    }
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(suffix);
            InsertStatement {
                sql,
                rows: chunk,
                reusable: chunk.len() == per_chunk,
            }
        })
        .collect()
}

/// `count` placeholders numbered from `first` (`$3, $4` or `?, ?`), for an
/// `IN (…)` list; see `insert_statements` for why SQLite gets `?`.
pub(crate) fn placeholders(backend: Backend, first: usize, count: usize) -> String {
    let one = |n: usize| match backend {
        Backend::Sqlite => "?".to_owned(),
        Backend::Postgres => format!("${n}"),
    };
    (first..first + count)
        .map(one)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parameterised SQL query under construction: values are only ever
/// bound, never spliced into the text.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub values: Vec<Value>,
}

impl Sql {
    /// Appends a placeholder for `value` and returns it (`$3`).
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    pub fn bind_list<T: Into<Value> + Clone>(&mut self, items: &[T]) -> String {
        let placeholders: Vec<String> = items.iter().map(|i| self.bind(i.clone())).collect();
        placeholders.join(", ")
    }
}

/// Binds `Value`s to a query on whichever backend it was built for.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                $crate::batch::Value::Int(v) => query.bind(*v),
                $crate::batch::Value::Real(v) => query.bind(*v),
                $crate::batch::Value::Text(v) => query.bind(v.clone()),
                $crate::batch::Value::Time(v) => query.bind(*v),
                $crate::batch::Value::Json(v) => query.bind(sqlx::types::Json(v.clone())),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_parameters_and_split_chunks() {
        let rows: Vec<Vec<Value>> = (0..2500)
            .map(|i| vec![Value::from(i as i64), Value::from("x")])
            .collect();
        let statements =
            insert_statements(Backend::Postgres, "t", &["a", "b"], "RETURNING id", &rows);
        assert_eq!(statements.len(), 3);
        assert!(
            statements[0]
                .sql
                .starts_with("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)")
        );
        assert!(statements[2].sql.ends_with("($999, $1000) RETURNING id"));
        assert_eq!(statements[2].rows.len(), 500);
        assert!(statements[0].reusable && !statements[2].reusable);
        let sqlite = insert_statements(Backend::Sqlite, "t", &["a", "b"], "", &rows[..2]);
        assert_eq!(sqlite[0].sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ");
    }
}
