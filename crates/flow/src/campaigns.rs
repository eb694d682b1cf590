//! Outbound campaigns (seed 003 §9): what a WhatsApp, voice or SMS campaign declares for the
//! targets routings insert — its target layouts (typed fields, as a custom database's columns),
//! the range of its priorities and its duplicate rule — as the data of a campaign business
//! object. The dialler or sender that works through the targets is outside Switchyard: it
//! reads them from the API (`/campaign-targets`, and their CSV export).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::database::{Column, DatabaseData};
use crate::model::FieldError;

/// Bounds of campaigns and their targets.
pub mod limits {
    /// Most layouts of a campaign, and most fields of one.
    pub const LAYOUTS: usize = 20;
    pub const FIELDS: usize = 50;
    /// Longest layout name.
    pub const LAYOUT_NAME: usize = 128;
    /// Highest priority.
    pub const PRIORITY_MAX: i64 = 100;
    /// Most targets a campaign holds.
    pub const TARGETS: u64 = 1_000_000;
}

/// When a number is already a target of the campaign.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateRule {
    /// A target of the same number still waiting to be contacted is a duplicate.
    #[default]
    PendingNumber,
    /// Any target of the same number, ever, is a duplicate.
    AnyNumber,
    /// Never a duplicate.
    None,
}

/// A target layout: the fields its targets carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetLayout {
    pub name: String,
    /// Typed as database columns (a field may be required; none unique or indexed).
    #[serde(default)]
    pub fields: Vec<Column>,
}

fn max_priority() -> i64 {
    limits::PRIORITY_MAX
}

/// A WhatsApp, voice or SMS campaign: the data of a campaign business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignData {
    #[serde(default)]
    pub layouts: Vec<TargetLayout>,
    /// The priorities a target may have (0 to 100; default the whole range).
    #[serde(default)]
    pub priority_min: i64,
    #[serde(default = "max_priority")]
    pub priority_max: i64,
    #[serde(default)]
    pub duplicate_rule: DuplicateRule,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

impl TargetLayout {
    fn as_database(&self) -> DatabaseData {
        DatabaseData {
            columns: self.fields.clone(),
        }
    }

    /// A target's field values checked against the layout (`(field, value)` as rendered; an
    /// empty value is no value), in canonical form; `Err` says which field refuses what.
    pub fn check_values(&self, values: &[(String, String)]) -> Result<Map<String, Value>, String> {
        let mut given = Map::new();
        for (field, value) in values {
            let Some(column) = self
                .fields
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(field))
            else {
                return Err(format!("the layout {} has no field '{field}'", self.name));
            };
            let v = if value.is_empty() {
                Value::Null
            } else {
                Value::String(value.clone())
            };
            given.insert(column.name.clone(), v);
        }
        let mut checked = self
            .as_database()
            .check_row(&given, true)
            .map_err(|e| e.message)?;
        checked.retain(|_, v| !v.is_null());
        Ok(checked)
    }
}

impl CampaignData {
    /// Checks a campaign: at most [`limits::LAYOUTS`] layouts named once each (without case),
    /// their fields typed as database columns are (none unique or indexed), priorities within
    /// 0 to 100 in order.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.layouts.len() > limits::LAYOUTS {
            return Err(bad(format!(
                "a campaign has at most {} layouts",
                limits::LAYOUTS
            )));
        }
        for (i, l) in self.layouts.iter().enumerate() {
            let n = l.name.trim().chars().count();
            if n == 0 || n > limits::LAYOUT_NAME || l.name.chars().any(char::is_control) {
                return Err(bad(format!(
                    "layouts[{i}]: a name has 1 to {} characters",
                    limits::LAYOUT_NAME
                )));
            }
            if self.layouts[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&l.name))
            {
                return Err(bad(format!("layouts[{i}]: '{}' is named twice", l.name)));
            }
            if l.fields.len() > limits::FIELDS {
                return Err(bad(format!(
                    "layouts[{i}]: a layout has at most {} fields",
                    limits::FIELDS
                )));
            }
            if let Some(f) = l.fields.iter().find(|f| f.unique || f.indexed) {
                return Err(bad(format!(
                    "layouts[{i}]: field '{}' cannot be unique or indexed",
                    f.name
                )));
            }
            if !l.fields.is_empty() {
                l.as_database()
                    .check()
                    .map_err(|e| bad(format!("layouts[{i}]: {}", e.message)))?;
            }
        }
        if !(0..=limits::PRIORITY_MAX).contains(&self.priority_min)
            || !(0..=limits::PRIORITY_MAX).contains(&self.priority_max)
            || self.priority_min > self.priority_max
        {
            return Err(bad(format!(
                "priority_min and priority_max are 0 to {}, the first not above the second",
                limits::PRIORITY_MAX
            )));
        }
        Ok(())
    }

    /// The layout of this name (without case).
    pub fn layout(&self, name: &str) -> Option<&TargetLayout> {
        self.layouts
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn campaign() -> CampaignData {
        serde_json::from_value(json!({
            "layouts": [{"name": "Callback", "fields": [
                {"name": "reason", "type": "list", "proposals": ["Invoice", "Delivery"], "required": true},
                {"name": "amount", "type": "number"}
            ]}],
            "priority_min": 1, "priority_max": 9
        }))
        .unwrap()
    }

    #[test]
    fn a_campaign_is_checked_and_checks_its_targets_fields() {
        let c = campaign();
        assert!(c.check().is_ok());
        assert_eq!(c.duplicate_rule, DuplicateRule::PendingNumber);
        let l = c.layout("callback").unwrap();
        let v = l
            .check_values(&[
                ("Reason".into(), "invoice".into()),
                ("amount".into(), "12.5".into()),
            ])
            .unwrap();
        assert_eq!(
            v,
            json!({"reason": "Invoice", "amount": 12.5})
                .as_object()
                .unwrap()
                .clone()
        );
        assert!(l.check_values(&[("colour".into(), "red".into())]).is_err());
        assert!(
            l.check_values(&[("reason".into(), "Other".into())])
                .is_err()
        );
        assert!(
            l.check_values(&[("amount".into(), "1".into())]).is_err(),
            "reason is required"
        );
        for bad in [
            json!({"priority_min": 5, "priority_max": 2}),
            json!({"priority_max": 101}),
            json!({"layouts": [{"name": "A"}, {"name": "a"}]}),
            json!({"layouts": [{"name": ""}]}),
            json!({"layouts": [{"name": "A", "fields": [{"name": "n", "type": "text", "unique": true}]}]}),
        ] {
            let d: CampaignData = serde_json::from_value(bad.clone()).unwrap();
            assert!(d.check().is_err(), "{bad}");
        }
    }
}
