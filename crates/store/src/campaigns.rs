//! Targets of outbound campaigns: what the store keeps of them.

use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A campaign target.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetRow {
    pub id: Uuid,
    /// The request it answers (an interaction's effect): unique.
    pub key: String,
    pub campaign_id: Uuid,
    /// In E.164.
    pub phone: String,
    pub start_at: Timestamp,
    pub priority: Option<i64>,
    pub layout: Option<String>,
    /// The layout's fields that have a value, in canonical form.
    pub fields: Map<String, Value>,
    /// `pending` until the dialler says otherwise.
    pub status: String,
    pub customer_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub created_at: Timestamp,
}

/// What inserting a target did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetInsert {
    Inserted,
    /// Its request's target was inserted before (the request performed again).
    Again,
    /// The campaign holds `limit` targets already.
    Full,
}
