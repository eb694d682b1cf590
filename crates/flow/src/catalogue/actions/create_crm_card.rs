use super::crm_common as crm;
use super::prelude::*;

/// Creates a customer-contact card.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCrmCard {
    pub directory: Of<kind::CrmDirectory>,
    pub fields: List<FieldValue, 1, 50>,
    /// Link the new card to the interaction.
    #[serde(default = "yes")]
    pub associate: bool,
}

fn yes() -> bool {
    true
}

impl ActionType for CreateCrmCard {
    const TYPE: &'static str = "create_crm_card";
    const LABEL: &'static str = "Create a CRM card";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Creates a card in a CRM directory, optionally linked to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.directory, "directory")]
    }
}

impl Run for CreateCrmCard {
    /// See [`crm::create`].
    fn run(&self, cx: &mut dyn Cx) -> Step {
        crm::create(cx, &self.directory, None, &self.fields.0, self.associate)
    }

    /// See [`crm::created`].
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        crm::resume_create(cx, wake, self.associate)
    }
}
