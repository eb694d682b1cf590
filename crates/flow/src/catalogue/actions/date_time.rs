use super::prelude::*;

/// Which date and time the action starts from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum DateSource {
    /// The time of the passage in the action.
    Now,
    /// A date read from a variable.
    Variable { variable: VarPath },
}

/// An amount of time to add or subtract.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    #[serde(default)]
    pub days: Int<0, 36_500>,
    #[serde(default)]
    pub hours: Int<0, 876_000>,
    #[serde(default)]
    pub minutes: Int<0, 52_560_000>,
    #[serde(default)]
    pub seconds: Int<0, 3_153_600_000>,
}

/// Day of the week (ISO order).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// The day a date is set to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum DaySpec {
    /// Day of the month (clamped to the month's last day).
    DayOfMonth { day: Int<1, 31> },
    /// The next such weekday on or after the date.
    DayOfWeek { weekday: Weekday },
}

/// Operation on the date.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum DateOperation {
    None,
    Add { amount: Amount },
    Subtract { amount: Amount },
    SetTo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<DaySpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hours: Option<Int<0, 23>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<Int<0, 59>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<Int<0, 59>>,
    },
}

/// Reads or computes a date and time into a variable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateTime {
    pub source: DateSource,
    pub operation: DateOperation,
    pub store_in: VarPath,
}

impl ActionType for DateTime {
    const TYPE: &'static str = "date_time";
    const LABEL: &'static str = "Date and time (retrieval and calculations)";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Takes now or a date from a variable, optionally adds, subtracts or sets parts, and stores the result.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if let DateOperation::SetTo { day: None, hours: None, minutes: None, seconds: None } = self.operation {
            issues.push(ParamIssue::new("operation", "'set_to' needs at least one of day, hours, minutes, seconds"));
        }
    }
}
