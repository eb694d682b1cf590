use super::prelude::*;

/// Invites the customer to a survey.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    pub survey: Of<kind::Survey>,
}

impl ActionType for Survey {
    const TYPE: &'static str = "survey";
    const LABEL: &'static str = "Survey";
    const CATEGORY: Category = Category::Survey;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Attaches a survey to the interaction so that the customer is invited to answer it.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", reference_not_found "Reference not found", error "Error"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.survey, "survey")]
    }
}

impl Run for Survey {
    /// Asks for the survey to be attached to the interaction. It is conducted once the
    /// interaction closes: in the conversation for messaging channels (its questions one by
    /// one, the customer's next messages their answers), by an email carrying the link to its
    /// page for the email family. A survey attached again replaces the one before.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(survey) = object_name(cx, &self.survey) else {
            cx.set_error("the variable holding the survey's reference is empty");
            return Step::Branch("reference_not_found");
        };
        Step::Effect {
            effect: Effect::Survey(SurveyRequest { survey }),
            memo: Value::Null,
        }
    }

    /// *OK* once attached; *Reference not found* when there is no such survey; *Error* when it
    /// cannot be conducted here — an email-family interaction while the deployment has no
    /// public address for the survey's page (`public_url`), an interaction without a channel
    /// customer to ask, or the survey's data unreadable — `system.error` saying why.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match wake {
            Wake::Result(EffectResult::Survey(SurveyOutcome::Attached)) => Step::Branch("ok"),
            Wake::Result(EffectResult::Survey(SurveyOutcome::ReferenceNotFound)) => {
                Step::Branch("reference_not_found")
            }
            Wake::Result(EffectResult::Survey(SurveyOutcome::Error { reason })) => {
                cx.set_error(reason);
                Step::Branch("error")
            }
            _ => Step::Unavailable("a survey waits for its answer"),
        }
    }
}
