//! What the three database actions share: the checks of their columns against the database's
//! definition at compile time, and how their parameters become a request.

use super::prelude::*;
use crate::database::{ColumnType, DatabaseData};

/// The definition a database action names, when the compile knows it.
pub fn definition(
    data: &dyn Fn(&ObjectRef) -> Option<Value>,
    database: &Of<kind::Database>,
) -> Option<DatabaseData> {
    data(&ObjectRef::of(database, "database")).and_then(|d| serde_json::from_value(d).ok())
}

fn names(def: &DatabaseData) -> String {
    def.columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Issues of `(column, value)` pairs at `path`: a column the database lacks, and a written
/// value (no `{{ }}`) that does not fit its column (a LIST value none of the proposals).
pub fn check_values(
    def: &DatabaseData,
    path: &str,
    values: &[ColumnValue],
    issues: &mut Vec<ParamIssue>,
) {
    for (i, f) in values.iter().enumerate() {
        let Some(column) = def.column(&f.field.0) else {
            issues.push(ParamIssue::new(
                format!("{path}[{i}].field"),
                format!(
                    "the database has no column '{}' (it has: {})",
                    f.field.0,
                    names(def)
                ),
            ));
            continue;
        };
        let text = &f.value.0;
        if text.contains("{{") || text.trim().is_empty() {
            continue;
        }
        if DatabaseData::key(column, &Value::String(text.clone())).is_none() {
            let what = match column.column_type {
                ColumnType::List => format!("one of {}", column.proposals.join(", ")),
                ColumnType::Number => "a number".into(),
                ColumnType::Date => "a date (YYYY-MM-DD)".into(),
                ColumnType::Boolean => "true or false".into(),
                ColumnType::Text => "a text".into(),
            };
            issues.push(ParamIssue::new(
                format!("{path}[{i}].value"),
                format!(
                    "'{text}' does not fit the column {} ({what} is expected)",
                    column.name
                ),
            ));
        }
    }
}

/// Issues of columns read at `path` that the database lacks.
pub fn check_columns(
    def: &DatabaseData,
    path: &str,
    columns: &[ColumnToVariable],
    issues: &mut Vec<ParamIssue>,
) {
    for (i, f) in columns.iter().enumerate() {
        if def.column(&f.field.0).is_none() {
            issues.push(ParamIssue::new(
                format!("{path}[{i}].field"),
                format!(
                    "the database has no column '{}' (it has: {})",
                    f.field.0,
                    names(def)
                ),
            ));
        }
    }
}

/// A search on columns without index reads every row: said, so that the designer can index
/// them.
pub fn check_indexed(
    def: &DatabaseData,
    path: &str,
    assertions: &[ColumnValue],
    any: bool,
    issues: &mut Vec<ParamIssue>,
) {
    let indexed = |f: &ColumnValue| {
        def.column(&f.field.0)
            .is_some_and(|c| c.indexed || c.unique)
    };
    let slow = if any {
        assertions
            .iter()
            .any(|f| def.column(&f.field.0).is_some() && !indexed(f))
    } else {
        !assertions.iter().any(indexed)
    };
    if slow && !assertions.is_empty() {
        issues.push(ParamIssue::new(
            path,
            "no searched column is indexed: each search reads every row of the database (mark the column indexed or unique)",
        ));
    }
}

/// The rendered `(column, value)` pairs.
pub fn rendered(cx: &dyn Cx, values: &[ColumnValue]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|f| (f.field.0.clone(), cx.render(&f.value.0)))
        .collect()
}

/// The outcome a database action resumes with.
pub fn outcome<'a>(wake: Wake<'a>) -> Option<&'a DatabaseOutcome> {
    match wake {
        Wake::Result(EffectResult::Database(outcome)) => Some(outcome),
        _ => None,
    }
}
