use super::prelude::*;

/// Hands the interaction to another smart routing.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeToRouting {
    /// I know: the smart routing, or its reference. It must be of the same channel family and
    /// an interaction-start routing.
    pub routing: Of<kind::Routing>,
}

impl ActionType for DistributeToRouting {
    const TYPE: &'static str = "distribute_to_routing";
    const LABEL: &'static str = "Distribution to a smart routing";
    const CATEGORY: Category = Category::Distribution;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Continues the interaction at the Start of another smart routing.";
    const BRANCHES: &'static [BranchDef] = branches![
        not_found "Not found",
        max_distributions "Maximum number of distributions to a smart routing reached"
    ];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.routing, "routing")]
    }
}

impl Run for DistributeToRouting {
    fn run(&self, _cx: &mut dyn Cx) -> Step {
        Step::HandOver { routing: self.routing.selector.clone() }
    }
}
