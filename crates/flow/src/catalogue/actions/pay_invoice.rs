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
    runs_itself!();

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

/// An optional template rendered and trimmed; `None` when absent or rendered empty.
fn rendered(cx: &dyn Cx, template: Option<&str>) -> Option<String> {
    template
        .map(|t| cx.render(t).trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl AmountToPay {
    /// The amount as the payment module receives it: its values rendered, phones in E.164.
    fn charge(&self, cx: &dyn Cx) -> Result<AmountToCharge, String> {
        let currency = crate::invoices::check_currency(&self.currency.0)?;
        let amount_minor = (self.amount.0 * 100.0).round() as i64;
        if amount_minor <= 0 {
            return Err("the amount to pay is zero".into());
        }
        let name = cx.render(&self.invoice_name.0).trim().to_owned();
        let reference = cx.render(&self.invoice_reference.0).trim().to_owned();
        if name.is_empty() || reference.is_empty() {
            return Err("the invoice's name and reference must not render empty".into());
        }
        let phone = |t: &Option<Template<1, 64>>| -> Result<Option<String>, String> {
            match rendered(cx, t.as_ref().map(|t| t.0.as_str())) {
                None => Ok(None),
                Some(p) => crate::invoices::phone_number(&p, cx.phone_region())
                    .map(Some)
                    .ok_or_else(|| format!("'{p}' is not a phone number")),
            }
        };
        Ok(AmountToCharge {
            amount_minor,
            currency,
            name,
            reference,
            customer_reference: rendered(cx, self.customer_reference.as_ref().map(|t| t.0.as_str())),
            comment: rendered(cx, self.comment.as_ref().map(|t| t.0.as_str())),
            custom_data: rendered(cx, self.custom_data.as_ref().map(|t| t.0.as_str())),
            mobile_phone: phone(&self.mobile_phone)?,
            landline: phone(&self.landline)?,
            email: rendered(cx, self.email.as_ref().map(|t| t.0.as_str())),
        })
    }
}

impl Run for PayInvoice {
    /// Asks the payment module for a link to pay the open invoice the lookup finds (read as
    /// *Search for invoice* reads it) or the amount given, and for it to be sent: by SMS to the
    /// mobile phone, by email, or in the conversation.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(module) = object_name(cx, &self.module) else {
            cx.set_error("the variable holding the payment module's reference is empty");
            return Step::Branch("payment_error");
        };
        let of = match &self.payment {
            Payment::Invoice { lookup } => match super::search_invoice::invoice_query(cx, lookup) {
                Ok(q) => PaymentOf::Invoice(q),
                Err(reason) => {
                    cx.set_error(&reason);
                    return Step::Branch("invoice_not_found");
                }
            },
            Payment::Amount(a) => match a.charge(cx) {
                Ok(c) => PaymentOf::Amount(Box::new(c)),
                Err(reason) => {
                    cx.set_error(&reason);
                    return Step::Branch("payment_error");
                }
            },
        };
        Step::Effect {
            effect: Effect::Payment(PaymentRequest {
                module,
                of,
                mode: self.mode,
            }),
            memo: Value::Null,
        }
    }

    /// The branches:
    /// - *Notification successfully sent*: the link went by SMS or email (those modes do not
    ///   wait for the payment; the invoice becomes paid when the provider says so).
    /// - *Payment successful*: in the routing's mode, the customer paid (the invoice is paid).
    /// - *Failed payment*: the provider refused the payment (a card declined).
    /// - *Fraudulent payment*: the provider refused it as fraud (a stolen or lost card, its
    ///   risk checks).
    /// - *Payment stopped*: the link expired unpaid, or the payment was cancelled.
    /// - *Bank transfer error*: a bank transfer or debit failed after the customer completed
    ///   the payment page.
    /// - *Invoice not found*: no open invoice matches the lookup (or its value identifies none).
    /// - *Payment error*: no payment could be started — no such or inactive module, the
    ///   provider unreachable, refusing or too slow, no mobile phone or email to send the link
    ///   to, no SMS or email sending configured.
    ///
    /// `system.error` says why for every branch but the two successes.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Wake::Result(EffectResult::Payment(outcome)) = wake else {
            return Step::Unavailable("a payment waits for its outcome");
        };
        let (branch, reason) = match outcome {
            PaymentOutcome::NotificationSent { .. } => ("notification_sent", None),
            PaymentOutcome::Succeeded { .. } => ("payment_successful", None),
            PaymentOutcome::Failed { reason } => ("failed_payment", Some(reason)),
            PaymentOutcome::Fraudulent { reason } => ("fraudulent_payment", Some(reason)),
            PaymentOutcome::Stopped { reason } => ("payment_stopped", Some(reason)),
            PaymentOutcome::BankTransferError { reason } => ("bank_transfer_error", Some(reason)),
            PaymentOutcome::Error { reason } => ("payment_error", Some(reason)),
            PaymentOutcome::InvoiceNotFound { reason } => ("invoice_not_found", Some(reason)),
        };
        if let Some(reason) = reason {
            cx.set_error(reason);
        }
        Step::Branch(branch)
    }
}
