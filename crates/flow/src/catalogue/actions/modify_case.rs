use super::prelude::*;

/// Updates fields of a case.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifyCase {
    /// Reference of the case; when absent, the case linked to the interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Template<1, 256>>,
    pub fields: List<FieldValue, 1, 50>,
}

impl ActionType for ModifyCase {
    const TYPE: &'static str = "modify_case";
    const LABEL: &'static str = "Modify a case";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Sets new values on fields of a case.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error", not_found "Not found"];
}
