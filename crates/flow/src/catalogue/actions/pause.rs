use super::prelude::*;

/// Holds the flow for a while.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// Pause time in seconds (1 s to 3 h).
    pub seconds: Int<1, 10_800>,
}

impl ActionType for Pause {
    const TYPE: &'static str = "pause";
    const LABEL: &'static str = "Pause";
    const CATEGORY: Category = Category::ActionsAndTree;
    const FAMILIES: &'static [crate::ChannelFamily] = MESSAGING;
    const DESCRIPTION: &'static str = "Waits a number of seconds before going on.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
}
