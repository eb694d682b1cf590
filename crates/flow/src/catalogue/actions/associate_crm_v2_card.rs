use super::crm_common as crm;
use super::prelude::*;

/// Retrieves a CRM V2 card through a scenario and links it to the interaction.
///
/// Branches as for the CRM card association: *OK* one card, *Not OK* several, *Not found*
/// none, *By default* the scenario could not run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociateCrmV2Card {
    pub crm: Of<kind::CrmDirectory>,
    /// Scenario of that CRM; when absent, the CRM's default scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Of<kind::CrmScenario>>,
}

impl ActionType for AssociateCrmV2Card {
    const TYPE: &'static str = "associate_crm_v2_card";
    const LABEL: &'static str = "Associate the interaction with a CRM V2 card";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Runs a CRM V2 scenario to find a card and links it to the interaction.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", not_ok "Not OK", not_found "Not found", by_default "By default"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        let mut refs = vec![ObjectRef::of(&self.crm, "crm")];
        if let Some(s) = &self.scenario {
            refs.push(ObjectRef::of(s, "scenario"));
        }
        refs
    }
}

impl Run for AssociateCrmV2Card {
    /// Asks for the scenario (the one named, else the CRM's default one): its object and its
    /// assertions, whose values the resume renders in the interaction's context before the
    /// search.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(crm) = object_name(cx, &self.crm) else {
            cx.set_error("the variable holding the CRM's reference is empty");
            return Step::Branch("by_default");
        };
        let scenario = match &self.scenario {
            None => None,
            Some(s) => match object_name(cx, s) {
                Some(name) => Some(name),
                None => {
                    cx.set_error("the variable holding the scenario's reference is empty");
                    return Step::Branch("by_default");
                }
            },
        };
        Step::Effect {
            effect: Effect::Crm(CrmRequest::Scenario { crm, scenario }),
            memo: json!("scenario"),
        }
    }

    /// With the scenario: the search of its object's cards by its rendered assertions. With
    /// the search's answer: see [`crm::associated`] (a scenario finds, it never creates).
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match crm::outcome(wake) {
            Some(CrmOutcome::Scenario {
                object,
                any,
                assertions,
            }) => {
                let Some(directory) = object_name(cx, &self.crm) else {
                    cx.set_error("the variable holding the CRM's reference is empty");
                    return Step::Branch("by_default");
                };
                let assertions = assertions
                    .iter()
                    .map(|(f, v)| (f.clone(), cx.render(v).trim().to_owned()))
                    .collect();
                Step::Effect {
                    effect: Effect::Crm(CrmRequest::Associate {
                        directory,
                        object: Some(object.clone()),
                        any: *any,
                        assertions,
                        create: false,
                    }),
                    memo: json!("search"),
                }
            }
            Some(o) => crm::associated(cx, o),
            None => Step::Unavailable("a card search waits for its answer"),
        }
    }
}
