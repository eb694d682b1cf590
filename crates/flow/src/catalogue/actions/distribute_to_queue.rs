use super::prelude::*;

/// Queue or queue group to distribute to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueTarget {
    Queue { queue: Selector },
    QueueGroup { group: Selector },
}

/// Hands the interaction to an ACD queue.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeToQueue {
    pub target: QueueTarget,
    /// Put the interaction first in the queue.
    #[serde(default)]
    pub prioritize: bool,
}

impl ActionType for DistributeToQueue {
    const TYPE: &'static str = "distribute_to_queue";
    const LABEL: &'static str = "Distribution to queue";
    const CATEGORY: Category = Category::Distribution;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Queues the interaction for an agent; continues when it is handled, overflows or is dissuaded.";
    const BRANCHES: &'static [BranchDef] = &[
        BranchDef::new("processed", "Processed"),
        BranchDef::new("unprocessed", "Unprocessed"),
        BranchDef::new("reference_not_found", "Reference not found"),
        BranchDef::with_fallback("overflow_no_user", "Overflow – No user", "overflow"),
        BranchDef::with_fallback("overflow_max_estimated_wait", "Overflow – Maximum estimated waiting time", "overflow"),
        BranchDef::with_fallback("overflow_max_waiting", "Overflow – Maximum number of waiting interactions", "overflow"),
        BranchDef::new("overflow", "Overflow"),
        BranchDef::with_fallback("dissuasion_max_wait", "Dissuasion – Maximum wait time reached", "dissuasion"),
        BranchDef::with_fallback("dissuasion_by_user", "Dissuasion – By the user", "dissuasion"),
        BranchDef::new("dissuasion", "Dissuasion (all types)"),
    ];

    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![match &self.target {
            QueueTarget::Queue { queue } => ObjectRef::new(ObjectKind::Queue, queue, "target.queue"),
            QueueTarget::QueueGroup { group } => ObjectRef::new(ObjectKind::QueueGroup, group, "target.group"),
        }]
    }
}

impl Run for DistributeToQueue {
    /// Asks the runtime to queue the interaction (`{"distribute": "queue" | "queue_group",
    /// "target": selector, "priority": bool}`) and waits for the outcome: refusals (reference not
    /// found, overflows) come back at once, the rest when the interaction is handled, leaves
    /// or is dissuaded. A reference read from an empty variable takes *Reference not found*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let (kind, selector) = match &self.target {
            QueueTarget::Queue { queue } => ("queue", queue),
            QueueTarget::QueueGroup { group } => ("queue_group", group),
        };
        let Some(target) = resolved_selector(cx, selector) else {
            cx.set_error("the variable holding the reference is empty");
            return Step::Branch("reference_not_found");
        };
        Step::Effect {
            request: json!({"distribute": kind, "target": target, "priority": self.prioritize}),
            memo: Value::Null,
        }
    }

    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match wake {
            Wake::Result(result) => outcome_branch(cx, Self::BRANCHES, result, "unprocessed"),
            Wake::Message(_) | Wake::Timeout => Step::Unavailable("a distribution waits for its outcome"),
        }
    }
}
