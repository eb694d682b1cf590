use super::prelude::*;

/// Branches on whether a calendar is open now.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSchedule {
    /// I know: the calendar, or its reference.
    pub calendar: Of<kind::Calendar>,
}

impl ActionType for TestSchedule {
    const TYPE: &'static str = "test_schedule";
    const LABEL: &'static str = "Test a schedule";
    const CATEGORY: Category = Category::TimeAndDates;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Branches on whether a calendar is open or closed at this moment.";
    const BRANCHES: &'static [BranchDef] = branches![open "Open", closed "Closed", not_found "Not found"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.calendar, "calendar")]
    }
}

impl Run for TestSchedule {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        match cx.calendar_open(&self.calendar) {
            Found::Yes(true) => Step::Branch("open"),
            Found::Yes(false) => Step::Branch("closed"),
            Found::NotFound => Step::Branch("not_found"),
        }
    }
}
