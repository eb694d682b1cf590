use super::prelude::*;

/// Branches on the parity of the current ISO week number.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEvenOddWeek {}

impl ActionType for TestEvenOddWeek {
    const TYPE: &'static str = "test_even_odd_week";
    const LABEL: &'static str = "Test if it is an even or odd week";
    const CATEGORY: Category = Category::TimeAndDates;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Branches on whether the current ISO week number is even or odd.";
    const BRANCHES: &'static [BranchDef] = branches![even "Even", uneven "Uneven"];
    runs_itself!();
}

impl Run for TestEvenOddWeek {
    /// The ISO week of now in the deployment's time zone (see [`crate::exec::iso_week_is_even`]
    /// for the week-53 rule).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let now = cx.now().to_zoned(cx.time_zone().clone());
        Step::Branch(if crate::exec::iso_week_is_even(&now) { "even" } else { "uneven" })
    }
}
