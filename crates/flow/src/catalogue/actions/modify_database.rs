use super::prelude::*;

/// Which matching rows to modify.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    FirstFound,
    AllFound,
}

/// Updates database rows that match assertions.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifyDatabase {
    pub database: Of<kind::Database>,
    pub scope: Scope,
    pub assertions: List<FieldValue, 1, 20>,
    pub fields: List<FieldValue, 1, 50>,
}

impl ActionType for ModifyDatabase {
    const TYPE: &'static str = "modify_database";
    const LABEL: &'static str = "Modify the values of a database";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Finds database entries by assertions and updates selected fields.";
    const BRANCHES: &'static [BranchDef] = branches![
        ok "OK", error "Error", columns_not_found "Column(s) not found",
        no_value_found "No value found", no_modification "No modification"
    ];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.database, "database")]
    }
}
