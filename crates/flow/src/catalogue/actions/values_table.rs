use super::prelude::*;

/// Looks a value up in a values table.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValuesTable {
    /// I know: the values table, or its reference.
    pub table: Of<kind::ValueTable>,
    /// Correspondence reference: the key looked up.
    pub lookup: Template<1, 500>,
    /// Variable receiving the corresponding value.
    pub store_in: VarTarget,
}

impl ActionType for ValuesTable {
    const TYPE: &'static str = "values_table";
    const LABEL: &'static str = "Values table";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Looks a key up in a values table and stores the matching value.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", reference_not_found "Reference not found", no_value "No value"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.table, "table")]
    }
}

impl Run for ValuesTable {
    /// *Reference not found* when the table does not exist or the correspondence reference is
    /// not one of its keys; *No value* when the key is there without a value (or the value does
    /// not fit the variable); *OK* otherwise.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let key = cx.render(&self.lookup.0);
        match cx.value_table(&self.table, &key) {
            Found::NotFound => {
                cx.set_error(&format!("'{key}' is not a reference of the values table"));
                Step::Branch("reference_not_found")
            }
            Found::Yes(None) => Step::Branch("no_value"),
            Found::Yes(Some(value)) => match cx.set(&self.store_in.0, Value::String(value)) {
                Ok(()) => Step::Branch("ok"),
                Err(reason) => {
                    cx.set_error(&reason);
                    Step::Branch("no_value")
                }
            },
        }
    }
}
