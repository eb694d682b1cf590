//! Rows of custom databases: what the store keeps of them. The store holds no rule about
//! their values (the runtime checks them against the database's definition with
//! `flow::database`); it keeps each row's search keys beside it, refuses a second row with a
//! unique column's key, and counts the rows of each database to refuse one past its limit.

use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A row of a custom database.
#[derive(Clone, Debug, PartialEq)]
pub struct DbRow {
    pub id: Uuid,
    /// The database (a business object of kind `database`).
    pub database_id: Uuid,
    /// Column → value, in canonical form; columns without value are absent.
    pub values: Map<String, Value>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The search key of one of a row's values, for an indexed or unique column.
pub use flow::database::Key as DbKey;

/// A write to a database's rows.
#[derive(Clone, Debug)]
pub enum DbWrite {
    /// A new row with its keys, refused (`Full`) when the database holds `limit` rows already.
    Insert {
        row: DbRow,
        keys: Vec<DbKey>,
        limit: u64,
    },
    /// The row replaced (values and keys) if still at `expected_revision`.
    Update {
        row: DbRow,
        keys: Vec<DbKey>,
        expected_revision: u64,
    },
    /// The row removed (if still at `expected_revision`, when given).
    Delete {
        database_id: Uuid,
        id: Uuid,
        expected_revision: Option<u64>,
    },
}

/// What a row refused by a change of its database's definition says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub row_id: Uuid,
    pub message: String,
}

/// A row rewritten for a new definition: its values and keys, or why it cannot be.
pub type Reshape<'a> = dyn Fn(&Map<String, Value>) -> std::result::Result<(Map<String, Value>, Vec<DbKey>), String>
    + Send
    + Sync
    + 'a;
