use super::database_common as db;
use super::prelude::*;

/// Inserts a row into a database.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveToDatabase {
    pub database: Of<kind::Database>,
    pub fields: List<ColumnValue, 1, 50>,
}

impl ActionType for SaveToDatabase {
    const TYPE: &'static str = "save_to_database";
    const LABEL: &'static str = "Save values to a database";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Inserts a new entry into a database.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.database, "database")]
    }

    /// Columns the database lacks, written values that do not fit their column, required
    /// columns given no value (the row would always be refused).
    fn check_objects(&self, data: &dyn Fn(&ObjectRef) -> Option<Value>) -> Vec<ParamIssue> {
        let Some(def) = db::definition(data, &self.database) else {
            return Vec::new();
        };
        let mut issues = Vec::new();
        db::check_values(&def, "fields", &self.fields.0, &mut issues);
        for c in def.columns.iter().filter(|c| c.required) {
            if !self.fields.0.iter().any(|f| f.field.0 == c.name) {
                issues.push(ParamIssue::new(
                    "fields",
                    format!("the column {} is required and is given no value", c.name),
                ));
            }
        }
        issues
    }
}

impl Run for SaveToDatabase {
    /// Asks the runtime to add a row of the rendered values, written with the interaction's
    /// turn (a crash never adds it twice).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(database) = object_name(cx, &self.database) else {
            cx.set_error("the variable holding the database's reference is empty");
            return Step::Branch("not_ok");
        };
        Step::Effect {
            effect: Effect::Database(DatabaseRequest::Insert {
                database,
                values: db::rendered(cx, &self.fields.0),
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once the row is added; *Not OK* otherwise, `system.error` saying why: no such
    /// database, a column it lacks, a value that does not fit its column, a required column
    /// without value, a unique column's value another row has, the database full.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = db::outcome(wake) else {
            return Step::Unavailable("a database write waits for its answer");
        };
        match outcome {
            DatabaseOutcome::Written { .. } => Step::Branch("ok"),
            DatabaseOutcome::ColumnsNotFound { columns } => {
                cx.set_error(&format!("the database has no column {}", columns.join(", ")));
                Step::Branch("not_ok")
            }
            DatabaseOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("not_ok")
            }
            DatabaseOutcome::Found { .. }
            | DatabaseOutcome::NotFound
            | DatabaseOutcome::NoModification { .. } => {
                Step::Unavailable("a database insert got the answer of another request")
            }
        }
    }
}
