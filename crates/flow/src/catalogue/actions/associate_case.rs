use super::prelude::*;

/// Attaches an existing case to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociateCase {
    /// Reference of the case; when absent, the customer's most recent case among their last three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Template<1, 256>>,
}

impl ActionType for AssociateCase {
    const TYPE: &'static str = "associate_case";
    const LABEL: &'static str = "Associate the interaction with a case";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Finds a case by its reference (or the customer's latest) and links it to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_found "Not found"];
}
