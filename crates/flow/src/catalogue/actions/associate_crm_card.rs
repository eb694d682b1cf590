use super::prelude::*;

/// Finds a customer-contact card and links it to the interaction.
///
/// Branches: *OK* exactly one card matched (or one was created); *Not OK* several cards
/// matched, so none was linked; *Not found* no card matched and creation is off; *By default*
/// the directory could not be searched.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociateCrmCard {
    /// CRM directory to search.
    pub directory: Of<kind::CrmDirectory>,
    /// Create a card from the assertions when none matches.
    #[serde(default)]
    pub create_if_not_found: bool,
    #[serde(default, rename = "match")]
    pub match_: Match,
    pub assertions: List<FieldValue, 1, 20>,
}

impl ActionType for AssociateCrmCard {
    const TYPE: &'static str = "associate_crm_card";
    const LABEL: &'static str = "Associate the interaction with a CRM card";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Searches a CRM directory with field assertions and links the matching card.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", not_ok "Not OK", not_found "Not found", by_default "By default"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.directory, "directory")]
    }
}
