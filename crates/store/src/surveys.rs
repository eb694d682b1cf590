//! Survey responses: what the store keeps of surveys attached to interactions and conducted
//! once they close.

use flow::surveys::ResponseStatus;
use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A survey response.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseRow {
    pub id: Uuid,
    /// The `survey` business object.
    pub survey_id: Uuid,
    pub interaction_id: Uuid,
    pub entry_point_id: Option<Uuid>,
    /// The customer as the channel knows them (their key on the entry point).
    pub customer: String,
    pub customer_id: Option<Uuid>,
    /// The interaction's channel (`web_chat`, `whatsapp`, `email`, …).
    pub channel: String,
    /// As stored: `expired` is read from `expires_at` (see [`ResponseRow::status_at`]).
    pub status: ResponseStatus,
    /// The question waiting for its answer (0-based), and the messages that were none so far.
    pub question: u32,
    pub attempts: u32,
    /// By question key.
    pub answers: Map<String, Value>,
    /// The SHA-256 (hex) of the page link's token (the email family).
    pub token_hash: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

impl ResponseRow {
    /// Where it is at `now`: one still waiting past its expiry is expired.
    pub fn status_at(&self, now: Timestamp) -> ResponseStatus {
        match (self.status, self.expires_at) {
            (ResponseStatus::InProgress, Some(e)) if e <= now => ResponseStatus::Expired,
            (s, _) => s,
        }
    }
}

/// What a turn writes of a survey response, in its savepoint.
#[derive(Clone, Debug, PartialEq)]
pub enum SurveyWrite {
    /// A survey attached to the interaction (replacing the one attached before, if it has
    /// not started).
    Attach(Box<ResponseRow>),
    /// The interaction closed: the survey starts (`Conflict` when none is attached).
    Start {
        interaction_id: Uuid,
        started_at: Timestamp,
        expires_at: Timestamp,
        token_hash: Option<String>,
    },
    /// An answer taken (or a message that was none), or the survey ended (`Conflict` when it
    /// is no longer in progress).
    Progress {
        id: Uuid,
        status: ResponseStatus,
        question: u32,
        attempts: u32,
        answers: Map<String, Value>,
        at: Timestamp,
    },
}

/// Which responses a list shows.
#[derive(Clone, Debug)]
pub struct ResponseFilter {
    pub survey_id: Option<Uuid>,
    /// As read at `now`.
    pub status: Option<ResponseStatus>,
    pub now: Timestamp,
}
