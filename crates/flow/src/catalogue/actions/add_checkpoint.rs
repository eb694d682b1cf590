use super::prelude::*;

/// Tags the interaction with a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCheckpoint {
    /// I know: the checkpoint, or its reference.
    pub checkpoint: Of<kind::Checkpoint>,
}

impl ActionType for AddCheckpoint {
    const TYPE: &'static str = "add_checkpoint";
    const LABEL: &'static str = "Add a checkpoint";
    const CATEGORY: Category = Category::ActionsAndTree;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Tags the interaction with a qualification checkpoint.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", reference_not_found "Reference not found"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.checkpoint, "checkpoint")]
    }
}

impl Run for AddCheckpoint {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        match cx.add_checkpoint(&self.checkpoint) {
            Found::Yes(()) => Step::Branch("ok"),
            Found::NotFound => Step::Branch("reference_not_found"),
        }
    }
}
