//! Custom databases (seed 003 §8): the definition of a database — its typed columns, which are
//! required, which are unique keys, which are searched (indexed) — as the data of a `database`
//! business object; and what is pure about its rows: a row's values checked and put in their
//! canonical form for the columns' types, and the search key of a value (how two values are
//! compared: text without case or accents, numbers as numbers, dates as dates).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::model::FieldError;

/// Bounds of a database.
pub mod limits {
    /// Most columns; longest column name.
    pub const COLUMNS: usize = 50;
    pub const COLUMN_NAME: usize = 64;
    /// Most proposals of a LIST column, and their longest.
    pub const PROPOSALS: usize = 200;
    pub const PROPOSAL: usize = 200;
    /// Longest text value, in characters.
    pub const TEXT: usize = 2_000;
    /// Most rows of one database.
    pub const ROWS: u64 = 1_000_000;
}

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Text,
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    Boolean,
    /// One of the column's proposals.
    List,
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Letters, digits and `_`, not starting with a digit; unique in the database.
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// A row must give it a value.
    #[serde(default)]
    pub required: bool,
    /// No two rows have the same value (compared as searches compare; empty values aside).
    /// A unique column is searched by an index.
    #[serde(default)]
    pub unique: bool,
    /// Searched by an index (the searches of *Fill in the variables from a database* and
    /// *Modify the values of a database* on it do not read every row).
    #[serde(default)]
    pub indexed: bool,
    /// The values a LIST column takes (its proposal list); none for other types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<String>,
}

/// A database definition: the data of a `database` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseData {
    pub columns: Vec<Column>,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::COLUMN_NAME
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Text as searches compare it: trimmed, without case, without accents.
pub fn fold(text: &str) -> String {
    text.trim()
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

impl DatabaseData {
    /// Checks a definition: 1 to [`limits::COLUMNS`] columns named once each, proposals for
    /// LIST columns only (1 to [`limits::PROPOSALS`], distinct as searches compare them).
    pub fn check(&self) -> Result<(), FieldError> {
        if self.columns.is_empty() || self.columns.len() > limits::COLUMNS {
            return Err(bad(format!(
                "a database has 1 to {} columns",
                limits::COLUMNS
            )));
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.columns.iter().enumerate() {
            if !is_name(&c.name) {
                return Err(bad(format!(
                    "columns[{i}]: '{}' is not a column name (letters, digits and _, at most {} characters, not starting with a digit)",
                    c.name,
                    limits::COLUMN_NAME
                )));
            }
            if !names.insert(c.name.to_ascii_lowercase()) {
                return Err(bad(format!("columns[{i}]: '{}' appears twice", c.name)));
            }
            match c.column_type {
                ColumnType::List => {
                    if c.proposals.is_empty() || c.proposals.len() > limits::PROPOSALS {
                        return Err(bad(format!(
                            "columns[{i}]: a LIST column has 1 to {} proposals",
                            limits::PROPOSALS
                        )));
                    }
                    let mut seen = std::collections::HashSet::new();
                    for p in &c.proposals {
                        let n = p.trim().chars().count();
                        if n == 0 || n > limits::PROPOSAL {
                            return Err(bad(format!(
                                "columns[{i}]: a proposal has 1 to {} characters",
                                limits::PROPOSAL
                            )));
                        }
                        if !seen.insert(fold(p)) {
                            return Err(bad(format!(
                                "columns[{i}]: the proposal '{p}' appears twice"
                            )));
                        }
                    }
                }
                _ if !c.proposals.is_empty() => {
                    return Err(bad(format!(
                        "columns[{i}]: only a LIST column has proposals"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A row's values checked for their columns and put in canonical form: text trimmed (at
    /// most [`limits::TEXT`] characters), numbers as JSON numbers (a text holding one is
    /// read), dates as `YYYY-MM-DD`, booleans (`true`/`false`, `yes`/`no`, `1`/`0` read), a
    /// LIST value as its proposal's own spelling. An empty value (null or blank text) is no
    /// value. With `whole`, every required column must have one; a column the database does not
    /// have is refused.
    pub fn check_row(
        &self,
        values: &Map<String, Value>,
        whole: bool,
    ) -> Result<Map<String, Value>, FieldError> {
        let mut out = Map::new();
        for (name, value) in values {
            let Some(column) = self.column(name) else {
                return Err(FieldError {
                    field: "values",
                    message: format!("the database has no column '{name}'"),
                });
            };
            if let Some(v) = canonical(column, value).map_err(|message| FieldError {
                field: "values",
                message: format!("{name}: {message}"),
            })? {
                out.insert(name.clone(), v);
            } else {
                out.insert(name.clone(), Value::Null);
            }
        }
        if whole {
            if let Some(c) = self
                .columns
                .iter()
                .find(|c| c.required && out.get(&c.name).is_none_or(Value::is_null))
            {
                return Err(FieldError {
                    field: "values",
                    message: format!("{} is required", c.name),
                });
            }
            out.retain(|_, v| !v.is_null());
        }
        Ok(out)
    }

    /// How a value of `column` is compared by searches and unique keys (`None`: the value does
    /// not fit the column, so nothing matches it).
    pub fn key(column: &Column, value: &Value) -> Option<String> {
        match canonical(column, value).ok()?? {
            Value::String(s) => Some(match column.column_type {
                ColumnType::Text | ColumnType::List => fold(&s),
                _ => s,
            }),
            Value::Number(n) => Some(
                n.as_f64()
                    .map(|f| format!("{f}"))
                    .unwrap_or_else(|| n.to_string()),
            ),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// A value in its column's canonical form; `Ok(None)` for no value.
fn canonical(column: &Column, value: &Value) -> Result<Option<Value>, String> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    };
    match column.column_type {
        ColumnType::Text => {
            let t = match (value, text) {
                (_, Some(t)) => t,
                (Value::Number(n), None) => n.to_string(),
                (Value::Bool(b), None) => b.to_string(),
                _ => return Err("a text is expected".into()),
            };
            if t.chars().count() > limits::TEXT {
                return Err(format!("a text has at most {} characters", limits::TEXT));
            }
            Ok(Some(Value::String(t)))
        }
        ColumnType::Number => {
            let n = match (value, text) {
                (Value::Number(n), _) => n.as_f64(),
                (_, Some(t)) => t.replace(',', ".").parse::<f64>().ok(),
                _ => None,
            };
            match n
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Ok(Some(Value::Number(n))),
                None => Err("a number is expected".into()),
            }
        }
        ColumnType::Date => {
            let t = text.ok_or("a date (YYYY-MM-DD) is expected")?;
            let d: jiff::civil::Date = t
                .parse()
                .map_err(|_| format!("'{t}' is not a date (YYYY-MM-DD)"))?;
            Ok(Some(Value::String(d.to_string())))
        }
        ColumnType::Boolean => {
            let b = match (
                value,
                text.as_deref().map(str::to_ascii_lowercase).as_deref(),
            ) {
                (Value::Bool(b), _) => *b,
                (_, Some("true" | "yes" | "1")) => true,
                (_, Some("false" | "no" | "0")) => false,
                (Value::Number(n), None) if n.as_f64() == Some(1.0) => true,
                (Value::Number(n), None) if n.as_f64() == Some(0.0) => false,
                _ => return Err("true or false is expected".into()),
            };
            Ok(Some(Value::Bool(b)))
        }
        ColumnType::List => {
            let t = text.ok_or("one of the column's proposals is expected")?;
            let folded = fold(&t);
            column
                .proposals
                .iter()
                .find(|p| fold(p) == folded)
                .map(|p| Some(Value::String(p.clone())))
                .ok_or_else(|| {
                    format!(
                        "'{t}' is none of the proposals ({})",
                        column.proposals.join(", ")
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn orders() -> DatabaseData {
        let d: DatabaseData = serde_json::from_value(json!({"columns": [
            {"name": "number", "type": "number", "required": true, "unique": true},
            {"name": "customer", "type": "text", "indexed": true},
            {"name": "shipped_on", "type": "date"},
            {"name": "paid", "type": "boolean"},
            {"name": "status", "type": "list", "proposals": ["Pending", "Shipped", "Délivré"]}
        ]}))
        .unwrap();
        d.check().unwrap();
        d
    }

    #[test]
    fn rows_are_checked_and_canonical() {
        let d = orders();
        let row = d
            .check_row(
                json!({"number": " 42 ", "customer": "  Ann ", "shipped_on": "2026-06-01", "paid": "yes", "status": "delivre"})
                    .as_object()
                    .unwrap(),
                true,
            )
            .unwrap();
        assert_eq!(
            Value::Object(row),
            json!({"number": 42.0, "customer": "Ann", "shipped_on": "2026-06-01", "paid": true, "status": "Délivré"})
        );
        for (bad, why) in [
            (json!({"customer": "Ann"}), "number is required"),
            (json!({"number": "forty"}), "a number is expected"),
            (
                json!({"number": 1, "shipped_on": "2026-13-01"}),
                "is not a date",
            ),
            (
                json!({"number": 1, "status": "Lost"}),
                "none of the proposals",
            ),
            (json!({"number": 1, "colour": "red"}), "no column 'colour'"),
            (json!({"number": 1, "paid": "perhaps"}), "true or false"),
        ] {
            let e = d.check_row(bad.as_object().unwrap(), true).unwrap_err();
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        // a partial row (a change) needs no required column
        assert!(
            d.check_row(json!({"paid": false}).as_object().unwrap(), false)
                .is_ok()
        );
    }

    #[test]
    fn keys_compare_as_searches_do() {
        let d = orders();
        let c = |n| d.column(n).unwrap();
        assert_eq!(
            DatabaseData::key(c("customer"), &json!(" ÉLODIE ")),
            DatabaseData::key(c("customer"), &json!("elodie"))
        );
        assert_eq!(
            DatabaseData::key(c("number"), &json!("42")),
            DatabaseData::key(c("number"), &json!(42.0))
        );
        assert_eq!(
            DatabaseData::key(c("status"), &json!("SHIPPED")),
            Some("shipped".into())
        );
        assert_eq!(DatabaseData::key(c("number"), &json!("x")), None);
    }

    #[test]
    fn bad_definitions_are_refused() {
        for data in [
            json!({"columns": []}),
            json!({"columns": [{"name": "a", "type": "text"}, {"name": "A", "type": "text"}]}),
            json!({"columns": [{"name": "1a", "type": "text"}]}),
            json!({"columns": [{"name": "s", "type": "list"}]}),
            json!({"columns": [{"name": "s", "type": "list", "proposals": ["a", "A"]}]}),
            json!({"columns": [{"name": "s", "type": "text", "proposals": ["a"]}]}),
        ] {
            let d: DatabaseData = serde_json::from_value(data.clone()).unwrap();
            assert!(d.check().is_err(), "{data}");
        }
    }
}
