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
    runs_itself!();
}

impl Run for Pause {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let until = cx.now() + jiff::SignedDuration::from_secs(self.seconds.0);
        Step::Wait { message: false, until: Some(until), memo: Value::Null }
    }

    fn resume(&self, _cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match wake {
            Wake::Timeout => Step::Branch("ok"),
            // a pause does not listen to messages; the engine only records them
            Wake::Message(_) | Wake::Result(_) => Step::Unavailable("a pause waits only for its time"),
        }
    }
}
