//! Cases (seed 003 §5.1–5.4): what a case type declares — its fields, typed as a custom
//! database's columns are, and the statuses a case of the type goes through — as the data of a
//! `case_type` business object; a case's values checked against it; and the view of a case the
//! routing reads (the system variable `case`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::database::{Column, DatabaseData};
use crate::model::FieldError;

/// Bounds of case types and cases.
pub mod limits {
    /// Most fields of a case type.
    pub const FIELDS: usize = 50;
    /// Most statuses of a case type, and their longest name.
    pub const STATUSES: usize = 20;
    pub const STATUS: usize = 64;
    /// Longest title of a case, in characters.
    pub const TITLE: usize = 500;
    /// Longest reference of a case.
    pub const REFERENCE: usize = 64;
    /// Most interactions linked to one case (each association adds one).
    pub const LINKS: u64 = 10_000;
    /// Most cases a deployment creates.
    pub const CASES: u64 = 10_000_000;
    /// How many of a customer's latest cases *Associate the interaction with a case* looks at
    /// when it is given no reference (seed 003 §5.1: "out of the last 3").
    pub const CUSTOMER_LATEST: u32 = 3;
}

/// Field names a case has of its own: a case type's fields take other names.
pub const OWN_FIELDS: &[&str] = &["reference", "title", "status", "type"];

/// A status of a case type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseStatus {
    pub name: String,
    /// A case in this status is over (resolved, cancelled): a customer's closed cases are not
    /// the ones an association without reference picks.
    #[serde(default)]
    pub closed: bool,
}

/// A case type: the data of a `case_type` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseTypeData {
    /// The fields of its cases, typed as database columns (a routing creates a case with its
    /// title alone, so no field is required; `unique` and `indexed` do not apply).
    #[serde(default)]
    pub fields: Vec<Column>,
    /// Its statuses; a new case takes the first that is not closed.
    pub statuses: Vec<CaseStatus>,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

impl CaseTypeData {
    /// Checks a case type: at most [`limits::FIELDS`] fields named and typed as database
    /// columns are (none of the case's own names, none unique or indexed), 1 to
    /// [`limits::STATUSES`] statuses named once each (without case), one at least not closed.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.fields.len() > limits::FIELDS {
            return Err(bad(format!(
                "a case type has at most {} fields",
                limits::FIELDS
            )));
        }
        if !self.fields.is_empty() {
            self.as_database().check().map_err(|e| bad(e.message))?;
        }
        for (i, f) in self.fields.iter().enumerate() {
            if OWN_FIELDS.iter().any(|o| o.eq_ignore_ascii_case(&f.name)) {
                return Err(bad(format!(
                    "fields[{i}]: '{}' is a case's own field (reference, title, status, type)",
                    f.name
                )));
            }
            if f.required || f.unique || f.indexed {
                return Err(bad(format!(
                    "fields[{i}]: a case field is not required, unique or indexed"
                )));
            }
        }
        if self.statuses.is_empty() || self.statuses.len() > limits::STATUSES {
            return Err(bad(format!(
                "a case type has 1 to {} statuses",
                limits::STATUSES
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.statuses.iter().enumerate() {
            let n = s.name.trim().chars().count();
            if n == 0 || n > limits::STATUS || s.name.trim() != s.name {
                return Err(bad(format!(
                    "statuses[{i}]: a status has 1 to {} characters, without spaces around",
                    limits::STATUS
                )));
            }
            if !seen.insert(s.name.to_lowercase()) {
                return Err(bad(format!("statuses[{i}]: '{}' appears twice", s.name)));
            }
        }
        if self.statuses.iter().all(|s| s.closed) {
            return Err(bad("one status at least is not closed".into()));
        }
        Ok(())
    }

    fn as_database(&self) -> DatabaseData {
        DatabaseData {
            columns: self.fields.clone(),
        }
    }

    /// The status a new case takes: the first that is not closed.
    pub fn opening_status(&self) -> &str {
        self.statuses
            .iter()
            .find(|s| !s.closed)
            .or(self.statuses.first())
            .map(|s| s.name.as_str())
            .unwrap_or_default()
    }

    /// The status called `name` (without case).
    pub fn status(&self, name: &str) -> Option<&CaseStatus> {
        let name = name.trim();
        self.statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Column> {
        self.fields.iter().find(|c| c.name == name)
    }

    /// A case's field values checked for the type's fields and put in canonical form, as a
    /// database row's are; a field given no value is `null` (it is emptied).
    pub fn check_fields(
        &self,
        values: &Map<String, Value>,
    ) -> Result<Map<String, Value>, FieldError> {
        if self.fields.is_empty() {
            return match values.keys().next() {
                None => Ok(Map::new()),
                Some(name) => Err(FieldError {
                    field: "fields",
                    message: format!("the case type has no field '{name}'"),
                }),
            };
        }
        self.as_database()
            .check_row(values, false)
            .map_err(|e| FieldError {
                field: "fields",
                message: e
                    .message
                    .replace("database has no column", "case type has no field"),
            })
    }
}

/// A case as a routing reads it (in `effect`, which the engine's context reads too).
pub use crate::effect::CaseView;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim() -> CaseTypeData {
        serde_json::from_value(json!({
            "fields": [
                {"name": "order", "type": "number"},
                {"name": "reason", "type": "list", "proposals": ["Late", "Broken"]}
            ],
            "statuses": [
                {"name": "New"}, {"name": "In progress"}, {"name": "Resolved", "closed": true}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_case_type_is_checked() {
        assert!(claim().check().is_ok());
        assert_eq!(claim().opening_status(), "New");
        assert_eq!(claim().status("resolved").unwrap().name, "Resolved");
        let mut t = claim();
        t.fields[0].name = "Title".into();
        assert!(t.check().unwrap_err().message.contains("own field"));
        let mut t = claim();
        t.fields[1].indexed = true;
        assert!(t.check().is_err());
        let mut t = claim();
        t.statuses.push(CaseStatus {
            name: "new".into(),
            closed: false,
        });
        assert!(t.check().unwrap_err().message.contains("twice"));
        let mut t = claim();
        t.statuses.iter_mut().for_each(|s| s.closed = true);
        assert!(t.check().is_err());
        let mut t = claim();
        t.statuses.clear();
        assert!(t.check().is_err());
        let mut t = claim();
        t.statuses[0].name = " New".into();
        assert!(t.check().is_err());
    }

    #[test]
    fn a_cases_fields_are_put_in_canonical_form() {
        let t = claim();
        let got = t
            .check_fields(
                json!({"order": "42", "reason": "broken"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(Value::Object(got), json!({"order": 42, "reason": "Broken"}));
        let got = t
            .check_fields(json!({"order": ""}).as_object().unwrap())
            .unwrap();
        assert_eq!(Value::Object(got), json!({"order": null}));
        let e = t
            .check_fields(json!({"colour": "red"}).as_object().unwrap())
            .unwrap_err();
        assert!(
            e.message.contains("case type has no field 'colour'"),
            "{e:?}"
        );
        assert!(
            t.check_fields(json!({"reason": "Lost"}).as_object().unwrap())
                .is_err()
        );
        let mut r = claim();
        r.fields[0].required = true;
        assert!(r.check().is_err());
        let bare = CaseTypeData {
            fields: vec![],
            statuses: vec![CaseStatus {
                name: "Open".into(),
                closed: false,
            }],
        };
        assert!(bare.check().is_ok());
        assert!(
            bare.check_fields(json!({"x": 1}).as_object().unwrap())
                .is_err()
        );
    }
}
