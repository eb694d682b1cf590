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

/// The search key of one of a row's values, kept beside the row for an indexed or unique
/// column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub column: String,
    pub key: String,
    /// No two rows of the database have it in this column.
    pub unique: bool,
}

/// What one search assertion wants of a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// The value with this key.
    Key(String),
    /// No value (the assertion's value is empty).
    Empty,
    /// Nothing can match: the value does not fit the column (a word for a number).
    Nothing,
}

/// One assertion of a search, its column found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub column: String,
    pub want: Want,
    /// The column is searched by an index (indexed or unique), and which one.
    pub indexed: bool,
    pub unique: bool,
}

/// A search: assertions that must all hold (AND) or one of which must (OR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub terms: Vec<Term>,
    pub any: bool,
}

impl Search {
    /// Whether a row's values meet the search.
    pub fn matches(&self, def: &DatabaseData, values: &Map<String, Value>) -> bool {
        let holds = |t: &Term| {
            let value = values.get(&t.column).filter(|v| !v.is_null());
            match (&t.want, value) {
                (Want::Empty, v) => v.is_none(),
                (Want::Nothing, _) | (Want::Key(_), None) => false,
                (Want::Key(k), Some(v)) => def
                    .column(&t.column)
                    .and_then(|c| DatabaseData::key(c, v))
                    .is_some_and(|have| have == *k),
            }
        };
        if self.any {
            self.terms.iter().any(holds)
        } else {
            self.terms.iter().all(holds)
        }
    }

    /// The index lookups that find every row the search can match, when there are: for AND,
    /// one assertion on an indexed column (a unique one first); for OR, one per assertion when
    /// all are on indexed columns. `None`: every row must be read. An assertion that matches
    /// nothing needs no lookup (so an AND holding one finds nothing: `Some(vec![])`).
    pub fn lookups(&self) -> Option<Vec<(&str, &str, bool)>> {
        if self.any {
            let mut all = Vec::new();
            for t in &self.terms {
                match &t.want {
                    Want::Nothing => {}
                    Want::Key(k) if t.indexed => {
                        all.push((t.column.as_str(), k.as_str(), t.unique))
                    }
                    _ => return None,
                }
            }
            Some(all)
        } else {
            if self.terms.iter().any(|t| t.want == Want::Nothing) {
                return Some(Vec::new());
            }
            let mut best: Option<&Term> = None;
            for t in &self.terms {
                if matches!(t.want, Want::Key(_))
                    && t.indexed
                    && best.is_none_or(|b| !b.unique && t.unique)
                {
                    best = Some(t);
                }
            }
            let t = best?;
            match &t.want {
                Want::Key(k) => Some(vec![(t.column.as_str(), k.as_str(), t.unique)]),
                _ => None,
            }
        }
    }
}

impl DatabaseData {
    /// A search of `(column, value)` assertions (values as rendered); `Err` names the columns
    /// the database does not have.
    pub fn search(
        &self,
        assertions: &[(String, String)],
        any: bool,
    ) -> Result<Search, Vec<String>> {
        let mut unknown = Vec::new();
        let mut terms = Vec::new();
        for (name, value) in assertions {
            let Some(c) = self.column(name) else {
                unknown.push(name.clone());
                continue;
            };
            let want = if value.trim().is_empty() {
                Want::Empty
            } else {
                match DatabaseData::key(c, &Value::String(value.clone())) {
                    Some(k) => Want::Key(k),
                    None => Want::Nothing,
                }
            };
            terms.push(Term {
                column: c.name.clone(),
                want,
                indexed: c.indexed || c.unique,
                unique: c.unique,
            });
        }
        if unknown.is_empty() {
            Ok(Search { terms, any })
        } else {
            Err(unknown)
        }
    }

    /// The keys kept beside a row: one for each value of an indexed or unique column.
    pub fn keys(&self, values: &Map<String, Value>) -> Vec<Key> {
        self.columns
            .iter()
            .filter(|c| c.indexed || c.unique)
            .filter_map(|c| {
                let v = values.get(&c.name)?;
                Some(Key {
                    column: c.name.clone(),
                    key: DatabaseData::key(c, v)?,
                    unique: c.unique,
                })
            })
            .collect()
    }

    /// A row's values after a change (a partial row checked by [`Self::check_row`]: a null
    /// removes a value); `Ok(None)` when nothing changes. A required column cannot lose its
    /// value.
    pub fn apply(
        &self,
        values: &Map<String, Value>,
        change: &Map<String, Value>,
    ) -> Result<Option<Map<String, Value>>, FieldError> {
        let mut next = values.clone();
        for (name, v) in change {
            if v.is_null() {
                if self.column(name).is_some_and(|c| c.required) {
                    return Err(FieldError {
                        field: "values",
                        message: format!("{name} is required"),
                    });
                }
                next.remove(name);
            } else {
                next.insert(name.clone(), v.clone());
            }
        }
        Ok((next != *values).then_some(next))
    }

    /// A row written for a new definition: values of removed columns dropped, the others
    /// converted to their new types, required columns present; `Err` says why it cannot be.
    pub fn reshape(
        &self,
        values: &Map<String, Value>,
    ) -> Result<(Map<String, Value>, Vec<Key>), String> {
        let kept: Map<String, Value> = values
            .iter()
            .filter(|(k, _)| self.column(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let row = self.check_row(&kept, true).map_err(|e| e.message)?;
        let keys = self.keys(&row);
        Ok((row, keys))
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
            // a whole number is kept as one (`42`, not `42.0`), exactly when a float holds it
            let whole = |f: f64| {
                (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
                    .then(|| serde_json::Number::from(f as i64))
            };
            match n
                .filter(|f| f.is_finite())
                .and_then(|f| whole(f).or_else(|| serde_json::Number::from_f64(f)))
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
            json!({"number": 42, "customer": "Ann", "shipped_on": "2026-06-01", "paid": true, "status": "Délivré"})
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
