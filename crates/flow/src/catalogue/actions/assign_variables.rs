use super::prelude::*;

/// One assignment.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub variable: VarTarget,
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
    runs_itself!();
}

impl Run for AssignVariables {
    /// Renders every value first (so an assignment never sees the ones before it), then writes
    /// them in order; the first refused write (a value that does not fit its declared field, a
    /// limit) takes *Error* with the reason in `system.error`, the writes before it staying.
    /// System variables are refused when the parameters are read.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let values: Vec<(String, String)> = self.assignments.iter().map(|a| (a.variable.0.clone(), cx.render(&a.value.0))).collect();
        for (path, value) in values {
            if let Err(reason) = cx.set(&path, Value::String(value)) {
                cx.set_error(&reason);
                return Step::Branch("error");
            }
        }
        Step::Branch("ok")
    }
}
