use super::prelude::*;

/// A custom amount to pay.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountToPay {
    /// At most two decimals.
    pub amount: Decimal<0, 1_000_000, 2>,
    /// ISO 4217 code (`EUR`).
    pub currency: Text<3, 3>,
    pub invoice_name: Template<1, 200>,
    pub invoice_reference: Template<1, 128>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<Template<1, 128>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Template<1, 1_000>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Template<1, 2_000>>,
    /// With its country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<Template<1, 64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landline: Option<Template<1, 64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Template<1, 320>>,
}

/// What is paid.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payment {
    Invoice { lookup: InvoiceLookup },
    Amount(AmountToPay),
}

/// How the customer is invited to pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayMode {
    Sms,
    Email,
    /// Within the routing (only for payment modules that support it).
    SmartRouting,
}

/// Starts a payment for an invoice or an amount.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayInvoice {
    pub payment: Payment,
    pub module: Of<kind::PaymentModule>,
    pub mode: PayMode,
}

impl ActionType for PayInvoice {
    const TYPE: &'static str = "pay_invoice";
    const LABEL: &'static str = "Pay an invoice";
    const CATEGORY: Category = Category::Payment;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Starts a payment of an invoice or an amount through a payment module, by SMS link, email link or within the routing.";
    const BRANCHES: &'static [BranchDef] = branches![
        payment_stopped "Payment stopped", bank_transfer_error "Bank transfer error",
        invoice_not_found "Invoice not found", fraudulent_payment "Fraudulent payment",
        failed_payment "Failed payment", payment_error "Payment error",
        payment_successful "Payment successful", notification_sent "Notification successfully sent"
    ];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if let Payment::Amount(a) = &self.payment {
            if a.amount.0 <= 0.0 {
                issues.push(ParamIssue::new("payment.amount", "the amount must be above zero"));
            }
            if !a.currency.0.chars().all(|c| c.is_ascii_uppercase()) {
                issues.push(ParamIssue::new("payment.currency", "a currency is an upper-case ISO 4217 code such as 'EUR'"));
            }
            if self.mode == PayMode::Sms && a.mobile_phone.is_none() {
                issues.push(ParamIssue::new("payment.mobile_phone", "the SMS mode needs a mobile phone number"));
            }
            if self.mode == PayMode::Email && a.email.is_none() {
                issues.push(ParamIssue::new("payment.email", "the email mode needs an email address"));
            }
        }
    }

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.module, "module")]
    }
}
