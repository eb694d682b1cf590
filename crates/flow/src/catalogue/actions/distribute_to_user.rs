use super::prelude::*;

/// Which user receives the interaction: an "I know" selector with one more way, the customer's
/// owner (so not an [`Of`]; its schema states the kind as an `Of`'s does).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(extend("x-switchyard-object-kind" = "user", "x-switchyard-object-label" = "user"))]
pub enum UserTarget {
    Entity { id: EntityId },
    Reference { reference: RefCode },
    ReferenceFromVariable { variable: VarPath },
    /// The customer's owner.
    PreferredAgent,
}

/// Offers the interaction to one user.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeToUser {
    pub user: UserTarget,
}

impl ActionType for DistributeToUser {
    const TYPE: &'static str = "distribute_to_user";
    const LABEL: &'static str = "Distribution to a user";
    const CATEGORY: Category = Category::Distribution;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Offers the interaction directly to a user, or to the customer's preferred agent.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", no_response "No response", reference_not_found "Reference not found"];

    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        let selector = match &self.user {
            UserTarget::Entity { id } => Selector::Entity { id: id.clone() },
            UserTarget::Reference { reference } => Selector::Reference { reference: reference.clone() },
            UserTarget::ReferenceFromVariable { variable } => Selector::ReferenceFromVariable { variable: variable.clone() },
            UserTarget::PreferredAgent => return Vec::new(),
        };
        vec![ObjectRef::new(ObjectKind::User, &selector, "user")]
    }
}

impl Run for DistributeToUser {
    /// Asks the runtime to offer the interaction to one user ([`Distribute::User`]) and waits:
    /// *OK* once accepted, *No response* when the offer expires, *Error* when declined or the
    /// user is not online, *Reference not found* for an unknown user or a customer without
    /// owner.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let selector = match &self.user {
            UserTarget::Entity { id } => Selector::Entity { id: id.clone() },
            UserTarget::Reference { reference } => Selector::Reference { reference: reference.clone() },
            UserTarget::ReferenceFromVariable { variable } => Selector::ReferenceFromVariable { variable: variable.clone() },
            UserTarget::PreferredAgent => {
                return Step::Effect {
                    effect: Effect::Distribute(Distribute::User { target: UserName::PreferredAgent }),
                    memo: Value::Null,
                };
            }
        };
        let target = match object_name(cx, &selector) {
            Some(ObjectName::Entity { id }) => UserName::Entity { id },
            Some(ObjectName::Reference { reference }) => UserName::Reference { reference },
            None => {
                cx.set_error("the variable holding the reference is empty");
                return Step::Branch("reference_not_found");
            }
        };
        Step::Effect {
            effect: Effect::Distribute(Distribute::User { target }),
            memo: Value::Null,
        }
    }

    /// The outcome's branch. Queue outcomes cannot come from a distribution to a user (it does
    /// not overflow and is not dissuaded); should one come, it is *Error*.
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
            DistributionOutcome::Ok => "ok",
            DistributionOutcome::NoResponse => "no_response",
            DistributionOutcome::ReferenceNotFound => "reference_not_found",
            DistributionOutcome::Error { .. }
            | DistributionOutcome::Processed
            | DistributionOutcome::Unprocessed
            | DistributionOutcome::OverflowNoUser
            | DistributionOutcome::OverflowMaxEstimatedWait
            | DistributionOutcome::OverflowMaxWaiting
            | DistributionOutcome::DissuasionMaxWait
            | DistributionOutcome::DissuasionByUser => "error",
        })
    }
}
