//! How an interaction runs and where it stands, as the store keeps them and the API shows them.

use serde::{Deserialize, Serialize};

/// How an interaction runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A customer on an entry point, on the production version.
    Live,
    /// A customer on an entry point whose version in test runs.
    Test,
    /// Any version tried without an entry point.
    Preview,
    /// The interaction-end routing of a closed interaction.
    End,
    /// An outgoing interaction a routing created (an SMS sent as *Outgoing interaction*):
    /// closed once sent.
    Outgoing,
}

impl Mode {
    pub const ALL: [Mode; 5] = [
        Mode::Live,
        Mode::Test,
        Mode::Preview,
        Mode::End,
        Mode::Outgoing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
            Mode::Preview => "preview",
            Mode::End => "end",
            Mode::Outgoing => "outgoing",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// A customer's own contact (not a preview, not an interaction-end run).
    pub fn is_contact(self) -> bool {
        matches!(self, Mode::Live | Mode::Test)
    }
}

/// Where an interaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    New,
    /// Suspended in an action, with an agent, or waiting for its distribution.
    Waiting,
    Closed,
    /// Its engine failed or its state cannot be read: inputs are recorded, not run, until it
    /// is retried.
    Quarantined,
}

impl InteractionStatus {
    pub const ALL: [InteractionStatus; 4] = [
        InteractionStatus::New,
        InteractionStatus::Waiting,
        InteractionStatus::Closed,
        InteractionStatus::Quarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InteractionStatus::New => "new",
            InteractionStatus::Waiting => "waiting",
            InteractionStatus::Closed => "closed",
            InteractionStatus::Quarantined => "quarantined",
        }
    }

    pub fn parse(s: &str) -> Option<InteractionStatus> {
        InteractionStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// An interaction as the API and the agents see it: who, on which entry point and version,
/// where it stands (without the engine's state, which only the runtime reads).
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub id: uuid::Uuid,
    pub entry_point_id: Option<crate::entry_point::EntryPointId>,
    pub mode: Mode,
    /// The customer's address on the channel.
    pub customer: String,
    /// The customer (none for previews).
    pub customer_id: Option<uuid::Uuid>,
    pub routing_id: crate::model::RoutingId,
    pub version_id: uuid::Uuid,
    pub status: InteractionStatus,
    /// When its timer fires.
    pub wake_at: Option<jiff::Timestamp>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// One event of an interaction's history, numbered in order: the engine's event in its stored
/// (and wire) form.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEvent {
    pub seq: u64,
    pub at: jiff::Timestamp,
    pub event: serde_json::Value,
}
