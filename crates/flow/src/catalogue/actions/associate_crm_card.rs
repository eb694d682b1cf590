use super::crm_common as crm;
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
    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.directory, "directory")]
    }
}

impl Run for AssociateCrmCard {
    /// Asks for the directory's card meeting all the assertions (or one of them), values
    /// compared as the directory's database compares them; with "create if not found", a card
    /// made of the assertions' values when none does. The card is linked to the interaction and
    /// its customer, with the turn.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(directory) = object_name(cx, &self.directory) else {
            cx.set_error("the variable holding the directory's reference is empty");
            return Step::Branch("by_default");
        };
        Step::Effect {
            effect: Effect::Crm(CrmRequest::Associate {
                directory,
                object: None,
                any: self.match_ == Match::Any,
                assertions: crm::rendered(cx, &self.assertions.0),
                create: self.create_if_not_found,
            }),
            memo: Value::Null,
        }
    }

    /// See [`crm::associated`].
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match crm::outcome(wake) {
            Some(o) => crm::associated(cx, o),
            None => Step::Unavailable("a card search waits for its answer"),
        }
    }
}
