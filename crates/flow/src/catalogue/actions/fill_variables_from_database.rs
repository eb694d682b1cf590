use super::prelude::*;

/// Reads a database row into variables.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FillVariablesFromDatabase {
    pub database: Of<kind::Database>,
    #[serde(default, rename = "match")]
    pub match_: Match,
    pub assertions: List<FieldValue, 1, 20>,
    pub outputs: List<FieldToVariable, 1, 50>,
}

impl ActionType for FillVariablesFromDatabase {
    const TYPE: &'static str = "fill_variables_from_database";
    const LABEL: &'static str = "Fill in the variables from a database";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Finds a database entry by assertions and copies its columns into variables.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_found "Not found"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.database, "database")]
    }
}
