use super::case_common as case;
use super::prelude::*;

/// Attaches an existing case to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociateCase {
    /// Reference of the case; when absent, the customer's most recent case among their last three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Template<1, 256>>,
}

impl ActionType for AssociateCase {
    const TYPE: &'static str = "associate_case";
    const LABEL: &'static str = "Associate the interaction with a case";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Finds a case by its reference (or the customer's latest) and links it to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_found "Not found"];
    runs_itself!();
}

impl Run for AssociateCase {
    /// Asks for the case with the rendered reference, or (no reference, or one rendered empty)
    /// the customer's most recent case that is not closed among their last three; the link is
    /// written with the interaction's turn.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        Step::Effect {
            effect: Effect::Case(CaseRequest::Associate {
                reference: case::reference(cx, &self.case_reference),
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once linked, the case in the system variable `case`; *Not found* when no case has
    /// the reference, when the customer has no open case among their last three, or when the
    /// case cannot take one more interaction — `system.error` says which.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = case::outcome(wake) else {
            return Step::Unavailable("an association waits for its answer");
        };
        match outcome {
            CaseOutcome::Linked { case } => {
                cx.set_case(Some(case));
                Step::Branch("ok")
            }
            CaseOutcome::NotFound { reason } | CaseOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("not_found")
            }
            CaseOutcome::Modified { .. } | CaseOutcome::Dissociated => {
                Step::Unavailable("an association got the answer of another request")
            }
        }
    }
}
