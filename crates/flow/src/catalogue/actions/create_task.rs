use super::prelude::*;

/// Kind of task.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskKind {
    /// A task kept by Switchyard (`/tasks`).
    Standard,
    /// A Salesforce `Task` made through a CRM directory connected to Salesforce; its
    /// Salesforce id is stored in a variable.
    Salesforce {
        /// I know: the directory connected to Salesforce.
        crm: Of<kind::CrmDirectory>,
        salesforce_id_variable: VarTarget,
        /// The Salesforce record the task is about (`WhatId`: a Case, an Opportunity…), such
        /// as the id *Email to a Salesforce Query* stored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        related_to: Option<Template<1, 64>>,
    },
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
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        match &self.kind {
            TaskKind::Standard => Vec::new(),
            TaskKind::Salesforce { crm, .. } => vec![ObjectRef::of(crm, "kind.crm")],
        }
    }
}

/// `from` moved by an interval in the deployment's time zone (a month later keeps the day of
/// the month where the month has it, else its last day).
fn later(cx: &dyn Cx, from: jiff::Timestamp, interval: i64, unit: IntervalUnit) -> Option<jiff::Timestamp> {
    let span = match unit {
        IntervalUnit::Hours => jiff::Span::new().try_hours(interval).ok()?,
        IntervalUnit::Days => jiff::Span::new().try_days(interval).ok()?,
        IntervalUnit::Weeks => jiff::Span::new().try_weeks(interval).ok()?,
        IntervalUnit::Months => jiff::Span::new().try_months(interval).ok()?,
    };
    from.to_zoned(cx.time_zone().clone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

impl Run for CreateTask {
    /// Asks for the task: its rendered name, its category, its start (now, an interval from
    /// now, or none) and its end (an interval after its start — or after now when it has none —
    /// or none); a Salesforce one is made in Salesforce through the directory.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let name = cx.render(&self.name.0).trim().to_owned();
        if name.is_empty() {
            cx.set_error("the task's name is empty");
            return Step::Branch("error");
        }
        let now = cx.now();
        let start_at = match &self.start {
            TaskStart::Now => Some(now),
            TaskStart::Later { interval, unit } => match later(cx, now, interval.0, *unit) {
                Some(t) => Some(t),
                None => {
                    cx.set_error("the task's start is out of range");
                    return Step::Branch("error");
                }
            },
            TaskStart::NoStartDate => None,
        };
        let due_at = match &self.end {
            TaskEnd::Postponed { interval, unit } => {
                match later(cx, start_at.unwrap_or(now), interval.0, *unit) {
                    Some(t) => Some(t),
                    None => {
                        cx.set_error("the task's end is out of range");
                        return Step::Branch("error");
                    }
                }
            }
            TaskEnd::NoEndDate => None,
        };
        let salesforce = match &self.kind {
            TaskKind::Standard => None,
            TaskKind::Salesforce { crm, related_to, .. } => {
                let Some(directory) = object_name(cx, crm) else {
                    cx.set_error("the variable holding the directory's reference is empty");
                    return Step::Branch("error");
                };
                Some(SalesforceTask {
                    directory,
                    related_to: related_to
                        .as_ref()
                        .map(|t| cx.render(&t.0).trim().to_owned())
                        .filter(|t| !t.is_empty()),
                })
            }
        };
        Step::Effect {
            effect: Effect::Task(TaskRequest {
                name,
                category: self.category.0.clone(),
                start_at,
                due_at,
                salesforce,
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once made (a Salesforce task's id stored into its variable); *Error* otherwise —
    /// no such directory or one not connected to Salesforce, Salesforce refusing or out of
    /// reach, the deployment's tasks all used — `system.error` saying why.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Wake::Result(EffectResult::Task(outcome)) = wake else {
            return Step::Unavailable("a task waits for its answer");
        };
        match outcome {
            TaskOutcome::Created { id } => {
                if let TaskKind::Salesforce {
                    salesforce_id_variable,
                    ..
                } = &self.kind
                    && let Err(reason) = cx.set(&salesforce_id_variable.0, Value::String(id.clone()))
                {
                    cx.set_error(&reason);
                    return Step::Branch("error");
                }
                Step::Branch("ok")
            }
            TaskOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
        }
    }
}
