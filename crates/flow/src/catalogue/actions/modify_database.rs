use super::database_common as db;
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
    /// All the assertions (AND, the default) or one of them (OR).
    #[serde(default, rename = "match")]
    pub match_: Match,
    pub assertions: List<ColumnValue, 1, 20>,
    pub fields: List<ColumnValue, 1, 50>,
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
        db::check_values(&def, "fields", &self.fields.0, &mut issues);
        db::check_indexed(&def, "assertions", &self.assertions.0, self.match_ == Match::Any, &mut issues);
        issues
    }
}

impl Run for ModifyDatabase {
    /// Asks the runtime to change the first row meeting the assertions (in the order rows
    /// were added) or every one (at most 1 000 per action: `runtime::databases::limits::MODIFIED_PER_ACTION`), written with the
    /// interaction's turn (a crash never applies it twice). An empty value removes the
    /// column's value.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(database) = object_name(cx, &self.database) else {
            cx.set_error("the variable holding the database's reference is empty");
            return Step::Branch("error");
        };
        Step::Effect {
            effect: Effect::Database(DatabaseRequest::Modify {
                database,
                any: self.match_ == Match::Any,
                every: matches!(self.scope, Scope::AllFound),
                assertions: db::rendered(cx, &self.assertions.0),
                values: db::rendered(cx, &self.fields.0),
            }),
            memo: Value::Null,
        }
    }

    /// *OK*: rows changed. *No value found*: no row meets the assertions. *No modification*:
    /// rows meet them but already hold the values. *Column(s) not found*: the assertions or
    /// the fields name columns the database lacks (`system.error` lists them). *Error*: no
    /// such database, a value that does not fit its column, a required column emptied, a
    /// unique column's value another row has, too many rows to change at once.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = db::outcome(wake) else {
            return Step::Unavailable("a database change waits for its answer");
        };
        match outcome {
            DatabaseOutcome::Written { .. } => Step::Branch("ok"),
            DatabaseOutcome::NotFound => Step::Branch("no_value_found"),
            DatabaseOutcome::NoModification { .. } => Step::Branch("no_modification"),
            DatabaseOutcome::ColumnsNotFound { columns } => {
                cx.set_error(&format!("the database has no column {}", columns.join(", ")));
                Step::Branch("columns_not_found")
            }
            DatabaseOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
            DatabaseOutcome::Found { .. } => {
                Step::Unavailable("a database change got the answer of a search")
            }
        }
    }
}
