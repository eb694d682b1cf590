use super::prelude::*;

/// Queue or queue group to distribute to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueTarget {
    Queue { queue: Of<kind::Queue> },
    QueueGroup { group: Of<kind::QueueGroup> },
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
            QueueTarget::Queue { queue } => ObjectRef::of(queue, "target.queue"),
            QueueTarget::QueueGroup { group } => ObjectRef::of(group, "target.group"),
        }]
    }
}

impl Run for DistributeToQueue {
    /// Asks the runtime to queue the interaction ([`Distribute::Queue`] or
    /// [`Distribute::QueueGroup`]) and waits for the outcome: refusals (reference not found,
    /// overflows) come back at once, the rest when the interaction is handled, leaves or is
    /// dissuaded. A reference read from an empty variable takes *Reference not found*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let selector = match &self.target {
            QueueTarget::Queue { queue } => &queue.selector,
            QueueTarget::QueueGroup { group } => &group.selector,
        };
        let Some(target) = object_name(cx, selector) else {
            cx.set_error("the variable holding the reference is empty");
            return Step::Branch("reference_not_found");
        };
        let priority = self.prioritize;
        let distribute = match &self.target {
            QueueTarget::Queue { .. } => Distribute::Queue { target, priority },
            QueueTarget::QueueGroup { .. } => Distribute::QueueGroup { target, priority },
        };
        Step::Effect {
            effect: Effect::Distribute(distribute),
            memo: Value::Null,
        }
    }

    /// The outcome's branch. Outcomes only a distribution to a user gives (accepted, no
    /// response, error) cannot come from a queue; should one come, it is *Unprocessed*.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let outcome = match wake {
            Wake::Result(EffectResult::Distribute(outcome)) => outcome,
            Wake::Result(_)
            | Wake::Message(_)
            | Wake::Timeout => {
                return Step::Unavailable("a distribution waits for its outcome");
            }
        };
        note_reason(cx, outcome);
        Step::Branch(match outcome {
            DistributionOutcome::Processed => "processed",
            DistributionOutcome::ReferenceNotFound => "reference_not_found",
            DistributionOutcome::OverflowNoUser => "overflow_no_user",
            DistributionOutcome::OverflowMaxEstimatedWait => "overflow_max_estimated_wait",
            DistributionOutcome::OverflowMaxWaiting => "overflow_max_waiting",
            DistributionOutcome::DissuasionMaxWait => "dissuasion_max_wait",
            DistributionOutcome::DissuasionByUser => "dissuasion_by_user",
            DistributionOutcome::Unprocessed
            | DistributionOutcome::Ok
            | DistributionOutcome::NoResponse
            | DistributionOutcome::Error { .. } => "unprocessed",
        })
    }
}
