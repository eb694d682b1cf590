use super::prelude::*;

/// Counts passages through the action and branches on a threshold.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPassages {
    /// Maximum number of passages of the interaction in this action.
    pub max_passages: Int<1, 1_000>,
    /// Reset the counter to 0 when the limit is exceeded.
    #[serde(default)]
    pub reset_when_reached: bool,
}

impl ActionType for CheckPassages {
    const TYPE: &'static str = "check_passages";
    const LABEL: &'static str = "Check the number of passages";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Counts the interaction's passages here; at most the threshold takes one branch, above it the other.";
    const BRANCHES: &'static [BranchDef] = branches![less_or_equal "Less than or equal to", greater "Greater"];
    runs_itself!();
}

impl Run for CheckPassages {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let action = cx.action();
        let count = cx.count_passage(action);
        if i64::from(count) <= self.max_passages.0 {
            return Step::Branch("less_or_equal");
        }
        if self.reset_when_reached {
            cx.reset_passages(action);
        }
        Step::Branch("greater")
    }
}
