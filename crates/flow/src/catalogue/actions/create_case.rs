use super::prelude::*;

/// Creates a case and attaches it to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub title: Template<1, 500>,
    /// I know: the case type, or its reference.
    pub case_type: Of<kind::CaseType>,
}

impl ActionType for CreateCase {
    const TYPE: &'static str = "create_case";
    const LABEL: &'static str = "Create a new case and associate it with the interaction";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Creates a case of a given type and links it to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error", not_found "Not found"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.case_type, "case_type")]
    }
}
