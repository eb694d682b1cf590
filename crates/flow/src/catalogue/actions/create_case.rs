use super::case_common as case;
use super::prelude::*;

/// Creates a case and attaches it to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub title: Template<1, 500>,
    /// I know: the case type, or its reference.
    pub case_type: Of<kind::CaseType>,
}

impl ActionType for CreateCase {
    const TYPE: &'static str = "create_case";
    const LABEL: &'static str = "Create a new case and associate it with the interaction";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Creates a case of a given type and links it to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error", not_found "Not found"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.case_type, "case_type")]
    }
}

impl Run for CreateCase {
    /// Asks for a new case of the type with the rendered title, in the type's first status that
    /// is not closed, for the interaction's customer, linked to the interaction; written with
    /// the turn (a crash never creates it twice).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(case_type) = object_name(cx, &self.case_type) else {
            cx.set_error("the variable holding the case type's reference is empty");
            return Step::Branch("not_found");
        };
        let title = cx.render(&self.title.0).trim().to_owned();
        if title.is_empty() {
            cx.set_error("the case's title is empty");
            return Step::Branch("error");
        }
        Step::Effect {
            effect: Effect::Case(CaseRequest::Create { case_type, title }),
            memo: Value::Null,
        }
    }

    /// *OK* with the new case in the system variable `case`; *Not found* when there is no such
    /// case type; *Error* otherwise (a title too long, the deployment's cases all used) —
    /// `system.error` says why.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = case::outcome(wake) else {
            return Step::Unavailable("a case creation waits for its answer");
        };
        match outcome {
            CaseOutcome::Linked { case } => {
                cx.set_case(Some(case));
                Step::Branch("ok")
            }
            CaseOutcome::NotFound { reason } => {
                cx.set_error(reason);
                Step::Branch("not_found")
            }
            CaseOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
            CaseOutcome::Modified { .. } | CaseOutcome::Dissociated => {
                Step::Unavailable("a case creation got the answer of another request")
            }
        }
    }
}
