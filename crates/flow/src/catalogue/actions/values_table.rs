use super::prelude::*;

/// Looks a value up in a values table.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValuesTable {
    /// I know: the values table, or its reference.
    pub table: Selector,
    /// Correspondence reference: the key looked up.
    pub lookup: Template<1, 500>,
    /// Variable receiving the corresponding value.
    pub store_in: VarPath,
}

impl ActionType for ValuesTable {
    const TYPE: &'static str = "values_table";
    const LABEL: &'static str = "Values table";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Looks a key up in a values table and stores the matching value.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", reference_not_found "Reference not found", no_value "No value"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::new(ObjectKind::ValueTable, &self.table, "table")]
    }
}
