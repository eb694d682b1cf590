//! Invoices: what the store keeps of them. Their values are checked and put in canonical form
//! by `flow::invoices` before they come here; the store keeps each invoice, refuses a second
//! one with a number, and finds them by each identifier.

use flow::invoices::{InvoiceStatus, InvoiceValues};
use jiff::Timestamp;
use uuid::Uuid;

/// An invoice.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub values: InvoiceValues,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which invoices a list holds.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub customer_number: Option<String>,
}

/// A write to invoices.
#[derive(Clone, Debug)]
pub enum InvoiceWrite {
    /// New invoices, all or none: `Unique("number")` when a number is taken, `Full` past
    /// `limit` invoices in all.
    Insert {
        invoices: Vec<InvoiceRow>,
        limit: u64,
    },
    /// The invoice replaced if still at `expected_revision` (`Conflict` otherwise, or when
    /// gone; `Unique("number")` when its new number is another's).
    Update {
        invoice: Box<InvoiceRow>,
        expected_revision: u64,
    },
    /// The invoice removed (`Conflict` when gone).
    Delete { id: Uuid },
}
