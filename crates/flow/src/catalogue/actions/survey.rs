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

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.survey, "survey")]
    }
}
