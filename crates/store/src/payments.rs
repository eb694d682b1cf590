//! Payments: each payment link a routing asked a payment module for, and the provider's
//! events taken for it (each once).

use flow::payments::PaymentStatus;
use jiff::Timestamp;
use uuid::Uuid;

/// A payment.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRow {
    pub id: Uuid,
    /// The request it answers (an interaction's effect): unique.
    pub key: String,
    pub module_id: Uuid,
    pub interaction_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub amount_minor: i64,
    pub currency: String,
    /// The invoice's number or the routing's reference.
    pub reference: String,
    /// `sms`, `email` or `smart_routing`.
    pub mode: String,
    /// The provider's session and the link, once made.
    pub session: Option<String>,
    pub url: Option<String>,
    pub status: PaymentStatus,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which payments a list holds.
#[derive(Clone, Debug, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub invoice_id: Option<Uuid>,
}

/// What a provider's event does to a payment.
#[derive(Clone, Debug)]
pub struct PaymentEventWrite {
    pub module_id: Uuid,
    pub event_id: String,
    pub payment_id: Uuid,
    /// The payment's new status and why (a succeeded payment keeps its status).
    pub status: PaymentStatus,
    pub reason: Option<String>,
    /// The invoice the payment paid, marked paid.
    pub paid_invoice: Option<Uuid>,
    pub at: Timestamp,
}
