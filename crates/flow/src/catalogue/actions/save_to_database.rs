use super::prelude::*;

/// Inserts a row into a database.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveToDatabase {
    pub database: Of<kind::Database>,
    pub fields: List<FieldValue, 1, 50>,
}

impl ActionType for SaveToDatabase {
    const TYPE: &'static str = "save_to_database";
    const LABEL: &'static str = "Save values to a database";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Inserts a new entry into a database.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.database, "database")]
    }
}
