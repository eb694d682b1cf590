use super::crm_common as crm;
use super::prelude::*;

/// Creates a CRM V2 card of a given object.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCrmV2Card {
    pub crm: Of<kind::CrmDirectory>,
    /// The CRM object (card kind) to create.
    pub object: Text<1, 128>,
    pub fields: List<FieldValue, 1, 50>,
    #[serde(default = "yes")]
    pub associate: bool,
}

fn yes() -> bool {
    true
}

impl ActionType for CreateCrmV2Card {
    const TYPE: &'static str = "create_crm_v2_card";
    const LABEL: &'static str = "Create a CRM V2 card";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Creates a CRM V2 card, optionally linked to the interaction.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", error "Error"];
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.crm, "crm")]
    }
}

impl Run for CreateCrmV2Card {
    /// See [`crm::create`].
    fn run(&self, cx: &mut dyn Cx) -> Step {
        crm::create(cx, &self.crm, Some(self.object.0.clone()), &self.fields.0, self.associate)
    }

    /// See [`crm::created`].
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        crm::resume_create(cx, wake, self.associate)
    }
}
