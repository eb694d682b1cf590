//! CRM cards linked to interactions and customers: a card is a row of a custom database
//! (`database_rows`); the link says which directory (and CRM V2 object) it came through.

use jiff::Timestamp;
use uuid::Uuid;

/// A Salesforce record linked to an interaction (and its customer) as a card of a directory
/// connected to Salesforce, with its fields as read then.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordLink {
    /// Its Salesforce id.
    pub record_id: String,
    /// Its Salesforce object (`Contact`).
    pub object: String,
    pub directory_id: Uuid,
    pub interaction_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub linked_at: Timestamp,
}

/// A card's link to an interaction (and its customer).
#[derive(Clone, Debug, PartialEq)]
pub struct CardLink {
    pub card_id: Uuid,
    /// The database the card is a row of.
    pub database_id: Uuid,
    /// The `crm_directory` business object it came through.
    pub directory_id: Uuid,
    /// The CRM V2 object it is of.
    pub object: Option<String>,
    pub interaction_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub linked_at: Timestamp,
}
