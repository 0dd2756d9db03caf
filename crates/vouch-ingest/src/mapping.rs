//! `--map FIELD=COLUMN`: which column of a generic file holds which field.

use std::collections::BTreeMap;

use serde_json::Value;

/// Field → column, from `--map` options. Columns are CSV header names
/// (compared without case) or JSON keys; a JSON column starting with `/` is
/// a JSON pointer into nested objects (`/user/name`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap(BTreeMap<String, String>);

impl FieldMap {
    /// Parses `FIELD=COLUMN` pairs; the column may contain `=` and spaces.
    pub fn parse<S: AsRef<str>>(pairs: &[S]) -> Result<FieldMap, String> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let (field, column) = pair
                .split_once('=')
                .ok_or_else(|| format!("--map {pair:?}: expected FIELD=COLUMN"))?;
            let (field, column) = (field.trim().to_lowercase(), column.trim());
            if field.is_empty() || column.is_empty() {
                return Err(format!("--map {pair:?}: expected FIELD=COLUMN"));
            }
            if map.insert(field.clone(), column.to_owned()).is_some() {
                return Err(format!("--map {field}: given twice"));
            }
        }
        Ok(FieldMap(map))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }

    /// Refuses fields that `allowed` does not list.
    pub fn check(&self, allowed: &[&str], format: &str) -> Result<(), String> {
        match self.fields().find(|f| !allowed.contains(f)) {
            Some(field) => Err(format!(
                "--map {field}: not a field of {format}; its fields are {}",
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    }
}

/// One record of a generic file, looked up by column name.
pub(crate) enum Row<'a> {
    Csv {
        headers: &'a [String],
        fields: &'a [String],
    },
    Json(&'a Value),
}

impl Row<'_> {
    /// The value in `column`, trimmed; `None` when absent, null or empty.
    pub fn get(&self, column: &str) -> Option<String> {
        let value = match self {
            Row::Csv { headers, fields } => headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(column))
                .and_then(|i| fields.get(i))
                .map(|f| f.trim().to_owned()),
            Row::Json(v) => {
                let found = if column.starts_with('/') {
                    v.pointer(column)
                } else {
                    v.get(column)
                };
                match found {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.trim().to_owned()),
                    Some(other) => Some(other.to_string()),
                }
            }
        };
        value.filter(|v| !v.is_empty())
    }

    /// Whether the record has `column`, even empty.
    pub fn has(&self, column: &str) -> bool {
        match self {
            Row::Csv { headers, .. } => headers
                .iter()
                .any(|h| h.trim().eq_ignore_ascii_case(column)),
            Row::Json(v) => v.get(column).is_some(),
        }
    }

    /// `field`'s value: from its mapped column, else from the first of
    /// `usual` columns present. The column used is returned too, for errors.
    pub fn field(
        &self,
        map: &super::FieldMap,
        field: &str,
        usual: &[&str],
    ) -> Option<(String, String)> {
        match map.get(field) {
            Some(column) => self.get(column).map(|v| (v, column.to_owned())),
            None => usual
                .iter()
                .find_map(|c| self.get(c).map(|v| (v, (*c).to_owned()))),
        }
    }

    /// Every column and its value, in file order (JSON: top-level keys).
    pub fn columns(&self) -> Vec<(String, String)> {
        match self {
            Row::Csv { headers, fields } => headers
                .iter()
                .zip(fields.iter())
                .map(|(h, f)| (h.trim().to_owned(), f.trim().to_owned()))
                .filter(|(_, f)| !f.is_empty())
                .collect(),
            Row::Json(Value::Object(map)) => map
                .keys()
                .filter_map(|k| self.get(k).map(|v| (k.clone(), v)))
                .collect(),
            Row::Json(_) => Vec::new(),
        }
    }
}
