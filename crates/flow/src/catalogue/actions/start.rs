use super::prelude::*;

/// Entry of every tree; created with the tree and never deleted.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Start {}

impl ActionType for Start {
    const TYPE: &'static str = "start";
    const LABEL: &'static str = "Start";
    const CATEGORY: Category = Category::ActionsAndTree;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Where every interaction entering the routing begins.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
    runs_itself!();
}

impl Run for Start {
    fn run(&self, _cx: &mut dyn Cx) -> Step {
        Step::Branch("ok")
    }
}
