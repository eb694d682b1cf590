use super::prelude::*;

/// A join point that keeps large trees readable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {}

impl ActionType for Node {
    const TYPE: &'static str = "node";
    const LABEL: &'static str = "Node";
    const CATEGORY: Category = Category::ActionsAndTree;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Joins several branches into one flow; does nothing else.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
    runs_itself!();
}

impl Run for Node {
    fn run(&self, _cx: &mut dyn Cx) -> Step {
        Step::Branch("ok")
    }
}
