use super::prelude::*;

/// Kind of task.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskKind {
    Standard,
    /// A Salesforce task; its Salesforce id is stored in a variable.
    Salesforce { salesforce_id_variable: VarTarget },
}

/// When the task starts.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "at", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskStart {
    Now,
    Later { interval: Int<1, 1_000>, unit: IntervalUnit },
    NoStartDate,
}

/// When the task must end (relative to its start).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "at", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskEnd {
    Postponed { interval: Int<1, 1_000>, unit: IntervalUnit },
    NoEndDate,
}

/// Creates a task linked to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    pub name: Template<1, 200>,
    pub category: Text<1, 128>,
    pub kind: TaskKind,
    pub start: TaskStart,
    pub end: TaskEnd,
}

impl ActionType for CreateTask {
    const TYPE: &'static str = "create_task";
    const LABEL: &'static str = "Create a task";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Creates a task linked to the interaction with a start and an end date.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error"];
}
