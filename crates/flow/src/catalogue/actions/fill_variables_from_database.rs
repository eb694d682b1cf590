use super::database_common as db;
use super::prelude::*;

/// Reads a database row into variables.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FillVariablesFromDatabase {
    pub database: Of<kind::Database>,
    #[serde(default, rename = "match")]
    pub match_: Match,
    pub assertions: List<ColumnValue, 1, 20>,
    pub outputs: List<ColumnToVariable, 1, 50>,
}

impl ActionType for FillVariablesFromDatabase {
    const TYPE: &'static str = "fill_variables_from_database";
    const LABEL: &'static str = "Fill in the variables from a database";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Finds a database entry by assertions and copies its columns into variables.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_found "Not found"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.database, "database")]
    }

    /// Columns the database lacks, written values that do not fit their column, a search no
    /// index serves.
    fn check_objects(&self, data: &dyn Fn(&ObjectRef) -> Option<Value>) -> Vec<ParamIssue> {
        let Some(def) = db::definition(data, &self.database) else {
            return Vec::new();
        };
        let mut issues = Vec::new();
        db::check_values(&def, "assertions", &self.assertions.0, &mut issues);
        db::check_columns(&def, "outputs", &self.outputs.0, &mut issues);
        db::check_indexed(&def, "assertions", &self.assertions.0, self.match_ == Match::Any, &mut issues);
        issues
    }
}

impl Run for FillVariablesFromDatabase {
    /// Asks the runtime for the first row (in the order rows were added) meeting all the
    /// assertions (AND) or one of them (OR), values compared as the database compares them
    /// (text without case or accents, numbers as numbers, a LIST value as its proposal; an
    /// empty value asks for a column without value).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(database) = object_name(cx, &self.database) else {
            cx.set_error("the variable holding the database's reference is empty");
            return Step::Branch("not_found");
        };
        Step::Effect {
            effect: Effect::Database(DatabaseRequest::Find {
                database,
                any: self.match_ == Match::Any,
                assertions: db::rendered(cx, &self.assertions.0),
                columns: self.outputs.0.iter().map(|o| o.field.0.clone()).collect(),
            }),
            memo: Value::Null,
        }
    }

    /// *OK* with a row found: each mapped column's value stored into its variable (a column
    /// without value in that row leaves its variable as it was). *Not found* otherwise —
    /// no row, no such database, a column it lacks, or a value its variable refuses —
    /// `system.error` saying why when it is not simply that no row matched.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = db::outcome(wake) else {
            return Step::Unavailable("a database search waits for its answer");
        };
        match outcome {
            DatabaseOutcome::Found { values } => {
                for out in &self.outputs.0 {
                    let Some((_, value)) = values.iter().find(|(c, _)| *c == out.field.0) else {
                        continue;
                    };
                    if let Err(reason) = cx.set(&out.variable.0, value.clone()) {
                        cx.set_error(&format!("column {}: {reason}", out.field.0));
                        return Step::Branch("not_found");
                    }
                }
                Step::Branch("ok")
            }
            DatabaseOutcome::NotFound => Step::Branch("not_found"),
            DatabaseOutcome::ColumnsNotFound { columns } => {
                cx.set_error(&format!("the database has no column {}", columns.join(", ")));
                Step::Branch("not_found")
            }
            DatabaseOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("not_found")
            }
            DatabaseOutcome::Written { .. } | DatabaseOutcome::NoModification { .. } => {
                Step::Unavailable("a database search got the answer of a write")
            }
        }
    }
}
