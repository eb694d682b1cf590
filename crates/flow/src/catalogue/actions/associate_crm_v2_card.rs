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

    fn references(&self) -> Vec<ObjectRef> {
        let mut refs = vec![ObjectRef::of(&self.crm, "crm")];
        if let Some(s) = &self.scenario {
            refs.push(ObjectRef::of(s, "scenario"));
        }
        refs
    }
}
