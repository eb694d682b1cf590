use super::prelude::*;

/// Finds an invoice and stores it in the `bill` variable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInvoice {
    pub lookup: InvoiceLookup,
}

impl ActionType for SearchInvoice {
    const TYPE: &'static str = "search_invoice";
    const LABEL: &'static str = "Search for invoice";
    const CATEGORY: Category = Category::Payment;
    const FAMILIES: &'static [crate::ChannelFamily] = MESSAGING;
    const DESCRIPTION: &'static str = "Looks an invoice up by number, phone, customer number, id or email and stores it in the bill variable.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_found "Not found"];
}
