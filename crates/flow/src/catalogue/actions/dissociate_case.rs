use super::case_common as case;
use super::prelude::*;

/// Detaches the case linked to the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DissociateCase {}

impl ActionType for DissociateCase {
    const TYPE: &'static str = "dissociate_case";
    const LABEL: &'static str = "Dissociate the case from the interaction";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Detaches the case currently linked to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
    runs_itself!();
}

impl Run for DissociateCase {
    /// Asks for the interaction's case to be unlinked (written with the turn); the case stays,
    /// with the interaction in its history.
    fn run(&self, _cx: &mut dyn Cx) -> Step {
        Step::Effect {
            effect: Effect::Case(CaseRequest::Dissociate),
            memo: Value::Null,
        }
    }

    /// *OK*, the system variable `case` emptied — also when the interaction had no case.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match case::outcome(wake) {
            Some(CaseOutcome::Dissociated) => {
                cx.set_case(None);
                Step::Branch("ok")
            }
            Some(_) => Step::Unavailable("a dissociation got the answer of another request"),
            None => Step::Unavailable("a dissociation waits for its answer"),
        }
    }
}
