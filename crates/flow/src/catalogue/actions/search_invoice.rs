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
    runs_itself!();
}

impl Run for SearchInvoice {
    /// Renders the value and reads it as invoices keep that identifier (a phone number in
    /// E.164, read in the deployment's region when it has no country code; an email in lower
    /// case), then asks for the invoice — whatever its status — the oldest or most recent by
    /// due date when several match (those without a due date count as the most recent).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        match invoice_query(cx, &self.lookup) {
            Ok(query) => Step::Effect {
                effect: Effect::FindInvoice(query),
                memo: Value::Null,
            },
            Err(reason) => {
                cx.set_error(&reason);
                cx.set_bill(None);
                Step::Branch("not_found")
            }
        }
    }

    /// *OK* with the invoice in the system variable `bill` (its `status` tells whether it is
    /// still to pay); *Not found* when none matches or the value cannot identify one
    /// (`system.error` then says why), `bill` then emptied.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match wake {
            Wake::Result(EffectResult::Invoice(InvoiceOutcome::Found { invoice })) => {
                cx.set_bill(Some(invoice));
                Step::Branch("ok")
            }
            Wake::Result(EffectResult::Invoice(InvoiceOutcome::NotFound)) => {
                cx.set_bill(None);
                Step::Branch("not_found")
            }
            _ => Step::Unavailable("an invoice search waits for its answer"),
        }
    }
}

/// The query of an invoice lookup parameter, its value rendered and in canonical form; `Err`
/// says why the value identifies no invoice.
pub fn invoice_query(cx: &dyn Cx, lookup: &InvoiceLookup) -> Result<InvoiceQuery, String> {
    let value = cx.render(&lookup.value.0);
    let value = crate::invoices::lookup_value(lookup.identify_by, &value, cx.phone_region())?;
    Ok(InvoiceQuery {
        by: lookup.identify_by,
        value,
        pick: lookup.pick,
    })
}
