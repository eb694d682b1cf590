//! Cases: what the store keeps of them. The store holds no rule about their values (the
//! runtime checks them against the case type with `flow::cases`); it keeps each case, refuses a
//! second case with a reference, and keeps which interactions each case was linked to — at
//! most one case linked to an interaction at a time.

use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRow {
    pub id: Uuid,
    /// Unique among cases.
    pub reference: String,
    /// Its case type (a business object of kind `case_type`).
    pub case_type_id: Uuid,
    pub title: String,
    pub status: String,
    /// Field → value, in canonical form; fields without value are absent.
    pub fields: Map<String, Value>,
    /// The customer it is about, if any.
    pub customer_id: Option<Uuid>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An interaction's link to a case: from `linked_at` until `unlinked_at` (none: linked now).
#[derive(Clone, Debug, PartialEq)]
pub struct CaseLink {
    pub case_id: Uuid,
    pub interaction_id: Uuid,
    pub linked_at: Timestamp,
    pub unlinked_at: Option<Timestamp>,
}

/// Which cases a list holds.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub customer_id: Option<Uuid>,
    pub case_type_id: Option<Uuid>,
    pub status: Option<String>,
}

/// A write to cases.
#[derive(Clone, Debug)]
pub enum CaseWrite {
    /// A new case: `Unique("reference")` when its reference is taken.
    Insert(CaseRow),
    /// The case replaced if still at `expected_revision` (`Conflict` otherwise, or when gone).
    Update {
        case: CaseRow,
        expected_revision: u64,
    },
    /// The case and its links removed (if at `expected_revision`, when given).
    Delete {
        id: Uuid,
        expected_revision: Option<u64>,
    },
    /// The case becomes the interaction's (the interaction's other case, if any, unlinked at
    /// `at`); nothing when it is the interaction's already. `Conflict` when the case is gone.
    Link {
        interaction_id: Uuid,
        case_id: Uuid,
        at: Timestamp,
    },
    /// The interaction's case, if any, unlinked at `at`.
    Unlink { interaction_id: Uuid, at: Timestamp },
}
