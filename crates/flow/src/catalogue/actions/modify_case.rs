use super::case_common as case;
use super::prelude::*;

/// Updates fields of a case.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifyCase {
    /// Reference of the case; when absent, the case linked to the interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Template<1, 256>>,
    /// Each a field of the case's type, or the case's own `title` or `status`, and its new
    /// value (empty: the field emptied).
    pub fields: List<FieldValue, 1, 50>,
}

impl ActionType for ModifyCase {
    const TYPE: &'static str = "modify_case";
    const LABEL: &'static str = "Modify a case";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Sets new values on fields of a case.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error", not_found "Not found"];
    runs_itself!();
}

impl Run for ModifyCase {
    /// Asks for the rendered values to be set on the case with the rendered reference, or (no
    /// reference, or one rendered empty) on the interaction's case; written with the turn.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let values = self
            .fields
            .0
            .iter()
            .map(|f| (f.field.0.clone(), cx.render(&f.value.0)))
            .collect();
        Step::Effect {
            effect: Effect::Case(CaseRequest::Modify {
                reference: case::reference(cx, &self.case_reference),
                values,
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once changed (the system variable `case` too when it is the interaction's case);
    /// *Not found* when no case has the reference, or the interaction has no case; *Error* for
    /// a field the type lacks, a value that does not fit its field, a status the type lacks —
    /// `system.error` says why.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Some(outcome) = case::outcome(wake) else {
            return Step::Unavailable("a case change waits for its answer");
        };
        match outcome {
            CaseOutcome::Modified { case, linked } => {
                if *linked {
                    cx.set_case(Some(case));
                }
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
            CaseOutcome::Linked { .. } | CaseOutcome::Dissociated => {
                Step::Unavailable("a case change got the answer of another request")
            }
        }
    }
}
