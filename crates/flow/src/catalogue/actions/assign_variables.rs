use super::prelude::*;

/// One assignment.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub variable: VarPath,
    pub value: Template<0, 10_000>,
}

/// Writes values into variables.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignVariables {
    pub assignments: List<Assignment, 1, 50>,
}

impl ActionType for AssignVariables {
    const TYPE: &'static str = "assign_variables";
    const LABEL: &'static str = "Assign values to variables";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Writes one or more values (which may use other variables) into variables.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error"];
}
