use super::prelude::*;

/// Detaches the case linked to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DissociateCase {}

impl ActionType for DissociateCase {
    const TYPE: &'static str = "dissociate_case";
    const LABEL: &'static str = "Dissociate the case from the interaction";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Detaches the case currently linked to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
}
