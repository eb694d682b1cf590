//! Tasks kept by Switchyard.

use jiff::Timestamp;
use uuid::Uuid;

/// A task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRow {
    pub id: Uuid,
    /// The request it answers (an interaction's effect): unique.
    pub key: String,
    pub name: String,
    pub category: String,
    pub start_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    /// `open` or `done`.
    pub status: String,
    pub interaction_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which tasks a list holds.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub status: Option<String>,
    pub customer_id: Option<Uuid>,
}
