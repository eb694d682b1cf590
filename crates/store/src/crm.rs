//! CRM cards linked to interactions and customers: a card is a row of a custom database
//! (`database_rows`); the link says which directory (and CRM V2 object) it came through.

use jiff::Timestamp;
use uuid::Uuid;

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
